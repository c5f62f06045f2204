"""Throughput and peak memory, side by side in one run: plain decoding, vidwatch, DVR-Scan.

For each video it times, on the same file and interleaved so that a busy machine slows all of them
alike:

- ``decode``: plain OpenCV decoding, ``cv2.VideoCapture.read()`` in a loop (the floor every
  OpenCV-based tool pays);
- ``vidwatch``: the default configuration (all four detectors);
- ``diff``, ``background``, ``flow``, ``histogram``: vidwatch with that detector alone;
- ``dvr-scan``: DVR-Scan with its defaults, where it is installed (``--dvr-scan PATH``);
- with ``--set KEY=VALUE`` (repeatable): vidwatch with those overrides, beside the default;
- with ``--against PATH``: the vidwatch of another checkout (a worktree of an earlier commit), so
  two versions of the code are compared in the same rounds.

Each measurement runs in its own process, so its peak resident memory (ru_maxrss) is its own.
Frames per second are over the decode/analysis loop (best of ``--repeat`` rounds); ``CPU ms`` is
the CPU time of all the process's threads per frame over that loop (median), which a busy machine
disturbs far less than wall time. The ratios are medians over the rounds of the ratio measured
within each round, where the runs follow each other: ``× plain decode`` compares loop times,
``× DVR-Scan`` whole-process wall times (start-up included), the only time DVR-Scan can be
measured by.

Without file arguments it makes 720p and 1080p H.264 copies of OpenCV's ``vtest.avi`` with ffmpeg
in a cache directory (not in the repository) and measures those.

    python benchmarks/throughput.py                      # 720p and 1080p copies of vtest.avi
    python benchmarks/throughput.py clip.mp4 --repeat 3  # your own files
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VTEST = Path("/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data/vtest.avi")
DVR_SCAN = Path("/opt/peers/bin/dvr-scan")
DETECTORS = ("diff", "background", "flow", "histogram")
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vidwatch-bench"


def make_test_files(source: Path, out: Path) -> list[Path]:
    """H.264 copies of ``source`` at 720p and 1080p (made once, then reused)."""
    if not source.is_file():
        sys.exit(f"no test file given and {source} is missing; pass video files or --vtest PATH")
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed to make the test files; install it or pass video files")
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for label, (w, h) in SIZES.items():
        path = out / f"{source.stem}_{label}_h264.mp4"
        if not path.exists():
            print(f"making {path} ...", file=sys.stderr, flush=True)
            tmp = path.with_suffix(".part.mp4")
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-vf", f"scale={w}:{h}",
                            "-c:v", "libx264", "-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p",
                            str(tmp)], check=True)
            tmp.rename(path)
        files.append(path)
    return files


# --- measurements, each run in a child process ------------------------------------------------

def measure_decode(path: str) -> dict[str, float]:
    import cv2

    capture = cv2.VideoCapture(path)
    frames = 0
    started, cpu = time.perf_counter(), time.process_time()
    try:
        while True:
            ok, _ = capture.read()
            if not ok:
                break
            frames += 1
    finally:
        capture.release()
    return {"frames": frames, "seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def measure_vidwatch(path: str, detector: str | None, overrides: list[str] | None = None,
                     root: Path = ROOT) -> dict[str, float]:
    sys.path.insert(0, str(root))  # this checkout's vidwatch (or ``root``'s), whatever is installed
    from vidwatch.config import apply_overrides, build_config
    from vidwatch.pipeline import run_source

    config = build_config(None if detector is None else {"detectors": {detector: {}}})
    if overrides:
        config = apply_overrides(config, overrides)
    cpu = time.process_time()
    stats = run_source(path, config, [])
    return {"frames": stats.frames, "seconds": stats.elapsed, "cpu": time.process_time() - cpu,
            "events": len(stats.events)}


def child_main(kind: str, path: str, overrides: list[str], against: Path | None) -> None:
    if kind == "decode":
        result = measure_decode(path)
    elif kind == VARIANT:
        result = measure_vidwatch(path, None, overrides)
    elif kind == AGAINST and against is not None:
        result = measure_vidwatch(path, None, root=against)
    else:
        result = measure_vidwatch(path, None if kind == "vidwatch" else kind)
    print(json.dumps(result))


def run_child(argv: list[str]) -> dict[str, float]:
    """Run one measurement process; add its wall time and peak memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()[-500:]}")
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1]) if argv[0] == sys.executable else {}
    result["process_seconds"] = wall
    result["peak_mb"] = usage.ru_maxrss / 1024.0  # Linux reports KiB
    return result


def frame_count(path: Path) -> int:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


