"""The object stage: foreground regions of the mask detectors, tracked over time, scored as evidence.

It sits between the detectors and the gate. Detectors say *where* the picture differs from what they
learnt; this stage asks what those differences are: a thing that travels (a person, however small and
slow), something that stays in place and moves back and forth (foliage, water), something too small
for ``min_size`` (rain, snow, noise), one of a crowd of clumps drifting the same way (heavy snow),
something near the lens (huge, fast, blurred), or light falling on a surface (a shadow, a headlight).
Its verdict is one score, ``objects`` — the largest travel, in object sizes, shown by a track that
looks like a thing — which the gate thresholds like any other score, plus the tracks themselves for
events and outputs.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidwatch import record
from vidwatch.blobs import disc
from vidwatch.detectors.base import LearningHints, Score
from vidwatch.frames import AnalysisFrame
from vidwatch.objects.carve import carve, with_parts
from vidwatch.objects.fine import NARROWEST, FineModel, FinePass, FineRegions, fine_factor
from vidwatch.objects.focus import SOLID, look_against_model, solid_in_focus
from vidwatch.objects.params import ObjectParams
from vidwatch.objects.regions import RING, Appearance, Region, Regions, appearance, find_regions
from vidwatch.objects.tracker import MERGED_AREA, Track, Tracker, TrackingRules, touches_border

log = logging.getLogger(__name__)

_GROW = np.ones((3, 3), np.uint8)
SMALL_REGION = 2 * NARROWEST
"""Analysis pixels across under which a region of the coarse mask is judged on the fine pictures (when
the fine pass runs): too few to tell its texture or its edges from the blur."""
FINE_VOTES = 5
"""Looks on the fine pictures a coarse track needs before it becomes a thing (its last ten count)."""
LOOKS_KEPT = 2 * FINE_VOTES
"""A track's last looks that count when it is judged by its looks (on the fine pictures, at the source's
resolution)."""
FOLLOW_TRAVEL = 0.25
"""Travel (share of ``objects.threshold``) a track found by the fine pass must show, once older than
``min_age``, to be looked at again on the next frame."""
DRIFT_VOTES = 10
"""Frames over which a track's answers to "does it move as the clutter drifts?" are counted."""
DRIFT_LOOKS = 3
"""Answers a track needs, where clutter drifts one way, before it may become a thing."""
AWAIT_WINDOWS = 2.0
"""Evidence windows for which a track that may still become a thing is awaited (see ``Score.awaited``):
born in a busy place it counts only after one, and must then have travelled."""
SILHOUETTE_FILL = 0.4
"""Share of its bounding box a silhouette's measured core fills at least (people measure ~0.6)."""
FAINT_FILL = 0.15
"""The same where the scene is quiet (see ``tracker.QUIET_TRACKS``): a distant person at dusk or at
night measures 0.2-0.4, where only part of their clothes stands out from the ground."""


@dataclass(frozen=True, slots=True)
class ObjectsResult:
    """What the stage made of one frame."""

    score: Score
    """The ``objects`` score: the largest travel (object sizes) of a thing-like track, with its box."""
    tracks: tuple[record.Track, ...]
    """The tracks worth showing (old enough to be judged, or confirmed), in source pixels."""
    hints: LearningHints
    """For the background model: what to hold, what to learn as background."""


