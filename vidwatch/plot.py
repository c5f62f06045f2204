"""Score timelines: each detector's score over time, its threshold, and the event spans shaded.

Reads the CSV that ``vidwatch run --scores`` writes. Everything the picture needs is in that one
file (the threshold the gate applied is a column, per frame), so a CSV can be plotted long after the
run, without the config; an adaptive threshold is drawn as the line it was.
matplotlib is an optional extra (``pip install 'vidwatch[plot]'``); the rest of vidwatch never needs it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidwatch.errors import UserError

KIND_COLOURS = {"motion": "tab:orange", "scene_change": "tab:purple"}
OTHER_COLOURS = ("tab:green", "tab:brown", "tab:pink", "tab:cyan")


@dataclass(slots=True)
class Timeline:
    """The columns of a scores CSV needed for the plot, for one source."""

    time: list[float] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)
    thresholds: dict[str, list[float]] = field(default_factory=dict)
    """The threshold the gate applied to each score, per frame (NaN where the file has none)."""
    active: dict[str, list[bool]] = field(default_factory=dict)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def read_scores(path: str | Path, source: str | None = None) -> Timeline:
    """Parse a scores CSV; with a ``source`` column, keep only ``source``.

    A CSV of several sources needs ``source`` named: drawing one of them silently would pass it
    off as the whole file. The error lists the sources it holds, as does an unknown name.
    """
    try:
        handle = open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise UserError(f"cannot read scores file {path}: {exc.strerror}; write one with "
                        f"`vidwatch run SOURCE --scores {path}`") from None
    with handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        detectors = [c[: -len(".value")] for c in columns if c.endswith(".value")]
        kinds = [c[: -len(".active")] for c in columns if c.endswith(".active")]
        if "time" not in columns or not detectors:
            raise UserError(f"{path}: not a vidwatch scores file (no 'time' and '<detector>.value' columns); "
                            f"write one with `vidwatch run SOURCE --scores {path}`")
        timeline = Timeline(values={d: [] for d in detectors}, thresholds={d: [] for d in detectors},
                            active={k: [] for k in kinds})
        sources: dict[str, None] = {}
        chosen = source
        for row in reader:
            if "source" in row:
                sources.setdefault(row["source"], None)
                if chosen is None:
                    chosen = row["source"]
                if row["source"] != chosen:
                    continue
            timeline.time.append(_float(row["time"]))
            for d in detectors:
                timeline.values[d].append(_float(row[f"{d}.value"]))
                timeline.thresholds[d].append(_float(row.get(f"{d}.threshold") or ""))
            for k in kinds:
                timeline.active[k].append(row[f"{k}.active"] == "1")
    names = ", ".join(repr(name) for name in sources)
    if source is None and len(sources) > 1:
        raise UserError(f"{path} holds the scores of {len(sources)} sources ({names}); choose one with "
                        f"--source NAME")
    if source is not None and sources and source not in sources:
        raise UserError(f"{path} has no source {source!r}; its sources: {names}")
    if source is not None and not sources:
        raise UserError(f"{path} has the scores of one source only (no 'source' column); leave out --source")
    if not timeline.time:
        raise UserError(f"{path}: no rows{f' for source {source!r}' if source else ''}; nothing to plot")
    return timeline


def spans(time: Sequence[float], active: Sequence[bool]) -> list[tuple[float, float]]:
    """(start, end) times of the runs of active frames; each frame covers until the next one starts."""
    out: list[tuple[float, float]] = []
    start: float | None = None
    for i, on in enumerate(active):
        if on and start is None:
            start = time[i]
        if start is not None and (not on or i == len(active) - 1):
            end = time[i] if not on else time[i] + (time[i] - time[i - 1] if i else 0.0)
            out.append((start, end))
            start = None
    return out


def read_event_spans(path: str | Path, source: str | None = None) -> dict[str, list[tuple[float, float]]]:
    """kind -> (start, end) seconds from an events JSON Lines file (``vidwatch run --events``)."""
    import json

    out: dict[str, list[tuple[float, float]]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read events file {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if source is not None and event.get("source", source) != source:
                continue
            out.setdefault(event["kind"], []).append((float(event["start_time"]), float(event["end_time"])))
        except (ValueError, KeyError, TypeError):
            raise UserError(f"{path}:{number}: not a vidwatch event line; give the file written by --events") from None
    return out


def _matplotlib():  # type: ignore[no-untyped-def]
    try:
        import matplotlib
    except ImportError:
        raise UserError("plotting needs matplotlib: pip install 'vidwatch[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_timeline(timeline: Timeline, out: str | Path, *, title: str = "", log_scale: bool = False,
                  event_spans: dict[str, list[tuple[float, float]]] | None = None) -> Path:
    """Draw one panel per detector (score, threshold line), shade event spans, save a PNG.

    ``event_spans`` (kind -> (start, end) seconds, e.g. from an events file) replaces the spans read
    from the ``<kind>.active`` columns. The linear score axis is cut at a robust top (the 99th
    percentile or three thresholds, whichever is higher), so one huge spike at a cut does not flatten
    the threshold line; points above it are marked with triangles. ``log_scale`` shows everything.
    """
    plt = _matplotlib()
    import numpy as np

    detectors = list(timeline.values)
    fig, axes = plt.subplots(len(detectors), 1, sharex=True, squeeze=False,
                             figsize=(10, 1.2 + 1.6 * len(detectors)), dpi=100)
    if event_spans is None:
        event_spans = {k: spans(timeline.time, a) for k, a in timeline.active.items()}
    colours = {k: KIND_COLOURS.get(k, OTHER_COLOURS[i % len(OTHER_COLOURS)]) for i, k in enumerate(event_spans)}
    time = np.asarray(timeline.time, dtype=float)
    finite_time = time[np.isfinite(time)]
    min_width = 0.006 * (float(finite_time.max() - finite_time.min()) if finite_time.size else 1.0)
    for row, (ax, name) in enumerate(zip(axes[:, 0], detectors, strict=True)):
        for kind, runs in event_spans.items():
            for i, (a, b) in enumerate(runs):
                ax.axvspan(a, max(b, a + min_width), color=colours[kind], alpha=0.25, lw=0,
                           label=f"{kind} event" if i == 0 and row == 0 else None)
        values = np.asarray(timeline.values[name], dtype=float)
        ax.plot(time, values, lw=1.0, color="tab:blue", label="score" if row == 0 else None)
        applied = np.asarray(timeline.thresholds.get(name, []), dtype=float)
        known = applied[np.isfinite(applied)]
        threshold = float(known.max()) if known.size else None
        if threshold is not None and float(known.min()) == threshold:
            ax.axhline(threshold, color="tab:red", ls="--", lw=1.0, label=f"threshold {threshold:g}")
        elif threshold is not None:  # raised by `adaptive`: the line the gate really compared with
            ax.step(time, applied, where="post", color="tab:red", ls="--", lw=1.0,
                    label=f"threshold (adaptive, up to {threshold:.3g})")
        finite = values[np.isfinite(values)]
        if log_scale:
            ax.set_yscale("symlog", linthresh=max(threshold or 1e-3, 1e-6) / 10)
        elif finite.size:
            top = max(float(np.percentile(finite, 99)) * 1.2, 3 * (threshold or 0.0), 1e-9)
            if finite.max() > top:
                over = values > top
                ax.plot(time[over], np.full(int(over.sum()), top * 0.97), "^", color="tab:blue", ms=5,
                        label=f"above {top:.3g} (peak {finite.max():.3g})")
            ax.set_ylim(bottom=min(0.0, float(finite.min())), top=top)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
    except OSError as exc:
        raise UserError(f"cannot write plot {out}: {exc.strerror}; choose a writable path for -o") from None
    finally:
        plt.close(fig)
    return out
