"""The one place where scores become events.

Every detector only scores; this gate applies thresholds, fusion (any / all / k of n), the minimum
run of frames that opens an event, the post-roll that keeps it open through short pauses and the
merge gap that joins nearby events, per event kind. An event past its merge gap stays open while a
score awaits evidence first seen before then (``Score.awaited``: a track that may still count, such
as a thing's track lost and found again, earning its evidence afresh), and goes on if it comes.
Keeping the decision here means all detectors share the same, tested event semantics. Its verdict
on each frame is a :class:`~vidwatch.record.FrameRecord`, which is what every output reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from vidwatch.detectors.base import Score
from vidwatch.events import LIGHTING, MOTION, REBASELINE_KINDS, SCENE_CHANGE, Event
from vidwatch.frames import AnalysisFrame
from vidwatch.objects.params import OBJECTS
from vidwatch.objects.sightings import note_sightings
from vidwatch.params import param
from vidwatch.record import FrameRecord, Track


@dataclass(frozen=True, slots=True)
class EventRule:
    """How one event kind is decided (YAML ``events.<kind>``)."""

    detectors: tuple[str, ...] | None = param(
        None, "detector names that feed this kind; default: every detector whose own kind it is")
    fusion: Literal["any", "all"] | int = param(
        "any", "'any', 'all', or a number k: at least k of the detectors over threshold", min=1)
    min_frames: int = param(3, "consecutive frames over threshold before an event opens", min=1, max=10000)
    post_roll: float = param(1.0, "seconds of quiet kept in the event after the last frame over threshold",
                             min=0.0, max=3600.0)
    merge_gap: float = param(1.0, "events separated by less than this many seconds (after post-roll) "
                             "are joined", min=0.0, max=3600.0)


KIND_DEFAULTS: dict[str, dict[str, object]] = {
    MOTION: {"fusion": 2},
    SCENE_CHANGE: {"min_frames": 1, "post_roll": 0.0, "merge_gap": 0.0},
    LIGHTING: {"min_frames": 1, "post_roll": 0.0, "merge_gap": 1.0},
}
"""Where a kind's rule differs from :class:`EventRule`'s defaults. Motion needs two detectors to
agree (each nuisance fools a different one: rain the difference, foliage the background model,
noise the tracks); a detector trusted alone once it persists says so with ``sustained``. A cut is
a single frame; a light change is a frame or a few (auto-exposure settling), joined into one event.
When a kind's default fusion asks for more detectors than are configured, all of them are needed."""


def default_rule(kind: str) -> EventRule:
    return dataclasses.replace(EventRule(), **KIND_DEFAULTS.get(kind, {}))  # type: ignore[arg-type]


def required_over(rule: EventRule, n_detectors: int) -> int:
    """How many detectors must be over threshold for a frame to count."""
    if rule.fusion == "any":
        return 1
    if rule.fusion == "all":
        return n_detectors
    return min(int(rule.fusion), n_detectors)


class Threshold:
    """A detector's threshold: fixed, or raised above the score's own running baseline.

    With ``adaptive`` k > 0 the score must also exceed baseline + k·spread, where baseline and
    spread are slow running estimates of the score's mean and mean absolute deviation. Values far
    above the baseline are clipped before they are learnt, so a passing event barely moves it while
    a scene that is busy all the time (a street) raises it within a minute or two.
    """

    def __init__(self, fixed: float, adaptive: float = 0.0, *, sustained: float = 0.0, rate: float = 0.005) -> None:
        self.fixed = fixed
        self.adaptive = adaptive
        self.sustained = sustained
        self.rate = rate
        self.mean = 0.0
        self.spread = 0.0
        self._seen = 0
        self.over = False
        self.over_since: tuple[int, float] = (0, 0.0)
        """First (frame, time) of the current run of frames over the threshold."""

    def mark(self, frame: AnalysisFrame, score: float) -> float:
        """Record whether ``score`` is over, and since when (before learning from it); returns the
        threshold it was compared with."""
        value = self.value
        over = score > value
        if over and not self.over:
            self.over_since = (frame.index, frame.time)
        self.over = over
        return value

    def sustained_at(self, time: float) -> bool:
        """Over on its own for at least ``sustained`` seconds."""
        return self.sustained > 0 and self.over and time - self.over_since[1] >= self.sustained - 1e-9

    @property
    def value(self) -> float:
        if self.adaptive <= 0:
            return self.fixed
        return max(self.fixed, self.mean + self.adaptive * self.spread)

    def observe(self, score: float) -> None:
        if self.adaptive <= 0:
            return
        self._seen += 1
        rate = max(self.rate, 1.0 / self._seen)
        if self._seen > 10:
            score = min(score, self.mean + 5.0 * self.spread + 1e-12)
        deviation = abs(score - self.mean)
        self.mean += rate * (score - self.mean)
        self.spread += rate * (deviation - self.spread)