class ObjectStage:
    """Regions -> tracks -> one evidence score per frame."""

    metric_names: ClassVar[tuple[str, ...]] = ("tracks", "things", "regions")
    """What its score reports: tracks seen on the frame, confirmed things among them, regions found."""

    def __init__(self, params: ObjectParams, mask_from: tuple[str, ...], *, model: object = None) -> None:
        """``model``: the settings of the background model whose masks are tracked, which the fine pass
        (see :mod:`vidwatch.objects.fine`) learns and compares like it."""
        self.params = params
        self.mask_from = mask_from
        self._scale_checked = 0.0
        self._fine_model = FineModel.like(model)
        self.fine: FinePass | None = None
        self._thing_in_view = False
        """Whether the last frame showed a confirmed thing (the fine pass then looks for no new ones)."""
        self._fine_tracks: set[int] = set()
        """Tracks the fine pass has found: it follows them while they live."""
        self._paths: dict[int, deque[tuple[int, tuple[float, float]]]] = {}
        """Per track: (frame index, source-pixel point) of its history, as outputs see its path."""
        self._light = (1.0, 0.0)
        """The background model's fit of this frame's light (gain, offset), for the fine pass."""
        self._fine_votes: dict[int, deque[bool]] = {}
        """Per track about to become a thing: whether each look on the fine pictures said light."""
        self._drift_votes: dict[int, deque[bool]] = {}
        """Per track about to become a thing: whether it moved as the clutter drifts, its last times asked."""
        self._speck_votes: dict[int, deque[bool]] = {}
        """Per track about to become a thing: whether its last looks at the source's resolution (without the
        fine pass) saw specks."""
        width, height = params.min_size
        self.tracker = Tracker(TrackingRules(
            window=params.window, min_age=params.min_age, min_straightness=params.min_straightness,
            min_core=SILHOUETTE_FILL * width * height, faint_core=FAINT_FILL * width * height,
            max_step=params.max_step, max_missed=params.max_missed,
            coast=params.coast, gate=params.gate, max_light=params.max_light,
            sparse_evidence=2.0 * params.threshold, travelling=params.threshold))

    def reset(self) -> None:
        self.tracker.reset()
        for kept in self._per_track():
            kept.clear()
        self._thing_in_view = False
        self._fine_tracks.clear()
        if self.fine is not None:
            self.fine.reset()

    def relit(self) -> None:
        """The background model followed a change of light: the fine model, which cannot, starts afresh."""
        if self.fine is not None:
            self.fine.reset()

    def _check_scale(self, frame: AnalysisFrame) -> None:
        """On a picture too large for ``min_size`` at the analysis width (a distant person a couple of
        analysis pixels wide, whom the masks' opening removes), start the fine pass; without it, say
        once which ``analysis.width`` would find such things (at the cost of analysis time)."""
        if self._scale_checked == frame.scale:
            return
        self._scale_checked = frame.scale
        narrow = min(self.params.min_size)
        factor = fine_factor(self.params.min_size, frame.scale)
        if self.params.fine and factor:
            if self.fine is None or self.fine.factor != factor:
                self.fine = FinePass(factor, self._fine_model, self.params.min_size)
            log.info("objects.min_size %s px is %.1f analysis px wide at this source's scale: looking again at "
                     "1/%d of the source's size where the analysis copy sees a faint change",
                     list(self.params.min_size), narrow / frame.scale, factor)
            return
        self.fine = None
        if narrow / frame.scale >= NARROWEST:
            return
        source_width = frame.grey.shape[1] * frame.scale
        needed = 32 * math.ceil(source_width * NARROWEST / narrow / 32)
        found = math.ceil(NARROWEST * frame.scale)
        log.warning("objects.min_size %s px is %.1f analysis px wide at this source's scale (%.0f px wide, "
                    "analysed at %d): things narrower than about %d px are lost; set analysis.width: %d or "
                    "objects.fine: true to find them", list(self.params.min_size), narrow / frame.scale,
                    source_width, frame.grey.shape[1], found, needed)

    def min_area(self, frame: AnalysisFrame) -> float:
        """The smallest region tracked, analysis pixels: a quarter of ``min_size``'s box, since the analysis
        copy blurs a small thing's edges away (the full-resolution core decides later)."""
        width, height = self.params.min_size
        return max(0.25 * width * height / (frame.scale * frame.scale), 4.0)

    def _mask(self, scores: Mapping[str, Score]) -> np.ndarray | None:
        """The background models' foreground masks, fused (None: no mask this frame)."""
        return _fused([scores[n].mask for n in self.mask_from if n in scores and scores[n].mask is not None])

    def _regions(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> tuple[Regions, np.ndarray | None]:
        """The foreground regions of the background models' masks, and what the frame was compared with."""
        masked = [scores[n] for n in self.mask_from if n in scores and scores[n].mask is not None]
        mask = _fused([score.mask for score in masked if score.mask is not None])
        reference = next((scores[n].reference for n in self.mask_from
                          if n in scores and scores[n].reference is not None), None)
        if mask is None:
            return Regions([], None, (0, 0)), reference
        labelled = masked[0].components if len(masked) == 1 else None  # a fused mask is labelled afresh
        found = find_regions(mask, min_area=self.min_area(frame), max_regions=self.params.max_regions,
                             components=labelled)
        return self._carve_joined(found, frame, reference), reference

    def _carve_joined(self, found: Regions, frame: AnalysisFrame, reference: np.ndarray | None) -> Regions:
        """``found`` with light carved out of each region that joined a track about to become a thing:
        one that looks solid, old enough to be judged and not yet a thing, whose predicted place the
        region covers and whose usual area it exceeds ``MERGED_AREA`` times (see
        :mod:`vidwatch.objects.carve`), away from the picture's border (where a thing grows as it comes
        into view). A thing already confirmed is followed through joins as it is.
        Where clutter drifts one way as a crowd (snow, rain) nothing is carved: there flakes join flakes,
        and a flake near the lens, blurred and half transparent, keeps the pattern behind it, so carving
        it would leave its rim, as solid as a thing."""
        if reference is None or not found.regions:
            return found
        rules = self.tracker.rules
        waiting = [(t.predict(frame.time), MERGED_AREA * t.usual_area) for t in self.tracker.tracks
                   if t.confirmed_at is None and t.missed <= 1 and t.age(frame.time) >= 0.5 * rules.min_age
                   and t.looks_solid(rules)]
        parts: dict[int, list[tuple[np.ndarray, tuple[int, int]]]] = {}
        crowd: bool | None = None
        for region in found.regions:
            x, y, w, h = region.box
            if touches_border(region.box, frame.grey.shape):
                continue  # at the border a thing grows as it comes into view: not joined with anything
            if any(x <= px < x + w and y <= py < y + h and region.area >= joined for (px, py), joined in waiting):
                if crowd is None:
                    crowd = self.tracker.clutter_drifts(frame.time)
                if crowd:
                    break
                carved = carve(found, region, frame.detail, reference, frame.noise, self.min_area(frame))
                if carved:
                    parts[region.label] = carved
        return with_parts(found, parts)

    def _look(self, found: Regions, region: Region, frame: AnalysisFrame,
              reference: np.ndarray | None) -> tuple[bool | None, float | None]:
        """(looks like light, core size in source pixels²) of one region; (None, None) when it cannot be told."""
        if reference is None:
            return None, None
        inside, origin = found.patch(region, RING + 1, frame.grey.shape)
        look = appearance(inside, origin, frame.detail, reference, frame.noise)
        return self._is_light(look), look.core * frame.scale * frame.scale

    def _is_light(self, look: Appearance) -> bool:
        """Light on a surface (its texture kept) or no solid thing (its change fades out at its border)."""
        return look.texture >= self.params.light_texture or look.sharpness < self.params.min_sharpness

    def judge_still(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> Score:
        """The ``objects`` score of a frame judged on its own against a still reference (a time-lapse
        candidate against the last kept picture), where no path can be followed: a solid region of the
        smallest size or more counts as a thing there."""
        found, reference = self._regions(frame, scores)
        for region in found.regions:
            light, core = self._look(found, region, frame, reference)
            if light is False and core is not None and core >= self.tracker.rules.min_core:
                return Score(self.tracker.rules.sparse_evidence, {"regions": float(len(found.regions))}, None,
                             region.box)
        return Score(0.0, {"regions": float(len(found.regions))})

    def _fine_regions(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> list[Region]:
        """Regions the fine pass found away from what the coarse pass accounts for, in analysis pixels,
        already judged."""
        if self.fine is None:
            return []
        used = [scores[n] for n in self.mask_from if n in scores]
        light = self._light = next(((s.metrics["gain"], s.metrics["offset"]) for s in used if "gain" in s.metrics),
                                   (1.0, 0.0))
        width, height = self.params.min_size
        # while a thing is in view, another small one could not change the verdict: no new places are
        # looked for (nor their faint changes made); only what the fine pass already follows is looked at
        explore = not self._thing_in_view
        faint = known = None
        if explore:
            faint = _fused([s.faint() for s in used if s.faint is not None])
            known = self._mask(scores)
        seen = self.fine.update(frame, faint, known, lambda: self._accounted(frame, scores), light,
                                0.25 * width * height, explore=explore)
        if seen is None:
            return []
        return [self._from_fine(seen, index) for index in range(len(seen.regions))]

    def _fine_says_light(self, track: Track, frame: AnalysisFrame) -> bool:
        """Whether the fine pictures show the coarse region of a track about to become a thing as light or
        as no solid thing. On a large picture analysed coarsely, edges are judged in pixels that each
        cover many of the source's: a flake drifting near the lens, blurred over a few source pixels,
        looks as sharp there as a person; a finer look tells them apart, and where it is blurred over
        more, or is a clump of small flakes, a look at the source's resolution does
        (:mod:`vidwatch.objects.focus`). A track the fine pass found is judged on the fine pictures
        already, and at the source's resolution too: a faint, slow flake of 1080p snow looks solid on
        the fine pictures, and a median filter half ``min_size`` wide removes most of it.
        Asked only at the moment a track would be confirmed (and again on later frames while it is
        refused)."""
        region = track.region
        if self.fine is None or region is None:
            return False
        votes = self._fine_votes.setdefault(track.id, deque(maxlen=LOOKS_KEPT))
        if region.look is not None:  # found on the fine pictures, and judged there
            lit = region.look[0] is True
        else:
            look = self.fine.judge(frame, region.box, self._light)
            lit = look is None or self._is_light(look)
        # nothing solid there at the finer scale; at the source's own resolution, a blurred disc or specks
        votes.append(lit or not solid_in_focus(self.fine.source_look(frame, region.box, self._light),
                                               self.params.min_size))
        return len(votes) < FINE_VOTES or self._too_often(votes)

    def _made_of_specks(self, track: Track, frame: AnalysisFrame, reference: np.ndarray | None) -> bool:
        """Where the fine pass does not run but the picture has more pixels than the analysis copy (768x576,
        640x480 analysed 320 wide), whether the region of a track about to become a thing is made of
        specks at the source's resolution: small snowflakes the mask joins into one region, whose centre
        hops as flakes come and go, keep under half their change through a median filter half
        ``min_size`` wide; a person, one patch, keeps nine tenths and more (see
        :mod:`vidwatch.objects.focus`). Only that is asked here, not the width of the edge: the model,
        enlarged from the analysis copy, is blurred at the source's scale. Asked only at the moment a
        track would be confirmed (and again on later frames while it is refused); as with light, a
        clump may look solid now and then, but not often: more than ``max_light`` of its last looks
        seeing specks refuses it."""
        region = track.region
        if self.fine is not None or reference is None or region is None or frame.scale <= 1.0:
            return False
        look = look_against_model(frame, region.box, reference)
        if look is None:
            return False
        votes = self._speck_votes.setdefault(track.id, deque(maxlen=LOOKS_KEPT))
        votes.append(look.kept < SOLID)
        return self._too_often(votes)

    def _too_often(self, votes: deque[bool]) -> bool:
        """Whether more than ``max_light`` of a track's last looks said no: as a track's own looks, a thing
        may look like light (or specks) now and then, but not often."""
        return sum(votes) > self.params.max_light * len(votes)

    def _drifts(self, track: Track, frame: AnalysisFrame) -> bool | None:
        """Whether a track about to become a thing is one of a crowd of clutter drifting one way (snow,
        rain; see :mod:`vidwatch.objects.drift`) on at least half of the last ``DRIFT_VOTES`` frames it
        was asked; None while it was asked fewer than ``DRIFT_LOOKS`` times (not a thing yet, not judged
        either): where a clump of flakes went over its window swings with each hop between flakes, so
        one frame's answer is not enough, and a person who entered among them is not held to what was
        seen then."""
        verdict = self.tracker.drifts_with_clutter(track, frame.time)
        if verdict is None:
            return False  # no crowd drifting one way: nothing to be taken for
        votes = self._drift_votes.setdefault(track.id, deque(maxlen=DRIFT_VOTES))
        votes.append(verdict)
        if len(votes) < DRIFT_LOOKS:
            return None
        return 2 * sum(votes) >= len(votes)

    def _follow(self, frame: AnalysisFrame) -> None:
        """Have the fine pass look again next frame where the small things it found should be: those that
        are confirmed, or look like things and are new or travelling (what flickers in place is not
        followed); a track missed for a frame is looked for where its path leads. Every track that looks
        like a thing is kept out of its model meanwhile."""
        if self.fine is None:
            return
        p = self.params
        boxes, held = [], []
        for track in self.tracker.tracks:
            if track.region is not None and track.region.look is not None:
                # found by the fine pass: followed by it from now on, even on frames the coarse mask has
                # it too (a thing at the edge of the coarse scale is in its mask one frame, out the next)
                self._fine_tracks.add(track.id)
            x, y, w, h = track.last.box
            late = frame.time - track.last_seen
            box = (round(x + track.velocity[0] * late), round(y + track.velocity[1] * late), w, h)
            if track.last.light is not True:
                held.append(box)
            if track.id not in self._fine_tracks:
                continue
            promising = track.last.light is not True and (
                track.age(frame.time) < p.min_age or track.travel >= FOLLOW_TRAVEL * p.threshold)
            if track.confirmed_at is not None or (promising and not self._thing_in_view):
                boxes.append(box)
        self._fine_tracks.intersection_update(t.id for t in self.tracker.tracks)
        self.fine.follow(boxes, held)

    def _accounted(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> np.ndarray | None:
        """Analysis pixels the fine pass need not look at: the coarse masks' regions and their surroundings
        (a faint change next to a large thing is part of it: its shadow, its edge), and tracks that have
        stayed in place for a whole window without travelling (a flapping tape, a swaying twig)."""
        mask = self._mask(scores)
        ignore = None
        if mask is not None and cv2.countNonZero(mask):
            reach = 2 * max(round(max(self.params.min_size) / frame.scale), 1) + 1
            ignore = cv2.dilate(mask, disc(reach))
        for track in self.tracker.tracks:
            if (track.confirmed_at is None and track.age(frame.time) >= self.params.window
                    and track.travel < 0.5 * self.params.threshold):
                ignore = np.zeros(frame.grey.shape, np.uint8) if ignore is None else ignore
                x, y, w, h = track.last.box
                ignore[max(y - 1, 0):y + h + 1, max(x - 1, 0):x + w + 1] = 255
        return ignore

    def _from_fine(self, seen: FineRegions, index: int) -> Region:
        """The ``index``-th fine region in analysis pixels, with its look."""
        fine = seen.regions[index]
        look = seen.looks[index]
        r = seen.ratio
        x, y, w, h = fine.box
        box = (int(x / r), int(y / r), max(round(w / r), 1), max(round(h / r), 1))
        centre = (fine.centre[0] / r, fine.centre[1] / r)
        return Region(box, max(round(fine.area / (r * r)), 1), centre, -1,
                      look=(self._is_light(look), look.core * seen.factor * seen.factor))

    def update(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> ObjectsResult:
        p = self.params
        self._check_scale(frame)
        found, reference = self._regions(frame, scores)
        regions = found.regions + self._fine_regions(frame, scores)

        def describe(track: Track, region: Region) -> tuple[bool | None, float | None]:
            if region.look is not None:
                return region.look
            if (self.fine is not None and min(region.box[2:]) <= SMALL_REGION
                    and (track.confirmed_at is not None or not self._thing_in_view)):
                # too few analysis pixels to tell texture or edges: judged on the fine pictures (while a
                # thing is in view, only for things: another could not change the verdict)
                look = self.fine.judge(frame, region.box, self._light)
                if look is not None:
                    return self._is_light(look), look.core * self.fine.factor * self.fine.factor
            return self._look(found, region, frame, reference)

        self.tracker.update(frame.index, frame.time, regions, describe, frame.grey.shape)
        live = [t for t in self.tracker.tracks if t.missed == 0]
        self._follow(frame)
        vetoed: set[int] = set()
        for track in live:
            if track.confirmed_at is None and track.evidence >= p.threshold:
                drifting = self._drifts(track, frame)
                if drifting:
                    # the travel it showed was the crowd's: it counts only on travel it shows otherwise
                    track.evidence = 0.0
                if drifting is not False or self._fine_says_light(track, frame) or self._made_of_specks(
                        track, frame, reference):
                    vetoed.add(track.id)
                else:
                    track.confirmed_at = frame.time

        def evidence(track: Track) -> float:
            return 0.0 if track.id in vetoed else track.evidence

        # a confirmed thing out of sight (coasting) keeps its evidence for when it is seen again, but
        # counts only while seen: the gate's post-roll and merge gap bridge a short disappearance
        best = max(live, key=evidence, default=None)
        value = evidence(best) if best is not None else 0.0
        box = best.last.box if best is not None and value > 0 else None
        since = (best.born_index, best.born) if best is not None and value > 0 else None
        things = sum(1 for t in live if evidence(t) >= p.threshold)
        self._thing_in_view = things > 0
        metrics = {"tracks": float(len(live)), "things": float(things), "regions": float(len(regions))}
        if sum(map(len, self._per_track())) > 2 * len(self.tracker.tracks) + 16:
            self._forget_ended()
        shown = tuple(self._describe(t, frame) for t in live
                      if t.confirmed_at is not None or t.age(frame.time) >= 0.5 * p.min_age)
        score = Score(value, metrics, None, box, since=since, awaited=self._awaited(frame))
        return ObjectsResult(score, shown, self._hints(frame, found, live))

    def _per_track(self) -> tuple[dict[int, deque], ...]:
        """What is kept per track id outside the tracker: its path as outputs see it, and its votes."""
        return self._paths, self._fine_votes, self._drift_votes, self._speck_votes

    def _forget_ended(self) -> None:
        """Drop what is kept per track for tracks the tracker no longer has."""
        alive = {t.id for t in self.tracker.tracks}
        for kept in self._per_track():
            for ended in [k for k in kept if k not in alive]:
                del kept[ended]

    def _awaited(self, frame: AnalysisFrame) -> tuple[int, float] | None:
        """(frame, seconds) first seen of the earliest track that may still become a thing: not yet one, not
        light, younger than ``AWAIT_WINDOWS`` windows (None: none)."""
        limit = awaited_for(self.params)
        waiting = [(t.born_index, t.born) for t in self.tracker.tracks
                   if t.confirmed_at is None and t.age(frame.time) <= limit
                   and not t.is_light(self.tracker.rules)]
        return min(waiting) if waiting else None

    def _describe(self, track: Track, frame: AnalysisFrame) -> record.Track:
        """A track as outputs see it: full-resolution source pixels, seconds.

        Its path is kept per track and extended by the observations made since the last frame (each
        placed with the camera offset of its own frame), not rebuilt from the whole history each frame.
        """
        s = frame.scale
        dx, dy = frame.offset
        points = self._paths.get(track.id)
        if points is None:
            points = self._paths[track.id] = deque()
        history = track.history
        while points and points[0][0] < history[0].index:
            points.popleft()
        last = points[-1][0] if points else -1
        added = []
        for o in reversed(history):
            if o.index <= last:
                break
            added.append((o.index, (round((o.x + dx) * s, 1), round((o.y + dy) * s, 1))))
        points.extend(reversed(added))
        path = tuple(point for _, point in points)
        return record.Track(track.id, frame.to_full(track.last.box), (track.velocity[0] * s, track.velocity[1] * s),
                            track.age(frame.time), track.confirmed_at is not None, track.is_light(self.tracker.rules),
                            path)

    def _hints(self, frame: AnalysisFrame, found: Regions, live: list[Track]) -> LearningHints:
        """Masks of regions to keep out of the background model, and of regions to learn as background.

        Things that were confirmed are held (a person who stops stays in view, up to ``hold``
        seconds) as long as they still look like a thing. Tracks judged light, and tracks that stay in
        place without ever travelling (a ghost where something was learnt, clutter) are learnt as
        background. Everything else learns at the model's own foreground rate. Nothing is learnt
        faster than background: a thing misjudged as light for a moment must not be swallowed.
        """
        p = self.params
        hold: np.ndarray | None = None
        free: np.ndarray | None = None
        for track in live:
            region = track.region
            if region is None or region.look is not None:  # none, or the fine pass's (it learns on its own)
                continue
            lit = track.is_light(self.tracker.rules)
            held = (not lit and track.last.light is not True and track.confirmed_at is not None
                    and frame.time - track.confirmed_at <= p.hold)
            idle = (track.confirmed_at is None and track.age(frame.time) >= p.window
                    and track.travel < 0.5 * p.threshold)
            if not (held or lit or idle):
                continue
            inside, (x0, y0) = found.patch(region, 1, frame.grey.shape)
            inside = cv2.dilate(inside, _GROW)
            if held:
                hold = np.zeros(frame.grey.shape, np.uint8) if hold is None else hold
                target = hold
            else:
                free = np.zeros(frame.grey.shape, np.uint8) if free is None else free
                target = free
            h, w = inside.shape
            target[y0:y0 + h, x0:x0 + w] |= inside * np.uint8(255)
        return LearningHints(hold, free)


def awaited_for(params: ObjectParams) -> float:
    """Seconds for which a track that may still become a thing is awaited: how much longer than its merge
    gap an event of things may stay open, and grow, after its last frame over threshold."""
    return AWAIT_WINDOWS * params.window


def _fused(masks: list[np.ndarray]) -> np.ndarray | None:
    """The union of several background models' masks (None: none)."""
    if not masks:
        return None
    fused = masks[0]
    for extra in masks[1:]:
        fused = np.maximum(fused, extra)
    return fused
