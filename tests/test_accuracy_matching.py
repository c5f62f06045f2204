"""The accuracy benchmark as an instrument: its truth, its splits, its peers, and vidwatch's evaluator as its scorer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidwatch.evaluate import evaluate, load_truth, truth_from_data

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    """The benchmark's modules (they import each other by plain name from benchmarks/)."""
    sys.path.insert(0, str(BENCH))
    try:
        import accuracy
        import accuracy_dev_clips
        import accuracy_footage
        import accuracy_fresh_clips
        import accuracy_peers
        import accuracy_render
        import accuracy_scene
        import accuracy_test_clips

        yield type("Bench", (), {"accuracy": accuracy, "dev": accuracy_dev_clips, "test": accuracy_test_clips,
                                 "footage": accuracy_footage, "fresh": accuracy_fresh_clips, "peers": accuracy_peers,
                                 "render": accuracy_render,
                                 "scene": accuracy_scene})
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def synthetic(bench):
    return bench.footage.load_synthetic_footage()


def _render(bench, clip, footage) -> tuple[list[np.ndarray], list[dict]]:
    frames: list[np.ndarray] = []
    visible = bench.render.render(clip, footage, frames.append)
    return frames, visible


def test_benchmark_scores_with_vidwatch_evaluate(bench, tmp_path) -> None:
    truth = {"events": [[20, 59], [80, 80, "scene_change"], [100, 100, "lighting"]],
             "labelled_kinds": ["motion", "scene_change", "lighting"], "fps": 10.0, "frames": 200}
    path = tmp_path / "clip.json"
    path.write_text(json.dumps(truth))
    case = bench.accuracy.Case("dev", "clip", tmp_path / "clip.mp4", path, "walker", 10.0, 200)
    d = bench.peers.Detection
    events = [d("motion", 22, 40), d("motion", 45, 70), d("scene_change", 81, 81), d("scene_change", 150, 150),
              d("lighting", 101, 101)]
    by_kind = bench.accuracy.score(case, events, tolerance=3, early=2.0)
    assert by_kind == evaluate(events, load_truth(path), 200, tolerance=3, fps=10.0, early=2.0)
    # by hand: one walker hit, its second piece split (false); the cut found, a false cut at 150
    t = bench.accuracy.totals([(case, by_kind, 1.0)])
    assert (t.alarms.truth, t.alarms.matched, t.alarms.false_events, t.alarms.split) == (2, 2, 2, 1)
    assert (t.motion.false_events, t.scene.false_events, t.lighting.matched) == (1, 1, 1)
    # false seconds: 63..70 beyond the widened truth (8 frames) and the false cut (1 frame), at 10 fps
    assert t.alarms.false_seconds == pytest.approx(0.9) and t.alarms.seconds == pytest.approx(20.0)
    assert not hasattr(bench.accuracy, "match_events")  # one evaluator: the benchmark has no matcher of its own


def test_category_rows_add_up_per_system(bench, tmp_path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"events": [[10, 19]], "fps": 10.0, "frames": 100}))
    cases = [bench.accuracy.Case("test", f"c{i}", tmp_path / f"c{i}.mp4", path, cat, 10.0, 100)
             for i, cat in enumerate(["snow", "snow", "birds"])]
    d = bench.peers.Detection
    found = [[d("motion", 12, 25)], [d("motion", 12, 25), d("motion", 50, 59)], []]
    rows = [(c, bench.accuracy.score(c, e, 3, 2.0), 0.5) for c, e in zip(cases, found, strict=True)]
    text = bench.accuracy.format_categories({"default": rows, "other": rows[:2] + [(cases[2], {}, 0.0)]})
    snow = next(line for line in text.splitlines() if line.startswith("snow"))
    # 2 clips, 2 truth events, both hit, one false event, false seconds 0.3 + 0.3 + 1.0 = 1.6 -> "2"
    assert snow.split()[:7] == ["snow", "2", "2", "|", "2", "1", "2"]


def test_dvr_scan_timecodes_become_inclusive_frames(bench, tmp_path) -> None:
    fake = tmp_path / "dvr-scan"
    fake.write_text("#!/bin/sh\necho '00:00:01.000,00:00:02.500,00:01:00.050,00:01:00.500'\n")
    fake.chmod(0o755)
    events = bench.peers.dvr_scan_events(str(fake), tmp_path / "clip.mp4", fps=20.0)
    d = bench.peers.Detection
    assert events == [d("motion", 20, 49), d("motion", 1201, 1209)]