class _KindGate:
    """State machine for one event kind."""

    def __init__(self, kind: str, rule: EventRule, detectors: Sequence[str], thresholds: Mapping[str, Threshold]):
        self.kind = kind
        self.rule = rule
        self.detectors = tuple(detectors)
        self.thresholds = {name: thresholds[name] for name in self.detectors}
        self.needed = required_over(rule, len(self.detectors))
        self.run = 0
        self.run_start: tuple[int, float] = (0, 0.0)
        self.event: Event | None = None
        self.last_over_time = 0.0
        self._peak_strength = -1.0
        self.last_end: tuple[int, float] = (-1, float("-inf"))
        """Last frame of the latest closed event: the next one may not start before it."""
        self.waiting = False
        """The open event is past its merge gap, kept open for evidence a score awaits."""

    @property
    def active(self) -> bool:
        return self.event is not None

    def is_over(self, time: float) -> tuple[bool, list[str], list[str]]:
        """(frame counts, detectors over, detectors over long enough to count alone)."""
        fired = [n for n in self.detectors if self.thresholds[n].over]
        alone = [n for n in fired if self.thresholds[n].sustained_at(time)]
        return len(fired) >= self.needed or bool(alone), fired, alone

    def step(self, frame: AnalysisFrame, scores: Mapping[str, Score], source: str,
             suppressed: bool, started: list[Event], ended: list[Event]) -> bool:
        """Advance by one frame; returns whether this frame was over threshold."""
        over, fired, alone = (False, [], []) if suppressed else self.is_over(frame.time)
        if over:
            if self.run == 0:
                self.run_start = (frame.index, frame.time)
                if alone and len(fired) < self.needed:  # the event began when that detector went over
                    self.run_start = min(self.thresholds[n].over_since for n in alone)
                began = [scores[n].since for n in fired if scores[n].since is not None]
                if began:  # e.g. a tracked thing: the event began when it was first seen
                    self.run_start = min(self.run_start, *began)
                if self.run_start[0] <= self.last_end[0]:  # never back into the event before it
                    self.run_start = (self.last_end[0] + 1, self.last_end[1] + 1e-6)
            self.run += 1
        else:
            self.run = 0
        event = self.event
        if event is not None:
            if not suppressed:
                self._track_peak(event, frame, scores, frame_counts=over)
            closes_at = self.last_over_time + self.rule.post_roll + self.rule.merge_gap
            if over and self.run >= self.rule.min_frames and self.waiting and self.run_start[1] > closes_at + 1e-9:
                # held open for something awaited, but what came was first seen after the event would
                # have closed: it is an event of its own
                ended.append(self._close())
                event = None
            elif over and self.run >= self.rule.min_frames:
                self._extend(event, frame, fired)
            elif frame.time - self.last_over_time <= self.rule.post_roll + 1e-9:
                event.end_frame, event.end_time = frame.index, frame.time
            elif frame.time > closes_at + 1e-9:
                self.waiting = self._awaits(scores, closes_at)
                if not self.waiting:
                    ended.append(self._close())
        if event is None and over and self.run >= self.rule.min_frames:
            start_frame, start_time = self.run_start
            event = Event(self.kind, start_frame, start_time, frame.index, frame.time, source=source)
            self.event = event
            self._peak_strength = -1.0
            self._track_peak(event, frame, scores)
            self._extend(event, frame, fired)
            started.append(event)
        return over

    def _awaits(self, scores: Mapping[str, Score], closes_at: float) -> bool:
        """Whether a score of this kind awaits evidence first seen before the event would close (a thing's
        track found again, still earning its evidence): the event stays open, its end where it was,
        until that evidence comes (and the event goes on) or is no longer awaited (and it closes)."""
        return any(score.awaited is not None and score.awaited[1] <= closes_at + 1e-9
                   for score in (scores.get(name) for name in self.detectors) if score is not None)

    def _extend(self, event: Event, frame: AnalysisFrame, fired: list[str]) -> None:
        self.waiting = False
        event.end_frame, event.end_time = frame.index, frame.time
        self.last_over_time = frame.time
        for name in fired:
            if name not in event.detectors:
                event.detectors.append(name)

    def _track_peak(self, event: Event, frame: AnalysisFrame, scores: Mapping[str, Score], *,
                    frame_counts: bool = True) -> None:
        """Raise each detector's peak; move the peak frame (and box) here only when ``frame_counts``:
        a frame where the event's own evidence was over threshold, never a post-roll frame after the
        thing left (a frame difference spikes where it vanished while nothing else sees it). The box
        is that of the strongest detector over its threshold: one under it marks noise, or the place
        something just left."""
        best_ratio, best_box, best_box_ratio = -1.0, None, -1.0
        for name in self.detectors:
            score = scores[name]
            if score.value > event.peak.get(name, -1.0):
                event.peak[name] = score.value
            threshold = self.thresholds[name]
            ratio = score.value / threshold.value if threshold.value > 0 else score.value
            best_ratio = max(best_ratio, ratio)
            if score.box is not None and threshold.over and ratio > best_box_ratio:
                best_box, best_box_ratio = score.box, ratio
        if frame_counts and best_ratio > self._peak_strength:
            self._peak_strength = best_ratio
            event.peak_frame, event.peak_time = frame.index, frame.time
            if best_box is not None:
                event.box = frame.to_full(best_box)

    def _close(self) -> Event:
        self.waiting = False
        event, self.event = self.event, None
        assert event is not None
        self.last_end = (event.end_frame, event.end_time)
        return event

    def flush(self) -> Event | None:
        """Close an open event at end of input (its end stays at the last frame that belonged to it)."""
        return self._close() if self.event is not None else None

    def clear(self) -> None:
        """Forget a partial run (used when the models re-baseline); an open event stays open."""
        self.run = 0


