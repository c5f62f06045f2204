"""Frame differencing: the simplest, fastest motion signal.

Compares each frame with the previous one (or with a fixed reference frame) pixel by pixel. The
Manhattan norm per pixel is the mean absolute difference; the zero norm per pixel is the fraction
of pixels whose difference exceeds a noise level. The zero norm is the default driver because one
small moving object barely moves the mean but clearly moves the count of changed pixels.

The noise level follows the noise measured in the footage, and pixels that change in a large share
of frames (leaves, ripples, a screen) are left out, so repetitive motion does not keep it firing
while something crossing those places still counts where it passes outside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import cv2
import numpy as np

from vidwatch.blobs import close_size_param, find_blobs, min_area_param, min_area_pixels, open_size_param, reach_param
from vidwatch.detectors.base import QUIET, Detector, DetectorParams, Score
from vidwatch.events import MOTION
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class DiffParams(DetectorParams):
    threshold: float = param(0.002, "score above which this detector fires (units of the chosen norm)",
                             min=0.0)
    norm: Literal["zero", "manhattan"] = param(
        "zero", "'zero': fraction of pixels (in blobs) changed by more than noise_level; "
        "'manhattan': mean absolute difference per pixel, 0..255")
    noise_level: int = param(12, "grey levels a pixel must change by to count as changed", min=1, max=255)
    noise_factor: float = param(5.0, "...or this many times the noise σ estimated from the footage, whichever "
                                "is larger (a grainy night camera needs no tuning)", min=0.0)
    max_activity: float = param(0.3, "ignore pixels that changed in more than this fraction of recent frames "
                                "(swaying foliage, water, a flickering screen); 1 = off", min=0.0, max=1.0)
    activity_rate: float = param(0.03, "how fast the per-pixel activity follows the scene, per frame",
                                 min=0.0001, max=1.0)
    reference: Literal["previous", "first"] = param(
        "previous", "compare with the previous frame, or with the first frame after a reset")
    min_area: float = min_area_param(60.0)
    open_size: int = open_size_param()
    close_size: int = close_size_param()
    reach: int = reach_param(0)  # a difference mask always shares last frame's positions


class DiffDetector(Detector):
    """Absolute difference against the previous (or a reference) analysis frame."""

    name: ClassVar[str] = "diff"
    kind: ClassVar[str] = MOTION
    summary: ClassVar[str] = (
        "frame differencing (Manhattan / zero norm); cheapest, reacts to anything that moves "
        "between consecutive frames; best for static indoor cameras")
    Params: ClassVar[type[DetectorParams]] = DiffParams
    metric_names: ClassVar[tuple[str, ...]] = ("manhattan", "zero", "raw_zero")
    runs_by_default: ClassVar[bool] = False  # motion is decided on tracked objects (vidwatch.objects)

    def reset(self) -> None:
        self._reference = None
        self._activity: np.ndarray | None = None
        self._opened: np.ndarray | None = None

    def update(self, frame: AnalysisFrame) -> Score:
        grey = frame.grey
        reference = self._reference
        if self.params.reference == "previous" or reference is None:
            self._reference = grey
        if reference is None or reference.shape != grey.shape:
            self._reference = grey
            return QUIET
        p = self.params
        delta = cv2.absdiff(grey, reference)
        if frame.valid is not None:
            delta = cv2.bitwise_and(delta, frame.valid)
        valid_pixels = frame.valid_pixels
        manhattan = float(cv2.sumElems(delta)[0]) / max(valid_pixels, 1)
        level = max(p.noise_level, p.noise_factor * math.sqrt(2.0) * frame.noise)
        _, changed = cv2.threshold(delta, level, 255, cv2.THRESH_BINARY)
        if p.max_activity < 1.0:
            changed = self._drop_busy_pixels(changed)
        blobs = find_blobs(changed, open_size=p.open_size, close_size=p.close_size,
                           min_area=min_area_pixels(p.min_area, frame.scale), valid_pixels=valid_pixels,
                           previous=self._opened, reach=p.reach)
        self._opened = blobs.opened
        value = blobs.area_fraction if self.params.norm == "zero" else manhattan
        metrics = {"manhattan": manhattan, "zero": blobs.area_fraction, "raw_zero": blobs.raw_fraction}
        return Score(value, metrics, blobs.mask, blobs.largest_box, components=blobs.components)

    def _drop_busy_pixels(self, changed: np.ndarray) -> np.ndarray:
        """Learn how often each pixel changes and drop the ones that change most of the time."""
        p = self.params
        if self._activity is None or self._activity.shape != changed.shape:
            self._activity = np.zeros(changed.shape, np.float32)
        calm = cv2.compare(self._activity, p.max_activity * 255.0, cv2.CMP_LE)  # not busy so far: 255
        cv2.accumulateWeighted(changed, self._activity, p.activity_rate)
        return cv2.bitwise_and(changed, calm)