def _write(path: Path, frames: list[np.ndarray], fps: float) -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_mog2_baseline_reports_a_moving_block_with_its_post_roll_and_not_noise(bench, tmp_path) -> None:
    rng = np.random.default_rng(3)
    scene = cv2.GaussianBlur(rng.uniform(60, 200, (120, 160, 3)).astype(np.float32), (0, 0), 3)
    frames = []
    for i in range(80):
        frame = scene + rng.normal(0, 2.0, scene.shape)
        if 20 <= i <= 45:  # a 16x24 dark block crossing at 5 px/frame
            x = 5 * (i - 20)
            frame[50:74, x:x + 16] = 25.0
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    _write(tmp_path / "block.avi", frames, 10.0)
    events = bench.peers.mog2_events(tmp_path / "block.avi")
    assert len(events) == 1
    # opens on the first of the MOG2_PERSIST moving frames, closes 1 s (10 frames) after the last
    assert abs(events[0].start_frame - 20) <= 1 and abs(events[0].end_frame - (45 + 10)) <= 1
    _write(tmp_path / "still.avi", [np.clip(scene + rng.normal(0, 2.0, scene.shape), 0, 255).astype(np.uint8)
                                    for _ in range(60)], 10.0)
    assert bench.peers.mog2_events(tmp_path / "still.avi") == []
    shadow = []
    for i in range(80):  # a shadow (the scene at 60 %) sweeping across: MOG2 marks it, and it is dropped
        frame = scene + rng.normal(0, 2.0, scene.shape)
        if 20 <= i <= 50:
            frame[30:90, 4 * (i - 20):4 * (i - 20) + 40] *= 0.6
        shadow.append(np.clip(frame, 0, 255).astype(np.uint8))
    _write(tmp_path / "shadow.avi", shadow, 10.0)
    assert bench.peers.mog2_events(tmp_path / "shadow.avi") == []


def test_motion_truth_is_exactly_the_frames_the_walker_is_drawn_in(bench, synthetic) -> None:
    scene = bench.scene
    path = [(-0.1, 0.4), (0.5, 0.42), (1.1, 0.45)]
    walker = scene.Clip("w", "", "walker", width=160, height=120, fps=10, seconds=12, seed=5, noise=0.0,
                        walkers=[scene.Walker(0, 12, path, 4.0, 0.02)])
    empty = scene.Clip("e", "", "walker", width=160, height=120, fps=10, seconds=12, seed=5, noise=0.0)
    with_walker, visible = _render(bench, walker, synthetic)
    without, _ = _render(bench, empty, synthetic)
    changed = [i for i, (a, b) in enumerate(zip(with_walker, without, strict=True))
               if (np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 20).any()]
    truth = bench.render.truth_for(walker, visible, synthetic, 0)
    [[start, end]] = truth["events"]
    # the truth frames are frames where the walker changes the picture; the feathered edge of the
    # cut-out may show a frame before (or after) the mask counts as in view
    assert set(range(start, end + 1)) <= set(changed)
    assert changed[0] >= start - 1 and changed[-1] <= end + 1
    assert 12 <= start <= 14 and 0 < end < walker.frames - 1  # enters at 12 (its box), in view (its mask) soon after


def test_a_loiterer_is_one_event_and_walkers_never_vanish_inside_the_picture(bench, synthetic) -> None:
    scene = bench.scene
    path = [(-0.1, 0.4), (0.3, 0.42), (0.35, 0.5), (0.4, 1.1)]
    clip = scene.Clip("l", "", "loiterer", width=160, height=120, fps=10, seconds=20, seed=6, noise=0.0,
                      walkers=[scene.Walker(0, 5, path, 3.0, 0.02, stand=(40, 80))])
    frames, visible = _render(bench, clip, synthetic)
    truth = bench.render.truth_for(clip, visible, synthetic, 0)
    [[start, end]] = truth["events"]
    assert start <= 40 and end >= 120  # standing still 40..119 keeps the one event open
    still = [int((np.abs(frames[i].astype(int) - frames[i - 1].astype(int)) > 20).sum()) for i in range(50, 110)]
    assert max(still) < 40  # ...though the picture barely changes while the person stands
    stuck = scene.Clip("s", "", "walker", width=160, height=120, fps=10, seconds=10, seed=7, noise=0.0,
                       walkers=[scene.Walker(0, 2, [(-0.1, 0.4), (0.5, 0.42)], 5.0, 0.02)])
    with pytest.raises(ValueError, match="ends inside the picture"):
        _render(bench, stuck, synthetic)


