"""What a live source reports besides frames (stream lost / restored), and the retry schedule.

A live source yields :class:`StreamNotice` items in the same iterator as its frames, in the order
things happened, so the pipeline turns them into ``stream_lost`` / ``stream_restored`` events on its
own thread and knows exactly which frames came before and after a reconnect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vidwatch.events import STREAM_LOST, STREAM_RESTORED, Event, instant_event


@dataclass(slots=True)
class StreamNotice:
    """A live source stopped delivering (``stream_lost``) or delivers again (``stream_restored``)."""

    kind: str
    time: float
    """Seconds since the source was opened, on the same clock as its frames."""
    info: dict[str, Any] = field(default_factory=dict)
    """``reason`` for a loss; ``attempts`` and ``downtime`` (seconds) for a restore."""

    def __post_init__(self) -> None:
        if self.kind not in (STREAM_LOST, STREAM_RESTORED):
            raise ValueError(f"unknown stream notice kind {self.kind!r}")

    def to_event(self, frame: int, source: str = "") -> Event:
        """The instant event sinks receive; ``frame`` is the analysed frame it sits at."""
        return instant_event(self.kind, frame, self.time, source, **self.info)


class Backoff:
    """Capped exponential delays: initial, 2x, 4x, ... never more than ``maximum``."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = max(initial, maximum)
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2.0, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial
