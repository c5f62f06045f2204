"""Recorded video files decoded with PyAV straight to the luma plane.

Every detector works on a small grey copy of the frame, and the grey image *is* the Y plane of the
decoded YUV frame. Taking that plane as it is skips the YUV -> BGR conversion OpenCV's reader does
for every frame (a large share of its decode cost at 1080p), and FFmpeg's frame threading keeps
both cores decoding. Colour is made lazily, only for the frames an output asks for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from vidwatch import cores
from vidwatch.errors import SourceError
from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source, positive_fps, shortfall
from vidwatch.timing import FALLBACK_FPS

log = logging.getLogger(__name__)

try:  # PyAV is a declared dependency, but a broken install must not take the OpenCV reader down with it
    import av
except ImportError:  # pragma: no cover - exercised only on machines without PyAV
    av = None

# Pixel formats whose first plane is 8-bit luma at full resolution.
LUMA_FORMATS = frozenset({
    "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p",
    "yuv411p", "yuv410p", "nv12", "nv21", "nv16", "gray", "yuva420p", "yuva422p", "yuva444p",
})


FULL_RANGE = 2
"""AVCOL_RANGE_JPEG: luma uses all of 0..255."""


def decoder_threads() -> int:
    """Frame threads for FFmpeg: one per core plus two, at most 16.

    FFmpeg's own choice is one per core plus one, for a decoder alone on the machine. Here analysis
    shares those cores, and one more frame in flight keeps a decoder thread busy while analysis
    holds a core (1080p H.264 on two cores: about 5 % more frames a second; a second or third
    thread more than that gained nothing).
    """
    return min(cores.usable_cores() + 2, 16)


class PyAVUnsupported(Exception):
    """PyAV cannot read this file; the caller falls back to OpenCV (which then reports the error)."""


def decode_packets(packets: Iterator[Any], name: str) -> Iterator[Any]:
    """The frames of ``packets``, skipping damaged ones with a warning (the first, then every 100th),
    so one bad packet in a long recording costs a frame, not the scan."""
    bad = 0
    for packet in packets:
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            bad += 1
            if bad == 1 or bad % 100 == 0:
                log.warning("%s: skipping a damaged packet (%d so far)", name, bad)
            continue
        yield from frames


def luma(frame: Any) -> np.ndarray:
    """The Y plane of a decoded frame as an (H, W) uint8 view, without copying or converting.

    Rows are padded to the plane's line size; the view skips the padding. It shares memory with
    the frame, which FFmpeg reference-counts, so the decoder never overwrites it while we hold it.
    """
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width]


def is_limited_range(frame: Any) -> bool:
    """Whether the luma is video range (16..235): unless the stream says full range (JPEG) or it is
    plain grey, it is."""
    name = frame.format.name
    return frame.color_range != FULL_RANGE and not name.startswith("yuvj") and name != "gray"


def grey_of(frame: Any) -> tuple[np.ndarray, bool]:
    """A decoded frame's grey picture (its luma plane where it has one, uncopied) and whether it is
    video range (16..235)."""
    if frame.format.name in LUMA_FORMATS:
        return luma(frame), is_limited_range(frame)
    return frame.to_ndarray(format="gray"), False


def upright_grey(frame: Any, turn: int) -> tuple[np.ndarray, bool]:
    """The frame's grey picture (the decoder's own luma plane where it has one), turned upright, and
    whether it is video range."""
    if frame.format.name in LUMA_FORMATS:
        image, limited = luma(frame), is_limited_range(frame)
    else:
        image, limited = frame.to_ndarray(format="gray"), False
    if turn >= 0:
        image = cv2.rotate(image, turn)
    return image, limited


def _bgr_of(frame: Any, turn: int) -> Any:
    if turn >= 0:
        return lambda: cv2.rotate(frame.to_ndarray(format="bgr24"), turn)
    return lambda: frame.to_ndarray(format="bgr24")


NOT_READ = -2
"""The picture's turn before the first frame has been looked at."""
QUARTER_TURNS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
"""Display-matrix angle (counter-clockwise degrees) -> the cv2.rotate code that shows the frame upright."""


