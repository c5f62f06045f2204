"""Joining the reports of a file's segments into the events a scan of the whole file reports.

Each segment reports the events that open in its own range (see :mod:`vidwatch.segments`), so
nothing is reported twice and an event that crosses a boundary is normally reported whole by the
segment it opened in. Two cases remain, and this is where they are settled, in file order:

- an event the earlier segment **cut** (still open when its overtime ran out) continues in the
  next segment, which saw it open in its warm-up and reported it as ``incoming``: the two are
  joined (the start from the first, the end from the second);
- where a later segment's models had not quite settled at the boundary, it may open an event
  inside one the earlier segment is still finishing: the earlier segment's view wins, and the
  piece is joined into its event.

An event that reaches into the next segment's range is therefore held back until that segment
shows it can add nothing more; the rest pass straight through. Joined events keep the peak of
the stronger piece; a piece's snapshot and clip files are removed when it is joined (the event
keeps the first piece's clip, and the stronger piece's snapshot).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Any

from vidwatch.events import Event
from vidwatch.objects.sightings import MAX_POINTS, PATH_STEP
from vidwatch.segments import EventNote, Segment
from vidwatch.sinks.base import Sink, SinkSet

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Held:
    """An event reaching into the next segment's range, waiting for that segment's view."""

    event: Event
    strength: float
    cut: bool
    reaches: int
    """The cap of the segment that reported it: it is held while it reaches past this."""


class Stitcher:
    """Receives the reports of one file's segments in file order; hands final events to ``out``."""

    def __init__(self, out: SinkSet | Sink) -> None:
        self.out = out
        self.events: list[Event] = []
        """Final events, in the order they were handed on."""
        self._held: dict[str, _Held] = {}
        self._absorbed: set[tuple[str, int]] = set()
        self._dropped: set[tuple[str, int]] = set()
        self._last_end: dict[str, int] = {}
        self._segment: Segment | None = None

    def begin(self, segment: Segment) -> None:
        """The reports of ``segment`` follow."""
        self._segment = segment

    def started(self, event: Event) -> None:
        if event.start_frame <= self._last_end.get(event.kind, -1):
            self._dropped.add(_key(event))  # inside an event already final: the earlier view stands
            return
        held = self._held.get(event.kind)
        if held is not None and event.start_frame <= held.event.end_frame:
            self._absorbed.add(_key(event))  # a piece of the held event, seen again
            return
        self._release_before(event.start_frame)
        self.out.event_started(event)

    def ended(self, event: Event, note: EventNote) -> None:
        if _key(event) in self._dropped:
            self._dropped.discard(_key(event))
            _take_files(Event(event.kind, 0, 0.0, 0, 0.0), event, snapshot_from_piece=False)
            return
        if _key(event) in self._absorbed:
            self._absorbed.discard(_key(event))
            self._join(self._held[event.kind], event, note)
            return
        self._release_before(event.start_frame)
        assert self._segment is not None
        if note.cut or event.end_frame >= self._segment.cap:
            if event.kind in self._held:
                self._release(event.kind)
            self._held[event.kind] = _Held(event, note.strength, note.cut, self._segment.cap)
            return
        self._final(event)

    def incoming(self, event: Event, note: EventNote) -> None:
        """An event that opened in the warm-up: it continues a held event the previous segment cut."""
        held = self._held.get(event.kind)
        if held is None or not held.cut or event.end_frame < held.event.end_frame:
            return
        self._join(held, event, note, has_files=False)

    def finish_segment(self) -> None:
        """Every report of the current segment is in: release what the next one cannot add to."""
        assert self._segment is not None
        cap = self._segment.cap
        for kind in list(self._held):
            held = self._held[kind]
            touched = held.reaches >= cap  # reported or continued by this segment
            if held.cut and not touched:
                log.debug("%s event %d-%d was cut and the next segment did not continue it", kind,
                          held.event.start_frame, held.event.end_frame)
            if (held.cut and touched) or (not held.cut and held.event.end_frame >= cap):
                held.reaches = cap
                continue
            self._release(kind)
        self._absorbed.clear()
        self._dropped.clear()

    def close(self) -> None:
        """No more segments: everything held is final."""
        for kind in list(self._held):
            self._release(kind)

    # -- helpers -----------------------------------------------------------------------------------
    def _join(self, held: _Held, piece: Event, note: EventNote, *, has_files: bool = True) -> None:
        event = held.event
        if piece.end_frame >= event.end_frame:
            event.end_frame, event.end_time = piece.end_frame, piece.end_time
            held.cut = note.cut
        for name, value in piece.peak.items():
            if value > event.peak.get(name, -1.0):
                event.peak[name] = value
        for name in piece.detectors:
            if name not in event.detectors:
                event.detectors.append(name)
        if piece.extra.get("tracks"):
            join_tracks(event.extra.setdefault("tracks", []), piece.extra["tracks"])
        stronger = note.strength > held.strength
        if stronger:
            held.strength = note.strength
            event.peak_frame, event.peak_time, event.box = piece.peak_frame, piece.peak_time, piece.box
        if has_files:
            _take_files(event, piece, snapshot_from_piece=stronger)
        if self._segment is not None:
            held.reaches = max(held.reaches, self._segment.cap)

    def _release_before(self, frame: int) -> None:
        """Release held events that are final and ended before ``frame``: the segment reporting has
        gone past them, so they are written before what it reports now (the order a one-process
        scan writes them in). A piece it might still report inside one is then dropped."""
        for kind in [k for k, h in self._held.items() if not h.cut and h.event.end_frame < frame]:
            self._release(kind)

    def _release(self, kind: str) -> None:
        held = self._held.pop(kind)
        self._final(held.event)

    def _final(self, event: Event) -> None:
        self._last_end[event.kind] = max(self._last_end.get(event.kind, -1), event.end_frame)
        self.events.append(event)
        self.out.event_ended(event)


