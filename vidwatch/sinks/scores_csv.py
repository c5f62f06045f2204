"""Every analysed frame's scores as CSV rows, for tuning thresholds and plotting timelines.

Columns: ``frame``, ``time``, then per detector ``<name>.value`` (what the gate compares),
``<name>.threshold`` (the threshold the gate applied on that frame: constant unless ``adaptive``
raises it, and always what decided the frame, so the file alone is enough to draw the threshold
line) and ``<name>.<metric>`` for each metric the detector declares, then ``<kind>.active`` (1 while
an event of that kind is open). A ``source`` column comes first when one run reads several sources.

Every column is known from the run's layout before the first frame, so the header is written as
soon as the first source has opened (:meth:`ScoresCsvSink.open`; a run that cannot start leaves an
existing file as it was) and every row as its frame is decided. Rows are flushed to disk every
second and at close, so a crash loses at most a second of them; rows that cannot be written (a full
disk) are held, within a bound, and written when they can be.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from pathlib import Path
from types import TracebackType

from vidwatch.record import FrameRecord, RecordLayout
from vidwatch.sinks.base import Sink
from vidwatch.sinks.delivery import AppendFile, Loss, Outbox, Pending, listing, spans, why
from vidwatch.sinks.places import writable_file

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
HELD_MB = 64
"""Rows held at most while the file cannot be written (then the oldest are given up)."""


class ScoresCsvSink(Sink):
    """Writes one CSV row per analysed frame."""

    name = "scores-file"

    def __init__(self, path: str | Path, layout: RecordLayout, *, with_source: bool = False) -> None:
        self.path = writable_file(path, "--scores", "scores file")
        self.layout = layout
        self.with_source = with_source
        self._file = AppendFile(self.path)
        self.outbox = Outbox(self.name, self.path, noun="block", max_bytes=HELD_MB << 20)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)
        self._rows: tuple[int, int] | None = None
        """First and last frame of the rows in the buffer."""
        self._opened = False
        self._last_flush = time.monotonic()

    def open(self) -> None:
        """Write the header: the first source has opened."""
        if not self._opened:
            self._opened = True
            self._writer.writerow(self.columns())
            self._flush(time.monotonic())

    def columns(self) -> list[str]:
        cols = ["source"] if self.with_source else []
        cols += ["frame", "time"]
        for name in self.layout.detectors:
            cols += [f"{name}.value", f"{name}.threshold"]
            cols += [f"{name}.{m}" for m in self.layout.metrics.get(name, ())]
        cols += [f"{kind}.active" for kind in self.layout.kinds]
        return cols

    def frame(self, record: FrameRecord) -> None:
        self.open()
        cells: list[object] = [record.source] if self.with_source else []
        cells += [record.index, f"{record.time:.4f}"]
        for name in self.layout.detectors:
            metrics = self.layout.metrics.get(name, ())
            score = record.scores.get(name)
            cells += [_cell(None if score is None else score.value), _cell(record.thresholds.get(name))]
            cells += [_cell(None if score is None else score.metrics.get(m)) for m in metrics]
        cells += [1 if kind in record.active else 0 for kind in self.layout.kinds]
        self._writer.writerow(cells)
        first = record.index if self._rows is None else self._rows[0]
        self._rows = (first, record.index)
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_SECONDS:
            self._flush(now)

    def _flush(self, now: float) -> None:
        self._last_flush = now
        data = self._buffer.getvalue().encode("utf-8")
        if not data:
            self.outbox.retry()
            return
        self._buffer.seek(0)
        self._buffer.truncate()
        rows, self._rows = self._rows, None
        what = "the header" if rows is None else f"rows of frames {rows[0]}-{rows[1]}"
        self.outbox.send(Pending(what, len(data), lambda: self._file.write(data), frames=rows))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._finish(failed=exc_type is not None)

    def close(self) -> None:
        self._finish(failed=False)

    def _finish(self, *, failed: bool) -> None:
        if self._opened:
            self._flush(time.monotonic())
        self.outbox.close()
        self._file.finish(failed=failed)

    def losses(self) -> list[Loss]:
        lost = self.outbox.given_up
        if not lost:
            return []
        ranges = [item.frames for item in lost if item.frames is not None]
        rows = sum(last - first + 1 for first, last in ranges)
        parts = [f"the rows of {rows} frames ({listing(spans(ranges))})"] if ranges else []
        if len(ranges) < len(lost):
            parts.insert(0, "the header")
        reason = why(self.outbox.error) if self.outbox.error else "not written"
        return [Loss(self.name, str(self.path), " and ".join(parts) + " not written", reason)]


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
