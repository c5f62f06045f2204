"""Does the suite catch deliberate bugs? Each mutant is one small edit to a copy of the package.

For every mutant the repository (package with its presets, tests, sample clips, README) is copied to a
temporary folder, the edit is applied there, and the part of the suite that guards that code runs
against the copy. A mutant is *killed* when those tests fail, and *survives* when they pass: a
surviving mutant is a bug the suite would let through. The unmutated copy runs the same tests first,
so a kill means the edit broke them, not the machine.

    python tests/mutation_check.py            # every mutant
    python tests/mutation_check.py kl-is-l1   # only the named ones

Exit code 0 when every mutant is killed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("vidwatch", "tests", "sample_videos", "README.md", "pyproject.toml")
"""What a copy holds (the presets are package data, inside vidwatch/)."""


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    count: int = 1
    """How many times ``old`` must occur (every occurrence is replaced)."""


MUTANTS = (
    Mutant("reset-noop", "every detector's reset() does nothing once it is built",
           "vidwatch/detectors/base.py",
           "        self.params: Any = params\n        self.reset()\n",
           "        self.params: Any = params\n        self.reset()\n        self.reset = lambda: None\n",
           ("tests/test_detector_contract.py", "tests/test_stream_events.py")),
    Mutant("reset-noop-background", "the background model's reset() keeps the model it learnt",
           "vidwatch/detectors/background.py",
           "    def reset(self) -> None:\n",
           "    def reset(self) -> None:\n        if getattr(self, '_mean', None) is not None:\n            return\n",
           ("tests/test_detectors.py",)),
    Mutant("min-frames-ignored", "one frame over threshold opens an event whatever min_frames says",
           "vidwatch/gate.py",
           "self.run >= self.rule.min_frames", "self.run >= 1",
           ("tests/test_gate.py",), count=2),
    Mutant("post-roll-zero", "events end on their last frame over threshold (no post-roll)",
           "vidwatch/gate.py",
           "self.rule.post_roll", "0.0",
           ("tests/test_gate.py",), count=2),
    Mutant("kl-is-l1", "the histogram detector measures the L1 distance instead of the KL divergence",
           "vidwatch/detectors/histogram.py",
           "    return float(np.sum(p * np.log(p / q)))\n", "    return float(np.sum(np.abs(p - q)))\n",
           ("tests/test_detectors.py", "tests/test_compare.py")),
    Mutant("busy-pixels-kept", "the difference detector's busy-pixel suppression is switched off",
           "vidwatch/detectors/diff.py",
           "        if p.max_activity < 1.0:\n", "        if False:\n",
           ("tests/test_detectors.py",)),
    Mutant("exclude-zones-ignored", "zones.exclude polygons are not taken out of the mask",
           "vidwatch/zones.py",
           "    if zones.exclude:\n", "    if False:\n",
           ("tests/test_robustness.py",)),
    Mutant("tune-kinds-ignored", "tune scores every kind against every truth event (a plain [start, end] counts "
           "as a scene change too)", "vidwatch/tune.py",
           "labels.spans(self.kind)", "labels.spans(None)", ("tests/test_tune.py",), count=2),
    Mutant("tune-scores-any-kind", "tune scores each kind's settings against truth events of every kind (a walker's "
           "[start, end] can be found as a scene change)", "vidwatch/tune.py",
           "hit = evaluate(events, clip.labels, rec.n_frames",
           "hit = evaluate(events, Truth(clip.labels.events, (None,) * len(clip.labels.events)), rec.n_frames",
           ("tests/test_tune.py", "tests/test_tune_holdout.py")),
    Mutant("tune-objects-threshold-lost", "tune cannot write a threshold outside `detectors` (the object stage's)",
           "vidwatch/tune.py",
           '    elif isinstance(plain.get(name), dict) and "threshold" in plain[name]:', "    elif False:",
           ("tests/test_tune.py",)),
    Mutant("tune-foreground-dropped", "the tuned config keeps only detectors an event rule names, not the background "
           "model the object stage tracks", "vidwatch/tune.py",
           "    used = set(used_detectors(built))",
           "    used = {n for r in built.events.values() for n in r.detectors or ()}",
           ("tests/test_tune.py",)),
    Mutant("tune-training-decides", "tune chooses the fitting level by its training F1, not the cross-validated one",
           "vidwatch/tune.py",
           "        pick = max(scores, key=LevelScore.cv_key)", "        pick = max(scores, key=lambda s: s.fit.key())",
           ("tests/test_tune.py",)),
    Mutant("tune-no-refusal", "tune never refuses a config that scores worse on clips it was not fitted to",
           "vidwatch/tune.py",
           "    if round(result.cv_total.f1, 9) < round(base_total.f1, 9):", "    if False:",
           ("tests/test_tune.py",)),
    Mutant("tune-raise-blind", "quiet-footage tuning leaves every raised threshold at the highest recorded score",
           "vidwatch/tune.py",
           "                current[name] = self._lowest(name, ladders[name], current)", "                pass",
           ("tests/test_tune.py",)),
    Mutant("inject-box-shifted", "injection reports each figure's box one pixel right of where it was pasted",
           "vidwatch/inject.py",
           "    return (x0 + int(xs.min()), y0", "    return (x0 + int(xs.min()) + 1, y0",
           ("tests/test_tune_quiet.py",)),
    Mutant("inject-found-by-any-event", "a figure counts as found by a motion event anywhere in the segment",
           "vidwatch/inject.py",
           "        if e.kind != MOTION or e.end_frame < start - tolerance or e.start_frame > end + tolerance:",
           "        if e.kind != MOTION:", ("tests/test_tune_quiet.py",)),
    Mutant("tune-sensitivity-of-base", "what quiet tuning still finds is measured with the base config, not the "
           "tuned one", "vidwatch/tuning.py",
           'return measure(segment, {"base": request.base, "tuned": tuned}, p)',
           'return measure(segment, {"base": request.base, "tuned": request.base}, p)',
           ("tests/test_tune_quiet.py",)),
    Mutant("tune-output-unchecked", "tune decodes everything before finding out that -o cannot be written",
           "vidwatch/cli.py",
           "    output = check_output(args.output)  # before anything is decoded", "    output = args.output",
           ("tests/test_tune_cli.py",)),
    Mutant("stitch-no-continuation", "a segment's event cut at its overtime is never joined with its continuation",
           "vidwatch/stitch.py",
           "        if held is None or not held.cut or event.end_frame < held.event.end_frame:\n            return\n",
           "        return\n",
           ("tests/test_split.py",)),
    Mutant("stitch-drops-piece-tracks", "a joined event keeps only the first piece's tracked things",
           "vidwatch/stitch.py",
           '        if piece.extra.get("tracks"):\n', "        if False:\n",
           ("tests/test_split.py",)),
    Mutant("segment-owns-warmup", "a segment also reports the events that opened in its warm-up",
           "vidwatch/segments.py",
           "owned = seg.own_start <= opened < seg.cap", "owned = opened < seg.cap",
           ("tests/test_split.py",)),
    Mutant("segment-owns-by-start", "a segment owns the events that start in its range, not those that open there",
           "vidwatch/segments.py",
           "opened = self._latest.index if self._latest is not None else event.start_frame",
           "opened = event.start_frame",
           ("tests/test_split.py",)),
    Mutant("segment-stops-at-cap", "a segment stops at its boundary with its own events still open",
           "vidwatch/segments.py",
           "        elif index + 1 >= seg.cap and not owned_open and tail_ok:\n",
           "        elif index + 1 >= seg.cap:\n",
           ("tests/test_split.py",)),
    Mutant("segment-time-from-zero", "a segment's frame times ignore the stream's start time (MPEG-TS)",
           "vidwatch/sources/segment.py",
           "    return float(index.start_pts * index.time_base) if index.start_pts else 0.0\n",
           "    return 0.0\n",
           ("tests/test_split.py",)),
    Mutant("stretch-ignores-unowned-events",
           "an event that opens in a stretch's warm-up, in frames no stretch owns, is dropped",
           "vidwatch/segments.py",
           "        if self.can_retry and not owned and seg.floor <= opened < seg.own_start:\n", "        if False:\n",
           ("tests/test_split.py",)),
    Mutant("retry-from-zero-owns-all", "a stretch run again from the file's start owns frames the stretch before owns",
           "vidwatch/split.py",
           "own_start=own_start if start > 0 else segment.floor", "own_start=own_start if start > 0 else 0",
           ("tests/test_split.py",)),
    Mutant("lighting-always-relearns", "after a light change the background model forgets the scene",
           "vidwatch/detectors/background.py",
           "        if cv2.countNonZero(off) > UNEXPLAINED * off.size:", "        if True:",
           ("tests/test_detectors.py", "tests/test_objects.py")),
    Mutant("look-on-whole-region", "texture and edges are judged on the whole region, faint parts included",
           "vidwatch/objects/regions.py",
           "MIN_JUDGED = 12\n", "MIN_JUDGED = 10**9\n",
           ("tests/test_objects.py",)),
    Mutant("edge-from-sharpest-tenth", "a region's edge is read at the 0.9 quantile of its border's gradient",
           "vidwatch/objects/regions.py",
           "EDGE_QUANTILE = 0.7\n", "EDGE_QUANTILE = 0.9\n",
           ("tests/test_objects.py",)),
    Mutant("no-clutter-map", "a track born where pieces keep coming and going counts like any other",
           "vidwatch/objects/tracker.py",
           "BUSY_BIRTHS = 3.0\n", "BUSY_BIRTHS = 1e9\n",
           ("tests/test_objects.py",)),
    Mutant("birthplace-asked-once", "a track born while the clutter map is still learning is judged on its "
           "birthplace as it was at its birth only", "vidwatch/objects/tracker.py",
           "CLUTTER_LEARNING = 2.0\n", "CLUTTER_LEARNING = 0.0\n",
           ("tests/test_objects.py",)),
    Mutant("busy-late-keeps-evidence", "a track whose place turns out busy keeps what it showed before",
           "vidwatch/objects/tracker.py",
           "            track.busy_birth = True\n            track.evidence = 0.0\n",
           "            track.busy_birth = True\n",
           ("tests/test_objects.py",)),
    Mutant("sliver-taken-over-is-clutter", "a thing's first sliver, taken over by a new track as it grows, "
           "makes the new track's place busy", "vidwatch/objects/tracker.py",
           "                    heir.took_over += [(time, track.birthplace), *track.took_over]\n",
           "                    pass\n",
           ("tests/test_objects.py",)),
    Mutant("object-stage-reads-dropped-regions", "the object stage takes every region the detector labelled, "
           "also those its blobs dropped as too small",
           "vidwatch/objects/regions.py",
           "        candidates = components.kept\n", "        candidates = np.arange(1, len(components.stats))\n",
           ("tests/test_blobs.py",)),
    Mutant("fine-never-explores", "the fine pass looks only where it already follows something",
           "vidwatch/objects/fine.py",
           "        places = self._places(lasting, ignore, busy, step) if lasting is not None else None\n",
           "        places = None\n",
           ("tests/test_objects.py",)),
    Mutant("fine-without-streak", "the fine pass looks wherever a faint change shows for one frame",
           "vidwatch/objects/fine.py",
           "STREAK = 3\n", "STREAK = 1\n",
           ("tests/test_objects.py",)),
    Mutant("fine-judges-nothing", "a small region of the coarse mask is never judged on the fine pictures",
           "vidwatch/objects/fine.py",
           "        if self._mean is None or self._seen < WARMUP:\n            return None\n        r = self._ratio\n",
           "        return None\n        r = self._ratio\n",
           ("tests/test_objects.py",)),
    Mutant("fine-never-vetoes", "a coarse track in a large picture becomes a thing without a finer look",
           "vidwatch/objects/stage.py",
           "        if self.fine is None or region is None or region.look is not None:\n            return False\n"
           "        look = self.fine.judge",
           "        if True:\n            return False\n        look = self.fine.judge",
           ("tests/test_objects.py",)),
    Mutant("fine-lets-go-to-coarse", "the fine pass stops following a thing it found once the coarse mask has it",
           "vidwatch/objects/stage.py",
           "            if track.region is not None and track.region.look is not None:\n",
           "            if track.region is not None and track.region.look is None:\n"
           "                self._fine_tracks.discard(track.id)\n"
           "            elif track.region is not None:\n",
           ("tests/test_objects.py",)),
    Mutant("velocity-across-scales", "a step between the coarse and the fine picture's centre counts as motion",
           "vidwatch/objects/tracker.py",
           "            if earlier.fine == obs.fine:\n", "            if True:\n",
           ("tests/test_objects.py",)),
    Mutant("velocity-stale-in-turns", "a thing seen by the two pictures in turn keeps the velocity of its last "
           "run on one picture", "vidwatch/objects/tracker.py",
           "        for earlier in reversed(self.history):\n",
           "        for earlier in list(reversed(self.history))[:1]:\n",
           ("tests/test_objects.py",)),
    Mutant("velocity-one-step", "a track's velocity is measured from one frame to the next (no baseline)",
           "vidwatch/objects/tracker.py",
           "VELOCITY_BASELINE = 0.5\n", "VELOCITY_BASELINE = 0.0\n",
           ("tests/test_objects.py",)),
    Mutant("gate-in-own-size", "association measures a few-pixel thing's distance in its own size (2 px)",
           "vidwatch/objects/tracker.py",
           "np.sqrt(np.maximum(usual, areas)), MIN_GATE_SCALE)", "np.sqrt(np.maximum(usual, areas)), 2.0)",
           ("tests/test_objects.py",)),
    Mutant("drift-ignored", "a track moving as a crowd of clutter drifts is a thing like any other",
           "vidwatch/objects/stage.py",
           "                if drifting is not False or self._fine_says_light(track, frame):\n",
           "                if self._fine_says_light(track, frame):\n",
           ("tests/test_objects.py::test_clumps_of_heavy_snow_falling_with_the_rest_are_not_motion",)),
    Mutant("drift-ignores-core", "a track as solid as a person is taken for snow when it moves as the snow does",
           "vidwatch/objects/drift.py",
           "        if not 0 < core <= PIECE_CORE * drift.piece_core:\n", "        if not 0 < core:\n",
           ("tests/test_drift.py",)),
    Mutant("drift-ignores-direction", "a flake-sized track is taken for snow whichever way it moves",
           "vidwatch/objects/drift.py",
           "        return drift.along[0] <= along <= drift.along[1] and "
           "drift.across[0] <= across <= drift.across[1]\n",
           "        return True\n",
           ("tests/test_drift.py", "tests/test_objects.py::test_a_small_person_crossing_heavy_snow_is_found")),
    Mutant("drift-one-look", "one answer of \"does it move as the clutter drifts?\" decides",
           "vidwatch/objects/stage.py",
           "        if len(votes) < DRIFT_LOOKS:\n            return None\n"
           "        return 2 * sum(votes) >= len(votes)\n",
           "        return verdict\n",
           ("tests/test_objects.py::test_clumps_of_heavy_snow_falling_with_the_rest_are_not_motion",)),
    Mutant("drift-travel-kept", "travel shown while moving as the snow does counts once the track no longer does",
           "vidwatch/objects/stage.py",
           "                    track.evidence = 0.0\n", "                    pass\n",
           ("tests/test_objects.py::test_travel_shown_while_moving_as_the_snow_does_is_not_counted_once_the_clump_settles",)),
    Mutant("carve-nothing", "light is never carved out of a region a track about to become a thing joined",
           "vidwatch/objects/stage.py",
           "        return self._carve_joined(found, frame, reference), reference\n",
           "        return found, reference\n",
           ("tests/test_objects.py::test_a_person_joined_by_pieces_of_a_dappled_shadow_is_found_in_time",)),
    Mutant("carve-in-snow", "light is carved out of joined regions where clutter drifts one way too",
           "vidwatch/objects/stage.py",
           "                if crowd:\n                    break\n", "",
           ("tests/test_objects.py::test_light_is_carved_only_where_a_track_about_to_become_a_thing_joined_it_and_no_clutter_drifts",)),
    Mutant("carve-at-border", "regions at the picture's border are carved too",
           "vidwatch/objects/stage.py",
           "            if touches_border(region.box, frame.grey.shape):\n", "            if False:\n",
           ("tests/test_objects.py::test_pieces_of_a_dappled_shadow_in_view_from_the_start_are_not_motion",)),
    Mutant("carve-no-regrow", "a thing's part is not grown back within its region after carving",
           "vidwatch/objects/carve.py",
           "GROW = 2\n", "GROW = 0\n",
           ("tests/test_objects.py::test_a_person_joined_by_pieces_of_a_dappled_shadow_is_found_in_time",)),
    Mutant("carve-rims-kept", "the rims light leaves at its own edge are not opened away",
           "vidwatch/objects/carve.py",
           "    kept = cv2.morphologyEx(kept, cv2.MORPH_OPEN, _SQUARE)", "    kept = kept",
           ("tests/test_objects.py::test_light_is_carved_out_of_a_region_a_person_joined_leaving_the_person",)),
    Mutant("held-light-still", "the ground under a held thing keeps the light it had when the thing came",
           "vidwatch/detectors/background.py",
           "                _follow_light(mean, since, hold, background)\n", "                pass\n",
           ("tests/test_detectors.py::test_ground_under_a_held_thing_follows_the_light",
            "tests/test_objects.py::test_a_slow_walker_while_the_exposure_drifts_is_one_event_to_the_end")),
    Mutant("held-light-offset-only", "the ground under a held thing moves by the grey levels the ground around moved",
           "vidwatch/detectors/background.py",
           "    slope = together / (cv2.max(spread, 0.0) + LIGHT_FLAT * LIGHT_FLAT)\n",
           "    slope = together * 0.0\n",
           ("tests/test_detectors.py::test_ground_brighter_or_darker_than_around_a_held_thing_follows_the_light_in_proportion",)),
    Mutant("held-light-since-kept-over-relight", "the held ground's light is counted from before the model was relit",
           "vidwatch/detectors/background.py",
           "        self._light_since = None  # μ moved as a whole: what the background learns is counted afresh\n", "",
           ("tests/test_detectors.py::test_ground_under_a_held_thing_is_relit_once",)),
    Mutant("held-light-since-never-renewed", "the held ground follows the background's change since the first step",
           "vidwatch/detectors/background.py",
           "            np.copyto(since, mean)\n", "",
           ("tests/test_detectors.py::test_ground_under_a_held_thing_follows_the_light",
            "tests/test_detectors.py::test_ground_under_a_held_thing_is_relit_once")),
    Mutant("specks-not-asked", "without the fine pass, no track is looked at at the source's resolution",
           "vidwatch/objects/stage.py",
           "        if self.fine is not None or reference is None or region is None or frame.scale <= 1.0:\n",
           "        if True:\n",
           ("tests/test_objects.py::test_a_clump_of_small_flakes_drifting_together_is_not_a_thing",)),
    Mutant("specks-one-look", "a single solid-looking look lets a clump of flakes through",
           "vidwatch/objects/stage.py",
           "        return self._too_often(votes)\n",
           "        return votes[-1]\n",
           ("tests/test_objects.py::test_a_clump_of_small_flakes_drifting_together_is_not_a_thing",)),
    Mutant("held-learnt", "a held thing is learnt at the background's rate (so it follows the light, and itself)",
           "vidwatch/detectors/background.py",
           "            background = cv2.bitwise_and(background, cv2.bitwise_not(hold))\n",
           "            background = cv2.bitwise_or(background, hold)\n",
           ("tests/test_detectors.py::test_ground_under_a_held_thing_follows_the_light",)),
    Mutant("held-light-near-only", "held pixels follow only the background within a fixed reach",
           "vidwatch/detectors/background.py",
           "    reach = LIGHT_REACH + min(w, h) // 2\n", "    reach = LIGHT_REACH\n",
           ("tests/test_detectors.py::test_ground_under_a_held_thing_follows_the_light",)),
    Mutant("drift-any-few-pieces", "a few dozen tracks drifting one way make a crowd",
           "vidwatch/objects/drift.py",
           "        if len(pieces) >= max(CROWD * watched, FIRST_CROWD):\n", "        if len(pieces) >= FIRST_CROWD:\n",
           ("tests/test_drift.py",)),
    Mutant("joined-ignored", "a thing joined with something else is followed from the joined centre",
           "vidwatch/objects/tracker.py",
           "        return (self.confirmed_at is not None and not fine and not own.fine\n",
           "        return False and (self.confirmed_at is not None and not fine and not own.fine\n",
           ("tests/test_objects.py::test_a_walker_a_snow_clump_falls_past_stays_the_walker",)),
    Mutant("joined-clutter", "tracks still being judged are followed through joins too",
           "vidwatch/objects/tracker.py",
           "        return (self.confirmed_at is not None and not fine and not own.fine\n",
           "        return (not fine and not own.fine\n",
           ("tests/test_objects.py::test_a_joined_region_says_nothing_of_a_tracks_motion",
            "tests/test_objects.py::test_clumps_of_heavy_snow_falling_with_the_rest_are_not_motion")),
    Mutant("joined-predicted-from-centre", "a joined thing is predicted from the joined centre, with its own velocity",
           "vidwatch/objects/tracker.py",
           "        if self.last.merged and time - self._own.time <= MERGE_MEMORY + 1e-9:\n",
           "        if False:\n",
           ("tests/test_objects.py::test_a_walker_a_snow_clump_falls_past_stays_the_walker",
            "tests/test_objects.py::test_a_joined_region_says_nothing_of_a_tracks_motion")),
    Mutant("joined-velocity", "a joined centre's motion is measured as the thing's velocity",
           "vidwatch/objects/tracker.py",
           "        dt = obs.time - base.time if base is not None and not obs.merged else 0.0\n",
           "        dt = obs.time - base.time if base is not None else 0.0\n",
           ("tests/test_objects.py::test_a_joined_region_says_nothing_of_a_tracks_motion",)),
    Mutant("awaited-ignored", "an event closes at its merge gap whatever the scores await",
           "vidwatch/gate.py",
           "                self.waiting = self._awaits(scores, closes_at)\n",
           "                self.waiting = False\n",
           ("tests/test_gate.py",)),
    Mutant("awaited-any-time", "evidence first seen after the event would have closed still holds it open",
           "vidwatch/gate.py",
           "        return any(score.awaited is not None and score.awaited[1] <= closes_at + 1e-9\n",
           "        return any(score.awaited is not None\n",
           ("tests/test_gate.py",)),
    Mutant("waiting-takes-anything", "an event held open takes in whatever comes, first seen when it may",
           "vidwatch/gate.py",
           "            if over and self.run >= self.rule.min_frames and self.waiting"
           " and self.run_start[1] > closes_at + 1e-9:\n",
           "            if False:\n",
           ("tests/test_gate.py",)),
    Mutant("awaited-nothing", "no track that may still count keeps an event open past its merge gap",
           "vidwatch/objects/stage.py",
           "        return min(waiting) if waiting else None\n",
           "        return None\n",
           ("tests/test_objects.py::test_someone_who_comes_into_view_within_the_merge_gap_joins_the_event",)),
    Mutant("thing-light-by-window", "a thing is judged light on its last window's looks, not its life's",
           "vidwatch/objects/tracker.py",
           "        if self.confirmed_at is not None and min(self.travel, self.moved) >= rules.travelling:\n",
           "        if False:\n",
           ("tests/test_objects.py::test_a_person_passing_behind_a_railing_stays_one_event",)),
    Mutant("thing-light-by-life-standing", "a thing that stopped is still judged light on its life's looks",
           "vidwatch/objects/tracker.py",
           "        if self.confirmed_at is not None and min(self.travel, self.moved) >= rules.travelling:\n",
           "        if self.confirmed_at is not None:\n",
           ("tests/test_objects.py::test_a_thing_is_unmade_by_light_looks_over_its_life_while_it_travels_and_over_a_window_once_it_stops",)),
    Mutant("thing-light-by-life-stuck", "a thing that travelled lately but no longer moves is judged light on "
           "its life's looks",
           "vidwatch/objects/tracker.py", "min(self.travel, self.moved) >= rules.travelling",
           "self.travel >= rules.travelling",
           ("tests/test_objects.py::test_a_thing_is_unmade_by_light_looks_over_its_life_while_it_travels_and_over_a_window_once_it_stops",)),
    Mutant("hidden-thing-lost", "a thing hidden in a region another track took is left without one",
           "vidwatch/objects/tracker.py",
           "                where = track.predict(time) if track.confirmed_at is not None and regions else None\n",
           "                where = None\n",
           ("tests/test_objects.py::test_a_walker_hidden_for_seconds_in_a_larger_clump_that_takes_the_joined_region_is_kept",)),
    Mutant("hidden-thing-takes-its-size", "a thing hidden in a joined region takes the region's area as its size",
           "vidwatch/objects/tracker.py", "rules.window, sized=False)", "rules.window, sized=True)",
           ("tests/test_objects.py::test_a_walker_hidden_for_seconds_in_a_larger_clump_that_takes_the_joined_region_is_kept",)),
    Mutant("border-any-outward", "a thing at the border drifting outward at all has left the picture",
           "vidwatch/objects/tracker.py",
           "        out = LEAVING_SHARE * math.hypot(vx, vy)\n", "        out = 0.0\n",
           ("tests/test_objects.py",)),
    Mutant("structure-gain-sensitive", "the structure detector divides by the earlier cell's spread twice, not by "
           "both cells' (a regression slope: a light change looks like a new pattern)",
           "vidwatch/detectors/structure.py",
           "previous.spread * current.spread, 1e-6", "previous.spread * previous.spread, 1e-6",
           ("tests/test_detectors.py",)),
    Mutant("structure-counts-flat-cells", "the structure detector compares flat cells too (noise never correlates)",
           "vidwatch/detectors/structure.py",
           "        floor = max(p.min_texture, NOISE_TEXTURES * frame.noise)\n", "        floor = 0.0\n",
           ("tests/test_detectors.py",)),
    Mutant("triage-blind-to-keyframes", "triage ignores what the keyframe comparisons found",
           "vidwatch/triage.py",
           "        if change.active:\n            active[change.first:change.second + 1] = True\n",
           "        pass\n",
           ("tests/test_triage.py",)),
    Mutant("triage-trusts-declared-cbr", "a stream that declares a constant bitrate is triaged like any other",
           "vidwatch/triage.py",
           "    if index.constant_bitrate:\n", "    if False:\n",
           ("tests/test_triage.py",)),
    Mutant("triage-trusts-all-intra", "an all-intra stream is triaged like any other",
           "vidwatch/triage.py",
           '            reason = "every frame is a keyframe"\n', "            reason = None\n",
           ("tests/test_triage.py",)),
    Mutant("score-parts-dropped", "the score rows of a split run's segments never reach the scores file",
           "vidwatch/split.py",
           "            shutil.copyfileobj(handle, self._file)\n", "            pass\n",
           ("tests/test_run_pieces.py",)),
    Mutant("unsplittable-said-quietly", "a file that can only be scanned whole says so only in the debug log",
           "vidwatch/split.py",
           '        log.warning("%s cannot be scanned in pieces', '        log.info("%s cannot be scanned in pieces',
           ("tests/test_run_pieces.py",)),
    Mutant("unreadable-said-twice", "a file PyAV cannot open is named by a warning as well as by the error",
           "vidwatch/sources/packets.py",
           'raise Unreadable(f"PyAV cannot open it', 'raise Unsplittable(f"PyAV cannot open it',
           ("tests/test_run_pieces.py",)),
    Mutant("focus-not-asked", "a track about to become a thing is not looked at at the source's resolution",
           "vidwatch/objects/stage.py",
           "        votes.append(lit or not solid_in_focus(self.fine.source_look(frame, region.box, self._light),\n"
           "                                               self.params.min_size))\n",
           "        votes.append(lit)\n",
           ("tests/test_objects.py::test_defocused_flakes_among_dense_small_flakes_of_a_large_picture_are_not_motion",)),
    Mutant("focus-not-asked-of-fine", "a track found on the fine pictures is not looked at at the source's "
           "resolution", "vidwatch/objects/stage.py",
           "            lit = region.look[0] is True\n",
           "            return len(votes) < 0 and region.look[0] is True\n",
           ("tests/test_objects.py::test_a_thing_found_on_the_fine_pictures_is_looked_at_at_the_source_resolution_too",)),
    Mutant("focus-not-despeckled", "the small sharp flakes crossing a defocused one lend it their edges",
           "vidwatch/objects/focus.py",
           "    change = cv2.medianBlur(raw, DESPECKLE)",
           "    change = raw.copy()",
           ("tests/test_objects.py::test_at_the_source_resolution_a_person_is_solid_and_in_focus_a_near_flake_and_a_"
            "clump_of_flakes_are_not",)),
    Mutant("specks-pass-for-solid", "a clump of small flakes passes for a solid thing at the source's resolution",
           "vidwatch/objects/focus.py",
           "    return look.kept >= SOLID and look.edge_width", "    return look.edge_width",
           ("tests/test_objects.py::test_at_the_source_resolution_a_person_is_solid_and_in_focus_a_near_flake_and_a_"
            "clump_of_flakes_are_not",)),
    Mutant("solid-by-peak-only", "what the median filter keeps is read on the peak alone: flakes crossing a "
           "person are its peak", "vidwatch/objects/focus.py",
           "    kept = max(float(np.minimum(change_in[changed], before).sum() / before.sum()),\n"
           "               peak / max(",
           "    kept = max(0.0,\n               peak / max(",
           ("tests/test_objects.py::test_at_the_source_resolution_a_person_is_solid_and_in_focus_a_near_flake_and_a_"
            "clump_of_flakes_are_not",)),
    Mutant("faint-never-quiet", "a faint core never counts, however quiet the scene",
           "vidwatch/objects/tracker.py",
           "track.judge(rules, quiet=others <= QUIET_TRACKS)", "track.judge(rules, quiet=False)",
           ("tests/test_objects.py::test_a_faint_core_counts_where_nothing_else_comes_and_goes_and_not_among_flakes",
            "tests/test_objects.py::test_a_faint_person_of_the_smallest_size_alone_in_a_large_picture_at_night_is_found")),
    Mutant("faint-always-quiet", "a faint core counts among flakes too",
           "vidwatch/objects/tracker.py",
           "track.judge(rules, quiet=others <= QUIET_TRACKS)", "track.judge(rules, quiet=True)",
           ("tests/test_objects.py::test_a_faint_core_counts_where_nothing_else_comes_and_goes_and_not_among_flakes",
            "tests/test_objects.py::test_small_flakes_in_a_large_picture_are_not_motion",
            "tests/test_objects.py::test_snow_is_not_motion")),
    Mutant("faint-young-tracks-not-counted", "only tracks that came and went make a scene busy, not those alive",
           "vidwatch/objects/tracker.py",
           "busy = self.drift.remembered(time) + sum(t.confirmed_at is None for t in self.tracks)",
           "busy = self.drift.remembered(time)",
           ("tests/test_objects.py::test_a_faint_core_counts_where_nothing_else_comes_and_goes_and_not_among_flakes",)),
    Mutant("faint-core-floor-ignored", "a quiet scene lets any core count, a speck's too",
           "vidwatch/objects/tracker.py",
           "return min(rules.faint_core, rules.min_core) if quiet and rules.faint_core > 0 else rules.min_core",
           "return 0.0 if quiet else rules.min_core",
           ("tests/test_objects.py::test_a_faint_core_counts_where_nothing_else_comes_and_goes_and_not_among_flakes",)),
    Mutant("fast-takes-cameras", "--fast does not refuse a camera",
           "vidwatch/archive.py",
           "    if not fast:\n        return\n", "    if True:\n        return\n",
           ("tests/test_run_pieces.py",)),
    Mutant("burnt-in-restless", "a pixel that steps now and then is burnt-in however it changes in between",
           "vidwatch/burnt_in.py",
           "(self._changes <= RESTLESS * self._count)", "(self._changes >= 0)",
           ("tests/test_burnt_in.py",)),
    Mutant("burnt-in-whole-steps", "steps of a frame where the whole picture stepped count",
           "vidwatch/burnt_in.py",
           "            step[:] = False", "            pass",
           ("tests/test_burnt_in.py",)),
    Mutant("burnt-in-no-line", "what changes with a found mark along its line waits to step twice itself",
           "vidwatch/burnt_in.py",
           "        if self._found and self._joins_line(step):", "        if False:",
           ("tests/test_burnt_in.py",)),
    Mutant("burnt-in-kept", "burnt-in marks found are not left out of the pixels that count",
           "vidwatch/preprocess.py",
           "            kept = cv2.bitwise_not(burnt_in)\n", "            kept = cv2.bitwise_not(burnt_in) | 255\n",
           ("tests/test_burnt_in.py",
            "tests/test_objects.py::test_a_clock_burnt_into_a_large_picture_of_small_snowflakes_is_not_an_event")),
    Mutant("triage-clock-compared", "triage compares keyframes over a burnt-in clock's line",
           "vidwatch/triage.py",
           "        deviation[ignore] = 0.0", "        pass",
           ("tests/test_triage.py::test_a_cameras_clock_burnt_in_does_not_make_triage_decode_the_quiet",)),
)


def make_copy(into: Path) -> Path:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():  # (configs/ became vidwatch/presets/)
            shutil.copy2(source, into / name)
    return into


def mutate(root: Path, mutant: Mutant) -> None:
    path = root / mutant.path
    text = path.read_text(encoding="utf-8")
    found = text.count(mutant.old)
    if found != mutant.count:
        raise SystemExit(f"{mutant.name}: expected {mutant.count} occurrence(s) of the code to mutate in "
                         f"{mutant.path}, found {found}; update the mutant to the current code")
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")


def run_tests(root: Path, tests: tuple[str, ...]) -> tuple[bool, str, float]:
    """(passed, last lines of the output, seconds) of the tests run against the copy at ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    where = subprocess.run([sys.executable, "-c", "import vidwatch; print(vidwatch.__file__)"], cwd=root, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"the copy is not what gets imported ({where}); run from a plain checkout")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                            cwd=root, env=env, capture_output=True, text=True)
    tail = "\n".join(result.stdout.strip().splitlines()[-3:])
    return result.returncode == 0, tail, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutants to try (default: all): "
                        + ", ".join(m.name for m in MUTANTS))
    args = parser.parse_args(argv)
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutant(s): {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    survived = 0
    with tempfile.TemporaryDirectory(prefix="vidwatch-mutants-") as tmp:
        clean = make_copy(Path(tmp) / "clean")
        tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
        passed, tail, seconds = run_tests(clean, tests)
        if not passed:
            print(f"the unmutated copy fails its tests ({seconds:.0f} s); fix those first:\n{tail}")
            return 1
        print(f"unmutated copy: {len(tests)} test files pass ({seconds:.0f} s)")
        for mutant in chosen:
            root = make_copy(Path(tmp) / mutant.name)
            mutate(root, mutant)
            passed, tail, seconds = run_tests(root, mutant.tests)
            verdict = "SURVIVED" if passed else "killed"
            survived += passed
            failed = [line for line in tail.splitlines() if line.startswith("FAILED")]
            print(f"{verdict:<8} {mutant.name:<22} {mutant.what} ({seconds:.0f} s)"
                  + (f"\n         by {failed[0][len('FAILED '):]}" if failed else ""))
            shutil.rmtree(root)
    print(f"{len(chosen) - survived} of {len(chosen)} mutants killed")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
