"""How long tuning takes: one decode, then the sweep on the recorded scores.

    python benchmarks/tune_speed.py [VIDEO] [--truth FILE] [--combos 100]

Default VIDEO is the opencv-doc pedestrian clip vtest.avi (795 frames, 79.5 s) with
benchmarks/truth/vtest_motion.json. Prints the decode time, the time of ``--combos`` motion
settings scored by replaying the gate (thresholds x fusion x min frames, spread evenly over all of
them), and a full ``tune`` with cross-validation (the clip cut in two halves, each held out in turn).
Each step is timed in wall seconds and in CPU seconds of this process (all its threads): on a shared
machine the CPU seconds are what compares between runs, and their ratios are the figures to quote.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidwatch.config import load_config  # noqa: E402
from vidwatch.evaluate import DEFAULT_TOLERANCE, Truth, load_truth  # noqa: E402
from vidwatch.recording import Recording, record  # noqa: E402
from vidwatch.tune import MIN_FRAMES, Candidate, Clip, KindReplays, KindSweep, _fusions, tune  # noqa: E402

VTEST = "/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data/vtest.avi"


class Lap:
    """Wall and CPU seconds of one step."""

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


class Clock:
    """Laps in wall time and in this process's CPU time."""

    def __init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self) -> Lap:
        wall, cpu = time.perf_counter(), time.process_time()
        lap = Lap(wall - self._wall, cpu - self._cpu)
        self._wall, self._cpu = wall, cpu
        return lap


def _part(rec: Recording, k: int, n: int) -> Recording:
    """The k-th of n equal stretches of a recording (frames renumbered from 0)."""
    size = len(rec.index) // n
    sl = slice(k * size, (k + 1) * size)
    first = rec.index[sl][0]
    since = {name: np.where(v[sl] >= first, v[sl] - first, -1) for name, v in rec.since.items()}
    awaited = {name: np.where(v[sl] >= first, v[sl] - first, -1) for name, v in rec.awaited.items()}
    return Recording(f"{rec.name}[{k + 1}/{n}]", rec.index[sl] - first, rec.time[sl] - rec.time[sl][0],
                     {name: v[sl] for name, v in rec.scores.items()}, since=since, awaited=awaited,
                     scale=rec.scale, fps=rec.fps)


def truth_part(truth: Truth, rec: Recording, k: int, n: int) -> Truth:
    """The truth of the same stretch: events clipped to it, renumbered."""
    size = len(rec.index) // n
    lo, hi = int(rec.index[k * size]), int(rec.index[(k + 1) * size - 1])
    kept = [((max(a, lo) - lo, min(b, hi) - lo), kind) for (a, b), kind in zip(truth.events, truth.kinds, strict=True)
            if b >= lo and a <= hi]
    return Truth(tuple(s for s, _ in kept), tuple(k for _, k in kept), truth.declared)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=VTEST)
    parser.add_argument("--truth", default=str(ROOT / "benchmarks/truth/vtest_motion.json"))
    parser.add_argument("--combos", type=int, default=100)
    args = parser.parse_args(argv)
    config = load_config()
    truth = load_truth(args.truth)

    clock = Clock()
    rec = record(args.video, config)
    decode = clock.lap()
    print(f"{args.video}: {len(rec.index)} frames, {rec.seconds:.1f} s of video; decode + detectors {decode}")

    replays = KindReplays("motion", [Clip(rec, truth)], config, tolerance=DEFAULT_TOLERANCE)
    sweep = KindSweep(replays, [0], fixed={}, budget=None, margin=0.0)
    names = sweep.tunable
    every = [Candidate(tuple(names), ths, fusion, mf) for ths in itertools.product(*(sweep.grid[n] for n in names))
             for fusion in _fusions(len(names)) for mf in MIN_FRAMES]
    step = max(len(every) / max(args.combos, 1), 1.0)
    combos = list(dict.fromkeys(every[int(k * step)] for k in range(min(args.combos, len(every)))))
    rec.steps()  # built once per clip, as in tune
    clock.lap()
    for c in combos:
        sweep.trial(c)
    sweep_time = clock.lap()
    print(f"{len(combos)} motion settings ({', '.join(names)}) scored in {sweep_time} "
          f"({sweep_time.cpu / (rec.seconds / 60.0):.2f} CPU s per minute of video; {replays.replays} distinct "
          f"replays of the gate); CPU share of the decode: {sweep_time.cpu / max(decode.cpu, 1e-9):.3f}")

    halves = [Clip(_part(rec, k, 2), truth_part(truth, rec, k, 2)) for k in range(2)]
    result = tune(halves, config)
    full = clock.lap()
    print(f"full tune, the recording cut in two clips (each held out in turn): {result.trials} replays in {full}; "
          f"CPU share of the decode: {full.cpu / max(decode.cpu, 1e-9):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