def test_truth_files_are_typed_for_vidwatch_eval(bench, synthetic) -> None:
    scene = bench.scene
    clip = scene.Clip("p", "", "slow_pan", width=64, height=48, fps=10, seconds=3, cuts=[10], knock=None,
                      lighting=[(20, 22)], allow_scene_change=[(5, 29)])
    truth = truth_from_data(bench.render.truth_for(clip, [], synthetic, 0))
    assert truth.scored_kinds == ("motion", "scene_change", "lighting")
    assert truth.spans("scene_change") == [(10, 10)] and truth.spans("lighting") == [(20, 22)]
    assert truth.ignored("scene_change") == [(5, 29)] and truth.ignored("motion") == []


REQUIRED_CATEGORIES = {"noise", "dimming", "light_switch", "shake", "rain", "storm", "foliage", "walker", "small_day",
                       "small_dusk", "small_night", "cloud_shadows", "edge_shadow", "headlights", "snow", "exposure",
                       "loiterer", "birds", "slow_pan", "cut", "knocked", "two_walkers", "crowd", "small_1080p"}


def test_both_splits_hold_every_category_and_share_no_seed_path_or_pedestrian(bench) -> None:
    dev, test = bench.dev.clips(), bench.test.clips()
    assert {c.category for c in dev} == {c.category for c in test} == REQUIRED_CATEGORIES
    assert {c.split for c in dev} == {"dev"} and {c.split for c in test} == {"test"}
    assert not {c.seed for c in dev} & {c.seed for c in test}
    paths = lambda clips: {tuple(w.path) for c in clips for w in c.walkers}  # noqa: E731
    assert not paths(dev) & paths(test)
    tracks = bench.footage.VTEST_TRACKS
    assert not set(tracks["dev"]) & set(tracks["test"])
    # the targets the issue names are there: small people 0.05-0.1 % of the frame, >= 30 s of foliage
    for split in (dev, test):
        small = [w for c in split if c.category.startswith("small_") and c.width < 1000 for w in c.walkers]
        assert small and all(0.0005 <= w.area <= 0.001 for w in small)
        # and in 1080p pictures, people of about min_size (10x24 px): under 2 analysis px wide
        large = [(c, w) for c in split if c.category == "small_1080p" for w in c.walkers]
        assert large and all(c.width == 1920 and 0.0001 <= w.area <= 0.00016 for c, w in large)
        assert any(c.tree is not None and c.seconds >= 30 and not c.walkers for c in split)
        assert any(c.tree is not None and c.walkers for c in split)


def _walk_through(bench, clip, walker, walk) -> list[int]:
    """The frames in which ``walker`` is in the (unshaken) picture; raises if its path starts or ends
    inside the picture."""
    ww, wh = round(clip.width * clip.margin), round(clip.height * clip.margin)
    view = ((ww - clip.width) / 2, (wh - clip.height) / 2, (ww + clip.width) / 2, (wh + clip.height) / 2)
    state = bench.render._WalkerState(walker, walk, ww, view, clip.fps)
    seen = []
    for frame in range(walker.enter, walker.enter + 100_000):
        sprite = state.sprite(frame)
        if sprite is None:
            if seen:
                break
            continue
        _, alpha, x, y = sprite
        h, w = alpha.shape
        if x + w > view[0] and x < view[2] and y + h > view[1] and y < view[3]:
            seen.append(frame)
    return seen


