"""tune: replay fidelity, and the choice it makes where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from vidwatch.config import build_config, load_config
from vidwatch.errors import UserError
from vidwatch.evaluate import truth_from_data
from vidwatch.recording import Recording, record, replay
from vidwatch.tune import Clip, tune

FPS = 15.0


def _recording(values: dict[str, np.ndarray], name: str = "synthetic") -> Recording:
    n = len(next(iter(values.values())))
    return Recording(name, np.arange(n), np.arange(n) / FPS, values, fps=FPS)


def _separable(seed: int, moving: list[tuple[int, int]], n: int = 300) -> np.ndarray:
    """Diff-like scores: quiet frames below 0.001, frames inside ``moving`` between 0.02 and 0.05."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0.0, 0.001, n)
    for a, b in moving:
        scores[a:b + 1] = rng.uniform(0.02, 0.05, b - a + 1)
    return scores


def test_replay_gives_the_pipelines_events(samples) -> None:
    config = load_config()
    rec = record(str(samples / "walk_and_cut.mp4"), config)
    events = replay(rec, config.events, config.thresholds(), config)
    def key(e):
        return (e.kind, e.start_frame, e.end_frame, sorted(e.detectors))
    assert sorted(map(key, events)) == sorted(map(key, rec.events))
    assert {e.kind for e in events} == {"motion", "scene_change"}


def test_tune_finds_the_threshold_that_separates_the_scores() -> None:
    # no post-roll or merging: a threshold inside the busy scores splits events, one inside the quiet
    # scores adds events, so only the gap between 0.001 and 0.02 scores perfectly
    base = build_config({"detectors": {"diff": {"threshold": 0.5}},  # far too high: finds nothing
                         "events": {"motion": {"min_frames": 1, "post_roll": 0, "merge_gap": 0}}})
    clips = []
    for seed, moving in ((1, [(40, 90), (180, 220)]), (2, [(10, 60)]), (3, [])):
        truth = truth_from_data({"events": [list(m) for m in moving], "kind": "motion"})
        clips.append(Clip(_recording({"diff": _separable(seed, moving)}), truth))
    result = tune(clips, base, tolerance=2)
    (kind,) = result.kinds
    assert kind.base.metrics.matched == 0
    assert kind.best.metrics.f1 == 1.0 and kind.best.metrics.false_events == 0
    threshold = result.config.detectors["diff"].threshold
    assert 0.001 < threshold < 0.02
    # the middle of the tied run, not an edge hugging the quiet scores
    assert threshold > 0.002


def test_tune_drops_a_detector_that_only_adds_false_events() -> None:
    moving = [(40, 90), (180, 220)]
    noisy = np.random.default_rng(9).uniform(0.0, 1.0, 300)  # fires at random, unrelated to the truth
    base = build_config({"detectors": {"diff": {"threshold": 0.01}, "background": {"threshold": 0.3}},
                         "objects": {"enabled": False}})  # the two detectors vote on motion themselves
    truth = truth_from_data({"events": [list(m) for m in moving], "kind": "motion"})
    result = tune([Clip(_recording({"diff": _separable(4, moving), "background": noisy}), truth)], base)
    best = result.kinds[0].best
    assert best.metrics.f1 == 1.0
    rule = result.config.events["motion"]
    assert "background" not in rule.detectors or rule.fusion in ("all", len(rule.detectors))


def test_quiet_footage_gets_the_most_sensitive_setting_within_the_budget() -> None:
    scores = np.random.default_rng(5).uniform(0.0, 0.01, 3000)
    scores[1000:1002] = 0.2  # a two-frame glitch: under min_frames 3, never an event
    base = build_config({"detectors": {"diff": {"threshold": 0.0}}})  # fires on everything
    result = tune([Clip(_recording({"diff": scores}))], base, max_false_per_hour=1.0)
    best = result.kinds[0].best
    assert best.feasible and best.metrics.false_events == 0
    threshold = result.config.detectors["diff"].threshold
    # sensitive: below the glitch, so a sustained change of that size would fire
    assert threshold < 0.2
    assert result.config.events["motion"].min_frames == base.events["motion"].min_frames


def test_tune_without_truth_or_budget_is_a_user_error() -> None:
    clip = Clip(_recording({"diff": np.zeros(10)}))
    with pytest.raises(UserError, match="max-false-per-hour"):
        tune([clip], build_config({"detectors": {"diff": {}}}))
