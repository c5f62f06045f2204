"""Throughput and peak memory, side by side in one run: plain decoding, vidwatch, DVR-Scan.

For each video it times, on the same file and interleaved so that a busy machine slows all of them
alike:

- ``decode``: plain OpenCV decoding, ``cv2.VideoCapture.read()`` in a loop (the floor every
  OpenCV-based tool pays);
- ``vidwatch``: the default configuration (all four detectors);
- ``diff``, ``background``, ``flow``, ``histogram``: vidwatch with that detector alone;
- ``dvr-scan``: DVR-Scan with its defaults, where it is installed (``--dvr-scan PATH``).

Each measurement runs in its own process, so its peak resident memory (ru_maxrss) is its own.
Frames per second are over the decode/analysis loop; ``proc fps`` divides by the whole process's
wall time (start-up included), which is the only time DVR-Scan can be measured by, so the
vidwatch / DVR-Scan ratio compares process times. Each figure is the best of ``--repeat`` runs.

Without file arguments it makes 720p and 1080p H.264 copies of OpenCV's ``vtest.avi`` with ffmpeg
in a cache directory (not in the repository) and measures those.

    python benchmarks/throughput.py                      # 720p and 1080p copies of vtest.avi
    python benchmarks/throughput.py clip.mp4 --repeat 5  # your own files
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
    started = time.perf_counter()
    try:
        while True:
            ok, _ = capture.read()
            if not ok:
                break
            frames += 1
    finally:
        capture.release()
    return {"frames": frames, "seconds": time.perf_counter() - started}


def measure_vidwatch(path: str, detector: str | None) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from vidwatch.config import build_config
    from vidwatch.pipeline import run_pipeline
    from vidwatch.sources import open_source

    config = build_config(None if detector is None else {"detectors": {detector: {}}})
    stats = run_pipeline(open_source(path, config.source), config, [])
    return {"frames": stats.frames, "seconds": stats.elapsed, "events": len(stats.events)}


def child_main(kind: str, path: str) -> None:
    result = measure_decode(path) if kind == "decode" else measure_vidwatch(
        path, None if kind == "vidwatch" else kind)
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


def bench_file(path: Path, kinds: list[str], repeat: int, dvr_scan: Path | None) -> dict[str, dict[str, float]]:
    best: dict[str, dict[str, float]] = {}
    names = kinds + (["dvr-scan"] if dvr_scan else [])
    frames = frame_count(path)
    for r in range(repeat):
        for kind in names:
            if kind == "dvr-scan":
                argv = [str(dvr_scan), "-i", str(path), "-so", "-q", "--ignore-user-config"]
            else:
                argv = [sys.executable, __file__, "--child", kind, str(path)]
            res = run_child(argv)
            if kind == "dvr-scan":
                res["frames"], res["seconds"] = frames, res["process_seconds"]
            print(f"  run {r + 1}/{repeat} {kind:<10} {res['frames'] / res['seconds']:8.1f} fps  "
                  f"{res['peak_mb']:6.0f} MB", file=sys.stderr, flush=True)
            keep = best.get(kind)
            if keep is None or res["seconds"] < keep["seconds"]:
                res["peak_mb"] = max(res["peak_mb"], keep["peak_mb"] if keep else 0.0)
                best[kind] = res
            else:
                keep["peak_mb"] = max(keep["peak_mb"], res["peak_mb"])
                keep["process_seconds"] = min(keep["process_seconds"], res["process_seconds"])
    return best


def table(path: Path, results: dict[str, dict[str, float]]) -> str:
    decode = results.get("decode")
    dvr = results.get("dvr-scan")
    lines = [f"{path.name}: {int(next(iter(results.values()))['frames'])} frames",
             "| run | fps | proc fps | × plain decode | × DVR-Scan | peak MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for kind, res in results.items():
        fps = res["frames"] / res["seconds"]
        proc_fps = res["frames"] / res["process_seconds"]
        vs_decode = f"{decode['seconds'] / res['seconds']:.2f}" if decode and kind != "dvr-scan" else "–"
        vs_dvr = f"{dvr['process_seconds'] / res['process_seconds']:.1f}" if dvr else "–"
        label = {"decode": "plain OpenCV decode", "vidwatch": "vidwatch default (4 detectors)",
                 "dvr-scan": "DVR-Scan defaults"}.get(kind, f"vidwatch {kind} only")
        lines.append(f"| {label} | {fps:.0f} | {proc_fps:.0f} | {vs_decode} | {vs_dvr} | {res['peak_mb']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="videos to measure (default: 720p and 1080p "
                        "H.264 copies of vtest.avi, made with ffmpeg)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    parser.add_argument("--only", nargs="+", choices=("decode", "vidwatch", *DETECTORS),
                        help="measure only these (default: all)")
    parser.add_argument("--vtest", type=Path, default=VTEST, help="clip to scale up when no files are given")
    parser.add_argument("--dvr-scan", type=Path, default=DVR_SCAN, help="DVR-Scan executable (skipped if absent)")
    parser.add_argument("--no-dvr-scan", action="store_true", help="do not run DVR-Scan")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return
    files = args.files or make_test_files(args.vtest, cache_dir())
    kinds = args.only or ["decode", "vidwatch", *DETECTORS]
    dvr_scan = None if args.no_dvr_scan or not args.dvr_scan.exists() else args.dvr_scan
    print(f"{os.cpu_count()} CPUs; best of {args.repeat}; DVR-Scan: {dvr_scan or 'not run'}", flush=True)
    for path in files:
        print(f"measuring {path} ...", file=sys.stderr, flush=True)
        results = bench_file(path, kinds, args.repeat, dvr_scan)
        print(table(path, results), flush=True)
        print(flush=True)


if __name__ == "__main__":
    main()
