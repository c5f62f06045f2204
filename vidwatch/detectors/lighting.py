"""Global illumination changes: a light switched on, clouds, auto-exposure, an IR day/night switch.

When the picture's brightness distribution changes (its histogram moves, as it does at a cut) but
its structure stays the same — the current frame still correlates strongly with the previous one
once brightness and contrast are factored out — the light changed, not the scene. This detector
scores exactly that, so the gate can report a ``lighting`` event instead of a scene change or
motion (it takes precedence over both), and the models re-learn the scene in its new light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidwatch.detectors.base import QUIET, Detector, DetectorParams, Score
from vidwatch.detectors.histogram import HistogramParams, grey_histogram, kl_divergence
from vidwatch.events import LIGHTING
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param

_HISTOGRAM = HistogramParams()
"""Histograms are built as the histogram detector builds them, so both see the same change."""


@dataclass(frozen=True, slots=True)
class LightingParams(DetectorParams):
    threshold: float = param(0.2, "histogram divergence (symmetric KL, nats) of a change whose structure is "
                             "kept, above which it is a light change", min=0.0)
    min_correlation: float = param(0.7, "correlation with the previous frame, after removing brightness and "
                                   "contrast, above which a change is light rather than a new scene",
                                   min=-1.0, max=1.0)


class LightingDetector(Detector):
    """Histogram change of a frame whose structure is unchanged."""

    name: ClassVar[str] = "lighting"
    kind: ClassVar[str] = LIGHTING
    summary: ClassVar[str] = (
        "global light change with the scene's structure kept (light switch, clouds, auto-exposure, IR "
        "switch); reports a lighting event and keeps such changes from counting as a scene change or motion")
    Params: ClassVar[type[DetectorParams]] = LightingParams
    metric_names: ClassVar[tuple[str, ...]] = ("divergence", "correlation", "brightness")
    runs_by_default: ClassVar[bool] = True

    def reset(self) -> None:
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def update(self, frame: AnalysisFrame) -> Score:
        p = self.params
        grey = frame.grey
        hist = grey_histogram(frame, _HISTOGRAM.bins, _HISTOGRAM.smoothing)
        previous, self._previous = self._previous, (grey, hist)
        if previous is None or previous[0].shape != grey.shape:
            return QUIET
        before, hist_before = previous
        divergence = 0.5 * (kl_divergence(hist, hist_before) + kl_divergence(hist_before, hist))
        correlation = 0.0
        if divergence > 0.5 * p.threshold:  # only a real change needs the (costlier) structure check
            correlation = float(cv2.matchTemplate(grey, before, cv2.TM_CCOEFF_NORMED)[0, 0])
            if not math.isfinite(correlation):  # a flat frame has no structure to compare
                correlation = 0.0
        value = divergence if correlation >= p.min_correlation else 0.0
        brightness = float(cv2.mean(grey)[0] - cv2.mean(before)[0])
        return Score(value, {"divergence": divergence, "correlation": correlation, "brightness": brightness})
