"""What a person reads on the terminal: progress while a file runs, and the end-of-run table."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from vidwatch.events import Event
from vidwatch.pipeline import RunStats


class Progress:
    """A single self-overwriting progress line on a terminal; silent when output is not a terminal."""

    def __init__(self, total: int | None, stream: TextIO = sys.stderr, *, enabled: bool | None = None,
                 interval: float = 0.5) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.interval = interval
        self._last = 0.0

    def __call__(self, stats: RunStats) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        fps = stats.fps
        text = f"frames {stats.frames}"
        if self.total:
            pct = 100.0 * stats.frames / self.total
            eta = (self.total - stats.frames) / fps if fps > 0 else 0.0
            text += f"/{self.total} ({pct:4.1f}%) ETA {eta:5.0f}s"
        text += f"  {fps:6.1f} fps  events {len(stats.events)}"
        self.stream.write("\r" + text + "   ")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\n")
            self.stream.flush()


def format_events_table(events: list[Event]) -> str:
    """A fixed-width table of events, ordered by start."""
    header = f"{'#':>3}  {'kind':<15} {'start':>7} {'end':>7} {'start s':>9} {'end s':>9}  detectors"
    lines = [header, "-" * len(header)]
    for i, e in enumerate(sorted(events, key=lambda e: (e.source, e.start_frame)), 1):
        src = f"  [{e.source}]" if e.source else ""
        lines.append(f"{i:>3}  {e.kind:<15} {e.start_frame:>7} {e.end_frame:>7} {e.start_time:>9.2f} "
                     f"{e.end_time:>9.2f}  {','.join(e.detectors) or '-'}{src}")
    return "\n".join(lines)


def format_summary(stats: RunStats) -> str:
    """The closing block: counts, speed, and the events table."""
    by_kind: dict[str, int] = {}
    for e in stats.events:
        by_kind[e.kind] = by_kind.get(e.kind, 0) + 1
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items())) or "no events"
    head = (f"{stats.source}: {stats.frames} frames ({stats.media_time:.1f} s of video) in "
            f"{stats.elapsed:.1f} s, {stats.fps:.0f} fps; {kinds}")
    if stats.dropped:
        head += f"; {stats.dropped} stale frames dropped"
    if stats.stopped:
        head += " (stopped early)"
    if stats.incomplete:
        head += f"\n  INCOMPLETE: {stats.incomplete}; the file is truncated or damaged"
    if not stats.events:
        return head
    return head + "\n" + format_events_table(stats.events)
