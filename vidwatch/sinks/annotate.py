"""The whole input written back as a video with what the detectors saw drawn on every frame.

Per frame: the outline of the change mask (union of the detectors' masks), each detector's box,
a caption with every detector's score against the threshold the gate applied (red when over), and a
red border with the open event kinds while an event is active (:func:`~vidwatch.sinks.draw.draw_record`).
It is the quickest way to see why an event fired. Frames keep their timestamps, so variable-frame-rate
input plays at its own speed. The path and the video writer are checked before the run; if writing
fails during it (a full disk) the sink stops trying and names the frames it could not write at the end.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vidwatch.errors import UserError
from vidwatch.record import FrameRecord
from vidwatch.sinks import draw
from vidwatch.sinks.base import Sink
from vidwatch.sinks.delivery import Loss, why
from vidwatch.sinks.params import OutputParams
from vidwatch.sinks.places import writable_file
from vidwatch.sinks.video import VideoWriter, writer_method
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
        self.method = self.check(self.path, params)
        self.params = params
        self.fps = fps
        self._writer: VideoWriter | None = None
        self._held: list[tuple[int, float, np.ndarray]] = []
        self.failed: OSError | None = None
        self._unwritten: tuple[int, int] | None = None
        """First and last frame not written (the whole file goes when writing fails)."""
        self._last_index = 0

    @staticmethod
    def check(path: Path, params: OutputParams) -> str:
        """Fail before the run, with one line, when the video cannot be written; returns the writer method."""
        if path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise UserError(f"--annotate {path}: give a .mp4 file name")
        writable_file(path, "--annotate", "annotated video")
        return writer_method(params.video_writer)

    def frame(self, record: FrameRecord) -> None:
        self._last_index = record.index
        if self.failed is not None:  # the file is given up: count, do not retry every frame
            assert self._unwritten is not None
            self._unwritten = (self._unwritten[0], record.index)
            return
        image = draw.draw_record(record)
        self._held.append((record.index, record.time, image))
        if self._writer is None:
            if self.fps is None and len(self._held) < FPS_PROBE_FRAMES:
                return
            self._writer = VideoWriter(self.path, self.fps or estimate_fps([t for _, t, _ in self._held]),
                                       method=self.method)
        self._write_held()

    def _write_held(self) -> None:
        assert self._writer is not None
        try:
            for _, time, image in self._held:
                self._writer.write(image, time)
        except OSError as exc:  # the writer removed the partial file
            self._fail(exc)
        self._held.clear()

    def _fail(self, exc: OSError) -> None:
        self.failed = exc
        self._writer = None
        self._unwritten = (0, self._last_index)
        log.error("output %s: cannot write %s (%s); it is given up, detection goes on", self.name, self.path, why(exc))

    def close(self) -> None:
        if self.failed is None and self._held:
            if self._writer is None:
                self._writer = VideoWriter(self.path, self.fps or estimate_fps([t for _, t, _ in self._held]),
                                           method=self.method)
            self._write_held()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            try:
                writer.close()
            except OSError as exc:
                self._fail(exc)
                return
            log.info("annotated video %s: %d frames", self.path, writer.frames)

    def losses(self) -> list[Loss]:
        if self.failed is None or self._unwritten is None:
            return super().losses()
        first, last = self._unwritten
        return [Loss(self.name, str(self.path), f"not written (frames {first}-{last}): the file was given up",
                     why(self.failed))]
