"""Frame differencing: the simplest, fastest motion signal.

Compares each frame with the previous one (or with a fixed reference frame) pixel by pixel. The
Manhattan norm per pixel is the mean absolute difference; the zero norm per pixel is the fraction
of pixels whose difference exceeds a noise level. The zero norm is the default driver because one
small moving object barely moves the mean but clearly moves the count of changed pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import cv2
import numpy as np

from vidwatch.blobs import close_size_param, find_blobs, min_area_param, open_size_param
from vidwatch.detectors.base import QUIET, Score
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class DiffParams:
    threshold: float = param(0.002, "score above which this detector fires (units of the chosen norm)",
                             min=0.0)
    norm: Literal["zero", "manhattan"] = param(
        "zero", "'zero': fraction of pixels (in blobs) changed by more than noise_level; "
        "'manhattan': mean absolute difference per pixel, 0..255")
    noise_level: int = param(12, "grey levels a pixel must change by to count as changed", min=1, max=255)
    reference: Literal["previous", "first"] = param(
        "previous", "compare with the previous frame, or with the first frame after a reset")
    min_area: float = min_area_param()
    open_size: int = open_size_param()
    close_size: int = close_size_param()


class DiffDetector:
    """Absolute difference against the previous (or a reference) analysis frame."""

    name: ClassVar[str] = "diff"
    kind: ClassVar[str] = "motion"
    summary: ClassVar[str] = (
        "frame differencing (Manhattan / zero norm); cheapest, reacts to anything that moves "
        "between consecutive frames; best for static indoor cameras")
    Params: ClassVar[type] = DiffParams

    def __init__(self, params: DiffParams) -> None:
        self.params = params
        self._reference: np.ndarray | None = None

    def reset(self) -> None:
        self._reference = None

    def update(self, frame: AnalysisFrame) -> Score:
        grey = frame.grey
        reference = self._reference
        if self.params.reference == "previous" or reference is None:
            self._reference = grey
        if reference is None or reference.shape != grey.shape:
            self._reference = grey
            return QUIET
        delta = cv2.absdiff(grey, reference)
        if frame.valid is not None:
            delta = cv2.bitwise_and(delta, frame.valid)
        valid_pixels = cv2.countNonZero(frame.valid) if frame.valid is not None else delta.size
        manhattan = float(cv2.sumElems(delta)[0]) / max(valid_pixels, 1)
        _, changed = cv2.threshold(delta, self.params.noise_level, 255, cv2.THRESH_BINARY)
        p = self.params
        blobs = find_blobs(changed, open_size=p.open_size, close_size=p.close_size, min_area=p.min_area,
                           valid_pixels=valid_pixels)
        value = blobs.area_fraction if self.params.norm == "zero" else manhattan
        metrics = {"manhattan": manhattan, "zero": blobs.area_fraction, "raw_zero": blobs.raw_fraction}
        return Score(value, metrics, blobs.mask, blobs.largest_box)
