"""Eval arithmetic on hand-made event lists, and truth-file loading."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from vidwatch.errors import UserError
from vidwatch.evaluate import (
    Metrics,
    Truth,
    across_kinds,
    evaluate,
    load_truth,
    match_spans,
    score_spans,
    table_rows,
    truth_from_data,
)


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


def test_plain_events_are_motion_and_a_file_without_kinds_labels_motion_and_scene_change() -> None:
    truth = truth_from_data({"events": [[10, 20]], "ignore": [[0, 1]]})
    assert truth.scored_kinds == ("motion", "scene_change") and truth.spans("motion") == [(10, 20)]
    events = [Ev("scene_change", 1, 1), Ev("scene_change", 50, 50), Ev("motion", 12, 30), Ev("lighting", 60, 60)]
    result = evaluate(events, truth, 100, tolerance=0)
    assert list(result) == ["motion", "scene_change"]  # lighting is not labelled here: not scored
    assert (result["motion"].matched, result["motion"].false_events) == (1, 0)
    # the cut inside the don't-care span is dropped; the one at 50 is false: this clip has no cuts
    assert (result["scene_change"].truth, result["scene_change"].false_events) == (0, 1)


def test_a_truth_built_without_kinds_scores_every_event() -> None:
    result = evaluate([Ev("scene_change", 1, 1), Ev("motion", 5, 9)], Truth((), ()), 20, tolerance=0)
    assert list(result) == ["any"] and result["any"].false_events == 2


def test_typed_events_in_both_forms() -> None:
    truth = truth_from_data({"events": [[5, 9], [40, 40, "scene_change"],
                                        {"kind": "lighting", "start": 60, "end": 61}]})
    assert truth.kinds == ("motion", "scene_change", "lighting")
    assert truth.scored_kinds == ("motion", "scene_change", "lighting")
    result = evaluate([Ev("lighting", 62, 62), Ev("scene_change", 41, 41)], truth, 100, tolerance=1)
    assert result["lighting"].matched == 1 and result["scene_change"].matched == 1
    assert result["motion"].missed == 1
    # "kind" still names the kind of untyped events, and the only kinds scored
    cuts = truth_from_data({"events": [[98, 98], [154, 154, "scene_change"]], "kind": "scene_change"})
    assert cuts.kinds == ("scene_change", "scene_change") and cuts.scored_kinds == ("scene_change",)


def test_typed_ignore_spans_excuse_one_kind_only() -> None:
    # a slow pan: a scene change during it is allowed (not required), motion is still false
    truth = truth_from_data({"events": [], "ignore": [[100, 199, "scene_change"]]})
    events = [Ev("scene_change", 120, 125), Ev("motion", 110, 150)]
    result = evaluate(events, truth, 300, tolerance=0, fps=10.0)
    assert result["scene_change"].detected == 0 and result["scene_change"].false_seconds == 0.0
    assert result["motion"].false_events == 1
    assert result["motion"].false_seconds == pytest.approx(4.1)  # frames 110..150


def test_split_early_and_false_seconds_by_hand() -> None:
    # 40 s at 10 fps; truth motion 50..99 and 200..249; tolerance 2 widens them to 48..101, 198..251
    truth = truth_from_data({"events": [[50, 99], [200, 249]]})
    events = [Ev("motion", 20, 60), Ev("motion", 70, 120), Ev("motion", 300, 310)]
    m = evaluate(events, truth, 400, tolerance=2, fps=10.0, early=2.0)["motion"]
    # 20..60 is matched first (maximum matching keeps it); it opened 3 s before the truth: early.
    # 70..120 lies on the same truth event: false and split; 300..310 is false, not split.
    assert (m.matched, m.missed, m.false_events, m.split, m.early) == (1, 1, 2, 1, 1)
    # outside the widened truth: 20..47 (28 frames) + 102..120 (19) + 300..310 (11) = 58 frames
    assert m.false_seconds == pytest.approx(5.8)
    assert m.seconds == pytest.approx(40.0) and m.false_share == pytest.approx(5.8 / 40)
    # a later early threshold makes the same hit on time; seconds alone give the frame rate
    late = evaluate(events, truth, 400, tolerance=2, seconds=40.0, early=3.5)["motion"]
    assert late.early == 0 and late.false_seconds == pytest.approx(5.8)


def test_false_seconds_skip_ignored_frames_and_totals_count_clip_time_once() -> None:
    truth = truth_from_data({"events": [[10, 19]], "ignore": [[30, 39, "motion"]]})
    # 25..44 is false; its frames 30..39 are don't-care, 25..29 and 40..44 (10 frames) are not
    by_kind = evaluate([Ev("motion", 12, 18), Ev("motion", 25, 44)], truth, 100, tolerance=2, fps=10.0)
    assert by_kind["motion"].false_seconds == pytest.approx(1.0)
    both = across_kinds(by_kind)
    assert both.seconds == pytest.approx(10.0) and both.false_events == 1
    rows = table_rows([("a", by_kind), ("b", by_kind)])
    overall = next(m for clip, kind, m in rows if (clip, kind) == ("TOTAL", "all"))
    assert overall.seconds == pytest.approx(20.0) and overall.false_share == pytest.approx(2.0 / 20)


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
    bad.write_text(json.dumps({"events": [[1, 2, 3]]}))
    with pytest.raises(UserError, match=r"events\[0\].*kind"):
        load_truth(bad)
    bad.write_text(json.dumps({"events": [{"start": 1, "end": 2, "kind": "motion", "stop": 3}]}))
    with pytest.raises(UserError, match=r"events\[0\]"):
        load_truth(bad)
    bad.write_text(json.dumps({"events": [[1, 2, "lighting"]], "kinds": ["motion"]}))
    with pytest.raises(UserError, match="typed 'lighting'"):
        load_truth(bad)
    bad.write_text(json.dumps({"events": [], "ignore": [[4, 3]]}))
    with pytest.raises(UserError, match=r"ignore\[0\]"):
        load_truth(bad)
    with pytest.raises(UserError, match="not found"):
        load_truth(tmp_path / "missing.json")


def test_sample_truth_files_load(samples) -> None:
    truth = load_truth(samples / "walk_and_cut.json")
    assert truth.scored_kinds == ("motion", "scene_change")
    assert truth.spans("motion") == [(30, 118), (185, 255)]
