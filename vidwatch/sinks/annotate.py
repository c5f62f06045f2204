"""The whole input written back as a video with what the detectors saw drawn on every frame.

Per frame: the outline of the change mask (union of the detectors' masks), each detector's box,
a caption with every detector's score against the threshold the gate applied (red when over), and a
red border with the open event kinds while an event is active (:func:`~vidwatch.sinks.draw.draw_record`).
It is the quickest way to see why an event fired.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vidwatch.errors import UserError
from vidwatch.record import FrameRecord
from vidwatch.sinks import draw
from vidwatch.sinks.base import Sink
from vidwatch.sinks.params import OutputParams
from vidwatch.sinks.video import VideoWriter
from vidwatch.timing import estimate_fps

log = logging.getLogger(__name__)

FPS_PROBE_FRAMES = 8
"""Frames held before opening the writer when the source's frame rate is unknown (to estimate it)."""


class AnnotateSink(Sink):
    """Writes every analysed frame, annotated, to one video file."""

    name = "annotated-video"
    shows_pictures = True

    def __init__(self, path: str | Path, params: OutputParams, *, fps: float | None = None) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise UserError(f"--annotate {self.path}: give a .mp4 file name")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create folder for --annotate {self.path}: {exc.strerror}") from None
        self.params = params
        self.fps = fps
        self._writer: VideoWriter | None = None
        self._held: list[tuple[float, np.ndarray]] = []

    def frame(self, record: FrameRecord) -> None:
        image = draw.draw_record(record)
        if self._writer is None:
            if self.fps is None and len(self._held) < FPS_PROBE_FRAMES - 1:
                self._held.append((record.time, image))
                return
            self._open([t for t, _ in self._held] + [record.time])
        assert self._writer is not None
        self._writer.write(image)

    def _open(self, times: list[float]) -> None:
        fps = self.fps or estimate_fps(times)
        self._writer = VideoWriter(self.path, fps, method=self.params.video_writer)
        held, self._held = self._held, []
        for _, image in held:
            self._writer.write(image)

    def close(self) -> None:
        if self._writer is None and self._held:
            self._open([t for t, _ in self._held])
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
            log.info("annotated video %s: %d frames", self.path, writer.frames)