def join_tracks(kept: list[dict[str, Any]], pieces: list[dict[str, Any]]) -> None:
    """Add a later piece's tracked things to an event's (see :mod:`vidwatch.objects.sightings`).

    Each process numbers its own tracks, so a thing is recognised by where it is, not by its id: a
    piece's track that was seen, at a time the event's track was, within one object size of it, is
    that track, and its later points continue its path; any other is a thing of its own, numbered
    after the event's.
    """
    for entry in pieces:
        same = next((k for k in kept if _same_thing(k, entry)), None)
        if same is None:
            kept.append({**entry, "id": max((k["id"] for k in kept), default=0) + 1})
            continue
        later = [point for point in entry["path"] if point[0] > same["last_time"] + 1e-9]
        if not later:
            continue
        path = same["path"]
        path.extend(later)
        while len(path) > MAX_POINTS:
            del path[1:-1:2]
        first, last = path[0], path[-1]
        span = last[0] - first[0]
        same["last_time"] = entry["last_time"]
        same["box"], same["size"] = entry["box"], entry["size"]
        same["speed"] = round(math.hypot(last[1] - first[1], last[2] - first[2]) / span, 1) if span > 0 else 0.0


def _same_thing(kept: dict[str, Any], entry: dict[str, Any]) -> bool:
    """Whether two tracks seen by different processes are one thing: at a time both were seen, they
    were within one object size of each other."""
    reach = max(max(kept["size"]), max(entry["size"]), 1)
    for t, x, y in entry["path"]:
        if kept["first_time"] - PATH_STEP <= t <= kept["last_time"] + 1e-9:
            near = min(kept["path"], key=lambda point: abs(point[0] - t))
            if abs(near[0] - t) <= PATH_STEP + 1e-9 and math.hypot(near[1] - x, near[2] - y) <= reach:
                return True
    return False


def _key(event: Event) -> tuple[str, int]:
    """Identifies an event across the copies a worker process sends (one event per kind opens at a frame)."""
    return event.kind, event.start_frame


def _take_files(event: Event, piece: Event, *, snapshot_from_piece: bool) -> None:
    """Keep one snapshot (the stronger piece's, under the event's name) and the event's clip; remove the rest."""
    mine, theirs = event.extra.get("snapshot"), piece.extra.get("snapshot")
    if snapshot_from_piece and theirs:
        target = mine or theirs
        _replace(theirs, target)
        event.extra["snapshot"] = target
    elif theirs:
        _remove(theirs)
    clip = piece.extra.get("clip")
    if clip and clip != event.extra.get("clip"):
        _remove(clip)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError as exc:
        log.warning("cannot remove %s after joining its event: %s", path, exc.strerror)


def _replace(source: str, target: str) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:
        log.warning("cannot move %s to %s after joining its event: %s", source, target, exc.strerror)
