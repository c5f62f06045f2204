"""Estimate the camera's sensor noise from the footage itself.

A grainy night camera and a clean daylight one need different per-pixel thresholds; measuring the
noise lets one config serve both. The difference of two consecutive frames of a still scene is pure
noise with standard deviation √2·σ, and its median absolute value is 0.6745·√2·σ. The median
ignores the few pixels where something really moves, so the estimate holds during activity too.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_MAD_TO_SIGMA = 1.0 / (0.6745 * math.sqrt(2.0))


class NoiseEstimator:
    """Running estimate of the per-frame noise σ (grey levels) of the analysis frames."""

    def __init__(self, *, rate: float = 0.05) -> None:
        self.rate = rate
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None
        self.sigma = 0.0
        self._seen = 0

    def update(self, grey: np.ndarray, valid: np.ndarray | None = None) -> float:
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            return self.sigma
        delta = cv2.absdiff(grey, previous)
        hist = cv2.calcHist([delta], [0], valid, [256], [0, 256]).ravel()
        total = hist.sum()
        if total == 0:
            return self.sigma
        cdf = np.cumsum(hist)
        level = int(np.searchsorted(cdf, total / 2.0))
        # interpolate inside the bin so sub-level noise is not rounded to 0 or 1
        below = cdf[level - 1] if level > 0 else 0.0
        median = level + (total / 2.0 - below) / max(hist[level], 1.0) - 0.5
        sigma = max(median, 0.0) * _MAD_TO_SIGMA
        self._seen += 1
        rate = max(self.rate, 1.0 / self._seen)
        self.sigma += rate * (sigma - self.sigma)
        return self.sigma
