"""Where frames come from: video files, cameras, network streams and image folders.

``open_source(spec)`` picks the right reader from the spec alone and returns a context-managed
iterator of :class:`SourceFrame`. Sources know nothing of detection. A file is read frame by frame,
never dropping one; a live source is read on its own thread and analysis always gets the newest
frame, so a slow analysis never makes the picture lag (stale frames are dropped and counted).
"""

from __future__ import annotations

import glob
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from vidwatch.errors import SourceError
from vidwatch.frames import SourceFrame
from vidwatch.params import param

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


@dataclass(frozen=True, slots=True)
class SourceParams:
    """How inputs are read (YAML section ``source``)."""

    image_fps: float = param(1.0, "frame rate assumed for image folders, to turn frame numbers into seconds",
                             min=0.0, min_exclusive=True)
    open_timeout: float = param(10.0, "seconds to wait for a camera or stream to deliver its first frame",
                                min=0.1, max=600.0)


class Source:
    """Base for all sources: a context manager yielding :class:`SourceFrame` objects."""

    name: str = ""
    live: bool = False
    fps: float | None = None
    frame_count: int | None = None
    dropped: int = 0

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[SourceFrame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the underlying device or file; safe to call twice."""


def _positive_fps(value: float) -> float | None:
    return float(value) if value and np.isfinite(value) and 0 < value < 1000 else None


class VideoFileSource(Source):
    """A recorded file decoded with OpenCV, every frame in order."""

    def __init__(self, path: str) -> None:
        self.name = path
        self._capture = cv2.VideoCapture(path)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"cannot open '{path}': not a video OpenCV can decode; check that the file "
                              f"is a complete video (e.g. play it or run ffprobe on it)")
        self.fps = _positive_fps(self._capture.get(cv2.CAP_PROP_FPS))
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None

    def __iter__(self) -> Iterator[SourceFrame]:
        capture = self._capture
        fps = self.fps or 25.0
        index = 0
        last_time = -1.0
        try:
            while True:
                ok, image = capture.read()
                if not ok or image is None:
                    if index == 0:
                        raise SourceError(f"'{self.name}' has no decodable frames: the file is corrupt, "
                                          f"empty or in a codec this OpenCV build lacks")
                    return
                stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                # container timestamps when they are sane, else frame number / fps
                t = stamp if (stamp > last_time and (index == 0 or stamp > 0)) else index / fps
                last_time = t
                yield SourceFrame(index, t, image)
                index += 1
        finally:
            self.close()

    def close(self) -> None:
        self._capture.release()


def _natural_key(path: str) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path)]


class ImageFolderSource(Source):
    """Still images (a folder or a glob) in name order, as time-lapse frames."""

    def __init__(self, spec: str, files: list[str], fps: float) -> None:
        self.name = spec
        self.files = files
        self.fps = fps
        self.frame_count = len(files)

    def __iter__(self) -> Iterator[SourceFrame]:
        for index, path in enumerate(self.files):
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                log.warning("skipping %s: not a readable image", path)
                continue
            frame = SourceFrame(index, index / self.fps, image)
            yield frame

    def file_for(self, index: int) -> str:
        return self.files[index]


class LiveSource(Source):
    """A camera or network stream read on its own thread; the consumer always gets the newest frame."""

    live = True

    def __init__(self, spec: str | int, name: str, open_timeout: float) -> None:
        self.name = name
        self._spec = spec
        self._capture = cv2.VideoCapture(spec)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"cannot open {name}: the device or stream is not reachable; check the "
                              f"index/URL and that nothing else holds the camera")
        self.fps = _positive_fps(self._capture.get(cv2.CAP_PROP_FPS))
        self._open_timeout = open_timeout
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, float] | None = None
        self._sequence = 0
        self._finished = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name=f"reader-{name}", daemon=True)
        self._started = time.monotonic()
        self._thread.start()

    def _read_loop(self) -> None:
        try:
            while not self._stop.is_set():
                ok, image = self._capture.read()
                if not ok or image is None:
                    break
                with self._cond:
                    if self._latest is not None and self._consumed < self._sequence:
                        self.dropped += 1
                    self._latest = (image, time.monotonic() - self._started)
                    self._sequence += 1
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    _consumed = 0

    def __iter__(self) -> Iterator[SourceFrame]:
        index = 0
        timeout = self._open_timeout
        try:
            while True:
                with self._cond:
                    got = self._cond.wait_for(lambda: self._sequence > self._consumed or self._finished,
                                              timeout=timeout)
                    if not got:
                        if index == 0:
                            raise SourceError(f"{self.name} delivered no frame within {timeout:g} s; check "
                                              f"that the camera or stream is running")
                        log.warning("%s: no frame for %.1f s, stopping", self.name, timeout)
                        return
                    if self._sequence == self._consumed:  # finished and nothing new
                        if index == 0:
                            raise SourceError(f"{self.name} opened but delivered no frame; check the stream")
                        return
                    image, t = self._latest  # type: ignore[misc]
                    self._consumed = self._sequence
                yield SourceFrame(index, t, image)
                index += 1
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
        self._capture.release()


def open_source(spec: str, params: SourceParams | None = None) -> Source:
    """Open a source from its spec: camera index, /dev/video*, stream URL, image folder or glob, video file."""
    params = params or SourceParams()
    text = str(spec).strip()
    if text.isdigit():
        return LiveSource(int(text), f"camera {text}", params.open_timeout)
    if text.startswith("/dev/video"):
        if not os.path.exists(text):
            raise SourceError(f"no such camera device: {text}; list cameras with `ls /dev/video*`")
        return LiveSource(text, text, params.open_timeout)
    if text.lower().startswith(STREAM_PREFIXES):
        return LiveSource(text, text, params.open_timeout)
    path = Path(text)
    if path.is_dir():
        files = sorted((str(p) for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
        if not files:
            raise SourceError(f"folder '{text}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                              f"point at a folder of snapshots or a video file")
        return ImageFolderSource(text, files, params.image_fps)
    if any(ch in text for ch in "*?["):
        files = sorted((p for p in glob.glob(text) if Path(p).suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
        if not files:
            raise SourceError(f"no images match '{text}'; check the pattern (quote it so the shell keeps it)")
        return ImageFolderSource(text, files, params.image_fps)
    if not path.exists():
        raise SourceError(f"no such file: {text}; give a video file, an image folder, a camera index "
                          f"(0) or a stream URL (rtsp://...)")
    if not path.is_file():
        raise SourceError(f"'{text}' is not a regular file; give a video file or an image folder")
    return VideoFileSource(text)