class Gate:
    """Scores of all detectors -> events of all kinds, one frame at a time."""

    def __init__(self, rules: Mapping[str, EventRule], detectors_by_kind: Mapping[str, Sequence[str]],
                 thresholds: Mapping[str, float], *, adaptive: Mapping[str, float] | None = None,
                 sustained: Mapping[str, float] | None = None, source: str = "", label_events: bool = False) -> None:
        self.source = source
        """The source's name, in every record."""
        self.event_label = source if label_events else ""
        """What events carry as their ``source`` (set when one run reads several sources)."""
        adaptive, sustained = adaptive or {}, sustained or {}
        self.thresholds = {name: Threshold(value, adaptive.get(name, 0.0), sustained=sustained.get(name, 0.0))
                           for name, value in thresholds.items()}
        # re-baselining kinds first, in precedence order, so a light switch is not also a scene change
        # and a cut suppresses motion on the very frame it happens
        order = sorted(rules, key=lambda k: REBASELINE_KINDS.index(k) if k in REBASELINE_KINDS
                       else len(REBASELINE_KINDS))
        self._gates = [_KindGate(k, rules[k], detectors_by_kind[k], self.thresholds) for k in order]

    @property
    def active_kinds(self) -> list[str]:
        return [g.kind for g in self._gates if g.active]

    def update(self, frame: AnalysisFrame, scores: Mapping[str, Score],
               tracks: tuple[Track, ...] = ()) -> FrameRecord:
        """Decide one frame: apply each score's threshold, advance every kind's events, learn baselines."""
        applied = self._apply(frame, scores)
        over = frozenset(name for name in applied if self.thresholds[name].over)
        started: list[Event] = []
        ended: list[Event] = []
        rebaseline = self._advance(frame, scores, started, ended)
        if tracks:
            for gate in self._gates:  # an event of a kind the objects decide keeps the things in it
                if gate.event is not None and OBJECTS in gate.detectors:
                    note_sightings(gate.event, tracks, frame.time)
        return FrameRecord(self.source, frame.index, frame.time, scores, applied, over,
                           tuple(self.active_kinds), tuple(started), tuple(ended), tracks, frame, rebaseline)

    def replay(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> list[Event]:
        """Decide one frame exactly as :meth:`update` does, but return only the events it closed.

        For replays of recorded scores (tuning runs thousands), where building each frame's record
        would cost more than the decision itself.
        """
        self._apply(frame, scores)
        ended: list[Event] = []
        self._advance(frame, scores, [], ended)
        return ended

    def _apply(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> dict[str, float]:
        """Compare each score with its threshold (marking it over or not), then let adaptive
        thresholds learn from it; returns the thresholds applied."""
        applied: dict[str, float] = {}
        for name, threshold in self.thresholds.items():
            score = scores.get(name)
            if score is not None:
                applied[name] = threshold.mark(frame, score.value)
                threshold.observe(score.value)
        return applied

    def _advance(self, frame: AnalysisFrame, scores: Mapping[str, Score], started: list[Event],
                 ended: list[Event]) -> str | None:
        """Step every kind's state machine, precedence first; returns the kind (lighting or scene_change)
        after which the models must re-learn the scene, or None."""
        rebaseline: str | None = None
        for gate in self._gates:
            kind_over = gate.step(frame, scores, self.event_label, rebaseline is not None, started, ended)
            if kind_over and gate.kind in REBASELINE_KINDS and rebaseline is None:
                rebaseline = gate.kind
        return rebaseline

    def judge(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> FrameRecord:
        """The frame on its own: each score against its current threshold, no event advanced and
        nothing learnt (the time-lapse judges each candidate this way)."""
        applied = {name: self.thresholds[name].value for name in scores if name in self.thresholds}
        over = frozenset(name for name, value in applied.items() if scores[name].value > value)
        return FrameRecord(self.source, frame.index, frame.time, scores, applied, over, (), (), (), (), frame)

    def clear_runs(self) -> None:
        """Forget partial runs (open events stay open): frames before and after are not one run."""
        for gate in self._gates:
            gate.clear()
        for threshold in self.thresholds.values():
            threshold.over = False

    def flush(self) -> list[Event]:
        """Close every open event (end of input, stop, error)."""
        return [e for e in (g.flush() for g in self._gates) if e is not None]
