"""The shortcuts taken for speed: when each is taken, and that results stay the same."""

from __future__ import annotations

import shutil
import subprocess

import cv2
import numpy as np
import pytest

from vidwatch.config import load_config
from vidwatch.pipeline import record_layout, run_source
from vidwatch.preprocess import AnalysisParams, Preprocessor
from vidwatch.scoring import score_in_parallel
from vidwatch.sinks.jsonl import JsonlSink
from vidwatch.sinks.snapshots import SnapshotSink
from vidwatch.sources import DecodeAhead, RealtimeSource
from vidwatch.sources.pyav_file import PyAVFileSource, decoder_threads

from .synthetic import ArraySource, quiet_scene


class _Recording(ArraySource):
    """An in-memory source that remembers the fast-decode hint it was given when iterated."""

    hint: bool | None = None

    def __iter__(self):
        self.hint = self.fast_decode
        yield from super().__iter__()


@pytest.fixture(scope="module")
def h264_clip(tmp_path_factory) -> str:
    """A small H.264 clip whose B-frames no other frame refers to, coded coarsely enough that
    deblocking changes pixels."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to make an H.264 clip")
    path = tmp_path_factory.mktemp("h264") / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
                    "-t", "2", "-c:v", "libx264", "-bf", "3", "-b-pyramid", "none", "-crf", "30",
                    "-pix_fmt", "yuv420p", str(path)], check=True)
    return str(path)


def _luma_frames(path: str, fast: bool) -> list[np.ndarray]:
    source = PyAVFileSource(path)
    source.fast_decode = fast
    with source:
        return [np.array(frame.image) for frame in source]


def test_fast_decode_changes_full_size_pixels_but_hardly_the_analysis_copy(h264_clip):
    exact, fast = _luma_frames(h264_clip, False), _luma_frames(h264_clip, True)
    assert len(exact) == len(fast) == 50
    changed = [i for i, (a, b) in enumerate(zip(exact, fast, strict=True)) if not np.array_equal(a, b)]
    assert changed, "skipping the deblocking filter should change some non-reference frames"
    # only B-frames (nothing refers to them with -b-pyramid none) may change: no error can drift
    assert {_picture_types(h264_clip)[i] for i in changed} == {"B"}
    reduce = Preprocessor(AnalysisParams(width=320)).reduce
    for i in changed:
        small = [reduce(_frame(image))[0].astype(int) for image in (exact[i], fast[i])]
        change = np.abs(small[0] - small[1])
        assert change.mean() < 0.05  # hundredths of a grey level on average
        assert np.count_nonzero(change > 2) <= 0.001 * change.size


def _picture_types(path: str) -> list[str]:
    import av

    with av.open(path) as container:
        # FFmpeg's AVPictureType: 1 = I, 2 = P, 3 = B (older PyAV wraps it in an enum)
        return ["?IPB"[int(getattr(frame.pict_type, "value", frame.pict_type))] for frame in container.decode(video=0)]


def _frame(image: np.ndarray):
    from vidwatch.frames import SourceFrame

    return SourceFrame(0, 0.0, image)


def test_a_run_decodes_fast_only_when_no_output_keeps_pictures(tmp_path):
    config = load_config(None)
    images = list(quiet_scene(5))
    plain = _Recording(images)
    with JsonlSink(tmp_path / "events.jsonl") as events:
        run_source(plain, config, [events])
    assert plain.hint is True
    kept = _Recording(images)
    with SnapshotSink(tmp_path / "snaps", record_layout(config), config.outputs) as snapshots:
        run_source(kept, config, [snapshots])
    assert kept.hint is False


def test_wrapping_sources_pass_the_fast_decode_hint_on():
    inner = ArraySource([])
    ahead = DecodeAhead(inner)
    ahead.fast_decode = True
    assert inner.fast_decode is True
    paced = RealtimeSource(ahead)
    paced.fast_decode = False
    assert inner.fast_decode is False and paced.paced and not ahead.paced


def test_detectors_are_split_over_threads_only_where_it_pays(monkeypatch):
    monkeypatch.setattr("vidwatch.cores.usable_cores", lambda: 2)
    assert score_in_parallel(paced=True) is True  # a camera: latency counts
    assert score_in_parallel(paced=False) is False  # a file on two cores: the decoder fills them
    monkeypatch.setattr("vidwatch.cores.usable_cores", lambda: 8)
    assert score_in_parallel(paced=False) is True


def test_decoder_threads_follow_the_cores_within_bounds(monkeypatch):
    monkeypatch.setattr("vidwatch.cores.usable_cores", lambda: 2)
    assert decoder_threads() == 4
    monkeypatch.setattr("vidwatch.cores.usable_cores", lambda: 64)
    assert decoder_threads() == 16


def test_a_run_keeps_opencv_to_one_thread():
    cv2.setNumThreads(2)
    run_source(ArraySource(list(quiet_scene(3))), load_config(None), [])
    assert cv2.getNumThreads() == 1


def test_usable_cores_are_the_affinity_where_there_is_one(monkeypatch):
    from vidwatch.cores import usable_cores

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {3, 5}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert usable_cores() == 2  # a container pinned to two cores of a large host

    def no_affinity(pid):
        raise AttributeError

    monkeypatch.setattr("os.sched_getaffinity", no_affinity, raising=False)
    assert usable_cores() == 64
