"""The whole input written back as a video with what the detectors saw drawn on every frame.

Per frame: the outline of the change mask (union of the detectors' masks), each detector's box,
a caption with every detector's score against its threshold (red when over), and a red border with
the open event kinds while an event is active. It is the quickest way to see why an event fired.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from vidwatch.config import Config
from vidwatch.detectors.base import Score
from vidwatch.errors import UserError
from vidwatch.frames import AnalysisFrame
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

    def __init__(self, path: str | Path, config: Config, *, fps: float | None = None,
                 params: OutputParams | None = None) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise UserError(f"--annotate {self.path}: give a .mp4 file name")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create folder for --annotate {self.path}: {exc.strerror}") from None
        self.params = params or config.outputs
        self.thresholds = config.thresholds()
        self.fps = fps
        self._writer: VideoWriter | None = None
        self._held: list[tuple[float, np.ndarray]] = []

    def frame(self, frame: AnalysisFrame, scores: Mapping[str, Score], active: Sequence[str]) -> None:
        image = self.render(frame, scores, active)
        if self._writer is None:
            if self.fps is None and len(self._held) < FPS_PROBE_FRAMES - 1:
                self._held.append((frame.time, image))
                return
            self._open([t for t, _ in self._held] + [frame.time])
        assert self._writer is not None
        self._writer.write(image)

    def _open(self, times: list[float]) -> None:
        fps = self.fps or estimate_fps(times)
        self._writer = VideoWriter(self.path, fps, method=self.params.video_writer)
        held, self._held = self._held, []
        for _, image in held:
            self._writer.write(image)

    def render(self, frame: AnalysisFrame, scores: Mapping[str, Score], active: Sequence[str]) -> np.ndarray:
        image = frame.source.bgr().copy()
        thickness = max(1, image.shape[0] // 360)
        mask = draw.union_mask(scores, scores)
        if mask is not None:
            cv2.drawContours(image, draw.mask_contours(mask, frame), -1, draw.GREEN, thickness, cv2.LINE_AA)
        for score in scores.values():
            if score.box is not None:
                draw.draw_box(image, frame.to_full(score.box), draw.YELLOW, thickness)
        tokens = [(f"frame {frame.index}", draw.WHITE), (f"t={frame.time:.2f}s", draw.WHITE)]
        for i, (name, score) in enumerate(scores.items()):
            threshold = self.thresholds.get(name, 0.0)
            text = draw.score_text(name, score, threshold)
            tokens.append(("\n" + text if i == 0 else text, draw.LIGHT_RED if score.value > threshold else draw.WHITE))
        draw.draw_caption(image, tokens)
        if active:
            h, w = image.shape[:2]
            border = max(3, h // 80)
            cv2.rectangle(image, (0, 0), (w - 1, h - 1), draw.RED, border)
            draw.draw_caption(image, [(" + ".join(k.upper() for k in active), draw.LIGHT_RED)], bottom=True)
        return image

    def close(self) -> None:
        if self._writer is None and self._held:
            self._open([t for t, _ in self._held])
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
            log.info("annotated video %s: %d frames", self.path, writer.frames)