def test_fresh_suites_are_drawn_from_their_seed_with_every_kind_and_walkers_that_cross_the_picture(
        bench, synthetic) -> None:
    fresh = bench.fresh
    one, again, two = fresh.clips(1), fresh.clips(1), fresh.clips(2)
    key = lambda c: (c.name, c.seed, c.fps, c.seconds, [(w.path, w.speed, w.area, w.enter) for w in c.walkers])  # noqa: E731
    assert [key(c) for c in one] == [key(c) for c in again]  # a seed is one suite, every time
    assert {c.category for c in one} == {c.category for c in two} == REQUIRED_CATEGORIES
    assert [c.name for c in one] == [c.name for c in two] and {c.split for c in one} == {"fresh"}
    differ = [a.name for a, b in zip(one, two, strict=True) if key(a) != key(b)]
    assert differ == [c.name for c in one]  # another seed draws every clip anew
    fixed = {c.seed for c in bench.dev.clips()} | {c.seed for c in bench.test.clips()}
    assert not fixed & {c.seed for c in one}
    frames = lambda split: {f for s, n in bench.footage.VTEST_TRACKS[split] for f in range(s, s + n)}  # noqa: E731
    assert not frames("fresh") & (frames("dev") | frames("test"))  # pedestrians neither split shows
    assert bench.accuracy.accuracy_clips.clips("fresh2")[0].name == two[0].name
    with pytest.raises(ValueError, match="fresh<seed>"):
        bench.accuracy.accuracy_clips.clips("freshest")

    walks = synthetic.walks["fresh"]
    for clip in one + two + fresh.clips(3):
        for walker in clip.walkers:
            seen = _walk_through(bench, clip, walker, walks[walker.walk])
            assert seen and seen[0] <= walker.enter + 1, (clip.name, walker)  # comes into view when it says
            assert seen[-1] - seen[0] + 1 >= 3 * clip.fps, (clip.name, walker)  # in view for seconds
            if walker.stand:  # a loiterer stands inside the picture
                assert set(range(walker.stand[0], sum(walker.stand))) <= set(seen), clip.name
    kinds = {c.name: c for c in one}
    assert len(kinds["hard_cuts"].cuts) == 3 and kinds["camera_knocked"].knock is not None
    assert len(kinds["light_switch"].lighting) == len(kinds["ir_switch"].lighting) == 2
    assert len(kinds["two_walkers"].walkers) == 2 and len(kinds["crowd"].walkers) >= 6


def test_recompressed_clips_keep_their_truth_and_frames_and_are_cached(bench, tmp_path) -> None:
    clips = bench.accuracy.accuracy_clips
    folder = tmp_path / "dev"
    folder.mkdir()
    video = folder / "moving.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    for i in range(30):
        frame = np.full((120, 160, 3), 90, np.uint8)
        cv2.rectangle(frame, (5 + 3 * i, 40), (25 + 3 * i, 80), (230, 230, 230), -1)
        writer.write(frame)
    writer.release()
    truth = {"events": [[0, 29]], "fps": 10, "frames": 30, "category": "walker"}
    video.with_suffix(".json").write_text(json.dumps(truth))

    (first,) = clips.recompressed([video], 40)
    assert first == tmp_path / "crf40" / "dev" / "moving.mp4"
    assert json.loads(first.with_suffix(".json").read_text()) == truth
    capture = cv2.VideoCapture(str(first))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    assert count == 30
    assert first.read_bytes() != video.read_bytes()

    written = first.stat().st_mtime_ns
    assert clips.recompressed([video], 40) == [first]
    assert first.stat().st_mtime_ns == written  # cached: not encoded again


def test_every_light_switch_truth_of_a_fresh_suite_changes_the_light(bench) -> None:
    """A lighting truth must be a change the picture shows: the light after it differs from before it.
    (A flicker drawn as an even number of toggles once left the lamp off, so the truth's switch-off
    changed nothing and could only be missed.)"""
    flickering = 0
    for seed in range(1, 41):
        clip = next(c for c in bench.fresh.clips(seed) if c.name == "light_switch")
        assert clip.light is not None and len(clip.lighting) == 2, seed
        for truth in clip.lighting:
            first, last = truth if isinstance(truth, tuple) else (truth, truth)
            before, after = clip.light((first - 1) / clip.fps), clip.light((last + 1) / clip.fps)
            assert before != after, (seed, truth, before, after)
        flickering += isinstance(clip.lighting[0], tuple)
    assert 5 <= flickering <= 35  # both kinds are drawn
