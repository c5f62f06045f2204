"""What a motion event keeps of the things that made it: per track, its path, box, speed and size.

An event says *that* something moved; its tracks say what and where: a user reviewing a night's events
(or a hook deciding whether to wake someone) sees that a person-sized thing crossed from the gate to
the door at walking pace. Paths are sampled every half second, so a long event stays small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from vidwatch.events import Event
from vidwatch.record import Track

PATH_STEP = 0.5
"""Seconds between the points kept of a track's path."""
MAX_POINTS = 120
"""Points kept per track at most; beyond it every other point goes (the path's shape stays)."""


def note_sightings(event: Event, tracks: Sequence[Track], time: float) -> None:
    """Add this frame's sightings of confirmed things to ``event.extra['tracks']`` (JSON-ready)."""
    kept: list[dict[str, Any]] = event.extra.setdefault("tracks", [])
    for track in tracks:
        if not track.thing:
            continue
        x, y, w, h = track.box
        centre = [round(time, 3), round(x + w / 2, 1), round(y + h / 2, 1)]
        entry = next((e for e in kept if e["id"] == track.id), None)
        if entry is None:
            entry = {"id": track.id, "first_time": round(time, 3), "path": [centre]}
            kept.append(entry)
        else:
            _extend(entry["path"], centre)
        path = entry["path"]
        first = path[0]
        span = centre[0] - first[0]
        entry["last_time"] = round(time, 3)
        entry["box"] = [int(x), int(y), int(w), int(h)]
        entry["size"] = [int(w), int(h)]
        entry["speed"] = round(math.hypot(centre[1] - first[1], centre[2] - first[2]) / span, 1) if span > 0 else 0.0


def _extend(path: list[list[float]], centre: list[float]) -> None:
    """Add a position to a path whose last point is always the latest one: that point is kept as a
    sample (the new position goes after it) once it lies a step after the sample before it."""
    if len(path) == 1 or centre[0] - path[-2][0] >= PATH_STEP - 1e-9:
        path.append(centre)
        if len(path) > MAX_POINTS:
            del path[1:-1:2]
    else:
        path[-1] = centre
