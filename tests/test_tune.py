"""tune on recorded scores: replay fidelity, truth of each kind, cross-validation, and raising to a budget.

The recordings here are made up (scores per frame, with the truth known by construction), so each
test sets up exactly the situation it is about and runs in milliseconds; the real pipeline is in
test_tune_quiet.py and test_tune_holdout.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from vidwatch.config import build_config as _build
from vidwatch.config import load_config
from vidwatch.evaluate import truth_from_data
from vidwatch.recording import Recording, record, replay
from vidwatch.tune import Clip, TuneParams, _round_up, tune

FPS = 10.0
MOTION_ONLY = {"scene_change": False, "lighting": False}
EXACT = {"min_frames": 1, "post_roll": 0, "merge_gap": 0}
"""No post-roll or merging: every run of frames over threshold is its own event."""


def build_config(data: dict) -> object:
    """A config of exactly the detectors given, voting on motion themselves: no object stage (its score is
    not in these recordings)."""
    return _build({"objects": {"enabled": False}, **data})


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
    # a threshold inside the busy scores splits events, one inside the quiet scores adds events,
    # so only the gap between 0.001 and 0.02 scores perfectly, on every clip: cross-validation agrees
    base = build_config({"detectors": {"diff": {"threshold": 0.5}},  # far too high: finds nothing
                         "events": {"motion": EXACT, **MOTION_ONLY}})
    clips = []
    for seed, moving in ((1, [(40, 90), (180, 220)]), (2, [(10, 60)]), (3, [])):
        truth = truth_from_data({"events": [list(m) for m in moving], "kind": "motion"})
        clips.append(Clip(_recording({"diff": _separable(seed, moving)}), truth))
    result = tune(clips, base, tolerance=2)
    (kind,) = result.kinds
    assert kind.base.fit.metrics.matched == 0
    assert kind.chosen.level != "base" and kind.chosen.cv is not None and kind.chosen.cv.f1 == 1.0
    assert kind.best.metrics.f1 == 1.0 and kind.best.metrics.false_events == 0
    threshold = result.config.detectors["diff"].threshold
    assert 0.001 < threshold < 0.02
    assert threshold > 0.002  # the middle of the tied run, not an edge hugging the quiet scores
    assert result.refused is None and result.cv_total is not None and result.cv_total.f1 == 1.0


def test_tune_drops_a_detector_that_only_adds_false_events() -> None:
    noisy = [np.random.default_rng(s).uniform(0.0, 1.0, 300) for s in (9, 10)]  # unrelated to the truth
    base = build_config({"detectors": {"diff": {"threshold": 0.01}, "background": {"threshold": 0.3}},
                         "events": MOTION_ONLY})
    clips = []
    for seed, moving, noise in ((4, [(40, 90), (180, 220)], noisy[0]), (5, [(100, 160)], noisy[1])):
        truth = truth_from_data({"events": [list(m) for m in moving], "kind": "motion"})
        clips.append(Clip(_recording({"diff": _separable(seed, moving), "background": noise}), truth))
    result = tune(clips, base)
    assert result.kinds[0].best.metrics.f1 == 1.0
    rule = result.config.events["motion"]
    assert "background" not in rule.detectors or rule.fusion in ("all", len(rule.detectors))


def _walker_clip(seed: int, walk: tuple[int, int] | None, *, jitter: tuple[int, int] | None = None) -> Clip:
    """A clip with plain truth (``[start, end]``: motion): while the walker crosses, diff is high and the
    whole-frame scores rise too but stay under their base thresholds (a walker changes the histogram a
    little); with ``jitter`` the camera score goes over its base threshold for a while (a false scene change)."""
    rng = np.random.default_rng(seed)
    n = 300
    diff = rng.uniform(0.0, 0.001, n)
    histogram = rng.uniform(0.0, 0.02, n)
    camera = rng.uniform(0.0, 0.004, n)
    lighting = rng.uniform(0.0, 0.02, n)
    if walk is not None:
        a, b = walk
        diff[a:b + 1] = rng.uniform(0.02, 0.05, b - a + 1)
        histogram[a:b + 1] = rng.uniform(0.12, 0.18, b - a + 1)
        camera[a:b + 1] = rng.uniform(0.012, 0.02, b - a + 1)
        lighting[a:b + 1] = rng.uniform(0.1, 0.15, b - a + 1)
    if jitter is not None:
        camera[jitter[0]:jitter[1]] = rng.uniform(0.026, 0.032, jitter[1] - jitter[0])
    truth = truth_from_data({"events": [list(walk)] if walk else []})
    scores = {"diff": diff, "histogram": histogram, "camera": camera, "lighting": lighting}
    return Clip(_recording(scores, f"clip{seed}"), truth)


def test_plain_truth_never_fits_scene_change_or_lighting_to_the_walker() -> None:
    # The case of the report: a slow walker, quiet noise and camera jitter with plain truth files. The
    # whole-frame scores rise while the walker crosses, so lowering the histogram or camera threshold
    # would "find" the walker as a scene change; plain truth is motion, so scene_change may only lose
    # false events (the jitter), and lighting, which a plain file does not label, is not touched.
    base = build_config({"detectors": {"diff": {"threshold": 0.01}, "histogram": {"threshold": 0.2},
                                       "camera": {"threshold": 0.025}, "lighting": {"threshold": 0.2}},
                         "events": {"motion": EXACT}})
    clips = [_walker_clip(1, (60, 180)), _walker_clip(2, None), _walker_clip(3, None, jitter=(100, 130)),
             _walker_clip(4, (20, 90))]
    result = tune(clips, base)
    scene = next(k for k in result.kinds if k.kind == "scene_change")
    assert [lv.level for lv in scene.levels] == ["base", "raise"]
    tuned = result.config
    for name in ("histogram", "camera"):
        assert tuned.detectors[name].threshold >= base.detectors[name].threshold
    assert tuned.detectors["camera"].threshold > 0.026  # the jitter's false scene change is gone
    assert "lighting" not in {k.kind for k in result.kinds}
    assert tuned.detectors["lighting"].threshold == base.detectors["lighting"].threshold
    assert tuned.events["lighting"] == base.events["lighting"]
    assert scene.base.fit.metrics.truth == 0  # no scene_change truth: a plain [start, end] is motion
    for clip in clips:  # no scene change on any walker, and still every walker as motion
        events = replay(clip.recording, tuned.events, tuned.thresholds(), tuned)
        assert not [e for e in events if e.kind == "scene_change"]
        assert len([e for e in events if e.kind == "motion"]) == len(clip.labels.events)


def _event_and_blip(true_level: float, false_level: float) -> Clip:
    """A walker (frames 30-40, truth) and a nuisance as long (frames 80-90, no truth) at the given levels."""
    scores = np.full(120, 0.005)
    scores[30:41] = true_level
    scores[80:91] = false_level
    return Clip(_recording({"diff": scores}), truth_from_data({"events": [[30, 40]]}))


def test_cross_validation_keeps_the_base_when_the_training_gain_is_noise() -> None:
    # In two of the five clips the nuisance scores higher than the walker, in three lower: a threshold
    # between them scores better on all five together (training F1 0.75 against 0.667), but fitted on
    # four clips it misses the walker of the fifth as often as it drops its nuisance.
    walker = (0.36, 0.89, 0.35, 0.73, 0.80)
    nuisance = (0.41, 0.45, 0.40, 0.19, 0.48)
    base = build_config({"detectors": {"diff": {"threshold": 0.05}}, "events": {"motion": EXACT, **MOTION_ONLY}})
    result = tune([_event_and_blip(a, b) for a, b in zip(walker, nuisance, strict=True)], base)
    (kind,) = result.kinds
    by_level = {level.level: level for level in kind.levels}
    assert by_level["thresholds"].fit.metrics.f1 > by_level["base"].fit.metrics.f1 + 0.05  # the training gain
    assert all(level.cv is not None and level.cv.f1 <= by_level["base"].cv.f1 for level in kind.levels)
    assert kind.chosen.level == "base"
    assert result.config.detectors["diff"].threshold == 0.05
    assert not result.changed and result.refused is None


def test_a_consistent_gain_survives_cross_validation() -> None:
    # the same clips with the nuisance always under the walker: the gain holds on every held-out clip
    walker = (0.36, 0.89, 0.35, 0.73, 0.80)
    nuisance = (0.21, 0.25, 0.20, 0.19, 0.28)
    base = build_config({"detectors": {"diff": {"threshold": 0.05}}, "events": {"motion": EXACT, **MOTION_ONLY}})
    result = tune([_event_and_blip(a, b) for a, b in zip(walker, nuisance, strict=True)], base)
    assert result.kinds[0].chosen.level != "base"
    assert 0.28 <= result.config.detectors["diff"].threshold < 0.35
    assert result.cv_total is not None and result.cv_total.f1 > result.base_total.f1


def test_a_config_worse_on_held_out_clips_is_refused() -> None:
    # a budget of 0 false events per hour forces the threshold over a nuisance stronger than the
    # walkers: the base finds both walkers, the tuned config none, on clips it was not fitted to
    clips = [_event_and_blip(0.3, 0.01), _event_and_blip(0.35, 0.01), _event_and_blip(0.02, 0.6)]
    base = build_config({"detectors": {"diff": {"threshold": 0.05}}, "events": {"motion": EXACT, **MOTION_ONLY}})
    result = tune(clips, base, max_false_per_hour=0.0)
    assert result.changed
    assert result.cv_total is not None and result.cv_total.f1 < result.base_total.f1
    assert result.refused is not None and "cross-validated" in result.refused and "--force" in result.refused


def test_one_clip_cannot_be_checked_so_the_base_stays_unless_forced() -> None:
    moving = [(40, 90)]
    clip = Clip(_recording({"diff": _separable(1, moving)}), truth_from_data({"events": [list(m) for m in moving]}))
    base = build_config({"detectors": {"diff": {"threshold": 0.5}}, "events": {"motion": EXACT, **MOTION_ONLY}})
    kept = tune([clip], base)
    assert not kept.changed and kept.kinds[0].unchecked
    assert any("only one clip" in w for w in kept.warnings)
    forced = tune([clip], base, force=True)
    assert forced.changed and forced.config.detectors["diff"].threshold < 0.02


def test_quiet_footage_raises_only_what_the_budget_needs_plus_the_margin() -> None:
    rng = np.random.default_rng(5)
    diff = rng.uniform(0.0, 0.004, 3000)
    diff[1000:1008] = rng.uniform(0.02, 0.03, 8)  # a gust: over the base threshold for 8 frames
    diff[2000:2002] = 0.2  # a two-frame glitch: under min_frames 3, never an event
    flow = rng.uniform(0.0, 0.3, 3000)  # never over its threshold: nothing to raise
    base = build_config({"detectors": {"diff": {"threshold": 0.01}, "flow": {"threshold": 0.6}},
                         "events": {"motion": {"fusion": "any", "min_frames": 3}, **MOTION_ONLY}})
    result = tune([Clip(_recording({"diff": diff, "flow": flow}))], base, params=TuneParams(margin=0.25))
    assert result.mode == "quiet" and result.refused is None
    best = result.kinds[0].best
    assert best.feasible and best.metrics.false_events == 0
    # the lowest threshold with no 3 frames in a row over it, 25 % higher
    needed = max(min(diff[i:i + 3]) for i in range(len(diff) - 2))
    assert 0.02 <= needed < 0.03
    assert result.config.detectors["diff"].threshold == _round_up(_round_up(needed) * 1.25)
    assert result.config.detectors["flow"].threshold == 0.6
    rule = result.config.events["motion"]
    assert (rule.fusion, rule.min_frames, rule.detectors) == ("any", 3, ("diff", "flow"))


def test_quiet_footage_that_is_already_quiet_changes_nothing() -> None:
    diff = np.random.default_rng(6).uniform(0.0, 0.004, 500)
    base = build_config({"detectors": {"diff": {"threshold": 0.01}}, "events": MOTION_ONLY})
    result = tune([Clip(_recording({"diff": diff}))], base)
    assert not result.changed and result.config == base


def test_a_score_outside_detectors_is_tuned_where_its_section_keeps_it() -> None:
    # a stage with a section of its own (as the object stage's `objects.threshold`): found from the
    # config's data, not from its name
    from vidwatch.tune import set_threshold

    plain = {"detectors": {"diff": {"threshold": 0.1}}, "things": {"threshold": 1.0, "min_age": 1.0}}
    set_threshold(plain, "things", 2.5)
    set_threshold(plain, "diff", 0.2)
    assert plain["things"] == {"threshold": 2.5, "min_age": 1.0} and plain["detectors"]["diff"]["threshold"] == 0.2
    with pytest.raises(ValueError, match="no threshold"):
        set_threshold(plain, "nothing", 1.0)


def test_the_object_stages_score_is_raised_like_any_other_and_written_in_its_own_section() -> None:
    # the defaults decide motion on the object stage's score, whose threshold is `objects.threshold`
    base = load_config()
    assert base.events["motion"].detectors == ("objects",)
    rng = np.random.default_rng(11)
    n = 600
    scores = {name: rng.uniform(0.0, 0.2, n) * value for name, value in base.thresholds().items()}
    scores["objects"][300:310] = np.linspace(0.5, 1.6, 10)  # a nuisance that travels 1.6 of its sizes
    result = tune([Clip(_recording(scores))], base)
    tuned = result.config
    assert tuned.objects.threshold == _round_up(_round_up(1.6) * (1 + TuneParams().margin))
    assert tuned.events["motion"] == base.events["motion"]
    assert set(tuned.detectors) == set(base.detectors)  # the background model stays: the stage tracks its foreground
    assert {n: t for n, t in tuned.thresholds().items() if n != "objects"} == \
        {n: t for n, t in base.thresholds().items() if n != "objects"}
