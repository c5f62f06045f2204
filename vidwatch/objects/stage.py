"""The object stage: foreground regions of the mask detectors, tracked over time, scored as evidence.

It sits between the detectors and the gate. Detectors say *where* the picture differs from what they
learnt; this stage asks what those differences are: a thing that travels (a person, however small and
slow), something that stays in place and moves back and forth (foliage, water), something too small
for ``min_size`` (rain, snow, noise), something near the lens (huge, fast, blurred), or light falling on
a surface (a shadow, a headlight). Its verdict is one score, ``objects`` — the largest travel, in object
sizes, shown by a track that looks like a thing — which the gate thresholds like any other score, plus
the tracks themselves for events and outputs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidwatch import record
from vidwatch.detectors.base import LearningHints, Score
from vidwatch.frames import AnalysisFrame
from vidwatch.objects.params import ObjectParams
from vidwatch.objects.regions import RING, Region, Regions, appearance, find_regions
from vidwatch.objects.tracker import Track, Tracker, TrackingRules

log = logging.getLogger(__name__)

NARROWEST = 3
"""Analysis pixels the narrow side of the smallest object needs to survive the masks' opening (3 px)."""

_GROW = np.ones((3, 3), np.uint8)
SILHOUETTE_FILL = 0.4
"""Share of its bounding box a silhouette's measured core fills at least (people measure ~0.6)."""


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

    def __init__(self, params: ObjectParams, mask_from: tuple[str, ...]) -> None:
        self.params = params
        self.mask_from = mask_from
        self._scale_checked = 0.0
        width, height = params.min_size
        self.tracker = Tracker(TrackingRules(
            window=params.window, min_age=params.min_age, min_straightness=params.min_straightness,
            min_core=SILHOUETTE_FILL * width * height, max_step=params.max_step, max_missed=params.max_missed,
            coast=params.coast, gate=params.gate, max_light=params.max_light,
            sparse_evidence=2.0 * params.threshold))

    def reset(self) -> None:
        self.tracker.reset()

    def _check_scale(self, frame: AnalysisFrame) -> None:
        """Say once when the analysis copy is too coarse for ``min_size``: on a large picture analysed at
        the default width a distant person is a couple of pixels wide and is lost, and the user should
        know which ``analysis.width`` finds it (at the cost of analysis time)."""
        if self._scale_checked == frame.scale:
            return
        self._scale_checked = frame.scale
        narrow = min(self.params.min_size)
        if narrow / frame.scale >= NARROWEST:
            return
        source_width = frame.grey.shape[1] * frame.scale
        needed = 32 * math.ceil(source_width * NARROWEST / narrow / 32)
        found = math.ceil(NARROWEST * frame.scale)
        log.warning("objects.min_size %s px is %.1f analysis px wide at this source's scale (%.0f px wide, "
                    "analysed at %d): things narrower than about %d px are lost; set analysis.width: %d to find "
                    "them (analysis costs about %.0fx more)", list(self.params.min_size), narrow / frame.scale,
                    source_width, frame.grey.shape[1], found, needed, (needed / frame.grey.shape[1]) ** 2)

    def min_area(self, frame: AnalysisFrame) -> float:
        """The smallest region tracked, analysis pixels: a quarter of ``min_size``'s box, since the analysis
        copy blurs a small thing's edges away (the full-resolution core decides later)."""
        width, height = self.params.min_size
        return max(0.25 * width * height / (frame.scale * frame.scale), 4.0)

    def _regions(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> tuple[Regions, np.ndarray | None]:
        """The foreground regions of the background models' masks, and what the frame was compared with."""
        masks = [scores[n].mask for n in self.mask_from if n in scores and scores[n].mask is not None]
        reference = next((scores[n].reference for n in self.mask_from
                          if n in scores and scores[n].reference is not None), None)
        if not masks:
            return Regions([], None, (0, 0)), reference
        mask = masks[0]
        for extra in masks[1:]:
            mask = np.maximum(mask, extra)
        return find_regions(mask, min_area=self.min_area(frame), max_regions=self.params.max_regions), reference

    def _look(self, found: Regions, region: Region, frame: AnalysisFrame,
              reference: np.ndarray | None) -> tuple[bool | None, float | None]:
        """(looks like light, core size in source pixels²) of one region; (None, None) when it cannot be told."""
        if reference is None:
            return None, None
        p = self.params
        inside, origin = found.patch(region, RING + 1, frame.grey.shape)
        look = appearance(inside, origin, frame.detail, reference, frame.noise)
        light = look.texture >= p.light_texture or look.sharpness < p.min_sharpness
        return light, look.core * frame.scale * frame.scale

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

    def update(self, frame: AnalysisFrame, scores: Mapping[str, Score]) -> ObjectsResult:
        p = self.params
        self._check_scale(frame)
        found, reference = self._regions(frame, scores)

        def describe(track: Track, region: Region) -> tuple[bool | None, float | None]:
            return self._look(found, region, frame, reference)

        self.tracker.update(frame.index, frame.time, found.regions, describe, frame.grey.shape)
        live = [t for t in self.tracker.tracks if t.missed == 0]
        for track in live:
            if track.confirmed_at is None and track.evidence >= p.threshold:
                track.confirmed_at = frame.time
        # a confirmed thing out of sight (coasting) keeps its evidence for when it is seen again, but
        # counts only while seen: the gate's post-roll and merge gap bridge a short disappearance
        best = max(live, key=lambda t: t.evidence, default=None)
        value = best.evidence if best is not None else 0.0
        box = best.last.box if best is not None and best.evidence > 0 else None
        since = (best.born_index, best.born) if best is not None and best.evidence > 0 else None
        things = sum(1 for t in live if t.evidence >= p.threshold)
        metrics = {"tracks": float(len(live)), "things": float(things), "regions": float(len(found.regions))}
        shown = tuple(self._describe(t, frame) for t in live
                      if t.confirmed_at is not None or t.age(frame.time) >= 0.5 * p.min_age)
        return ObjectsResult(Score(value, metrics, None, box, since=since), shown, self._hints(frame, found, live))

    def _describe(self, track: Track, frame: AnalysisFrame) -> record.Track:
        """A track as outputs see it: full-resolution source pixels, seconds."""
        s = frame.scale
        dx, dy = frame.offset
        path = tuple((round((o.x + dx) * s, 1), round((o.y + dy) * s, 1)) for o in track.history)
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
            if region is None:
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
