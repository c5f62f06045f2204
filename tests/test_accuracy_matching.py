"""The accuracy benchmark's event matching: hits, misses, false and split events, lighting hits."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def accuracy():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("accuracy_bench", BENCH / "accuracy.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("accuracy_bench", None)
        sys.path.remove(str(BENCH))


def test_overlap_within_tolerance_matches_and_kinds_must_agree(accuracy):
    iv = accuracy.Interval
    truth = [iv("motion", 100, 200), iv("scene_change", 300, 300)]
    detected = [iv("motion", 203, 260), iv("motion", 299, 301), iv("scene_change", 302, 302)]
    m = accuracy.match_events(truth, detected, [], tolerance=5)
    assert [(t.kind, d.start) for t, d in m.matched] == [("motion", 203), ("scene_change", 302)]
    assert m.missed == [] and m.false == [iv("motion", 299, 301)] and m.split == 0


def test_each_truth_event_matched_once_extra_pieces_are_false_and_split(accuracy):
    iv = accuracy.Interval
    truth = [iv("motion", 100, 200)]
    m = accuracy.match_events(truth, [iv("motion", 100, 130), iv("motion", 140, 210)], [], tolerance=3)
    assert len(m.matched) == 1 and m.matched[0][1] == iv("motion", 140, 210)  # the larger overlap wins
    assert m.false == [iv("motion", 100, 130)] and m.split == 1


def test_one_event_spanning_two_truth_events_finds_only_one(accuracy):
    iv = accuracy.Interval
    m = accuracy.match_events([iv("motion", 10, 50), iv("motion", 200, 250)], [iv("motion", 0, 300)], [], 5)
    assert len(m.matched) == 1 and m.missed == [iv("motion", 200, 250)] and m.false == []


def test_far_event_is_false_and_other_kinds_are_never_false(accuracy):
    iv = accuracy.Interval
    detected = [iv("motion", 10, 20), iv("lighting", 76, 76), iv("stream_lost", 5, 5)]
    m = accuracy.match_events([], detected, [75, 150], tolerance=5)
    assert m.false == [iv("motion", 10, 20)] and len(m.other) == 2
    assert m.lighting_hits == 1


def test_scores_recall_precision_f1(accuracy):
    assert accuracy.scores(4, 3, 1) == pytest.approx({"recall": 0.75, "precision": 0.75, "f1": 0.75})
    assert accuracy.scores(0, 0, 0) == {"recall": None, "precision": None, "f1": None}
    assert accuracy.scores(0, 0, 2)["f1"] == 0.0


def test_dvr_scan_timecodes_become_inclusive_frames(accuracy, tmp_path):
    fake = tmp_path / "dvr-scan"
    fake.write_text("#!/bin/sh\necho '00:00:01.000,00:00:02.500,00:01:00.050,00:01:00.500'\n")
    fake.chmod(0o755)
    events = accuracy.run_dvr_scan(str(fake), tmp_path / "clip.mp4", fps=20.0)
    assert events == [accuracy.Interval("motion", 20, 49), accuracy.Interval("motion", 1201, 1209)]
