"""Cameras and network streams, read on their own thread so analysis always gets the newest frame."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np

from vidwatch.errors import SourceError
from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source, positive_fps

log = logging.getLogger(__name__)


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
        self.fps = positive_fps(self._capture.get(cv2.CAP_PROP_FPS))
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
