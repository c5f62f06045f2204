"""Regions associated over time into tracks, and what each track's history says about it.

Association is the textbook one: each track predicts where it will be (constant velocity), and the
optimal one-to-one assignment of tracks to this frame's regions by normalised distance (the
Hungarian method, :mod:`vidwatch.objects.assignment`) decides who is who; regions nobody claims start
new tracks, tracks nobody claims coast a little and then end. One region may hold two things, though
(a snow clump falling over a walker, two people crossing): a confirmed thing left without a region
goes on inside one that covers where it should be and is large enough for it and another, at its own
pace and size, for as long as that lasts.

Where tracks keep coming and going without becoming things — the pieces of a dappled shadow, foliage,
water — a clutter map (their birthplaces per cell, fading over ``CLUTTER_MEMORY``) marks a newborn
track as born in a busy place, and such a track counts only once it has lived a whole window: the
pieces come and go within a second or two, while a person walking through stays. How those that came
and went moved is remembered too (:mod:`vidwatch.objects.drift`): a crowd of them drifting one way is
snow or rain, and a track that moves as they do and is no more solid is one of them.

What a track is comes from its history, measured in the object's own size and in seconds, so the same
numbers hold at any resolution and frame rate:

- ``travel``: its net displacement over the evidence window, in object sizes (√area). A person
  crossing a picture travels many sizes; a swaying branch, a flag or rippling water goes back and forth
  and stays within a fraction of a size of where it was.
- ``straightness``: that net displacement over the length of the path (sampled a few times a second,
  so pixel jitter does not count as path); near 1 for a walk, low for oscillation.
- ``light``: the share of its observations that looked like light (texture kept, or soft edges).
- ``core``: the median size of the change itself, source pixels²: a flake's is little more than the
  blur's footprint, a person's most of their silhouette (see ``Appearance.core``).
- ``step``: how far it moves per frame relative to its size: things near the lens (a flake, an insect)
  cross their own size each frame; people and cars do not.

A track's ``evidence`` is the largest travel it has shown while it was old enough, straight enough,
big enough, plausible and not light. It never decreases, so a person who walked in and then stands
still (a loiterer) keeps counting for as long as the track lives. Where frames are too far apart to
follow a path (a folder of snapshots, a camera at one frame a second) a solid thing of the smallest
size or more, seen on two frames, counts.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vidwatch.objects.assignment import min_cost_assignment
from vidwatch.objects.drift import MIN_PIECE_LIFE, ClutterDrift, Piece
from vidwatch.objects.regions import Region

UNMATCHED = 1e6
"""Cost of a track-region pair that the gate rules out."""
DESCRIBE_EVERY = 0.15
"""Seconds between a track's appearance measurements: they are votes, a few a second are plenty."""
PATH_SAMPLE = 0.2
"""Seconds between the positions summed into a track's path length (jitter below this is not path)."""
LIGHT_MAJORITY = 0.5
"""Share of light-like observations above which a track is light, even one that counted as a thing: of
its last window's looks, or, for a thing still travelling and moving (``TrackingRules.travelling``), of all its
looks since it was born. A person passing behind a pole or a railing keeps its strongest edges in their
region for seconds, and those looks say light; a thing that walked in for ten seconds and walks on is
not unmade by a few seconds of them, while a piece of shadow that counted for a moment is outvoted as
soon as it was, and a region left standing where a thing was (its trace, a patch of light it was lost
in) is judged on what it looks like now."""
EDGE = 2
"""Analysis pixels from the picture's border within which a region touches it."""
LEAVING_SHARE = 0.5
"""Share of a track's speed that must point out of the picture, at its border, for it to have left (within
60 degrees of straight out)."""
SAME_PICTURE_SPAN = 1.0
"""Seconds back a track's last observation on the same picture (coarse mask or fine pass) may be for its
velocity to be measured from it; older, the velocity is kept as it was."""
VELOCITY_BASELINE = 0.5
"""Seconds over which a track's velocity is measured (from its oldest observation on the same picture
within them)."""
MIN_GATE_SCALE = 3.0
"""Analysis pixels: the least distance unit of association. A region's centre wanders by a pixel or two
from frame to frame however small the thing (the blur, the opening, the fine pass's finer picture), so
a thing of a few pixels measured in its own size would seem to jump by a size a frame."""
AREA_RATIO = 4.0
"""A region more than this many times larger or smaller than a track's usual area is not that track."""
MERGED_AREA = 1.5
"""A region this many times a thing's usual area or more is the thing joined with something else. Its
centre is then pulled toward the other (a snow clump falling past a walker drags it down the picture),
so it says nothing of the thing's motion: the velocity is not measured from it, and where the thing
will be is predicted from its last observation of its own size. When the two part, the track goes on
with the region where the thing was heading, not with whichever lies nearer the joined centre."""
MERGE_MEMORY = 1.0
"""Seconds after its last observation of its own size that a joined thing is still predicted from it.
Later, the thing is most likely the larger part of what it joined (a walker through the pieces of a
dappled shadow), and the joined centre is the better guess."""
LONG_WINDOWS = 3
"""A long-lived track's travel is also measured over this many evidence windows, from positions kept
once a second: a person strolling at a fifth of their size a second (far off, or walking toward the
camera) covers less than one size in a window but several in three, while swaying and flickering
things stay where they were however long they are watched."""
YOUNG_AGES = 2
"""A track younger than this many minimum ages has its travel counted at 1/YOUNG_AGES."""
MILESTONE_EVERY = 1.0
"""Seconds between the positions kept for the long measurement."""
CLUTTER_CELL = 16
"""Analysis pixels per side of a cell of the clutter map."""
CLUTTER_MEMORY = 10.0
"""Seconds over which the clutter map remembers (its counts decay with this time constant)."""
QUIET_TRACKS = 2
"""Other tracks that are not things (those that came and went over the drift memory, and those alive
now) up to which the scene is quiet: there a track needs only ``faint_core``. At dusk or at night a
distant person's clothes partly match the ground, and only a fifth to two fifths of a silhouette of
``min_size`` changes by half its peak, as little as a snowflake's; but flakes come by the dozen:
snow shows 5 to 60 other tracks alive and scores that came and went, a distant walker alone 0 alive
and up to 2 gone (the noise of a night picture makes no track that lives)."""
BUSY_BIRTHS = 3.0
"""Tracks that came and went without becoming things, born lately around a new track's birthplace (its
cell and the eight around it), from which the place is busy: the pieces of a dappled shadow, of
foliage or of water appear, change shape and vanish there all the time, and a piece that drifts for
a second or two looks like a small thing walking. Things (a car in its lane, people at a door) do
not make their place busy."""
CLUTTER_LEARNING = 2.0
"""Seconds after the clutter map starts (the first tracks, or a new scene) during which a new track's
birthplace is asked again until the track counts: at the start no piece has yet had time to come and
go (the pieces of a dappled shadow or of snow last a second or two), so a place not yet seen busy is
not yet known to be quiet. Later births are judged on the map as it is when they are born, so a
person born beside a few fragments that then end is not held back a window. What a track took over
from (a thing's first sliver at the border, followed on as it grows) does not make its own place busy."""


