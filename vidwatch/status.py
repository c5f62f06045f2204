"""The periodic status line of a long run: is it keeping up with the camera?

Every ``interval`` seconds one log line gives the input rate (frames the source delivered,
analysed or dropped), the analysed rate, drops, the latency from a frame's arrival to the end of
its analysis (latest and worst in the interval) and the events so far.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from vidwatch.pipeline import RunStats

log = logging.getLogger("vidwatch.status")


class StatusLine:
    """Called after every analysed frame (``on_frame``); logs at most once per ``interval``."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 logger: logging.Logger = log) -> None:
        self.interval = interval
        self._clock = clock
        self._log = logger
        self._mark: tuple[float, int, int] | None = None
        self._worst: float | None = None

    def __call__(self, stats: RunStats) -> None:
        now = self._clock()
        if stats.latency is not None:
            self._worst = stats.latency if self._worst is None else max(self._worst, stats.latency)
        if self._mark is None:
            self._mark = (now, stats.frames, stats.dropped)
            return
        since, frames, dropped = self._mark
        elapsed = now - since
        if elapsed < self.interval:
            return
        self._log.info("%s", format_status(stats, elapsed, stats.frames - frames, stats.dropped - dropped,
                                           self._worst))
        self._mark = (now, stats.frames, stats.dropped)
        self._worst = None


def format_status(stats: RunStats, elapsed: float, analysed: int, dropped: int, worst: float | None) -> str:
    """One line: rates over the last ``elapsed`` seconds, totals since the start."""
    fps_in = (analysed + dropped) / elapsed
    fps_out = analysed / elapsed
    if stats.latency is None:
        latency = "latency n/a"
    else:
        latency = f"latency {stats.latency * 1000:.0f} ms (max {(worst or 0) * 1000:.0f} ms)"
    return (f"status {stats.source}: in {fps_in:.1f} fps, analysed {fps_out:.1f} fps, dropped {dropped} "
            f"({stats.dropped} in total), {latency}, {len(stats.events)} events")


def chain(*callbacks: Callable[[RunStats], None]) -> Callable[[RunStats], None]:
    """One per-frame callback that calls each of ``callbacks`` in turn (progress line, status line)."""

    def call_all(stats: RunStats) -> None:
        for callback in callbacks:
            callback(stats)

    return call_all
