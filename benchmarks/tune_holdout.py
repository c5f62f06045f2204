"""Tuned on some clips, scored on clips it never saw: is the tuned config ever worse than its base?

Why: a tuner that fits its training clips can still lose on the next camera's footage; that is what
``vidwatch tune``'s cross-validation is for. This measures the whole claim end to end on the dev
split of the accuracy benchmark (``accuracy_clips.py``; never the test split), with the defaults as
the base (or ``-c BASE``, scored beside the defaults):

- ``report``: the case that asked for it. Tune on a slow walker, quiet noise and camera jitter, each
  with a plain truth file (``{"events": [[start, end]]}``, which is motion), then score a walker in
  rain, a walker in snow and a walker under shake.
- ``half A -> B`` and ``half B -> A``: the dev clips in two halves (alternating, in the split's
  order), each clip's own truth file (typed); tune on one half, score on the other.

Scores are event F1 summed over the held-out clips and kinds, by ``vidwatch.evaluate`` (as
``vidwatch eval`` prints them in its TOTAL all row).

    python benchmarks/tune_holdout.py [--scenario report|halves|all] [-c BASE] [--cache DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):  # measure this checkout, not whatever vidwatch is installed
    if _path not in sys.path:
        sys.path.insert(0, _path)

import accuracy_clips  # noqa: E402

from vidwatch.config import Config, load_config  # noqa: E402
from vidwatch.evaluate import DEFAULT_TOLERANCE, Metrics, across_kinds, evaluate, load_truth  # noqa: E402
from vidwatch.pipeline import run_source  # noqa: E402
from vidwatch.tune import threshold_key  # noqa: E402
from vidwatch.tuning import Request, run_tune  # noqa: E402

REPORT_TRAIN = ("slow_walker", "quiet_noise", "shake_jitter")
REPORT_HELD_OUT = ("walker_rain", "snow_walker", "walker_shake")


def score(clips: Sequence[Path], config: Config) -> Metrics:
    """Event metrics over every clip and every kind its truth file labels."""
    total = Metrics()
    for clip in clips:
        stats = run_source(str(clip), config, [])
        truth = load_truth(clip.with_suffix(".json"))
        total = total + across_kinds(evaluate(stats.events, truth, stats.frames, seconds=stats.seconds,
                                              fps=stats.source_fps))
    return total


def plain_truth(clip: Path, folder: Path) -> Path:
    """The clip's motion events as a user labels them: ``{"events": [[start, end], ...]}``."""
    data = json.loads(clip.with_suffix(".json").read_text())
    events = [e for e in data["events"] if isinstance(e, list) and len(e) == 2]
    path = folder / f"{clip.stem}.json"
    path.write_text(json.dumps({"events": events}))
    return path


def changes(base: Config, tuned: Config) -> str:
    """What tuning changed, as config keys."""
    out = []
    before, after = base.thresholds(), tuned.thresholds()
    for name, value in after.items():
        if before.get(name) != value:
            out.append(f"{threshold_key(tuned, name)} {before.get(name, '-')} -> {value:.4g}")
    for kind, rule in tuned.events.items():
        if base.events.get(kind) != rule:
            out.append(f"events.{kind}: {list(rule.detectors or ())}, fusion {rule.fusion}, "
                       f"min_frames {rule.min_frames}")
    return "; ".join(out) or "nothing (the base kept)"


def scenario(name: str, train: Sequence[Path], truths: Sequence[Path], held_out: Sequence[Path],
             base: Config) -> dict:
    """Tune ``base`` on ``train``; score the defaults, the base and the tuned config on ``held_out``."""
    started = time.perf_counter()
    outcome = run_tune(Request([str(p) for p in train], [load_truth(t) for t in truths], base, DEFAULT_TOLERANCE))
    tune_seconds = time.perf_counter() - started
    result = outcome.result
    default, tuned = score(held_out, load_config()), score(held_out, result.config)
    own = default if base == load_config() else score(held_out, base)
    row = {"scenario": name, "train": len(train), "held_out": len(held_out), "default_f1": default.f1,
           "tuned_f1": tuned.f1, "default_false": default.false_events, "tuned_false": tuned.false_events,
           "default_matched": default.matched, "tuned_matched": tuned.matched, "truth": default.truth,
           "cv_f1": result.cv_total.f1 if result.cv_total else None, "base_train_f1": result.base_total.f1
           if result.base_total else None, "refused": result.refused, "changed": changes(base, result.config),
           "tune_seconds": tune_seconds, "base_f1": own.f1}
    verdict = "ok" if tuned.f1 >= own.f1 - 1e-9 else "WORSE than its base"
    shown = "" if own is default else f"base {own.f1:.3f} ({own.matched}/{own.truth}, {own.false_events} false), "
    print(f"{name:<14} train {len(train):>2} clips, held out {len(held_out):>2}: F1 default {default.f1:.3f} "
          f"({default.matched}/{default.truth} found, {default.false_events} false), {shown}tuned {tuned.f1:.3f} "
          f"({tuned.matched}/{tuned.truth}, {tuned.false_events} false) [{verdict}]; tune took {tune_seconds:.0f} s",
          flush=True)
    print(f"{'':<14} changed: {row['changed']}" + (f"; REFUSED: {result.refused}" if result.refused else ""),
          flush=True)
    for kind in result.kinds:
        levels = ", ".join(f"{lv.level} {lv.fit.metrics.f1:.3f}/{'-' if lv.cv is None else f'{lv.cv.f1:.3f}'}"
                           for lv in kind.levels)
        print(f"{'':<14} {kind.kind}: F1 train/cross-validated: {levels}; chosen {kind.chosen.level}", flush=True)
        row.setdefault("kinds", {})[kind.kind] = {
            lv.level: {"train_f1": lv.fit.metrics.f1, "cv_f1": None if lv.cv is None else lv.cv.f1}
            for lv in kind.levels} | {"chosen": kind.chosen.level}
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("report", "halves", "all"), default="all")
    parser.add_argument("--cache", type=Path, default=accuracy_clips.DEFAULT_CACHE,
                        help="where the dev clips are (generated there when missing)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("-c", "--config", help="tune from this base (a file or preset; default: the defaults); the "
                        "held-out scores are still compared with the defaults")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    clips = accuracy_clips.ensure_clips(args.cache, "dev")  # the dev split only: the test split stays unseen
    by_name = {p.stem: p for p in clips}
    base = load_config(args.config)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.scenario in ("report", "all"):
            train = [by_name[n] for n in REPORT_TRAIN]
            rows.append(scenario("report", train, [plain_truth(p, Path(tmp)) for p in train],
                                 [by_name[n] for n in REPORT_HELD_OUT], base))
        if args.scenario in ("halves", "all"):
            a, b = clips[0::2], clips[1::2]
            rows.append(scenario("half A -> B", a, [p.with_suffix(".json") for p in a], b, base))
            rows.append(scenario("half B -> A", b, [p.with_suffix(".json") for p in b], a, base))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    worse = [r["scenario"] for r in rows if r["tuned_f1"] < r["base_f1"] - 1e-9]
    print("tuned never worse than its base on held-out clips" if not worse else f"WORSE in: {', '.join(worse)}")
    return 1 if worse else 0


if __name__ == "__main__":
    raise SystemExit(main())
