"""The event gate: thresholds, min frames, post-roll, merge gap, open at end of input, fusion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidwatch.detectors.base import Score
from vidwatch.events import Event
from vidwatch.frames import AnalysisFrame, SourceFrame
from vidwatch.gate import EventRule, Gate

FPS = 10.0


def run_gate(values: dict[str, Sequence[float]], rule: EventRule, *, kind: str = "motion",
             thresholds: dict[str, float] | None = None) -> list[Event]:
    """Feed per-frame values through a gate; returns the closed events (including those flushed at the end)."""
    names = list(values)
    thresholds = thresholds or {n: 0.5 for n in names}
    gate = Gate({kind: rule}, {kind: names}, thresholds)
    n = len(values[names[0]])
    blank = np.zeros((4, 4), np.uint8)
    events: list[Event] = []
    for i in range(n):
        frame = AnalysisFrame(i, i / FPS, blank, 1.0, SourceFrame(i, i / FPS, blank))
        result = gate.update(frame, {name: Score(float(values[name][i])) for name in names})
        events += result.ended
    return events + gate.flush()


def spans(events: list[Event]) -> list[tuple[int, int]]:
    return [(e.start_frame, e.end_frame) for e in events]


def pulse(n: int, *ranges: tuple[int, int]) -> list[float]:
    """1.0 on the inclusive frame ranges, 0.0 elsewhere."""
    out = [0.0] * n
    for a, b in ranges:
        for i in range(a, b + 1):
            out[i] = 1.0
    return out


def test_min_frames_ignores_short_blips_and_starts_at_first_frame() -> None:
    values = {"d": pulse(60, (5, 6), (20, 29))}
    events = run_gate(values, EventRule(min_frames=3, post_roll=0.0, merge_gap=0.0))
    assert spans(events) == [(20, 29)]


def test_post_roll_extends_the_event_end() -> None:
    values = {"d": pulse(60, (10, 19))}
    events = run_gate(values, EventRule(min_frames=1, post_roll=0.5, merge_gap=0.0))
    assert spans(events) == [(10, 24)]  # 0.5 s at 10 fps = 5 frames after frame 19
    assert events[0].end_time == 2.4


def test_merge_gap_joins_nearby_events_and_not_distant_ones() -> None:
    values = {"d": pulse(100, (10, 19), (30, 39), (70, 79))}
    joined = run_gate(values, EventRule(min_frames=1, post_roll=0.0, merge_gap=1.5))
    assert spans(joined) == [(10, 39), (70, 79)]
    apart = run_gate(values, EventRule(min_frames=1, post_roll=0.0, merge_gap=0.5))
    assert spans(apart) == [(10, 19), (30, 39), (70, 79)]


def test_event_open_at_end_of_input_is_closed_and_reported() -> None:
    values = {"d": pulse(40, (30, 39))}
    events = run_gate(values, EventRule(min_frames=2, post_roll=1.0, merge_gap=1.0))
    assert spans(events) == [(30, 39)]


def test_fusion_any_all_and_k_of_n() -> None:
    n = 50
    values = {
        "a": pulse(n, (10, 19), (30, 39)),
        "b": pulse(n, (10, 19)),
        "c": pulse(n, (10, 19), (30, 39)),
    }
    quick = dict(min_frames=1, post_roll=0.0, merge_gap=0.0)
    assert spans(run_gate(values, EventRule(fusion="any", **quick))) == [(10, 19), (30, 39)]
    assert spans(run_gate(values, EventRule(fusion="all", **quick))) == [(10, 19)]
    assert spans(run_gate(values, EventRule(fusion=2, **quick))) == [(10, 19), (30, 39)]
    assert spans(run_gate(values, EventRule(fusion=3, **quick))) == [(10, 19)]


def test_event_records_detectors_that_fired_and_peaks() -> None:
    values = {"a": [0, 0.6, 0.9, 0.7, 0, 0], "b": [0, 0.1, 0.2, 0.4, 0, 0]}
    events = run_gate(values, EventRule(min_frames=1, post_roll=0.0, merge_gap=0.0))
    assert len(events) == 1
    event = events[0]
    assert event.detectors == ["a"]
    assert event.peak == {"a": 0.9, "b": 0.4}
    assert event.peak_frame == 2


def test_threshold_is_strictly_exceeded() -> None:
    values = {"d": [0.5] * 10}
    assert run_gate(values, EventRule(min_frames=1)) == []


def test_scene_change_suppresses_motion_on_the_same_frame() -> None:
    gate = Gate({"motion": EventRule(min_frames=1, post_roll=0.0, merge_gap=0.0),
                 "scene_change": EventRule(min_frames=1, post_roll=0.0, merge_gap=0.0)},
                {"motion": ["d"], "scene_change": ["h"]}, {"d": 0.5, "h": 0.5})
    blank = np.zeros((4, 4), np.uint8)
    frame = AnalysisFrame(0, 0.0, blank, 1.0, SourceFrame(0, 0.0, blank))
    result = gate.update(frame, {"d": Score(1.0), "h": Score(1.0)})
    assert result.rebaseline and result.over == {"d", "h"} and result.active == ("scene_change",)
    assert [e.kind for e in result.started] == ["scene_change"]


def test_adaptive_threshold_follows_a_busy_baseline() -> None:
    """A score that hovers at 0.6 all the time is the scene's normal, not an event, when adaptive."""
    rng = np.random.default_rng(0)
    busy = list(0.6 + 0.05 * rng.standard_normal(600))
    busy[500:520] = [2.0] * 20  # a real event well above the busy baseline
    rule = EventRule(min_frames=3, post_roll=0.0, merge_gap=0.0)
    fixed = run_gate({"d": busy}, rule)
    assert len(fixed) >= 1 and fixed[0].start_frame < 100  # the fixed threshold fires on the busy normal
    names = ["d"]
    gate = Gate({"motion": rule}, {"motion": names}, {"d": 0.5}, adaptive={"d": 6.0})
    blank = np.zeros((4, 4), np.uint8)
    events = []
    for i, v in enumerate(busy):
        frame = AnalysisFrame(i, i / FPS, blank, 1.0, SourceFrame(i, i / FPS, blank))
        events += gate.update(frame, {"d": Score(float(v))}).ended
    events += gate.flush()
    late = [e for e in events if e.start_frame >= 200]
    assert [(e.start_frame, e.end_frame) for e in late] == [(500, 519)]


