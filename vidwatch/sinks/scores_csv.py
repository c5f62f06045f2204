"""Every analysed frame's scores as CSV rows, for tuning thresholds and plotting timelines.

Columns: ``frame``, ``time``, then per detector ``<name>.value`` (what the gate compares),
``<name>.threshold`` (constant, so the file alone is enough to draw the threshold line) and
``<name>.<metric>`` for each extra metric the detector reports, then ``<kind>.active`` (1 while an
event of that kind is open). A ``source`` column comes first when one run reads several sources.

Metric names are only known once every detector has scored a frame (a background model is quiet
while it warms up), so the first rows wait in memory until then, at most ``MAX_PENDING`` rows.
Rows are flushed to disk every second and at close, so a crash loses at most a second of them.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from vidwatch.config import Config
from vidwatch.detectors.base import Score
from vidwatch.errors import UserError
from vidwatch.frames import AnalysisFrame
from vidwatch.sinks.base import Sink

log = logging.getLogger(__name__)

MAX_PENDING = 300
FLUSH_SECONDS = 1.0

Row = tuple[str, int, float, dict[str, Score], tuple[str, ...]]


class ScoresCsvSink(Sink):
    """Writes one CSV row per analysed frame."""

    name = "scores-file"

    def __init__(self, path: str | Path, config: Config, *, with_source: bool = False) -> None:
        self.path = Path(path)
        self.thresholds = {n: s.threshold for n, s in config.detectors.items()}
        self.kinds = tuple(config.events)
        self.with_source = with_source
        self.source = ""
        self.rows = 0
        self._metrics: dict[str, list[str]] | None = None
        self._seen: dict[str, list[str]] = {}
        self._pending: list[Row] = []
        self._last_flush = time.monotonic()
        self._last_index: int | None = None
        self._source_number = 0
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] | None = open(self.path, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UserError(f"cannot write scores file {self.path}: {exc.strerror}; "
                            f"choose a writable path for --scores") from None
        self._writer = csv.writer(self._file)

    def frame(self, frame: AnalysisFrame, scores: Mapping[str, Score], active: Sequence[str]) -> None:
        if self._last_index is not None and frame.index <= self._last_index:
            self._source_number += 1
        self._last_index = frame.index
        for name, score in scores.items():
            if score.metrics and name not in self._seen:
                self._seen[name] = list(score.metrics)
        row: Row = (self.source or str(self._source_number), frame.index, frame.time, dict(scores), tuple(active))
        if self._metrics is None:
            self._pending.append(row)
            if len(self._seen) == len(self.thresholds) or len(self._pending) >= MAX_PENDING:
                self._start()
            return
        self._write(row)
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_SECONDS:
            self._flush(now)

    def columns(self) -> list[str]:
        assert self._metrics is not None
        cols = ["source"] if self.with_source else []
        cols += ["frame", "time"]
        for name in self.thresholds:
            cols += [f"{name}.value", f"{name}.threshold"]
            cols += [f"{name}.{m}" for m in self._metrics.get(name, [])]
        cols += [f"{kind}.active" for kind in self.kinds]
        return cols

    def _start(self) -> None:
        self._metrics = {name: list(self._seen.get(name, [])) for name in self.thresholds}
        assert self._file is not None
        self._writer.writerow(self.columns())
        pending, self._pending = self._pending, []
        for row in pending:
            self._write(row)
        self._flush(time.monotonic())

    def _write(self, row: Row) -> None:
        source, index, t, scores, active = row
        assert self._metrics is not None
        cells: list[object] = [source] if self.with_source else []
        cells += [index, f"{t:.4f}"]
        for name, threshold in self.thresholds.items():
            score = scores.get(name)
            if score is None:
                cells += ["", f"{threshold:.6g}"] + [""] * len(self._metrics[name])
                continue
            cells += [f"{score.value:.6g}", f"{threshold:.6g}"]
            cells += [_cell(score.metrics.get(m)) for m in self._metrics[name]]
        cells += [1 if kind in active else 0 for kind in self.kinds]
        self._writer.writerow(cells)
        self.rows += 1

    def _flush(self, now: float) -> None:
        if self._file is not None:
            self._file.flush()
        self._last_flush = now

    def close(self) -> None:
        if self._file is None:
            return
        if self._metrics is None:
            self._start()
        self._flush(time.monotonic())
        self._file.close()
        self._file = None


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
