"""Eval arithmetic on hand-made event lists, and truth-file loading."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from vidwatch.errors import UserError
from vidwatch.evaluate import Metrics, evaluate, load_truth, match_spans, score_spans, truth_from_data


@dataclass
class Ev:
    kind: str
    start_frame: int
    end_frame: int


def test_overlap_within_tolerance_matches_and_outside_does_not() -> None:
    truth = [(100, 100)]
    assert match_spans([(102, 102)], truth, tolerance=2) == [(0, 0)]
    assert match_spans([(103, 103)], truth, tolerance=2) == []
    assert match_spans([(95, 98)], truth, tolerance=2) == [(0, 0)]
    assert match_spans([(95, 97)], truth, tolerance=2) == []


def test_each_truth_event_matches_once_and_split_detections_count_as_false() -> None:
    # one truth event split into two detections: one hit, one false event
    m = score_spans([(10, 20), (25, 40)], [(10, 40)], n_frames=100, tolerance=0)
    assert (m.truth, m.detected, m.matched, m.false_events, m.missed) == (1, 2, 1, 1, 0)
    assert m.precision == 0.5 and m.recall == 1.0
    assert m.f1 == pytest.approx(2 * 1 / (2 * 1 + 1 + 0))


def test_one_detection_spanning_two_truth_events_finds_only_one() -> None:
    m = score_spans([(0, 50)], [(5, 10), (30, 40)], n_frames=60, tolerance=0)
    assert (m.matched, m.missed, m.false_events) == (1, 1, 0)
    assert m.f1 == pytest.approx(2 / 3)


def test_matching_is_maximal_not_greedy() -> None:
    # detection A overlaps both truths, B only the first: a greedy pass giving A the first truth
    # (largest overlap) would leave B unmatched; the maximum matching pairs A-2nd and B-1st
    detected = [(0, 30), (0, 5)]
    truth = [(0, 20), (25, 30)]
    assert len(match_spans(detected, truth, tolerance=0)) == 2


def test_frame_counts_use_the_reported_span() -> None:
    # truth 10..19 (10 frames), detection 15..29 (15 frames, e.g. with post-roll): 5 frames shared
    m = score_spans([(15, 29)], [(10, 19)], n_frames=40, tolerance=0)
    assert (m.truth_frames, m.detected_frames, m.overlap_frames) == (10, 15, 5)
    assert m.frame_precision == pytest.approx(5 / 15)
    assert m.frame_recall == pytest.approx(5 / 10)


def test_empty_cases_and_totals() -> None:
    quiet = score_spans([], [], n_frames=10, tolerance=3, seconds=3600.0)
    assert quiet.f1 == 1.0 and quiet.recall is None and quiet.precision is None
    alarm = score_spans([(1, 2), (5, 6)], [], n_frames=10, tolerance=3, seconds=1800.0)
    assert alarm.f1 == 0.0 and alarm.false_events == 2 and alarm.false_per_hour == pytest.approx(4.0)
    total = quiet + alarm
    assert isinstance(total, Metrics)
    assert total.false_events == 2 and total.false_per_hour == pytest.approx(2 * 3600 / 5400)


def test_kinds_are_scored_separately_and_unlabelled_kinds_ignored() -> None:
    truth = truth_from_data({"events": [[10, 20], [50, 50]], "kinds": ["motion", "scene_change"]})
    events = [Ev("motion", 12, 30), Ev("scene_change", 12, 12), Ev("scene_change", 51, 51), Ev("other", 0, 1)]
    result = evaluate(events, truth, 100, tolerance=2)
    assert set(result) == {"motion", "scene_change"}
    assert (result["motion"].matched, result["motion"].false_events) == (1, 0)
    # the cut detected at 12 lies on the motion event but is of another kind: a false scene change
    assert (result["scene_change"].matched, result["scene_change"].false_events) == (1, 1)


def test_truth_without_kinds_scores_every_event_and_ignore_ranges_drop_detections() -> None:
    truth = truth_from_data({"events": [], "ignore": [[0, 1]]})
    result = evaluate([Ev("scene_change", 1, 1), Ev("motion", 5, 9)], truth, 20, tolerance=0)
    assert list(result) == ["any"]
    assert result["any"].false_events == 1


def test_labelled_kinds_extend_the_scored_kinds() -> None:
    truth = truth_from_data({"events": [[3, 9]], "kind": "motion", "labelled_kinds": ["motion", "scene_change"]})
    result = evaluate([Ev("scene_change", 20, 20)], truth, 30, tolerance=0)
    assert result["scene_change"].false_events == 1 and result["motion"].missed == 1


def test_bad_truth_files_name_the_problem(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"events": [[5, 2]]}))
    with pytest.raises(UserError, match=r"events\[0\]"):
        load_truth(bad)
    bad.write_text(json.dumps({"events": [[1, 2]], "kinds": ["motion", "motion"]}))
    with pytest.raises(UserError, match="one kind name per event"):
        load_truth(bad)
    with pytest.raises(UserError, match="not found"):
        load_truth(tmp_path / "missing.json")


def test_sample_truth_files_load(samples) -> None:
    truth = load_truth(samples / "walk_and_cut.json")
    assert truth.scored_kinds == ("motion", "scene_change")
    assert truth.spans("motion") == [(30, 118), (185, 255)]
