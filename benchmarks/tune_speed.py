"""How long tuning takes: one decode, then the sweep on the recorded scores.

    python benchmarks/tune_speed.py [VIDEO] [--truth FILE] [--combos 100]

Default VIDEO is the opencv-doc pedestrian clip vtest.avi (795 frames, 79.5 s) with
benchmarks/truth/vtest_motion.json. Prints the decode time, the time of ``--combos`` motion
settings replayed through the gate (thresholds x fusion x min frames), and a full ``tune``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidwatch.config import load_config  # noqa: E402
from vidwatch.evaluate import DEFAULT_TOLERANCE, load_truth  # noqa: E402
from vidwatch.recording import record  # noqa: E402
from vidwatch.tune import Candidate, Clip, KindSweep, tune  # noqa: E402

VTEST = "/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data/vtest.avi"


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

    sweep = KindSweep("motion", [Clip(rec, truth)], config, fixed={}, tolerance=DEFAULT_TOLERANCE,
                      max_false_per_hour=None, by_truth=True)
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
    print(f"{len(combos)} settings replayed in {sweep_time:.2f} s ({per_minute:.2f} s per minute of video)")

    t0 = time.perf_counter()
    result = tune([Clip(rec, truth)], config)
    print(f"full tune on the recording: {result.trials} settings in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
