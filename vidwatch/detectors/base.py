"""What every detector is: something that scores a frame and never decides what an event is.

A new detector is one module with a class satisfying :class:`Detector` plus one line in
:data:`vidwatch.detectors.REGISTRY`; the config loader, the CLI listing and the docs read its
``Params`` dataclass, the only home of its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class Score:
    """One detector's verdict on one frame.

    ``value`` (>= 0, higher = more change) is what the gate compares with the threshold; ``metrics``
    are named extras for the scores CSV and tuning; ``mask`` is an analysis-size uint8 change mask
    and ``box`` the (x, y, w, h) of the largest changed region in analysis pixels, when the detector
    has them.
    """

    value: float
    metrics: dict[str, float] = field(default_factory=dict)
    mask: np.ndarray | None = None
    box: tuple[int, int, int, int] | None = None


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Settings every detector has; each detector's Params subclasses this and sets its own threshold."""

    threshold: float = param(1.0, "score above which the detector fires", min=0.0)
    adaptive: float = param(0.0, "also require the score to exceed its running baseline by this many "
                            "spreads (a robust z-score), so one config fits quiet and busy scenes; 0 = off",
                            min=0.0, max=100.0)
    sustained: float = param(0.0, "seconds this detector alone must stay over its threshold to open an event "
                             "even when the rule's fusion wants more detectors (0 = never alone)",
                             min=0.0, max=3600.0)


QUIET = Score(0.0)
"""The score of a detector that is still learning (warm-up) or has nothing to compare yet."""


class Detector(Protocol):
    """A change scorer with its own model state."""

    name: ClassVar[str]
    """The ``type:`` used in YAML."""
    kind: ClassVar[str]
    """The event kind this detector feeds by default (``motion`` or ``scene_change``)."""
    summary: ClassVar[str]
    """One line for ``vidwatch detectors``: what it measures and when to use it."""
    Params: ClassVar[type]
    """Frozen dataclass of tunables; must have a ``threshold`` field."""

    def __init__(self, params: object) -> None: ...

    def update(self, frame: AnalysisFrame) -> Score:
        """Score ``frame`` against the model, then learn from it."""
        ...

    def reset(self) -> None:
        """Forget everything learnt (after a scene change or a reconnect)."""
        ...
