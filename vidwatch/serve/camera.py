"""What the serving process knows about one camera: its latest frame, recent scores and health.

A camera's runner writes here (one frame reference and a few numbers per frame, under a short
lock); the web page, the API and the metrics read from here, at their own pace. Nothing a reader
does — drawing and encoding the live picture, building the sparklines — runs on the camera's
analysis thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vidwatch.detectors.base import Score
from vidwatch.frames import AnalysisFrame

CONNECTING = "connecting"
LIVE = "live"
LOST = "lost"
ENDED = "ended"
FAILED = "failed"
STOPPED = "stopped"

HISTORY_POINTS = 240
"""Points per sparkline: each holds the highest score of its slice of ``serve.history``."""


@dataclass(slots=True)
class FrameView:
    """The latest analysed frame of a camera, as the live view draws it (references, no copies)."""

    index: int
    time: float
    epoch: float
    frame: AnalysisFrame
    scores: Mapping[str, Score]
    thresholds: Mapping[str, float]
    active: tuple[str, ...]
    tracks: tuple[Any, ...] = ()


@dataclass(slots=True)
class _Slice:
    start: float
    values: dict[str, float]
    thresholds: dict[str, float]
    active: bool


@dataclass
class CameraState:
    """Shared, thread-safe state of one camera."""

    name: str
    history_seconds: float = 120.0
    armed: bool = True
    state: str = CONNECTING
    reason: str = ""
    since: float = field(default_factory=time.time)
    frames: int = 0
    dropped: int = 0
    latency: float | None = None
    reconnects: int = 0
    restarts: int = 0
    events: dict[str, int] = field(default_factory=dict)
    sink_failures: dict[str, int] = field(default_factory=dict)
    size: tuple[int, int] | None = None
    watchers: int = 0
    latest: FrameView | None = None
    version: int = 0
    """Bumped for every new frame or state change, so readers can tell whether anything is new."""

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._arrivals: deque[float] = deque(maxlen=64)
        self._slices: deque[_Slice] = deque(maxlen=HISTORY_POINTS)
        self._slice_length = self.history_seconds / HISTORY_POINTS
        self._frames_base = 0
        self._dropped_base = 0
        self.last_frame: float | None = None
        """``time.monotonic()`` of the latest analysed frame."""
        self._remote_fps: float | None = None

    # -- written by the camera's runner -------------------------------------------------------------

    def observe(self, view: FrameView) -> None:
        """Take one analysed frame: the live slot, the sparklines' current slice, the frame rate."""
        now = time.monotonic()
        with self.lock:
            self.latest = view
            self.version += 1
            self.last_frame = now
            self._arrivals.append(now)
            if self.state != LIVE:
                self._set(LIVE, "")
            current = self._slices[-1] if self._slices else None
            if current is None or view.epoch >= current.start + self._slice_length or view.epoch < current.start:
                start = view.epoch - math.fmod(view.epoch, self._slice_length)
                current = _Slice(start, {}, dict(view.thresholds), False)
                self._slices.append(current)
            values = current.values
            for name, score in view.scores.items():
                if score.value > values.get(name, -1.0):
                    values[name] = score.value
            current.thresholds.update(view.thresholds)
            current.active = current.active or bool(view.active)

    def count(self, frames: int, dropped: int, latency: float | None) -> None:
        """The running totals of the current connection (a source's counters start at 0 each time)."""
        self.frames = self._frames_base + frames
        self.dropped = self._dropped_base + dropped
        self.latency = latency

    def new_connection(self) -> None:
        """A new source object: later counts add to the totals so far."""
        self._frames_base, self._dropped_base = self.frames, self.dropped

    def set_state(self, state: str, reason: str = "") -> None:
        with self.lock:
            if state != self.state or reason != self.reason:
                self._set(state, reason)

    def _set(self, state: str, reason: str) -> None:
        self.state, self.reason, self.since = state, reason, time.time()
        self.version += 1

    # -- a runner in another process (a Ray actor) --------------------------------------------------

    def export_measures(self) -> tuple[list[tuple[float, dict[str, float], dict[str, float], bool]], float]:
        """The sparklines' slices and the frame rate, as plain data, for the serving process's copy."""
        with self.lock:
            slices = [(s.start, dict(s.values), dict(s.thresholds), s.active) for s in self._slices]
        return slices, self.fps()

    def take_remote(self, view: FrameView | None,
                    slices: list[tuple[float, dict[str, float], dict[str, float], bool]], fps: float) -> None:
        """What the camera's runner measured in its own process: its latest frame (None: no new one), the
        sparklines' slices and its frame rate (the serving process sees only some of the frames)."""
        with self.lock:
            if view is not None:
                self.latest = view
                self.version += 1
                self.last_frame = time.monotonic()
            self._slices = deque((_Slice(*s) for s in slices), maxlen=HISTORY_POINTS)
            self._remote_fps = fps

    # -- read by the web page, the API and the metrics --------------------------------------------

    def fps(self) -> float:
        """Analysed frames per second over the last 64 frames (0 when no frame came for 5 s)."""
        if self._remote_fps is not None:
            age = self.last_frame_age()
            return self._remote_fps if age is not None and age <= 5.0 else 0.0
        with self.lock:
            arrivals = list(self._arrivals)
        if len(arrivals) < 2 or time.monotonic() - arrivals[-1] > 5.0:
            return 0.0
        return (len(arrivals) - 1) / max(arrivals[-1] - arrivals[0], 1e-6)

    def last_frame_age(self) -> float | None:
        return None if self.last_frame is None else time.monotonic() - self.last_frame

    def summary(self) -> dict[str, Any]:
        """What ``GET /api/cameras`` shows for this camera."""
        age = self.last_frame_age()
        return {
            "name": self.name, "state": self.state, "reason": self.reason, "since": round(self.since, 3),
            "armed": self.armed, "fps": round(self.fps(), 2), "frames": self.frames, "dropped": self.dropped,
            "last_frame_age": None if age is None else round(age, 3),
            "latency": None if self.latency is None else round(self.latency, 4),
            "reconnects": self.reconnects, "events": dict(self.events),
            "size": list(self.size) if self.size else None,
        }

    def history(self) -> dict[str, Any]:
        """The sparklines: per slice its start (epoch), each score's highest value, the thresholds applied."""
        with self.lock:
            slices = list(self._slices)
        names = list(dict.fromkeys(n for s in slices for n in s.values))
        return {
            "slice": self._slice_length,
            "time": [round(s.start, 3) for s in slices],
            "active": [s.active for s in slices],
            "scores": {n: [_round(s.values.get(n)) for s in slices] for n in names},
            "thresholds": {n: [_round(s.thresholds.get(n)) for s in slices] for n in names},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")
