"""Triage (``--fast``): decode only where the compressed stream shows activity, lose no event.

Generated recordings with long quiet stretches and known events (squares crossing, a light
switched on, a cut): triage must find every event a whole-file scan finds, with the same frames,
while decoding well under all of the file; where the compressed stream cannot be trusted
(constant bitrate, every frame a keyframe) it must decode everything.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.archive_clips import ALL_INTRA, CBR, VBR, VBR_B_FRAMES, Story, write
from tests.synthetic import noisy, scene
from vidwatch import triage
from vidwatch.config import apply_overrides, load_config
from vidwatch.pipeline import run_source
from vidwatch.segments import timing_for
from vidwatch.sources.packets import DISPOSABLE_REORDERED, KEY, REFERENCE, read_packet_index
from vidwatch.split import PictureOutputs, plan_file, run_in_process

STORY = Story(frames=2500, crossings=[(300, 375), (1500, 1575)], light=[(2120, 45.0)], cuts=[900, 960])
"""100 s: two crossings, a cut away and back, a light switched on; quiet in between."""


def _full(path, config):
    return run_source(str(path), config, []).events


def _triaged(path, config):
    plan = plan_file(str(path), config, jobs=1, fast=True)
    assert plan is not None and plan.triage is not None
    stats, output = run_in_process(plan, config, [], pictures=PictureOutputs())
    return stats.events, plan, output


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return write(tmp_path_factory.mktemp("triage") / "story.mp4", STORY, VBR)


@pytest.mark.parametrize("encoding", ["vbr", "b_frames"])
def test_triage_finds_every_event_of_a_full_scan_and_skips_the_quiet(tmp_path, recording, encoding):
    path = recording if encoding == "vbr" else write(tmp_path / "b.ts", STORY, VBR_B_FRAMES)
    config = load_config(None)
    expected = _full(path, config)
    assert [e.kind for e in expected] == ["motion", "scene_change", "scene_change", "motion", "lighting"]
    found, plan, output = _triaged(path, config)
    assert [(e.kind, e.start_frame, e.end_frame) for e in found] == [
        (e.kind, e.start_frame, e.end_frame) for e in expected]
    assert all(f.peak == pytest.approx(e.peak, rel=0.05, abs=1e-3) for f, e in zip(found, expected, strict=True))
    assert not plan.triage.fallbacks
    assert output.decoded < 0.5 * STORY.frames, f"decoded {output.decoded} of {STORY.frames} frames"


def test_packet_classes_tell_keyframes_p_and_b_frames_apart(tmp_path):
    index = read_packet_index(str(write(tmp_path / "b.mp4", Story(frames=100), VBR_B_FRAMES)))
    classes = set(index.classes.tolist())
    assert {KEY, REFERENCE, DISPOSABLE_REORDERED} <= classes
    assert list(index.keyframes) == [0, 25, 50, 75]


def test_keyframe_comparison_sees_a_small_slow_object_and_a_light_change(recording):
    index = read_packet_index(str(recording))
    changes = {c.first: c for c in triage.compare_keyframes(index, triage.sampled_keyframes(index))}
    crossing = [c for c in changes.values() if c.first <= 340 <= c.second][0]
    quiet = [c for c in changes.values() if c.first <= 650 <= c.second][0]
    light = [c for c in changes.values() if c.first < 2120 <= c.second][0]
    assert crossing.active and crossing.changed > 10 * triage.CHANGE_AREA
    assert not quiet.active and quiet.changed < triage.CHANGE_AREA
    assert light.active and light.shift > 20


class DistantWalker:
    """A 1920x1080 still scene where a faint 10x24 px figure (20 grey levels off the ground) appears at
    frame 60 and walks 1 px a frame: the smallest object ``objects.min_size`` asks for, far away."""

    frames = 150

    def images(self):
        ground = scene(21, width=1920, height=1080)
        rng = np.random.default_rng(8)
        for i in range(self.frames):
            image = ground.copy()
            if i >= 60:
                x = 300 + (i - 60)
                image[400:424, x:x + 10] = ground[400:424, x:x + 10] - 20
            yield noisy(image, rng, 3.0)


def test_keyframes_are_compared_finely_enough_for_the_smallest_object_to_find(tmp_path):
    path = write(tmp_path / "far.mp4", DistantWalker(), VBR)
    index = read_packet_index(str(path))
    keys = [int(k) for k in index.keyframes]  # every one, so each second's change is judged alone
    assert keys == [0, 25, 50, 75, 100, 125]
    assert triage.fine_width(1920, (10, 24)) == 576  # the figure spans 3 pixels across
    coarse = {c.first: c for c in triage.compare_keyframes(index, keys)}
    fine = {c.first: c for c in triage.compare_keyframes(index, keys, (10, 24))}
    # at 160 px wide the figure is under a pixel across: the comparison (and its opening) loses it
    assert not any(c.active for c in coarse.values())
    assert not fine[0].active and not fine[25].active  # nobody there yet: noise is not a change
    assert all(fine[k].active for k in (50, 75, 100)), [(k, c.small, c.small_needed) for k, c in fine.items()]
    assert fine[100].small < 20 * fine[100].small_needed  # the figure, not the whole picture
    assert all(c.changed == coarse[k].changed and c.noise == coarse[k].noise for k, c in fine.items())


@pytest.fixture
def asked(monkeypatch):
    """The ``smallest`` every keyframe comparison is asked for (the comparisons still run)."""
    seen = []
    compare = triage.compare_keyframes

    def spy(index, keys, smallest=None, burnt_in_width=0):
        seen.append(smallest)
        return compare(index, keys, smallest, burnt_in_width)

    monkeypatch.setattr(triage, "compare_keyframes", spy)
    return seen


def test_fast_compares_keyframes_for_the_configs_smallest_object(recording, asked):
    config = load_config(None)
    plan_file(str(recording), apply_overrides(config, ["objects.min_size=[6,16]"]), jobs=1, fast=True)
    plan_file(str(recording), apply_overrides(config, ["objects.enabled=false"]), jobs=1, fast=True)
    assert asked and set(asked) == {(6, 16), None}


def test_parallel_keyframe_tasks_compare_for_the_configs_smallest_object(recording, asked):
    """The task a worker process (or a Ray actor) runs for ``--fast`` on several files."""
    from vidwatch.batch import RunOptions, run_task

    messages: list = []
    queue = type("Queue", (), {"put": staticmethod(messages.append)})()
    config = apply_overrides(load_config(None), ["objects.min_size=[6,16]"])
    run_task(("keyframes", 0, str(recording), [0, 25]), config, RunOptions(), queue, None, {})
    assert asked == [(6, 16)]
    assert [what for _, what, _ in messages] == ["begin", "changes"]
    assert [c.first for c in messages[1][2]] == [0]


def test_a_cameras_clock_burnt_in_does_not_make_triage_decode_the_quiet(tmp_path):
    # its seconds differ between any two keyframes: unless the first seconds find it burnt-in and
    # its line is left out of the comparisons, every stretch looks active
    story = Story(frames=1500, crossings=[(700, 775)], clock=True)
    path = write(tmp_path / "clock.mp4", story)
    config = load_config(None)
    found, plan, output = _triaged(path, config)
    assert [e.kind for e in found] == ["motion"] and found[0].start_frame <= 705 and found[0].end_frame >= 770, found
    assert output.decoded < 0.5 * story.frames, f"decoded {output.decoded} of {story.frames} frames"
    index = read_packet_index(str(path))
    keys = triage.sampled_keyframes(index)
    seen = sum(c.active for c in triage.compare_keyframes(index, keys, None, triage.burnt_in_width(config)))
    unseen = sum(c.active for c in triage.compare_keyframes(index, keys, None, 0))  # zones.burnt_in: false
    assert seen <= 6 and unseen >= max(seen + 4, 0.5 * (len(keys) - 1)), (seen, unseen, len(keys))


@pytest.mark.parametrize("encoding, keyframe_every, reason", [
    (CBR, 25, "constant"),
    (ALL_INTRA, 1, "keyframe"),
])
def test_streams_whose_sizes_cannot_be_trusted_are_decoded_in_full(tmp_path, encoding, keyframe_every, reason):
    path = write(tmp_path / "clip.ts", Story(frames=750, crossings=[(300, 375)]), encoding,
                 keyframe_every=keyframe_every)
    config = load_config(None)
    index = read_packet_index(str(path))
    changes = triage.compare_keyframes(index, triage.sampled_keyframes(index)) if keyframe_every > 1 else []
    decided = triage.plan(index, changes, timing_for(config, index.fps))
    assert decided.fallbacks and all(reason in r for _, _, r in decided.fallbacks)
    assert decided.share == 1.0, decided.describe()