def upright_turn(frame: Any, name: str) -> int:
    """The cv2.rotate code a file's display matrix asks for (phone video), or -1 for none.

    FFmpeg decodes the picture as it was stored; players turn it by the display matrix, and so do
    vidwatch's sources, so analysis, snapshots and clips all see it upright (OpenCV's reader does
    the same by itself). Angles other than quarter turns are rounded to the nearest one.
    """
    try:
        angle = getattr(frame, "rotation", 0) or 0
    except (ValueError, TypeError):  # a malformed matrix: show the picture as stored
        angle = 0
    quarter = round(float(angle) / 90.0) * 90 % 360
    if quarter and quarter != float(angle) % 360:
        log.warning("%s: the display matrix turns the picture by %g degrees; turning it by %d", name, angle, quarter)
    return QUARTER_TURNS.get(quarter, -1)


class PyAVFileSource(Source):
    """A recorded file decoded with PyAV (frame-threaded), yielding the luma plane of every frame."""

    def __init__(self, path: str) -> None:
        if av is None:
            raise PyAVUnsupported("PyAV is not installed")
        self.name = path
        try:
            self._container = av.open(path)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise PyAVUnsupported(str(exc)) from None
        try:
            if not self._container.streams.video:
                kinds = sorted({stream.type for stream in self._container.streams})
                self._container.close()
                raise SourceError(f"'{path}' has no video stream (it holds {' and '.join(kinds) or 'nothing'}"
                                  f"{' only' if kinds else ''}); give a video file")
            stream = self._container.streams.video[0]
            if stream.codec_context is None:
                raise PyAVUnsupported("no decoder for the video stream")
            stream.thread_type = "AUTO"  # frame + slice threading: FFmpeg decodes on every core
            stream.thread_count = decoder_threads()
        except PyAVUnsupported:
            self._container.close()
            raise
        self._stream = stream
        rate = stream.average_rate or stream.guessed_rate
        self.fps = positive_fps(float(rate)) if rate else None
        self.frame_count = stream.frames if stream.frames and stream.frames > 0 else None
        self._start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
        if stream.duration and stream.time_base:
            self._duration: float | None = float(stream.duration * stream.time_base)
        else:
            self._duration = self._container.duration / av.time_base if self._container.duration else None

    def _decoded(self) -> Iterator[Any]:
        """Decoded frames in presentation order; a damaged packet is skipped, not the end of the file."""
        if self.fast_decode:
            # No frame is predicted from a non-reference frame, so leaving out its deblocking cannot
            # drift into others; the analysis copy changes by hundredths of a grey level on
            # average, and H.264 decoding costs about 8 % less. Set before the first packet opens
            # the decoder.
            self._stream.codec_context.options = {"skip_loop_filter": "noref"}
        yield from decode_packets(self._container.demux(self._stream), self.name)

    def __iter__(self) -> Iterator[SourceFrame]:
        fps = self.fps or FALLBACK_FPS
        index = 0
        last_time = -1.0
        turn = NOT_READ
        try:
            try:
                for frame in self._decoded():
                    if turn == NOT_READ:  # the display matrix (a phone's rotate=90) is on every frame: read it once
                        turn = upright_turn(frame, self.name)
                    image, limited = upright_grey(frame, turn)
                    stamp = frame.time
                    # container timestamps when they are sane, else continue at the nominal rate
                    t = stamp - self._start if stamp is not None else -1.0
                    if t <= last_time or t < 0:
                        t = last_time + 1.0 / fps if index else 0.0
                    last_time = t
                    yield SourceFrame(index, t, image, to_bgr=_bgr_of(frame, turn), limited_range=limited)
                    index += 1
            except av.error.FFmpegError as exc:
                if index == 0:
                    raise SourceError(f"'{self.name}' has no decodable frames ({exc}); the file is corrupt, "
                                      f"empty or in a codec this build lacks") from None
                log.warning("%s: decoding stopped after %d frames: %s", self.name, index, exc)
            if index == 0:
                raise SourceError(f"'{self.name}' has no decodable frames: the file is corrupt, "
                                  f"empty or in a codec this build lacks")
            self.incomplete = shortfall(index, last_time, self.frame_count, self._duration, self.fps)
            if self.incomplete:
                log.warning("%s ended early: %s; it is truncated or damaged, and the rest was not analysed",
                            self.name, self.incomplete)
        finally:
            self.close()

    def close(self) -> None:
        container, self._container = getattr(self, "_container", None), None
        if container is not None:
            container.close()
