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
from typing import IO, NamedTuple

from vidwatch.config import Config
from vidwatch.detectors.base import Score
from vidwatch.errors import UserError
from vidwatch.frames import AnalysisFrame
from vidwatch.sinks.base import Sink

log = logging.getLogger(__name__)

MAX_PENDING = 300
FLUSH_SECONDS = 1.0


class _Value(NamedTuple):
    """What a row needs of a Score (no mask) while the row waits for the header."""

    value: float
    metrics: dict[str, float]


_Pending = tuple[str, int, float, dict[str, _Value], tuple[str, ...]]


class ScoresCsvSink(Sink):
    """Writes one CSV row per analysed frame."""

    name = "scores-file"

    def __init__(self, path: str | Path, config: Config, *, with_source: bool = False) -> None:
        self.path = Path(path)
        self.thresholds = config.thresholds()
        self.kinds = tuple(config.events)
        self.with_source = with_source
        self.source = ""
        """The current source's spec (the ``source`` column); set before each source's frames."""
        self._metrics: dict[str, list[str]] | None = None
        self._seen: dict[str, list[str]] = {}
        self._pending: list[_Pending] = []
        self._last_flush = time.monotonic()
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] | None = open(self.path, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UserError(f"cannot write scores file {self.path}: {exc.strerror}; "
                            f"choose a writable path for --scores") from None
        self._writer = csv.writer(self._file)

    def frame(self, frame: AnalysisFrame, scores: Mapping[str, Score], active: Sequence[str]) -> None:
        if self._metrics is None:
            self._hold(frame, scores, active)
            return
        self._write(self.source, frame.index, frame.time, scores, active)
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_SECONDS:
            self._flush(now)

    def _hold(self, frame: AnalysisFrame, scores: Mapping[str, Score], active: Sequence[str]) -> None:
        """Keep a row until every detector's metric names are known, then write the header and the rows."""
        for name, score in scores.items():
            if score.metrics and name not in self._seen:
                self._seen[name] = list(score.metrics)
        values = {name: _Value(score.value, score.metrics) for name, score in scores.items()}
        self._pending.append((self.source, frame.index, frame.time, values, tuple(active)))
        if len(self._seen) == len(self.thresholds) or len(self._pending) >= MAX_PENDING:
            self._start()

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
            self._write(*row)
        self._flush(time.monotonic())

    def _write(self, source: str, index: int, t: float, scores: Mapping[str, Score] | Mapping[str, _Value],
               active: Sequence[str]) -> None:
        metrics = self._metrics
        assert metrics is not None
        cells: list[object] = [source] if self.with_source else []
        cells += [index, f"{t:.4f}"]
        for name, threshold in self.thresholds.items():
            score = scores.get(name)
            if score is None:
                cells += ["", f"{threshold:.6g}"] + [""] * len(metrics[name])
                continue
            cells += [f"{score.value:.6g}", f"{threshold:.6g}"]
            cells += [_cell(score.metrics.get(m)) for m in metrics[name]]
        cells += [1 if kind in active else 0 for kind in self.kinds]
        self._writer.writerow(cells)

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
