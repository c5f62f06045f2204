"""Faults for the Ray tests, planted through vidwatch's own extension point (a detector named by import path).

:class:`DieOnce` kills the process it runs in, with SIGKILL (no clean-up, as the kernel's OOM
killer or a lost node would), the first time it sees frame ``at_frame``: it makes ``marker`` first,
so the task that Ray runs again finds the marker and goes through. It scores nothing, so events
are those of the config without it.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from vidwatch.detectors import QUIET, Detector, DetectorParams, Score
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class DieParams(DetectorParams):
    threshold: float = param(1.0, "never reached: the score is always 0", min=0.0)
    marker: str = param("", "file made just before the process is killed; while it exists nothing is killed")
    at_frame: int = param(0, "frame index at which the process is killed", min=0)


class DieOnce(Detector):
    name: ClassVar[str] = "die_once"
    kind: ClassVar[str] = "fault"
    summary: ClassVar[str] = "kills its own process once, at a given frame"
    Params: ClassVar[type[DetectorParams]] = DieParams
    metric_names: ClassVar[tuple[str, ...]] = ()
    runs_by_default: ClassVar[bool] = False

    def reset(self) -> None:
        pass

    def update(self, frame: AnalysisFrame) -> Score:
        marker = Path(self.params.marker)
        if frame.index == self.params.at_frame and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return QUIET
