"""The Event record every sink receives, and the kinds of event vidwatch reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MOTION = "motion"
"""Something moved in the scene (diff, background, flow)."""
SCENE_CHANGE = "scene_change"
"""The whole frame changed abruptly: a cut, the camera moved or was covered (histogram)."""
LIGHTING = "lighting"
"""The light changed across the whole picture at once (switch, clouds, auto-exposure, IR switch)."""
STREAM_LOST = "stream_lost"
"""A live source stopped delivering frames."""
STREAM_RESTORED = "stream_restored"
"""A live source delivers frames again after a loss."""

REBASELINE_KINDS = (LIGHTING, SCENE_CHANGE)
"""Kinds after which the motion models must re-learn the scene instead of firing on it, in order of
precedence: on a frame where one fires, the kinds after it (and motion) are not considered."""


@dataclass(slots=True)
class Event:
    """One change event, from its first frame over threshold to its last frame (post-roll included).

    Frames are inclusive; times are seconds from the start of the source. While the event is open,
    ``end_*`` track the latest frame that belongs to it.
    """

    kind: str
    start_frame: int
    start_time: float
    end_frame: int
    end_time: float
    detectors: list[str] = field(default_factory=list)
    """Detectors that were over their threshold at some frame of the event."""
    peak: dict[str, float] = field(default_factory=dict)
    """Highest score of each detector during the event."""
    peak_frame: int = -1
    peak_time: float = 0.0
    box: tuple[int, int, int, int] | None = None
    """(x, y, w, h) in full-resolution pixels of the largest changed region at the peak frame."""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields added by sinks (snapshot path, clip path, ...)."""

    @property
    def duration(self) -> float:
        return max(0.0, self.end_time - self.start_time)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the documented fields first, then anything sinks added."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "start_time": round(self.start_time, 4),
            "end_time": round(self.end_time, 4),
            "duration": round(self.duration, 4),
            "detectors": list(self.detectors),
            "peak": {k: round(v, 6) for k, v in self.peak.items()},
            "peak_frame": self.peak_frame,
            "peak_time": round(self.peak_time, 4),
            "box": list(self.box) if self.box else None,
        }
        if self.source:
            data["source"] = self.source
        data.update(self.extra)
        return data

    def describe(self) -> str:
        """One readable log line's worth of text."""
        if not self.detectors and not self.peak:  # an instant event such as stream_lost: say why
            details = " ".join(f"{k}={v}" for k, v in self.extra.items())
            return f"{self.kind} at frame {self.start_frame} ({self.start_time:.2f}s) {details}".rstrip()
        fired = ",".join(self.detectors) or "-"
        peaks = " ".join(f"{k}={v:.4g}" for k, v in self.peak.items())
        return (f"{self.kind} frames {self.start_frame}-{self.end_frame} "
                f"({self.start_time:.2f}s-{self.end_time:.2f}s) by {fired} peak {peaks}").rstrip()


def instant_event(kind: str, frame: int, time: float, source: str = "", **extra: Any) -> Event:
    """An event with no duration, such as a stream loss."""
    return Event(kind, frame, time, frame, time, peak_frame=frame, peak_time=time, source=source,
                 extra=dict(extra))
