"""What a person reads on the terminal: progress while a file runs, and the end-of-run table."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from vidwatch.events import Event
from vidwatch.pipeline import RunStats


class Progress:
    """A progress bar on a terminal that log lines pass around; silent when output is not a terminal.

    tqdm draws it: while the bar is up, log records go through tqdm's handler, which clears the bar,
    writes the line and redraws the bar, so the two never share a line; and closing it draws the
    final count, so a finished file never stays at the last throttled percentage. (rich does the
    same but brings several packages for one line; tqdm is one pure-Python package.)
    """

    def __init__(self, total: int | None, stream: TextIO | None = None, *, enabled: bool | None = None,
                 interval: float = 0.5) -> None:
        self.total = total
        self.stream = stream or sys.stderr  # looked up now: sys.stderr may be replaced after import
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.interval = interval
        self._bar: tqdm | None = None
        self._logs = ExitStack()

    def __call__(self, stats: RunStats) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._logs.enter_context(logging_redirect_tqdm())
            layout = KNOWN_TOTAL if self.total else UNKNOWN_TOTAL
            self._bar = tqdm(total=self.total or None, file=self.stream, mininterval=self.interval,
                             bar_format=layout, unit=" frames", dynamic_ncols=True, leave=True)
        self._bar.set_postfix_str(f"events {len(stats.events)}", refresh=False)
        self._bar.update(_through(stats) - self._bar.n)

    def done(self, stats: RunStats | None = None) -> None:
        """Draw the final count (with the events closed at the end) and give the terminal back to plain
        log lines; safe to call twice."""
        if self._bar is not None:
            if stats is not None:
                self._bar.set_postfix_str(f"events {len(stats.events)}", refresh=False)
                self._bar.update(_through(stats) - self._bar.n)
            self._bar.close()
            self._bar = None
        self._logs.close()


def _through(stats: RunStats) -> int:
    """How far through the source the run is: frames analysed plus those dropped (``--realtime``)."""
    return stats.frames + stats.dropped


KNOWN_TOTAL = "frames {n_fmt}/{total_fmt} {percentage:3.0f}%|{bar:20}| ETA {remaining}, {rate_fmt}{postfix}"
UNKNOWN_TOTAL = "frames {n_fmt}, {rate_fmt}{postfix}"


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
    if stats.sink_failures:
        head += "; outputs that failed (see the log): " + ", ".join(
            f"{name} {count}x" for name, count in sorted(stats.sink_failures.items()))
    if stats.incomplete:
        head += f"\n  INCOMPLETE: {stats.incomplete}; the file is truncated or damaged"
    if not stats.events:
        return head
    return head + "\n" + format_events_table(stats.events)