def bench_file(path: Path, kinds: list[str], repeat: int, dvr_scan: Path | None,
               overrides: list[str] | None = None, against: Path | None = None) -> dict[str, list[dict]]:
    """Every measurement ``repeat`` times, in rounds, so each round sees the machine in one state."""
    runs: dict[str, list[dict]] = {}
    names = kinds + (["dvr-scan"] if dvr_scan else [])
    frames = frame_count(path)
    for r in range(repeat):
        for kind in names:
            if kind == "dvr-scan":
                argv = [str(dvr_scan), "-i", str(path), "-so", "-q", "--ignore-user-config"]
            else:
                argv = [sys.executable, __file__, "--child", kind, str(path)]
                argv += [f"--set={item}" for item in overrides or ()] if kind == VARIANT else []
                argv += [f"--against={against}"] if kind == AGAINST else []
            res = run_child(argv)
            if kind == "dvr-scan":
                res["frames"], res["seconds"] = frames, res["process_seconds"]
            print(f"  round {r + 1}/{repeat} {kind:<10} {res['frames'] / res['seconds']:8.1f} fps  "
                  f"{res['peak_mb']:6.0f} MB", file=sys.stderr, flush=True)
            runs.setdefault(kind, []).append(res)
    return runs


LABELS = {"decode": "plain OpenCV decode", "vidwatch": "vidwatch default (all detectors)",
          "dvr-scan": "DVR-Scan defaults"}
VARIANT = "variant"
"""The run kind of vidwatch with ``--set`` overrides, measured beside the default."""
AGAINST = "against"
"""The run kind of another checkout's vidwatch (``--against``), measured beside this one's."""


def paired_ratio(base: list[dict], runs: list[dict], key: str) -> float:
    """Median over rounds of how many times faster ``runs`` were than ``base`` in the same round."""
    return statistics.median(b[key] / r[key] for b, r in zip(base, runs, strict=True))


def table(path: Path, runs: dict[str, list[dict]], overrides: list[str] | None = None,
          against: Path | None = None) -> str:
    decode, dvr = runs.get("decode"), runs.get("dvr-scan")
    first = next(iter(runs.values()))[0]
    lines = [f"{path.name}: {int(first['frames'])} frames",
             "| run | fps | CPU ms/frame | × plain decode | × DVR-Scan | peak MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for kind, results in runs.items():
        fps = max(r["frames"] / r["seconds"] for r in results)
        cpu = (f"{statistics.median(r['cpu'] / r['frames'] for r in results) * 1e3:.2f}"
               if "cpu" in results[0] else "–")
        vs_decode = vs_dvr = "–"
        if decode and kind != "dvr-scan":
            vs_decode = f"{paired_ratio(decode, results, 'seconds'):.2f}"
        if dvr:
            vs_dvr = f"{paired_ratio(dvr, results, 'process_seconds'):.1f}"
        peak = max(r["peak_mb"] for r in results)
        label = LABELS.get(kind, f"vidwatch {kind} only")
        if kind == VARIANT:
            label = "vidwatch " + " ".join(overrides or ())
        elif kind == AGAINST:
            label = f"vidwatch at {against}"
        lines.append(f"| {label} | {fps:.0f} | {cpu} | {vs_decode} | {vs_dvr} | {peak:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="videos to measure (default: 720p and 1080p "
                        "H.264 copies of vtest.avi, made with ffmpeg)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of measurements (ratios: median)")
    parser.add_argument("--only", nargs="+", choices=("decode", "vidwatch", *DETECTORS),
                        help="measure only these (default: all)")
    parser.add_argument("--vtest", type=Path, default=VTEST, help="clip to scale up when no files are given")
    parser.add_argument("--dvr-scan", type=Path, default=DVR_SCAN, help="DVR-Scan executable (skipped if absent)")
    parser.add_argument("--no-dvr-scan", action="store_true", help="do not run DVR-Scan")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="also measure vidwatch with these config overrides (repeatable), beside the default")
    parser.add_argument("--against", type=Path, metavar="PATH",
                        help="also measure the vidwatch of another checkout (e.g. a git worktree of an earlier "
                        "commit), beside this one's, in the same rounds")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child, args.set, args.against)
        return
    files = args.files or make_test_files(args.vtest, cache_dir())
    kinds = (args.only or ["decode", "vidwatch", *DETECTORS]) + ([VARIANT] if args.set else [])
    if args.against is not None:
        if not (args.against / "vidwatch" / "__init__.py").is_file():
            sys.exit(f"--against {args.against}: no vidwatch package there; give a checkout of this repository")
        kinds.append(AGAINST)
    dvr_scan = None if args.no_dvr_scan or not args.dvr_scan.exists() else args.dvr_scan
    print(f"{os.cpu_count()} CPUs, {args.repeat} rounds; DVR-Scan: {dvr_scan or 'not run'}", flush=True)
    for path in files:
        print(f"measuring {path} ...", file=sys.stderr, flush=True)
        results = bench_file(path, kinds, args.repeat, dvr_scan, args.set, args.against)
        print(table(path, results, args.set, args.against), flush=True)
        print(flush=True)


if __name__ == "__main__":
    main()