@dataclass(frozen=True, slots=True)
class Observation:
    """A track's region on one frame; ``light`` and ``core`` are None where they were not measured."""

    index: int
    time: float
    x: float
    y: float
    box: tuple[int, int, int, int]
    area: int
    light: bool | None = None
    core: float | None = None
    fine: bool = False
    """Found by the fine pass: its centre is measured on another picture than the coarse mask's."""
    merged: bool = False
    """Its region was much larger than the track's usual one: the thing joined with something else (a
    flake passing over a walker, a second person), so the region's centre is not the thing's."""


@dataclass(frozen=True, slots=True)
class TrackingRules:
    """What the tracker needs to know, in seconds, object sizes and source pixels (see ObjectParams)."""

    window: float
    min_age: float
    min_straightness: float
    min_core: float
    max_step: float
    max_missed: float
    coast: float
    gate: float
    max_light: float
    faint_core: float = 0.0
    """The smallest core (source pixels²) of a track that may become a thing where the scene is quiet
    (``QUIET_TRACKS``); at most ``min_core`` (0: ``min_core`` everywhere)."""
    sparse_evidence: float = 2.0
    """Evidence of a solid thing seen on two frames too far apart to track (above the threshold: it
    counts, as nothing better can be known of it)."""
    travelling: float = 1.0
    """Travel (object sizes, over a window or three: ``Track.travel``) of a thing still on its way (the
    evidence threshold): while it shows this much, and its path over the last window is as long
    (``Track.moved``), it is judged light on all its looks, not only its last window's. Over three
    windows, so a person who turns back is still on their way; the path, so a track left on a patch
    where a thing stopped (its trace, held out of the model) is judged on what it looks like now."""


