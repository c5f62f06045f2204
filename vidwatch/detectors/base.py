"""What every detector is: something that scores a frame and never decides what an event is.

A detector subclasses :class:`Detector` and declares, as class attributes, everything the rest of
vidwatch needs to know about it: its YAML ``type`` (``name``), the event kind it feeds, one line of
documentation, its ``Params`` dataclass (the only home of its defaults), the metric names its scores
report (the scores CSV's columns, known before the first frame), whether it runs in the default
config, and through :meth:`Detector.needs` what it needs of the analysis copy beyond the small grey
picture. Its warm-up is :meth:`Detector.ready_at`. Adding one is a module plus a line in
:data:`vidwatch.detectors.REGISTRY`, or no line at all when the config names the class by import path
(``type: package.module:Class``); config validation, ``vidwatch detectors`` and the key reference read
the same declarations either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vidwatch.blobs import Components
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param

if TYPE_CHECKING:
    from vidwatch.preprocess import AnalysisParams


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
    since: tuple[int, float] | None = None
    """(frame, seconds) at which the evidence this score stands for began — a tracked thing's first
    sighting — so an event opened on it starts there rather than when the evidence was complete."""
    awaited: tuple[int, float] | None = None
    """(frame, seconds) first seen of the earliest thing-in-waiting — a track that may yet count — so an
    event that would close while it waits may wait for it: an event is backdated to its evidence's
    first sighting, so what was first seen within the merge gap belongs to the event before (a person
    whose track was lost and found again, who must earn their evidence afresh, or a second person
    who came into view as the first left: one event, not two)."""
    reference: np.ndarray | None = None
    """What the frame's :attr:`~vidwatch.frames.AnalysisFrame.detail` was compared with (a background
    model's mean, mapped to the frame's light), so later stages can test what each region is."""
    faint: Callable[[], np.ndarray] | None = None
    """Makes, on request, the analysis-size uint8 mask of changes too faint or too small for ``mask``:
    where something too small for the analysis copy may be, for a finer look (only a large picture's
    fine pass asks, so other runs never pay for it)."""
    components: Components | None = None
    """The connected regions of ``mask`` as the detector labelled them (the object stage takes them
    rather than labelling the same mask again)."""


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


@dataclass(frozen=True, slots=True)
class LearningHints:
    """What the object stage learnt about a frame's foreground, for detectors that model the background.

    A model cannot tell a person who stopped from a shadow; the object stage can. Pixels under ``hold``
    belong to things being tracked: keep them out of the model for now (a loiterer stays visible).
    Pixels under ``free`` are foreground that is no thing — light on a surface (a shadow, a headlight),
    a ghost, clutter that never travels: learn them as background rather than at the slow foreground
    rate, so they do not stay foreground for long. uint8 masks, 0/255, or None.
    """

    hold: np.ndarray | None = None
    free: np.ndarray | None = None


QUIET = Score(0.0)
"""The score of a detector that is still learning (warm-up) or has nothing to compare yet."""


@dataclass(frozen=True, slots=True)
class AnalysisNeeds:
    """What a detector needs of the analysis copy beyond the small grey picture every detector gets.

    Each need is the name of the detector parameter that asks for it (None: not needed), so a
    config that cannot meet it is refused naming the key that asked and the setting that fixes it.
    """

    colour: str | None = None
    """Needs the colour analysis copy (``analysis.colour: true``)."""
    full_size: str | None = None
    """Needs the analysis copy at full resolution (``analysis.width: 0``)."""

    def unmet(self, params: Any, analysis: AnalysisParams) -> list[str]:
        """``key: what is missing; the fix`` for each need ``analysis`` does not meet."""
        problems = []
        if self.colour and not analysis.colour:
            problems.append(f"{self.colour}: {getattr(params, self.colour, True)!r} needs the colour analysis "
                            f"copy; set analysis.colour: true")
        if self.full_size and analysis.width != 0:
            problems.append(f"{self.full_size}: {getattr(params, self.full_size, True)!r} needs the full-size "
                            f"analysis copy; set analysis.width: 0")
        return problems


class Detector:
    """Base of every detector: a change scorer with its own model state.

    Subclasses set the class attributes below, implement :meth:`update`, and override :meth:`reset`
    (which ``__init__`` calls, so it is also where the state is first made) and, where they have
    one, :meth:`ready_at` and :meth:`needs`.
    """

    name: ClassVar[str]
    """The ``type:`` used in YAML."""
    kind: ClassVar[str]
    """The event kind this detector feeds by default (``motion``, ``scene_change``, ``lighting``...)."""
    summary: ClassVar[str]
    """One line for ``vidwatch detectors``: what it measures and when to use it."""
    Params: ClassVar[type[DetectorParams]] = DetectorParams
    """Frozen dataclass of tunables (subclass of :class:`DetectorParams`): the only home of its defaults."""
    metric_names: ClassVar[tuple[str, ...]] = ()
    """The metrics its scores report, in this order (a warming-up score may report none)."""
    runs_by_default: ClassVar[bool] = False
    """Part of the configuration that runs without ``-c``."""
    foreground: ClassVar[bool] = False
    """Its mask is a background model's foreground, with the ``reference`` it was compared with: the
    object stage tracks its regions and tells it what they are through :meth:`guide`."""

    def __init__(self, params: DetectorParams) -> None:
        self.params: Any = params
        self.reset()

    def update(self, frame: AnalysisFrame) -> Score:
        """Score ``frame`` against the model, then learn from it."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget everything learnt (after a scene change or a reconnect)."""

    def relight(self) -> bool:
        """Follow a change of the scene's light (auto-exposure, a dimmer, a cloud) seen on the last
        frame without forgetting the scene; False when it cannot, and must re-learn (:meth:`reset`)."""
        return False

    def ready_at(self, time: float) -> bool:
        """Whether the warm-up is over by ``time`` (seconds of the source): before that it only learns.

        Detectors without a warm-up are ready once they have a frame to compare with.
        """
        return True

    def guide(self, hints: LearningHints) -> None:
        """What the object stage made of the last scored frame's foreground (see :class:`LearningHints`);
        only detectors with ``foreground`` use it."""

    @classmethod
    def needs(cls, params: DetectorParams) -> AnalysisNeeds:
        """What this detector, with ``params``, needs of the analysis copy."""
        return AnalysisNeeds()


def contract_problem(cls: object) -> str | None:
    """Why ``cls`` cannot be used as a detector class, or None when it can."""
    if not isinstance(cls, type) or not issubclass(cls, Detector):
        return "is not a detector class (subclass vidwatch.detectors.Detector)"
    for attribute in ("name", "kind", "summary"):
        value = getattr(cls, attribute, None)
        if not isinstance(value, str) or not value:
            return f"has no {attribute} (a non-empty string class attribute)"
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and dataclasses.is_dataclass(params) and issubclass(params, DetectorParams)):
        return "has no Params dataclass subclassing vidwatch.detectors.DetectorParams"
    names = cls.metric_names
    if not isinstance(names, tuple) or not all(isinstance(n, str) for n in names):
        return "metric_names must be a tuple of strings"
    if cls.update is Detector.update:
        return "does not implement update(frame) -> Score"
    return None
