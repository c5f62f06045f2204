"""Scale benchmark: hours of footage scanned per hour, on Ray with 1 and 2 workers, beside a plain run.

What it answers: does ``vidwatch run --ray`` grow with the workers it is given (target: 2 local
workers at least 1.7x one), what does Ray itself cost (its start, moving pieces), and, from the
measured rate per core and the data each task moves, what would a cluster of N nodes reach?

The recording is the first ``--minutes`` of the archive benchmark's 30-minute one (:mod:`archive`:
a mostly quiet 1080p recording built from OpenCV's ``vtest.avi``, cached in
``~/.cache/vidwatch-bench``), cut at a keyframe without re-encoding. Every measurement runs in its
own process, timed from outside (whole-process wall time: Python and Ray start-up, planning,
decoding, events, snapshots sent back), one after the other in one run, so a busy machine slows
all of them alike; ``--rounds`` repeats them and reports medians. The events of each run are
compared with the one-process scan's.

    python benchmarks/scale.py                  # 10 minutes (the 30-minute recording is built the first time)
    python benchmarks/scale.py --minutes 30 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from archive import build, cache_dir, compare_events  # noqa: E402

SOURCE_MINUTES = 30.0
"""The archive recording the benchmark's input is cut from."""


def recording(minutes: float) -> Path:
    """The first ``minutes`` of the archive recording (a stream copy, cached beside it)."""
    source, _truth = build(SOURCE_MINUTES)
    if minutes >= SOURCE_MINUTES:
        return source
    path = cache_dir() / f"scale_1080p_{minutes:g}min.mp4"
    if not path.exists():
        partial = path.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-t", str(minutes * 60), "-c", "copy",
                        str(partial)], check=True)
        partial.replace(path)
    return path

RAY_START = ("import time, ray\n"
             "t = time.perf_counter()\n"
             "ray.init(num_cpus=2, include_dashboard=False, logging_level='ERROR')\n"
             "ray.get(ray.remote(lambda: 1).remote())\n"
             "ray.shutdown()\n")
"""Start a local Ray, run one task, stop it: what ``--ray`` adds to a run before any work."""


ONE_WORKER = "vidwatch --ray --jobs 1, on 1 core"
"""One Ray worker on one core (``taskset``: the driver, Ray and the worker share core 0)."""
TWO_WORKERS = "vidwatch --ray --jobs 2"
"""Two Ray workers on both cores."""


@dataclass
class Run:
    label: str
    argv: list[str]
    events_file: Path | None = None
    snapshots: Path | None = None
    wall: list[float] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    sent: int = 0
    """Bytes of snapshots the workers sent back."""


def runs_for(path: Path, work: Path) -> list[Run]:
    vidwatch = [sys.executable, "-m", "vidwatch", "-q", "run", str(path)]
    plan = [Run("Ray start + 1 task + stop", [sys.executable, "-c", RAY_START])]
    one_core = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    for label, extra, name in (("vidwatch (one process)", [], "plain"),
                               ("vidwatch --jobs 2", ["--jobs", "2"], "jobs2"),
                               (ONE_WORKER, ["--ray", "--jobs", "1"], "ray1core"),
                               ("vidwatch --ray --jobs 1", ["--ray", "--jobs", "1"], "ray1"),
                               (TWO_WORKERS, ["--ray", "--jobs", "2"], "ray2")):
        events, snapshots = work / f"{name}.jsonl", work / f"{name}_snaps"
        pin = one_core if label == ONE_WORKER else []
        plan.append(Run(label, [*pin, *vidwatch, *extra, "--events", str(events), "--snapshots", str(snapshots)],
                        events, snapshots))
    return plan


def measure(run: Run) -> None:
    if run.events_file is not None:
        run.events_file.unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.run(run.argv, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{run.label} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    run.wall.append(wall)
    if run.events_file is not None:
        run.events = [json.loads(line) for line in run.events_file.read_text().splitlines() if line.strip()]
    if run.snapshots is not None and run.snapshots.is_dir():
        run.sent = sum(p.stat().st_size for p in run.snapshots.iterdir())


def report(path: Path, seconds: float, runs: list[Run]) -> str:
    by = {r.label: r for r in runs}
    hours = seconds / 3600.0
    start = statistics.median(by["Ray start + 1 task + stop"].wall)
    one = statistics.median(by[ONE_WORKER].wall)
    two = statistics.median(by[TWO_WORKERS].wall)
    plain = by["vidwatch (one process)"]
    lines = [f"{path.name}: {seconds / 60:.0f} min of 1080p25 footage, {path.stat().st_size / 1e6:.0f} MB "
             f"({path.stat().st_size * 8 / seconds / 1e6:.2f} Mbit/s); medians of {len(plain.wall)} round(s)",
             "",
             "| run | wall s | footage h per h | vs 1 worker on 1 core | events vs one process |",
             "|---|---:|---:|---:|---|"]
    for run in runs:
        wall = statistics.median(run.wall)
        if run.events_file is None:
            lines.append(f"| {run.label} | {wall:.1f} | – | – | – |")
            continue
        same = "reference" if run is plain else compare_events(run.events, plain.events)
        lines.append(f"| {run.label} | {wall:.1f} | {hours / (wall / 3600):.1f} | {one / wall:.2f}x | {same} |")
    # the model: per-core rate without Ray's fixed start, data per footage hour
    per_core = hours / ((one - start) / 3600)
    two_steady = (one - start) / (two - start)
    bitrate = path.stat().st_size / seconds * 3600  # bytes per footage hour a worker reads
    sent = by[TWO_WORKERS].sent / hours  # snapshot bytes per footage hour sent back
    lines += ["",
              f"Ray's fixed cost (start, one task, stop): {start:.1f} s. Two workers on two cores run "
              f"{one / two:.2f}x one worker on one core (whole process), {two_steady:.2f}x without Ray's fixed cost.",
              f"Per core: {per_core:.1f} footage hours per hour. Each footage hour a worker reads "
              f"{bitrate / 1e9:.2f} GB of video and sends back {sent / 1e3:.0f} kB of snapshots and its events.",
              "",
              "Model for N nodes of C cores (rate r per core, file bitrate b, start s):",
              f"  footage h per h ~= N*C*r = N*C*{per_core:.1f}, while the storage can serve N*C*r*b/3600 bytes/s "
              f"({per_core * bitrate / 3600 / 1e6:.1f} MB/s per core here);",
              f"  a job of H footage hours takes ~ s + H/(N*C*r) hours; e.g. 10 nodes x 16 cores: "
              f"{10 * 16 * per_core:.0f} footage h per h, reading "
              f"{10 * 16 * per_core * bitrate / 3600 / 1e9:.2f} GB/s."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the recording (default 10)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of measurements (medians)")
    args = parser.parse_args(argv)
    try:
        import ray  # noqa: F401
    except ImportError:
        raise SystemExit("benchmarks/scale.py needs Ray: pip install -e '.[ray]'") from None
    path = recording(args.minutes)
    seconds = min(args.minutes, SOURCE_MINUTES) * 60.0
    with tempfile.TemporaryDirectory(prefix="vidwatch-scale-") as tmp:
        runs = runs_for(path, Path(tmp))
        for r in range(args.rounds):
            for run in runs:
                measure(run)
                print(f"  round {r + 1}/{args.rounds}  {run.label:<28} {run.wall[-1]:7.1f} s", file=sys.stderr,
                      flush=True)
        print(report(path, seconds, runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
