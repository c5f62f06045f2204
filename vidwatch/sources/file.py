"""Recorded video files, decoded in order with nothing dropped.

OpenCV's reader turns phone video upright by its display matrix itself (``CAP_PROP_ORIENTATION_AUTO``
is on by default) and reports container timestamps, so frames need no fixing here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import cv2

from vidwatch.errors import SourceError
from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source, positive_fps, shortfall
from vidwatch.timing import FALLBACK_FPS

log = logging.getLogger(__name__)


class VideoFileSource(Source):
    """A recorded file decoded with OpenCV, every frame in order."""

    def __init__(self, path: str) -> None:
        self.name = path
        self._capture = cv2.VideoCapture(path)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"cannot open '{path}': not a video OpenCV can decode; check that the file "
                              f"is a complete video (e.g. play it or run ffprobe on it)")
        self.fps = positive_fps(self._capture.get(cv2.CAP_PROP_FPS))
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None

    def __iter__(self) -> Iterator[SourceFrame]:
        capture = self._capture
        fps = self.fps or FALLBACK_FPS
        index = 0
        last_time = -1.0
        try:
            while True:
                ok, image = capture.read()
                if not ok or image is None:
                    if index == 0:
                        raise SourceError(f"'{self.name}' has no decodable frames: the file is corrupt, "
                                          f"empty or in a codec this OpenCV build lacks")
                    self.incomplete = shortfall(index, last_time, self.frame_count, None, self.fps)
                    if self.incomplete:
                        log.warning("%s ended early: %s; it is truncated or damaged, and the rest was not "
                                    "analysed", self.name, self.incomplete)
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