def test_a_sustained_detector_opens_an_event_alone_backdated_to_its_start() -> None:
    n = 100
    values = {"a": pulse(n, (10, 60), (70, 75)), "b": [0.0] * n}  # b never agrees
    rule = EventRule(fusion="all", min_frames=1, post_roll=0.0, merge_gap=0.0)
    gate = Gate({"motion": rule}, {"motion": ["a", "b"]}, {"a": 0.5, "b": 0.5}, sustained={"a": 2.0})
    blank = np.zeros((4, 4), np.uint8)
    events = []
    for i in range(n):
        frame = AnalysisFrame(i, i / FPS, blank, 1.0, SourceFrame(i, i / FPS, blank))
        events += gate.update(frame, {k: Score(float(v[i])) for k, v in values.items()}).ended
    events += gate.flush()
    # 10..60 lasts 5 s (> 2 s): one event from frame 10; 70..75 is too short to count alone
    assert spans(events) == [(10, 60)]


def _awaiting_run(over: Sequence[tuple[int, int, int]], awaited: Sequence[tuple[int, int, int]],
                  n: int = 120, closed: list[int] | None = None) -> list[tuple[int, int]]:
    """Spans of a motion gate fed one score: over threshold on each (first, last, first seen) range,
    with evidence awaited on each (first, last, first seen) range; ``closed`` gets the frame
    on which each event was closed."""
    gate = Gate({"motion": EventRule(min_frames=1, post_roll=1.0, merge_gap=1.0)}, {"motion": ["objects"]},
                {"objects": 0.5})
    blank = np.zeros((4, 4), np.uint8)
    events: list[Event] = []
    for i in range(n):
        frame = AnalysisFrame(i, i / FPS, blank, 1.0, SourceFrame(i, i / FPS, blank))
        value, since, waits = 0.0, None, None
        for first, last, seen in over:
            if first <= i <= last:
                value, since = 1.0, (seen, seen / FPS)
        for first, last, seen in awaited:
            if first <= i <= last:
                waits = (seen, seen / FPS)
        ended = gate.update(frame, {"objects": Score(value, since=since, awaited=waits)}).ended
        events += ended
        if closed is not None:
            closed += [i] * len(ended)
    return spans(events + gate.flush())


def test_an_event_waits_for_a_thing_found_again_and_goes_on_as_one() -> None:
    # a thing over threshold on frames 10-29: the event would close at frame 49 (1 s post-roll + 1 s merge
    # gap). Its track is lost and a new one, first seen on frame 25, counts only from frame 70
    found_again = [(10, 29, 10), (70, 99, 25)]
    assert _awaiting_run(found_again, []) == [(10, 39), (40, 109)]  # not awaited: split in two
    assert _awaiting_run(found_again, [(25, 69, 25)]) == [(10, 109)]
    # nothing comes: the event closes when nothing is awaited any more, its end where it was
    closed: list[int] = []
    assert _awaiting_run([(10, 29, 10)], [(25, 69, 25)], closed=closed) == [(10, 39)] and closed == [70]
    # what is awaited next was first seen after the event would have closed: it keeps it open no longer
    closed = []
    assert _awaiting_run([(10, 29, 10)], [(25, 59, 25), (60, 80, 55)], closed=closed) == [(10, 39)]
    assert closed == [60]
    # what comes was first seen after the event would have closed (frame 55): an event of its own
    assert _awaiting_run([(10, 29, 10), (70, 99, 55)], [(25, 69, 25)]) == [(10, 39), (55, 109)]
