"""How long tuning takes: one decode, then the sweep on the recorded scores.

    python benchmarks/tune_speed.py [VIDEO] [--truth FILE] [--combos 100]

Default VIDEO is the opencv-doc pedestrian clip vtest.avi (795 frames, 79.5 s) with
benchmarks/truth/vtest_motion.json. Prints the decode time, the time of ``--combos`` motion
settings scored by replaying the gate (thresholds x fusion x min frames), and a full ``tune`` with
cross-validation (the clip cut in two halves, each held out in turn).
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
from vidwatch.tune import Candidate, Clip, KindReplays, KindSweep, tune  # noqa: E402

VTEST = "/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def _part(rec: Recording, k: int, n: int) -> Recording:
    """The k-th of n equal stretches of a recording (frames renumbered from 0)."""
    size = len(rec.index) // n
    sl = slice(k * size, (k + 1) * size)
    first = rec.index[sl][0]
    since = {name: np.where(v[sl] >= first, v[sl] - first, -1) for name, v in rec.since.items()}
    return Recording(f"{rec.name}[{k + 1}/{n}]", rec.index[sl] - first, rec.time[sl] - rec.time[sl][0],
                     {name: v[sl] for name, v in rec.scores.items()}, since=since, scale=rec.scale, fps=rec.fps)


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

    t0 = time.perf_counter()
    rec = record(args.video, config)
    decode = time.perf_counter() - t0
    print(f"{args.video}: {len(rec.index)} frames, {rec.seconds:.1f} s of video; decode + detectors {decode:.2f} s")

    replays = KindReplays("motion", [Clip(rec, truth)], config, tolerance=DEFAULT_TOLERANCE)
    sweep = KindSweep(replays, [0], fixed={}, budget=None, margin=0.0)
    names = sweep.tunable
    grids = [sweep.grid[n][::3] for n in names]
    combos = [Candidate(tuple(names), ths, fusion, mf)
              for ths in itertools.product(*grids) for fusion in ("any", 2, "all") for mf in (1, 3, 6)]
    combos = combos[: args.combos]
    rec.steps()  # built once per clip, as in tune
    t0 = time.perf_counter()
    for c in combos:
        sweep.trial(c)
    sweep_time = time.perf_counter() - t0
    per_minute = sweep_time / (rec.seconds / 60.0)
    print(f"{len(combos)} settings scored in {sweep_time:.2f} s ({per_minute:.2f} s per minute of video; "
          f"{replays.replays} distinct replays of the gate)")

    t0 = time.perf_counter()
    halves = [Clip(_part(rec, k, 2), truth_part(truth, rec, k, 2)) for k in range(2)]
    result = tune(halves, config)
    print(f"full tune, the recording cut in two clips (each held out in turn): {result.trials} replays "
          f"in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
