"""The per-frame record: the gate's verdict on one frame, which every output reads.

The gate is the only place that knows which thresholds it applied (fixed, raised by ``adaptive``),
which scores were over them, which events are open and which started or ended. It hands all of that
to the outputs as one :class:`FrameRecord` per analysed frame, so a sink, the score recorder behind
``tune``, the time-lapse judge or the preview never re-derive a decision from the config and can
never contradict the gate. What outputs need before the first frame (the scores CSV's header, a page's
legend, how long a clip buffer must hold frames) is the run's :class:`RecordLayout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vidwatch.detectors.base import Score
from vidwatch.events import Event
from vidwatch.frames import AnalysisFrame


@dataclass(frozen=True, slots=True)
class Track:
    """An object followed over frames (filled by the object stage; empty until it runs)."""

    id: int
    box: tuple[int, int, int, int]
    """x, y, w, h in full-resolution source pixels."""
    velocity: tuple[float, float]
    """Source pixels per second."""
    age: float
    """Seconds since the track was born."""
    thing: bool
    """Confirmed as a thing that travels (counts as motion)."""
    light: bool
    """Judged to be light (a shadow, a headlight), not a thing."""
    path: tuple[tuple[float, float], ...] = ()
    """Recent centre positions, source pixels."""


@dataclass(frozen=True, slots=True)
class RecordLayout:
    """What every record of a run will hold, known before the first frame."""

    detectors: tuple[str, ...]
    """Score names in the order records list them (the detectors that run)."""
    metrics: Mapping[str, tuple[str, ...]]
    """The metric names each score reports (``Detector.metric_names``)."""
    kinds: tuple[str, ...]
    """Event kinds the gate decides."""
    feeds: Mapping[str, tuple[str, ...]]
    """kind -> the score names that feed it."""
    decision_lag: float
    """Seconds after its last busy frame an event may still grow (the largest post_roll + merge_gap, plus
    the time a track that may still count is awaited where things decide): how long a buffer must
    hold frames before the gate's verdict on them is final."""


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """The gate's verdict on one analysed frame."""

    source: str
    """The source's name."""
    index: int
    """Frame index (0-based decode order)."""
    time: float
    """Seconds from the start of the source."""
    scores: Mapping[str, Score]
    """Every score this frame (value, metrics, mask, box)."""
    thresholds: Mapping[str, float]
    """The threshold the gate applied to each score this frame (adaptive ones included)."""
    over: frozenset[str]
    """Scores over their threshold this frame."""
    active: tuple[str, ...]
    """Kinds with an open event after this frame."""
    started: tuple[Event, ...]
    """Events that opened on this frame."""
    ended: tuple[Event, ...]
    """Events that closed on this frame."""
    tracks: tuple[Track, ...]
    """Object tracks alive on this frame (empty until the object stage runs)."""
    frame: AnalysisFrame
    """The analysis copy; ``frame.source.bgr()`` is the full-resolution picture."""
    rebaseline: str | None = None
    """The kind (``lighting`` or ``scene_change``) that was over threshold on this frame: the motion
    models follow the new light or re-learn the scene from the next frame on (the capture loop acts on
    it; outputs may show it)."""