Describe = Callable[["Track", Region], tuple[bool | None, float | None]]
"""Measures (light, core) for a region that continues a track; called only for tracks worth it."""


class Track:
    """One region followed from frame to frame."""

    def __init__(self, track_id: int, first: Observation) -> None:
        self.id = track_id
        self.history: deque[Observation] = deque([first])
        self._own = first
        """Its last observation not joined with something else (see ``MERGED_AREA``)."""
        self.born = first.time
        self.born_index = first.index
        self.velocity = (0.0, 0.0)
        """Analysis pixels per second, smoothed."""
        self.last_seen = first.time
        self.missed = 0
        self.region: Region | None = None
        """This frame's region of the track, or None when it was not seen."""
        self.described = -1e9
        """When its appearance was last measured."""
        self.confirmed_at: float | None = None
        """When its evidence first reached the threshold (set by the object stage)."""
        self.evidence = 0.0
        self.travel = 0.0
        self.straightness = 0.0
        self.moved = 0.0
        """Length of its path over the evidence window, in sizes: whether it still moves at all (a person
        turning back moves as much as one walking on; a patch left where a thing stopped does not)."""
        self.light_share = 0.0
        self.core = 0.0
        self.step = 0.0
        self._votes = 0
        self._light_votes = 0
        self._life_votes = 0
        self._life_light_votes = 0
        """Looks (and light-like ones) since it was born: what a thing is judged light on."""
        self._areas: deque[int] = deque([first.area], maxlen=32)
        self._usual_area = float(first.area)
        self._milestones: deque[tuple[float, float, float]] = deque([(first.time, first.x, first.y)])
        """(time, x, y) once a second over LONG_WINDOWS windows: the long path."""
        self.birthplace = (first.x, first.y)
        self.birth_box = first.box
        self.busy_birth = False
        """Born where tracks keep coming and going (as the clutter map knew it at the track's birth, or
        later while the map was still learning: ``CLUTTER_LEARNING``): it counts only once it has lived
        a whole window."""
        self.took_over: list[tuple[float, tuple[float, float]]] = []
        """(when it ended, where it was born) of each track this one took over from (see
        ``Tracker._heir``), and of those that one took over from: the same thing, not clutter around it."""

    @property
    def last(self) -> Observation:
        return self.history[-1]

    @property
    def usual_area(self) -> float:
        """Median region area over the last frames (kept up to date by :meth:`add`)."""
        return self._usual_area

    @property
    def size(self) -> float:
        """√area (analysis pixels): the unit travel is measured in."""
        return math.sqrt(self.usual_area)

    def age(self, time: float) -> float:
        return time - self.born

    def mean_velocity(self) -> tuple[float, float]:
        """Analysis pixels per second from its oldest kept observation to its last: where it went over the
        window, whatever it did from frame to frame."""
        first, last = self.history[0], self.history[-1]
        dt = last.time - first.time
        return ((last.x - first.x) / dt, (last.y - first.y) / dt) if dt > 0 else (0.0, 0.0)

    def predict(self, time: float) -> tuple[float, float]:
        if self.last.merged and time - self._own.time <= MERGE_MEMORY + 1e-9:
            # joined with something lately: from where it last was itself, as it went over the window
            own, first = self._own, self.history[0]
            span = own.time - first.time
            vx, vy = ((own.x - first.x) / span, (own.y - first.y) / span) if span > 0 else self.velocity
            return own.x + vx * (time - own.time), own.y + vy * (time - own.time)
        dt = time - self.last.time
        return self.last.x + self.velocity[0] * dt, self.last.y + self.velocity[1] * dt

    def joins(self, area: int, fine: bool) -> bool:
        """Whether a region of ``area`` continuing this thing is it joined with something: much
        larger than its usual area. Asked of confirmed things only: they are what an event follows, while
        clutter (snow, the pieces of a dappled shadow) joins and parts all the time and is left to end and
        start afresh. Judged on the coarse mask only, where areas are measured alike."""
        own = self._own
        return (self.confirmed_at is not None and not fine and not own.fine
                and area >= MERGED_AREA * self._usual_area)

    def add(self, obs: Observation, window: float, *, sized: bool = True) -> None:
        """Append an observation; ``sized``: its region's area is the thing's (not when it is hidden in a
        region it shares, see ``Tracker._hiding``)."""
        # a step between the coarse mask and the fine pass is the two pictures' different centres of the
        # same thing (a pixel or two, more than a small, slow thing moves in a frame), not its motion:
        # the velocity is measured on one picture, over VELOCITY_BASELINE where the track has it (a
        # centre wanders by a pixel from frame to frame, as much as a slow, distant person moves)
        # likewise, an observation joined with something else measures nothing of the thing's motion
        base: Observation | None = None
        for earlier in reversed(self.history):
            age = obs.time - earlier.time
            if age > SAME_PICTURE_SPAN + 1e-9 or (base is not None and age > VELOCITY_BASELINE + 1e-9):
                break
            if earlier.fine == obs.fine and not earlier.merged:
                base = earlier
        dt = obs.time - base.time if base is not None and not obs.merged else 0.0
        if dt > 0 and base is not None:
            vx, vy = (obs.x - base.x) / dt, (obs.y - base.y) / dt
            k = 0.5 if len(self.history) > 1 else 1.0
            self.velocity = (self.velocity[0] + k * (vx - self.velocity[0]),
                             self.velocity[1] + k * (vy - self.velocity[1]))
        self.history.append(obs)
        if obs.light is not None:
            self._life_votes += 1
            self._life_light_votes += obs.light
        if not obs.merged:
            self._own = obs
        if sized:
            self._areas.append(obs.area)
            self._usual_area = float(statistics.median(self._areas))  # numpy's costs 20x more on 32 values
        while self.history[0].time < obs.time - window - 1e-9:
            self.history.popleft()
        milestones = self._milestones
        if obs.time - milestones[-1][0] >= MILESTONE_EVERY - 1e-9:
            milestones.append((obs.time, obs.x, obs.y))
            while milestones[0][0] < obs.time - LONG_WINDOWS * window - 1e-9:
                milestones.popleft()
        self.missed = 0
        self.last_seen = obs.time

    def is_light(self, rules: TrackingRules) -> bool:
        """Whether most of its looks (a thing's over its life while it travels and moves, see
        ``LIGHT_MAJORITY``) were like light: then it is light, whatever it showed."""
        if self.confirmed_at is not None and min(self.travel, self.moved) >= rules.travelling:
            return self._life_light_votes > LIGHT_MAJORITY * self._life_votes and self._votes >= 3
        return self.light_share > LIGHT_MAJORITY and self._votes >= 3

    def looks_solid(self, rules: TrackingRules, looks: int = 3) -> bool:
        """Whether few enough of its ``looks`` or more observations looked like light for it to become a
        thing (stricter than :meth:`is_light`, so a thing is not unmade by the odd light-like look)."""
        # the share a few more looks could still show (one more light-like look in two): with few looks
        # a thing is not taken on trust
        return (self._light_votes + 1) / (self._votes + 2) <= rules.max_light and self._votes >= looks

    @staticmethod
    def _least_core(rules: TrackingRules, quiet: bool) -> float:
        """The core a track travelling straight needs to become a thing."""
        return min(rules.faint_core, rules.min_core) if quiet and rules.faint_core > 0 else rules.min_core

    def _long_travel(self, last: Observation, size: float, rules: TrackingRules) -> float:
        """Net travel in sizes since the oldest kept milestone, if the path there was straight enough
        (0 otherwise, or while the track is younger than two windows)."""
        milestones = self._milestones
        start = milestones[0]
        if last.time - start[0] < 2 * rules.window - 1e-9:
            return 0.0
        net = math.hypot(last.x - start[1], last.y - start[2])
        kept = list(milestones)
        path = sum(math.hypot(b[1] - a[1], b[2] - a[2]) for a, b in zip(kept[:-1], kept[1:], strict=True))
        path += math.hypot(last.x - milestones[-1][1], last.y - milestones[-1][2])
        if path <= 1e-6 or net / path < rules.min_straightness:
            return 0.0
        return net / size

    def judge(self, rules: TrackingRules, *, quiet: bool = False) -> None:
        """Update travel, straightness, light share, core size, step and the evidence from the history;
        ``quiet``: nothing else comes and goes in view, so a fainter core will do (``faint_core``)."""
        history = self.history
        first, last = history[0], history[-1]
        size = max(self.size, 1.0)
        net = math.hypot(last.x - first.x, last.y - first.y)
        path, anchor = 0.0, first
        for obs in history:
            if obs.time - anchor.time >= PATH_SAMPLE - 1e-9:
                path += math.hypot(obs.x - anchor.x, obs.y - anchor.y)
                anchor = obs
        path += math.hypot(last.x - anchor.x, last.y - anchor.y)
        self.travel = net / size
        self.moved = path / size
        self.straightness = net / path if path > 1e-6 else 1.0
        long_travel = self._long_travel(last, size, rules)
        if long_travel > self.travel:
            self.travel = long_travel
        votes = [o.light for o in history if o.light is not None]
        self._votes = len(votes)
        self._light_votes = sum(votes)
        self.light_share = sum(votes) / len(votes) if votes else 0.0
        cores = sorted(o.core for o in history if o.core is not None)
        self.core = cores[len(cores) // 2] if cores else 0.0
        self.step = net / max(last.index - first.index, 1) / size
        if self.is_light(rules):
            self.evidence = 0.0  # light after all: whatever it showed before does not count
        elif len(history) > 1 and last.index - history[-2].index == 1 and \
                last.time - history[-2].time > rules.min_age / 3:
            # frames too far apart to follow a path (a folder of snapshots, a camera at 1 fps): a solid
            # thing of the smallest size, seen on two frames, is all such footage can tell
            if self.looks_solid(rules, looks=2) and self.core >= rules.min_core:
                self.evidence = max(self.evidence, rules.sparse_evidence, self.travel)
        elif (self.age(last.time) >= (rules.window if self.busy_birth else rules.min_age) - 1e-9
              and self.straightness >= rules.min_straightness
              and self.looks_solid(rules) and self.core >= self._least_core(rules, quiet)
              and self.step <= rules.max_step):
            # until it has lived twice the minimum age a track must travel twice as far: a car or a
            # runner crossing in a second covers several sizes, a fragment of a swaying shadow one or two
            young = self.age(last.time) < YOUNG_AGES * rules.min_age - 1e-9
            self.evidence = max(self.evidence, self.travel / YOUNG_AGES if young else self.travel)


def touches_border(box: tuple[int, int, int, int], shape: tuple[int, int]) -> bool:
    """Whether a region's box lies within ``EDGE`` analysis pixels of the picture's border."""
    x, y, w, h = box
    return x <= EDGE or y <= EDGE or x + w >= shape[1] - EDGE or y + h >= shape[0] - EDGE


class Tracker:
    """Associates each frame's regions with the tracks alive so far."""

    def __init__(self, rules: TrackingRules) -> None:
        self.rules = rules
        self.tracks: list[Track] = []
        self._next_id = 1
        self._clutter: np.ndarray | None = None
        """Tracks that came and went without becoming things, per cell of their birthplace (fading)."""
        self._clutter_time = self._clutter_since = 0.0
        self.drift = ClutterDrift()
        """How the tracks that came and went moved: a crowd of them drifting one way is snow or rain."""

    def reset(self) -> None:
        self.tracks = []
        self._clutter = None
        self.drift.reset()

    def _cell(self, centre: tuple[float, float]) -> tuple[int, int]:
        """The clutter map's (row, column) of an analysis-pixel position."""
        assert self._clutter is not None
        rows, cols = self._clutter.shape
        return (min(max(int(centre[1]), 0) // CLUTTER_CELL, rows - 1),
                min(max(int(centre[0]), 0) // CLUTTER_CELL, cols - 1))

    def _clutter_map(self, time: float, shape: tuple[int, int]) -> np.ndarray:
        """The clutter map faded to ``time`` (made on first use, or for a new picture size)."""
        rows, cols = -(-shape[0] // CLUTTER_CELL), -(-shape[1] // CLUTTER_CELL)
        if self._clutter is None or self._clutter.shape != (rows, cols):
            self._clutter = np.zeros((rows, cols), np.float64)
            self._clutter_time = self._clutter_since = time
        if time > self._clutter_time:
            self._clutter *= math.exp(-(time - self._clutter_time) / CLUTTER_MEMORY)
            self._clutter_time = time
        return self._clutter

    def _count_clutter(self, time: float, birthplace: tuple[float, float], shape: tuple[int, int]) -> None:
        """Count a track that ended without becoming a thing, where it was born."""
        self._clutter_map(time, shape)[self._cell(birthplace)] += 1.0

    def _clutter_around(self, time: float, centre: tuple[float, float], shape: tuple[int, int],
                        leaving_out: Sequence[tuple[float, tuple[float, float]]] = ()) -> float:
        """Tracks born in the 3x3 cells around ``centre`` that came and went lately (fading), but for
        those in ``leaving_out`` ((when they ended, where they were born))."""
        counts = self._clutter_map(time, shape)
        row, col = self._cell(centre)
        around = float(counts[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].sum())
        for ended, birthplace in leaving_out:
            cell = self._cell(birthplace)
            if abs(cell[0] - row) <= 1 and abs(cell[1] - col) <= 1:
                around -= math.exp(-(time - ended) / CLUTTER_MEMORY)
        around = max(around, 0.0)
        # a map kept for less than its memory has seen only part of it: scaled up to a whole memory's
        # worth, so the first pieces of a shadow in view from the start are as suspect as later ones
        return around / max(1.0 - math.exp(-(time - self._clutter_since) / CLUTTER_MEMORY), 1e-3)

    def _ask_birthplace_again(self, track: Track, time: float, shape: tuple[int, int]) -> None:
        """Mark busy a track born while the clutter map was still learning (``CLUTTER_LEARNING``) once its
        birthplace turns out busy, until it counts; what it showed before is then judged again."""
        if (track.confirmed_at is None and not track.busy_birth
                and track.born - self._clutter_since < CLUTTER_LEARNING
                and self._clutter_around(time, track.birthplace, shape, track.took_over) >= BUSY_BIRTHS):
            track.busy_birth = True
            track.evidence = 0.0

    def _heir(self, ended: Track, alive: Sequence[Track]) -> Track | None:
        """The track that took over from ``ended`` (a track that came and went): one born after it, and no
        later than the frame after it was last seen, overlapping where it was last seen (a thing's first
        sliver at the border whose region grew past what one track may grow in a frame). Only a track
        born while the clutter map learns has its birthplace asked again, so only such a one is looked
        for (and none once the map has learnt: nothing is searched on later frames)."""
        learnt = self._clutter_since + CLUTTER_LEARNING
        if ended.born >= learnt:
            return None
        x, y, w, h = ended.last.box
        for track in alive:
            bx, by, bw, bh = track.birth_box
            if (ended.born < track.born < learnt and track.born_index <= ended.last.index + 1
                    and bx < x + w and x < bx + bw and by < y + h and y < by + bh):
                return track
        return None

    def _pieces_in_view(self, time: float) -> Callable[[], list[Piece]]:
        """The tracks in view that are not things, as pieces of clutter (made when asked)."""
        def in_view() -> list[Piece]:
            return [(*t.mean_velocity(), t.core) for t in self.tracks
                    if t.confirmed_at is None and t.missed == 0 and t.age(time) >= MIN_PIECE_LIFE - 1e-9]
        return in_view

    def drifts_with_clutter(self, track: Track, time: float) -> bool | None:
        """Whether ``track`` moves as a crowd of tracks that are not things does, and is no more solid
        than they are (snow, rain: see :mod:`vidwatch.objects.drift`); None where there is no such crowd."""
        return self.drift.carries(time, track.mean_velocity(), track.core, self._pieces_in_view(time))

    def clutter_drifts(self, time: float) -> bool:
        """Whether the tracks that came and went, with those in view, are a crowd drifting one way."""
        return self.drift.crowd(time, self._pieces_in_view(time))

    def _may_coast(self, track: Track, time: float, shape: tuple[int, int]) -> bool:
        """Whether an unseen track is kept: briefly, longer for a confirmed thing, and not at all once it
        has left the picture (last seen at the border, heading out: nothing is hiding it)."""
        limit = self.rules.coast if track.confirmed_at is not None else self.rules.max_missed
        if time - track.last_seen > limit + 1e-9 and track.missed > 2:
            return False
        height, width = shape
        x, y, w, h = track.last.box
        vx, vy = track.velocity
        # heading out means mostly across the border: a thing walking along it (a distant person at the
        # picture's foot) drifts toward it and away by a pixel now and then
        out = LEAVING_SHARE * math.hypot(vx, vy)
        leaving = ((x <= EDGE and -vx > out) or (x + w >= width - EDGE and vx > out)
                   or (y <= EDGE and -vy > out) or (y + h >= height - EDGE and vy > out))
        return not leaving

    @staticmethod
    def _hiding(where: tuple[float, float], usual: float, regions: Sequence[Region]) -> Region | None:
        """The region a confirmed thing left without a region of its own is hidden in, or None: one that
        covers where it should be and is large enough to hold it and something else (a snow clump
        falling over a walker, a second person). The one-to-one assignment gives such a joined region to
        one track only; the other is in it all the same, and is followed there where its own path leads
        rather than lost. ``where``: where the thing should be; ``usual``: its usual area. The largest, if
        several."""
        px, py = where
        best: Region | None = None
        for region in regions:
            x, y, w, h = region.box
            if (x <= px < x + w and y <= py < y + h and MERGED_AREA * usual <= region.area <= AREA_RATIO * usual
                    and (best is None or region.area > best.area)):
                best = region
        return best

    def _costs(self, time: float, regions: Sequence[Region]) -> np.ndarray:
        """Normalised distance from each track's prediction to each region (UNMATCHED where gated out)."""
        tracks = self.tracks
        predicted = np.array([t.predict(time) for t in tracks], np.float64).reshape(-1, 2)
        usual = np.maximum(np.array([t.usual_area for t in tracks], np.float64), 1.0)[:, None]
        # a track unseen for a while may have drifted off its prediction: search wider
        reach = self.rules.gate * (1.0 + time - np.array([t.last_seen for t in tracks]))[:, None]
        centres = np.array([r.centre for r in regions], np.float64).reshape(-1, 2)
        areas = np.array([r.area for r in regions], np.float64)[None, :]
        ratio = areas / usual
        scale = np.maximum(np.sqrt(np.maximum(usual, areas)), MIN_GATE_SCALE)
        distance = np.hypot(centres[None, :, 0] - predicted[:, None, 0],
                            centres[None, :, 1] - predicted[:, None, 1]) / scale
        cost = distance + 0.1 * np.abs(np.log(ratio))
        allowed = (distance <= reach) & (ratio >= 1.0 / AREA_RATIO) & (ratio <= AREA_RATIO)
        return np.where(allowed, cost, UNMATCHED)

    @staticmethod
    def _assign(cost: np.ndarray) -> list[tuple[int, int]]:
        """The cheapest one-to-one pairs among the allowed ones.

        Where a track has one allowed region that no other track may take (the usual case) the pair
        is certain; only the rest, where tracks compete, goes to the optimal assignment.
        """
        allowed = cost < UNMATCHED
        per_row, per_col = allowed.sum(axis=1), allowed.sum(axis=0)
        pairs = [(int(i), int(j)) for i, j in zip(*np.nonzero(allowed), strict=True)
                 if per_row[i] == 1 and per_col[j] == 1]
        rows = np.array(sorted(set(np.flatnonzero(per_row).tolist()) - {i for i, _ in pairs}), int)
        cols = np.array(sorted(set(np.flatnonzero(per_col).tolist()) - {j for _, j in pairs}), int)
        if rows.size and cols.size:
            sub = cost[np.ix_(rows, cols)]
            for a, b in min_cost_assignment(sub):
                if sub[a, b] < UNMATCHED:
                    pairs.append((int(rows[a]), int(cols[b])))
        return pairs

    def update(self, index: int, time: float, regions: Sequence[Region], describe: Describe,
               shape: tuple[int, int]) -> list[Track]:
        """Continue tracks with ``regions``, start new ones, end lost ones; returns the tracks seen now.

        ``describe`` is asked for (light, core) of each region that continues a track old enough to
        matter (half the minimum age), so costly measurements are made only where they can count.
        """
        rules = self.rules
        seen: list[Track] = []
        claimed: set[int] = set()
        if self.tracks and regions:
            # how busy the scene is, as the last frame left it (each track then leaves itself out)
            busy = self.drift.remembered(time) + sum(t.confirmed_at is None for t in self.tracks)
            for i, j in self._assign(self._costs(time, regions)):
                track, region = self.tracks[i], regions[j]
                others = busy - (track.confirmed_at is None)
                light, core = None, None
                if track.age(time) >= 0.5 * rules.min_age and time - track.described >= DESCRIBE_EVERY - 1e-9:
                    light, core = describe(track, region)
                    track.described = time
                fine = region.label < 0
                # at the picture's border a thing grows as it comes into view: not joined with anything
                joined = track.joins(region.area, fine) and not touches_border(region.box, shape)
                track.add(Observation(index, time, *region.centre, region.box, region.area, light, core, fine,
                                      joined),
                          rules.window)
                if track.age(time) >= 0.5 * rules.min_age:  # younger tracks cannot count yet
                    self._ask_birthplace_again(track, time, shape)
                    track.judge(rules, quiet=others <= QUIET_TRACKS)
                track.region = region
                claimed.add(int(j))
                seen.append(track)
        for track in self.tracks:
            if track.last_seen < time:
                where = track.predict(time) if track.confirmed_at is not None and regions else None
                hiding = self._hiding(where, track.usual_area, regions) if where is not None else None
                if where is not None and hiding is not None:
                    track.add(Observation(index, time, *where, hiding.box, hiding.area,
                                          fine=hiding.label < 0, merged=True), rules.window, sized=False)
                    track.region = hiding
                    seen.append(track)
                    continue
                track.missed += 1
                track.region = None
        kept = [t for t in self.tracks if t.missed == 0 or self._may_coast(t, time, shape)]
        staying = {id(t) for t in kept}
        for track in self.tracks:
            if id(track) in staying:
                continue
            if track.confirmed_at is None:
                # it came and went without becoming a thing: where it was born is a little busier
                self._count_clutter(time, track.birthplace, shape)
                heir = self._heir(track, kept)
                if heir is not None:
                    heir.took_over += [(time, track.birthplace), *track.took_over]
                self.drift.remember(time, (*track.mean_velocity(), track.core),
                                    (track.history[0].time, track.last.time))
        self.tracks = kept
        for j, region in enumerate(regions):
            if j in claimed:
                continue
            track = Track(self._next_id, Observation(index, time, *region.centre, region.box, region.area,
                                                     fine=region.label < 0))
            track.busy_birth = self._clutter_around(time, region.centre, shape) >= BUSY_BIRTHS
            track.region = region
            self._next_id += 1
            self.tracks.append(track)
            seen.append(track)
        return seen
