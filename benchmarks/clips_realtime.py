"""Clips must not cost analysis its frames: ``--clips`` on a 4K source played in real time, side by side.

Makes a 4K (3840x2160) 30 fps H.264 copy of the first 300 frames of OpenCV's ``vtest.avi`` with
ffmpeg, in a cache directory (people walk through every frame, so one event lasts the whole video
and a clip is being written all the time), then runs, in rounds, each in its own process:

- ``vidwatch run FILE --realtime`` (no outputs), and
- ``vidwatch run FILE --realtime --clips DIR``,

with this checkout's code and with every ``--checkout PATH`` given (another copy of the repository,
e.g. the code from before the clip writer moved off the analysis path), interleaved so that a busy
machine slows them all alike. It prints per variant the frames analysis took and dropped (median
over the rounds, of 300), the frames that reached the clip, and the wall and CPU time of the whole
process (ffmpeg included).

    python benchmarks/clips_realtime.py
    python benchmarks/clips_realtime.py --checkout /tmp/before --rounds 3
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VTEST = Path("/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data/vtest.avi")
FRAMES = 300


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vidwatch-bench"


def make_4k(source: Path) -> Path:
    """vtest.avi's first 300 frames scaled to 3840x2160 and played at 30 fps (made once, then reused)."""
    path = cache_dir() / "vtest_2160p30_h264.mp4"
    if path.exists():
        return path
    if not source.is_file() or shutil.which("ffmpeg") is None:
        sys.exit(f"need ffmpeg and {source} (Debian's opencv-doc) to make the 4K test file")
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part.mp4")
    print(f"making {path} (about a minute) ...", file=sys.stderr, flush=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-vf",
                    "scale=3840:2160,setpts=N/30/TB", "-r", "30", "-frames:v", str(FRAMES), "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(part)], check=True)
    part.rename(path)
    return path


def run(code: Path, video: Path, clips: bool) -> dict[str, float]:
    """One ``vidwatch run --realtime`` of ``video`` with the code in ``code``; what it analysed and wrote."""
    with tempfile.TemporaryDirectory() as out:
        args = [sys.executable, "-m", "vidwatch", "run", str(video), "--realtime", "--progress", "off"]
        if clips:
            args += ["--clips", out]
        env = {**os.environ, "PYTHONPATH": str(code)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(args, cwd=code, env=env, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"vidwatch failed in {code}:\n{done.stderr}")
    summary = next(line for line in done.stdout.splitlines() if ": " in line and " frames (" in line)
    analysed = int(re.search(r": (\d+) frames \(", summary).group(1))  # type: ignore[union-attr]
    dropped = re.search(r"(\d+) stale frames dropped", summary)
    clip_frames = sum(int(n) for n in re.findall(r"clip \S+: (\d+) frames", done.stderr))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"analysed": analysed, "dropped": int(dropped.group(1)) if dropped else 0, "clip": clip_frames,
            "wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", action="append", default=[], type=Path, metavar="PATH",
                        help="another copy of the repository to measure side by side (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vtest", type=Path, default=VTEST)
    args = parser.parse_args()
    video = make_4k(args.vtest)
    codes = [ROOT, *args.checkout]
    variants = [(code, clips) for code in codes for clips in (False, True)]
    results: dict[tuple[Path, bool], list[dict[str, float]]] = {v: [] for v in variants}
    for round_ in range(args.rounds):
        for variant in variants:
            results[variant].append(run(variant[0], video, variant[1]))
            r = results[variant][-1]
            print(f"round {round_ + 1}: {variant[0]} {'--clips' if variant[1] else 'no clips'}: "
                  f"{r['analysed']:.0f} analysed, {r['clip']:.0f} in clips", file=sys.stderr, flush=True)
    print(f"\n{video.name} (3840x2160, 30 fps, {FRAMES} frames), --realtime, {args.rounds} rounds, medians; "
          f"ratios are of each code's own run without clips, in the same rounds\n")
    print("| code | outputs | analysed | dropped | frames in the clip | analysed, ratio | wall s | CPU s | "
          "CPU, ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for code, clips in variants:
        rows, plain = results[(code, clips)], results[(code, False)]

        def median(key: str, rows: list[dict[str, float]] = rows) -> float:
            return statistics.median(r[key] for r in rows)

        def ratio(key: str, plain: list[dict[str, float]] = plain) -> str:
            base = statistics.median(r[key] for r in plain)
            return f"{median(key) / base:.2f}" if base else "–"

        name = "this checkout" if code == ROOT else str(code)
        in_clip = f"{median('clip'):.0f}" if clips else "–"
        print(f"| {name} | {'--clips' if clips else 'none'} | {median('analysed'):.0f} | {median('dropped'):.0f} | "
              f"{in_clip} | {ratio('analysed')} | {median('wall'):.1f} | {median('cpu'):.1f} | {ratio('cpu')} |")

if __name__ == "__main__":
    main()
