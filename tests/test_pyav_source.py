"""The PyAV luma reader against OpenCV's reader on the same clip, and how a file reader is chosen."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidwatch.errors import SourceError
from vidwatch.frames import SourceFrame
from vidwatch.preprocess import VIDEO_TO_FULL_RANGE, AnalysisParams, Preprocessor, downscale
from vidwatch.sources import DecodeAhead, PyAVFileSource, SourceParams, VideoFileSource, open_source, open_video_file

pytest.importorskip("av")


def _frames(source) -> list[SourceFrame]:
    with source:
        return list(source)


def test_pyav_gives_the_same_frames_as_opencv_in_grey(samples):
    clip = str(samples / "walk_and_cut.mp4")
    ours = _frames(PyAVFileSource(clip))
    theirs = _frames(VideoFileSource(clip))
    assert len(ours) == len(theirs) == 300
    for a, b in zip(ours[::25], theirs[::25], strict=True):
        assert a.is_grey and a.limited_range
        grey = cv2.LUT(np.ascontiguousarray(a.image), VIDEO_TO_FULL_RANGE).astype(np.float32)
        expected = cv2.cvtColor(b.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        assert grey.shape == expected.shape
        assert np.abs(grey - expected).mean() < 2.0
        # without the range expansion the two readers would disagree by several grey levels
        assert np.abs(a.image.astype(np.float32) - expected).mean() > 4.0
        # colour on request matches OpenCV's decoding of the same frame
        assert np.abs(a.bgr().astype(np.float32) - b.image.astype(np.float32)).mean() < 3.0


def test_pyav_timestamps_are_container_times_and_increase(samples):
    frames = _frames(PyAVFileSource(str(samples / "walk_and_cut.mp4")))
    times = np.array([f.time for f in frames])
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)
    assert [f.index for f in frames] == list(range(len(frames)))
    np.testing.assert_allclose(times, np.arange(len(frames)) / 15.0, atol=1e-3)  # the clip is 15 fps CFR


def test_analysis_frames_agree_between_readers(samples):
    clip = str(samples / "object_enters.mp4")
    # without alignment: the readers round differently by a grey level, and on a still camera a
    # pose a hair either side of the warp threshold would warp one copy and not the other
    pre_a, pre_b = Preprocessor(AnalysisParams(align=False)), Preprocessor(AnalysisParams(align=False))
    for a, b in zip(_frames(PyAVFileSource(clip))[::30], _frames(VideoFileSource(clip))[::30], strict=True):
        ga, gb = pre_a(a).grey.astype(np.float32), pre_b(b).grey.astype(np.float32)
        assert np.abs(ga - gb).mean() < 1.5


def test_decoder_choice(samples, tmp_path):
    clip = str(samples / "hard_cut.mp4")
    assert isinstance(open_video_file(clip), PyAVFileSource)
    assert isinstance(open_video_file(clip, "opencv"), VideoFileSource)
    source = open_source(clip)
    assert isinstance(source, DecodeAhead) and isinstance(source.inner, PyAVFileSource)
    source.close()
    plain = open_source(clip, SourceParams(decoder="opencv", decode_ahead=0))
    assert isinstance(plain, VideoFileSource)
    plain.close()


def test_corrupt_file_is_one_line_source_error(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    for decoder in ("auto", "pyav", "opencv"):
        with pytest.raises(SourceError) as err:
            source = open_source(str(junk), SourceParams(decoder=decoder))
            with source:
                list(source)
        assert "\n" not in str(err.value) and "junk.mp4" in str(err.value)


def test_limited_range_luma_is_stretched_to_full_range():
    image = np.full((90, 160), 16, np.uint8)
    image[:, 80:] = 235
    frame = SourceFrame(0, 0.0, image, limited_range=True)
    grey = Preprocessor(AnalysisParams(width=0, blur=0))(frame).grey
    assert grey[0, 0] == 0 and grey[0, -1] == 255


def test_colour_analysis_of_a_luma_reader_uses_the_real_colour():
    bgr = np.zeros((180, 320, 3), np.uint8)
    bgr[..., 2] = 200  # red
    frame = SourceFrame(0, 0.0, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), to_bgr=lambda: bgr)
    colour = Preprocessor(AnalysisParams(width=160, colour=True))(frame).colour
    assert colour is not None and colour.shape == (90, 160, 3)
    assert colour[..., 2].min() == 200 and colour[..., 0].max() == 0


@pytest.mark.parametrize(("shape", "size"), [
    ((1080, 1920), (320, 180)),  # halve, then a box of 3
    ((1080, 1920, 3), (320, 180)),
    ((720, 1280), (320, 180)),  # halve twice
    ((2160, 3840), (320, 180)),  # halve three times, then 3
    ((1200, 1600), (400, 300)),
    ((480, 640), (320, 240)),
])
def test_staged_downscale_is_the_area_average(shape, size):
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (9, 9), 0)  # a picture, not pure noise
    ours = downscale(image, size)
    reference = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    assert ours.shape == reference.shape and ours.flags["C_CONTIGUOUS"]
    assert np.abs(ours.astype(int) - reference).max() <= 1


def test_staged_downscale_by_an_uneven_factor_stays_close_to_the_area_average():
    rng = np.random.default_rng(2)
    image = cv2.GaussianBlur(rng.integers(0, 256, (1080, 1440), dtype=np.uint8), (9, 9), 0)
    ours = downscale(image, (320, 240)).astype(int)  # 4.5: halve, then the general resize by 2.25
    reference = cv2.resize(image, (320, 240), interpolation=cv2.INTER_AREA)
    assert np.abs(ours - reference).mean() < 1.0
