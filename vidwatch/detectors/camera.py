"""A camera that was moved or knocked: a large shift of the whole picture that stays.

Alignment undoes small, passing shifts (shake). When the measured offset from the reference stays
large for a while, the camera now points somewhere else: that is a scene change, after which the
models re-learn the new view instead of reporting everything in it as motion.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from vidwatch.detectors.base import QUIET, Detector, DetectorParams, Score
from vidwatch.events import SCENE_CHANGE
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class CameraParams(DetectorParams):
    threshold: float = param(0.025, "camera offset, as a fraction of the frame width, that must persist to "
                             "count as moved", min=0.0, max=1.0)
    persist: int = param(5, "frames the offset must stay beyond the threshold (shake comes and goes)",
                         min=1, max=1000)


class CameraMovedDetector(Detector):
    """Smallest camera displacement (shift and turn, as a fraction of the width) over the last
    ``persist`` frames (needs ``analysis.align``)."""

    name: ClassVar[str] = "camera"
    kind: ClassVar[str] = SCENE_CHANGE
    summary: ClassVar[str] = (
        "camera moved or knocked: a global shift that persists (shake that comes and goes is aligned "
        "away); needs analysis.align")
    Params: ClassVar[type[DetectorParams]] = CameraParams
    metric_names: ClassVar[tuple[str, ...]] = ("offset",)
    runs_by_default: ClassVar[bool] = True

    def reset(self) -> None:
        self._recent: deque[float] = deque(maxlen=self.params.persist)

    def update(self, frame: AnalysisFrame) -> Score:
        offset = frame.displacement / frame.grey.shape[1]
        self._recent.append(offset)
        if len(self._recent) < self.params.persist:
            return QUIET
        return Score(min(self._recent), {"offset": offset})
