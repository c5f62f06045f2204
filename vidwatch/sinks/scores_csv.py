"""Every analysed frame's scores as CSV rows, for tuning thresholds and plotting timelines.

Columns: ``frame``, ``time``, then per detector ``<name>.value`` (what the gate compares),
``<name>.threshold`` (the threshold the gate applied on that frame: constant unless ``adaptive``
raises it, and always what decided the frame, so the file alone is enough to draw the threshold
line) and ``<name>.<metric>`` for each metric the detector declares, then ``<kind>.active`` (1 while
an event of that kind is open). A ``source`` column comes first when one run reads several sources.

Every column is known from the run's layout before the first frame, so the header is written at
once and every row as its frame is decided. Rows are flushed to disk every second and at close, so
a crash loses at most a second of them.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path
from typing import IO

from vidwatch.errors import UserError
from vidwatch.record import FrameRecord, RecordLayout
from vidwatch.sinks.base import Sink

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0


class ScoresCsvSink(Sink):
    """Writes one CSV row per analysed frame."""

    name = "scores-file"

    def __init__(self, path: str | Path, layout: RecordLayout, *, with_source: bool = False) -> None:
        self.path = Path(path)
        self.layout = layout
        self.with_source = with_source
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] | None = open(self.path, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UserError(f"cannot write scores file {self.path}: {exc.strerror}; "
                            f"choose a writable path for --scores") from None
        self._writer = csv.writer(self._file)
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
        cells: list[object] = [record.source] if self.with_source else []
        cells += [record.index, f"{record.time:.4f}"]
        for name in self.layout.detectors:
            metrics = self.layout.metrics.get(name, ())
            score = record.scores.get(name)
            cells += [_cell(None if score is None else score.value), _cell(record.thresholds.get(name))]
            cells += [_cell(None if score is None else score.metrics.get(m)) for m in metrics]
        cells += [1 if kind in record.active else 0 for kind in self.layout.kinds]
        self._writer.writerow(cells)
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_SECONDS:
            self._flush(now)

    def _flush(self, now: float) -> None:
        if self._file is not None:
            self._file.flush()
        self._last_flush = now

    def close(self) -> None:
        if self._file is None:
            return
        self._flush(time.monotonic())
        self._file.close()
        self._file = None


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
