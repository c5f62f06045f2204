"""Tuning from quiet footage: raise to the budget, then measure what is still seen by injecting people.

Injection must put each figure exactly where its truth says (else the sensitivity report measures
something else), and the size the report calls found must be found by the written config on new
footage of the same kind.
"""

from __future__ import annotations

import numpy as np
import pytest

from vidwatch.config import Config, apply_overrides, build_config, load_config
from vidwatch.inject import (
    InjectParams,
    Segment,
    SpeedResult,
    Walk,
    _found_range,
    busiest_start,
    found,
    inject,
    plan_walk,
)
from vidwatch.pipeline import run_source
from vidwatch.tune import threshold_key
from vidwatch.tuning import Request, run_tune, write_config

from .tuning_scenes import FPS, ground, scene, write_clip


def _segment(images: list[np.ndarray], fps: float = FPS) -> Segment:
    return Segment("synthetic", 0, tuple(images), tuple(i / fps for i in range(len(images))), fps)


def _textured(n: int, colour: bool = False) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    base = ground(3)
    frames = [np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8) for _ in range(n)]
    return [np.dstack([f, f // 2, 255 - f]) for f in frames] if colour else frames


def _check_placement(before: list[np.ndarray], after: list[np.ndarray], walk: Walk, placement) -> None:
    for i, (old, new) in enumerate(zip(before, after, strict=True)):
        changed = new != old
        if changed.ndim == 3:
            changed = changed.any(axis=2)
        ys, xs = np.nonzero(changed)
        if not walk.visible(i):
            assert i not in placement.boxes and ys.size == 0, f"frame {i} changed outside the walk"
            continue
        x, y, w, h = placement.boxes[i]
        # every changed pixel is inside the box the truth gives, and the box is tight
        assert (xs.min(), ys.min(), xs.max(), ys.max()) == (x, y, x + w - 1, y + h - 1), f"frame {i}"
        # and the box is where the walk puts the figure, at its size
        assert abs(x - walk.left(i)) <= 1 and abs(y - walk.y) <= 1, f"frame {i}: {x, y} vs {walk.left(i), walk.y}"
        assert abs(w - walk.width) <= 1 and abs(h - walk.height) <= 1
        # a figure shows: it differs from what was behind it by about the contrast asked for
        assert np.abs(new.astype(float) - old.astype(float))[changed].max() >= 25
    assert placement.span == (walk.first, walk.first + walk.frames - 1)


def test_injection_places_objects_where_the_truth_says() -> None:
    for colour in (False, True):
        before = _textured(40, colour)
        walk = Walk(12, 30, 1.5, first=10, frames=25, x0=50.3, y=100.0)
        after, placement = inject(_segment(before), walk, contrast=40.0)
        _check_placement(before, after, walk, placement)
        assert all(a is b for a, b in zip(before[:10], after[:10], strict=True))  # untouched frames are shared


def test_a_planned_walk_crosses_the_given_point_inside_the_picture() -> None:
    segment = _segment(_textured(60))
    walk = plan_walk(segment, 12, 30, 2.0, lead=20, centre=(60.0, 200.0))
    width, height = segment.size
    assert walk.first == 20 and walk.frames == 40
    middle = walk.left(walk.first + walk.frames // 2) + walk.width / 2
    assert abs(middle - 60.0) <= 3 or walk.x0 == 1.0  # centred on the point, unless the edge is in the way
    assert 1 <= walk.x0 and walk.left(walk.first + walk.frames - 1) + walk.width <= width - 1
    assert 1 <= walk.y and walk.y + walk.height <= height - 1
    fast = plan_walk(segment, 12, 30, 50.0, lead=20, centre=(160.0, 120.0))  # too fast for the picture
    assert fast.left(fast.first + fast.frames - 1) + fast.width <= width - 1


def test_the_busiest_stretch_is_where_the_scores_are_high_after_the_lead() -> None:
    scores = {"a": np.zeros(100), "b": np.zeros(100)}
    scores["b"][60:70] = 1.0
    start = busiest_start(scores, {"a": 0.5, "b": 0.5}, frames=30, lead=10)
    assert start + 10 <= 60 and 70 <= start + 30


def _sensitive() -> Config:
    """A config that fires on rain: motion decided by two of the pixel detectors (diff, background, flow),
    each threshold at a tenth of its default (an object stage, where there is one, sees through rain)."""
    plain = load_config().to_plain()
    pixel = ("diff", "background", "flow")
    for name in pixel:
        plain["detectors"].setdefault(name, {"type": name})
    plain["objects"]["enabled"] = False
    plain["events"]["motion"].update(detectors=list(pixel), fusion=2, min_frames=3)
    config = build_config(plain)
    ths = config.thresholds()
    return apply_overrides(config, [f"{threshold_key(config, n)}={ths[n] / 10:.6g}" for n in pixel])


def test_quiet_tuning_keeps_a_walker_of_the_reported_size_detectable(tmp_path) -> None:
    frames, _ = scene(80, seed=7, drops=120)
    quiet = write_clip(tmp_path / "rain.mp4", frames)
    base = _sensitive()
    params = InjectParams(speeds=(1.0,), heights=(10, 15, 20, 30, 40), segment=6.0, lead=2.0)
    outcome = run_tune(Request([str(quiet)], [None], base, 3, inject=params))
    result = outcome.result
    assert result.mode == "quiet" and result.changed
    assert outcome.check is not None and outcome.check.by_kind["motion"].false_events == 0  # when run
    report = outcome.sensitivity
    assert report is not None and [r.label for r in report.results] == ["base", "tuned"]
    (at_1,) = report.results[-1].speeds
    assert at_1.smallest_found is not None, report.format()
    assert f"{at_1.smallest_found[0]}x{at_1.smallest_found[1]} px object at 1 px/frame is found" in report.format()
    written = tmp_path / "tuned.yaml"
    write_config(written, result.config, "# tuned for the test\n")
    tuned = load_config(written)
    assert tuned == result.config
    # new rain, a person of the reported size on a path of its own, encoded and read back as a user's file
    rain, _ = scene(80, seed=8, drops=120)
    width, height = at_1.smallest_found
    walk = Walk(width, height, 1.0, first=20, frames=60, x0=40.0, y=150.0)
    images, placement = inject(_segment(rain), walk, contrast=params.contrast)
    clip = write_clip(tmp_path / "walker.mp4", images)
    events = [e for e in run_source(str(clip), tuned, []).events if e.kind == "motion"]
    first, last = placement.span
    assert any(e.start_frame <= last and e.end_frame >= first for e in events), [(e.start_frame, e.end_frame)
                                                                                 for e in events]
    # and that event is the walker's: the same rain without it stays quiet
    assert not [e for e in run_source(str(write_clip(tmp_path / "rain8.mp4", rain)), tuned, []).events
                if e.kind == "motion"]


def test_quiet_tuning_of_the_defaults_silences_a_swinging_branch_and_keeps_the_reported_walker(tmp_path) -> None:
    # the defaults decide motion on tracked things; a clump of leaves swinging slowly enough travels straight
    # for seconds, and they report it. Raised to silence, the written config must still find a walker of the
    # size the report calls found, on new footage with the branch in it, and only the walker.
    sway = (30.0, 8.0)
    quiet = write_clip(tmp_path / "branch.mp4", scene(160, seed=7, sway=sway)[0])
    base = load_config()
    speed = 2.0
    params = InjectParams(speeds=(speed,), heights=(15, 20, 30, 40, 50, 60), segment=8.0, lead=2.0)
    outcome = run_tune(Request([str(quiet)], [None], base, 3, inject=params))
    result = outcome.result
    motion = next(k for k in outcome.first.kinds if k.kind == "motion")
    assert motion.base.fit.metrics.false_events > 0  # the base fires on the branch
    assert result.changed and result.config.objects.threshold > base.objects.threshold
    assert outcome.check is not None and outcome.check.by_kind["motion"].false_events == 0  # when run
    (found_at,) = outcome.sensitivity.results[-1].speeds
    assert found_at.smallest_found is not None, outcome.sensitivity.format()
    written = tmp_path / "tuned.yaml"
    write_config(written, result.config, "# tuned for the test\n")
    tuned = load_config(written)
    frames, _ = scene(160, seed=8, sway=sway)  # another ground, the same branch
    width, height = found_at.smallest_found
    walk = Walk(width, height, speed, first=30, frames=120, x0=20.0, y=150.0)
    images, placement = inject(_segment(frames), walk, contrast=params.contrast)
    events = [e for e in run_source(str(write_clip(tmp_path / "walker.mp4", images)), tuned, []).events
              if e.kind == "motion"]
    first, last = placement.span
    assert any(e.start_frame <= last and e.end_frame >= first for e in events), [(e.start_frame, e.end_frame)
                                                                                 for e in events]
    branch_only = write_clip(tmp_path / "branch8.mp4", frames)
    assert not [e for e in run_source(str(branch_only), tuned, []).events if e.kind == "motion"]
    assert [e for e in run_source(str(branch_only), base, []).events if e.kind == "motion"]  # the base was not


def test_a_figure_is_found_only_by_a_motion_event_of_its_own() -> None:
    from vidwatch.events import Event
    from vidwatch.inject import Placement

    def event(kind: str, start: int, end: int) -> Event:
        return Event(kind, start, start / FPS, end, end / FPS)

    placement = Placement((40, 80))
    assert found([event("motion", 50, 90)], placement, [], 3)
    assert found([event("motion", 83, 95)], placement, [], 3)  # within the tolerance after it
    assert not found([event("motion", 84, 95)], placement, [], 3)
    assert not found([event("motion", 5, 36)], placement, [], 3)
    assert not found([event("scene_change", 50, 50)], placement, [], 3)
    # the footage makes that event without any figure: it says nothing about the figure
    assert not found([event("motion", 30, 90)], placement, [event("motion", 28, 60)], 3)
    assert found([event("motion", 30, 90)], placement, [event("motion", 2, 20)], 3)


@pytest.mark.parametrize(("found_from", "found_to"), [(4, 11), (0, 11), (3, 6), (0, 0), (11, 11), (None, None)])
def test_the_range_of_sizes_found_is_bracketed_with_few_runs(found_from, found_to) -> None:
    # bigger easier (a pixel detector), a band (motion judged in the object's own sizes), one size, none
    ladder = [(round(0.4 * h), h) for h in (10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 160)]
    calls: list[tuple[int, int]] = []

    def finds(size: tuple[int, int]) -> bool:
        calls.append(size)
        return found_from is not None and found_from <= ladder.index(size) <= found_to

    result = SpeedResult(1.0)
    _found_range(ladder, finds, result)
    if found_from is None:
        assert result.smallest_found is None and "none found" in result.describe()
        assert len(calls) == len(ladder)
        return
    assert result.smallest_found == ladder[found_from] and result.largest_found == ladder[found_to]
    assert result.largest_missed == (ladder[found_from - 1] if found_from > 0 else None)
    assert result.smallest_missed_above == (ladder[found_to + 1] if found_to < len(ladder) - 1 else None)
    assert len(calls) == len(set(calls)) <= 10  # no size run twice, far fewer than trying them all twice
    sentence = result.sentence()
    assert f"{ladder[found_from][0]}x{ladder[found_from][1]} px object at 1 px/frame is found" in sentence
    assert ("and larger" in sentence) == (found_to < len(ladder) - 1)
