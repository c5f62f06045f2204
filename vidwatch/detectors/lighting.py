"""Global illumination changes: a light switched on, clouds, auto-exposure, an IR day/night switch.

When most of the picture changes at once but its structure stays the same (the current frame still
correlates strongly with the previous one once brightness and contrast are factored out), the
light changed, not the scene. This detector scores exactly that, so the gate can report a
``lighting`` event instead of motion or a scene change, and the models can re-learn the new light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidwatch.detectors.base import QUIET, DetectorParams, Score
from vidwatch.events import LIGHTING
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class LightingParams(DetectorParams):
    threshold: float = param(0.5, "fraction of the frame that must change at once (with its structure kept)",
                             min=0.0, max=1.0)
    min_correlation: float = param(0.7, "correlation with the previous frame, after removing brightness and "
                                   "contrast, above which a change counts as lighting rather than a new "
                                   "scene", min=-1.0, max=1.0)
    noise_level: int = param(12, "grey levels a pixel must change by to count as changed", min=1, max=255)
    noise_factor: float = param(5.0, "...or this many times the estimated noise σ, whichever is larger",
                                min=0.0)


class LightingDetector:
    """Fraction of pixels changed at once while the frame's structure is unchanged."""

    name: ClassVar[str] = "lighting"
    kind: ClassVar[str] = LIGHTING
    summary: ClassVar[str] = (
        "global light change with the scene's structure kept (light switch, clouds, auto-exposure, IR "
        "switch); reports a lighting event and keeps such changes from counting as motion")
    Params: ClassVar[type] = LightingParams

    def __init__(self, params: LightingParams) -> None:
        self.params = params
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None

    def update(self, frame: AnalysisFrame) -> Score:
        p = self.params
        grey = frame.grey
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            return QUIET
        delta = cv2.absdiff(grey, previous)
        level = max(p.noise_level, p.noise_factor * math.sqrt(2.0) * frame.noise)
        changed = cv2.threshold(delta, level, 255, cv2.THRESH_BINARY)[1]
        if frame.valid is not None:
            changed = cv2.bitwise_and(changed, frame.valid)
        fraction = cv2.countNonZero(changed) / max(frame.valid_pixels, 1)
        correlation = 0.0
        if fraction > 0.05:  # correlation only matters when much of the frame changed
            correlation = float(cv2.matchTemplate(grey, previous, cv2.TM_CCOEFF_NORMED)[0, 0])
            if not math.isfinite(correlation):  # a flat frame has no structure to compare
                correlation = 0.0
        value = fraction if correlation >= p.min_correlation else 0.0
        brightness = float(cv2.mean(grey)[0] - cv2.mean(previous)[0])
        return Score(value, {"changed": fraction, "correlation": correlation, "brightness": brightness})
