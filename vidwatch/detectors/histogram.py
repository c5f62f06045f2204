"""Kullback–Leibler divergence between consecutive frames' intensity histograms.

A histogram ignores where things are, so objects moving inside a scene barely change it while a
cut, a covered lens or a camera swung to a new view changes it at once: this is the scene-change
detector. Histograms are smoothed (a small count added to every bin) so an empty bin never gives
an infinite divergence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import cv2
import numpy as np

from vidwatch.detectors.base import QUIET, AnalysisNeeds, Detector, DetectorParams, Score
from vidwatch.events import SCENE_CHANGE
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class HistogramParams(DetectorParams):
    threshold: float = param(0.2, "KL divergence (nats) between consecutive histograms above which it fires",
                             min=0.0)
    bins: int = param(128, "histogram bins per channel", min=2, max=256)
    smoothing: float = param(1.0, "count added to every bin before normalising, so log(0) never occurs",
                             min=1e-9)
    symmetric: bool = param(True, "average KL(P||Q) and KL(Q||P) so cuts in and out score alike")
    channels: Literal["grey", "colour"] = param(
        "grey", "'colour' averages the divergence over B, G and R (needs analysis.colour: true)")


def histogram(image: np.ndarray, bins: int, smoothing: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Smoothed, normalised intensity histogram of one channel."""
    counts = cv2.calcHist([image], [0], mask, [bins], [0, 256]).ravel().astype(np.float64)
    counts += smoothing
    return counts / counts.sum()


def grey_histogram(frame: AnalysisFrame, bins: int, smoothing: float) -> np.ndarray:
    """The frame's grey histogram, computed once per frame however many detectors ask."""
    key = ("grey_histogram", bins, smoothing)
    if key not in frame.cache:
        frame.cache[key] = histogram(frame.grey, bins, smoothing, frame.valid)
    return frame.cache[key]


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(P || Q) in nats for two strictly positive distributions."""
    return float(np.sum(p * np.log(p / q)))


class HistogramDetector(Detector):
    """KL divergence of the current histogram from the previous frame's."""

    name: ClassVar[str] = "histogram"
    kind: ClassVar[str] = SCENE_CHANGE
    summary: ClassVar[str] = (
        "histogram Kullback–Leibler divergence between consecutive frames; blind to objects moving, "
        "fires on cuts, a covered lens or a moved camera")
    Params: ClassVar[type[DetectorParams]] = HistogramParams
    metric_names: ClassVar[tuple[str, ...]] = ("kl",)
    runs_by_default: ClassVar[bool] = True

    @classmethod
    def needs(cls, params: DetectorParams) -> AnalysisNeeds:
        return AnalysisNeeds(colour="channels" if getattr(params, "channels", "grey") == "colour" else None)

    def reset(self) -> None:
        self._previous: list[np.ndarray] | None = None

    def _histograms(self, frame: AnalysisFrame) -> list[np.ndarray]:
        p = self.params
        if p.channels == "colour":
            if frame.colour is None:
                raise ValueError("histogram.channels 'colour' needs analysis.colour: true")
            planes = cv2.split(frame.colour)
            return [histogram(plane, p.bins, p.smoothing, frame.valid) for plane in planes]
        return [grey_histogram(frame, p.bins, p.smoothing)]

    def update(self, frame: AnalysisFrame) -> Score:
        current = self._histograms(frame)
        previous, self._previous = self._previous, current
        if previous is None:
            return QUIET
        forward = [kl_divergence(c, q) for c, q in zip(current, previous, strict=False)]
        value = float(np.mean(forward))
        if self.params.symmetric:
            backward = [kl_divergence(q, c) for c, q in zip(current, previous, strict=False)]
            value = 0.5 * (value + float(np.mean(backward)))
        return Score(value, {"kl": value})
