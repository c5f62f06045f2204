"""Archive benchmark: a long, mostly quiet 1080p recording scanned whole, split, triaged, and by DVR-Scan.

What it answers: how much sooner does a person with a long recording get the same events when the
file is split over the cores (``--jobs``) and when only the stretches where something happens are
decoded (``--fast``), compared with plain OpenCV decoding, a one-process scan and DVR-Scan (with
and without its frame skipping, ``-df 4``)?

The recording is built once from real footage (OpenCV's ``vtest.avi``, Debian ``opencv-doc``) and
cached in ``~/.cache/vidwatch-bench``: the empty plaza (the per-pixel temporal median of the clip,
cropped to 16:9) with sensor noise, H.264-compressed as a camera records it (1080p, 25 fps, a
keyframe every 2 s, CRF 23, no B-frames), and, a few times in half an hour, real pedestrians cut
out of the same footage walking through it, and nuisances (a passing cloud, a gust shaking the
camera, a floodlight switched on and off). Its truth is written beside it.

Every measurement runs in its own process and is timed from outside (whole-process wall time:
start-up, demuxing and planning included), one after the other in one run, so a busy machine
slows all of them alike. Events of each vidwatch run are compared with the one-process scan's.

    python benchmarks/archive.py                 # build (first time, ~25 min) and measure
    python benchmarks/archive.py --minutes 20    # a shorter recording (another cache file)
    python benchmarks/archive.py --only build    # just build the recording
    python benchmarks/archive.py --clips benchmarks/.cache/accuracy   # --fast vs a full scan, per clip
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

# the footage, scene description and renderer of the accuracy benchmark
import accuracy_scene as scene  # noqa: E402
from accuracy_footage import find_data_dir, load_footage  # noqa: E402
from accuracy_render import render, truth_for  # noqa: E402

DVR_SCAN = Path("/opt/peers/bin/dvr-scan")
FPS = 25.0
RENDER = (960, 540)
"""Pictures are composed at this size and scaled up to 1080p by ffmpeg, as a camera's ISP would."""
SIZE = (1920, 1080)
RENDER_NOISE = 2.0
"""Sensor noise sigma (grey levels) added before scaling up: it comes out soft, like a camera's."""
FINE_NOISE = 4
"""ffmpeg ``noise`` strength added at 1080p, fresh every frame (per-pixel grain)."""
BUILD_VERSION = 2
"""Bump when the recording changes, so the cached one is rebuilt."""
NOISE_BANK = 48
"""Noise fields drawn once and picked at random, rolled, for every quiet frame (as the renderer does)."""
PEDESTRIANS = "dev"
"""Whose pedestrians walk through the recording (the accuracy benchmark's dev split)."""


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vidwatch-bench"


# --- what happens in the recording ----------------------------------------------------------

@dataclass(frozen=True)
class Incident:
    """Something that happens, rendered as an accuracy-benchmark clip starting at ``at`` seconds."""

    at: float
    clip: scene.Clip
    what: str


# Paths in the renderer's world units (fractions of the world width; the picture shows x 0.08..0.92,
# y 0.05..0.52 of it), along the plaza's walkways.
ACROSS_LR = [(-0.04, 0.22), (0.40, 0.28), (0.70, 0.36), (1.05, 0.44)]
ACROSS_RL = [(1.05, 0.30), (0.60, 0.26), (0.30, 0.24), (-0.05, 0.20)]
FAR_SIDE = [(1.04, 0.12), (0.70, 0.13), (0.40, 0.12), (-0.04, 0.11)]
DOWN_LEFT = [(0.30, 0.02), (0.25, 0.25), (0.16, 0.66)]


def incidents(minutes: float) -> list[Incident]:
    """A few incidents spread over the recording (times scale with its length)."""
    k = minutes / 30.0
    W, H = RENDER

    def clip(name: str, seconds: float, seed: int, **kw: object) -> scene.Clip:
        return scene.Clip(name, name, width=W, height=H, fps=FPS, seconds=seconds, seed=seed, noise=RENDER_NOISE,
                          split=PEDESTRIANS, **kw)  # type: ignore[arg-type]

    return [
        Incident(240 * k, clip("walker", 19, 101, walkers=[scene.Walker(0, 12, ACROSS_LR, 3.0, 0.007)]),
                 "a person crosses the plaza"),
        Incident(560 * k, clip("two_walkers", 26, 102, walkers=[scene.Walker(2, 12, ACROSS_RL, 2.6, 0.007),
                                                               scene.Walker(0, 150, ACROSS_LR, 3.2, 0.008)]),
                 "two people cross, the second 5 s after the first"),
        Incident(800 * k, clip("cloud", 12, 103, light=_cloud(1.0, 5.0, 7.0, 11.0, 0.72)),
                 "a cloud dims the scene to 72% and passes (nuisance)"),
        Incident(1000 * k, clip("gust", 6, 104, shake=scene.shake_bursts([(1.0, 4.0)], 3.0)),
                 "a gust shakes the camera for 3 s (nuisance)"),
        Incident(1250 * k, clip("distant_walker", 30, 105, walkers=[scene.Walker(1, 10, FAR_SIDE, 1.6, 0.003)]),
                 "a distant person (0.3% of the picture) walks slowly along the far side"),
        Incident(1500 * k, clip("floodlight", 24, 106, light=scene.steps([(2.0, 1.3, 1.0), (22.0, 1.0, 1.0)], 1.0),
                                lighting=[50, 550]),
                 "a floodlight switches on and, 20 s later, off (two lighting events)"),
        Incident(1650 * k, clip("walker_exit", 14, 107, walkers=[scene.Walker(1, 12, DOWN_LEFT, 3.0, 0.008)]),
                 "a person walks in from the top and leaves at the bottom"),
    ]


def _cloud(t0: float, t1: float, t2: float, t3: float, low: float):
    """Light falling from 1 to ``low`` over t0..t1, staying until t2, back to 1 by t3."""
    def light(t: float) -> tuple[float, float]:
        if t <= t0 or t >= t3:
            return 1.0, 1.0
        if t < t1:
            return 1.0 + (low - 1.0) * (t - t0) / (t1 - t0), 1.0
        if t <= t2:
            return low, 1.0
        return low + (1.0 - low) * (t - t2) / (t3 - t2), 1.0
    return light


# --- building the recording -------------------------------------------------------------------

def recording_path(minutes: float) -> Path:
    return cache_dir() / f"archive_1080p_{minutes:g}min.mp4"


def build(minutes: float, *, force: bool = False) -> tuple[Path, dict]:
    """The recording and its truth, built if missing (the truth file is written last: it marks completion)."""
    path = recording_path(minutes)
    truth_path = path.with_suffix(".json")
    if not force and path.is_file() and truth_path.is_file():
        truth = json.loads(truth_path.read_text())
        if truth.get("version") == BUILD_VERSION:
            return path, truth
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed to build the recording")
    if find_data_dir() is None:
        sys.exit("OpenCV's sample footage (vtest.avi) is needed: apt-get download opencv-doc && "
                 "dpkg -x opencv-doc_*.deb /tmp/ocvdoc")
    path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.unlink(missing_ok=True)
    started = time.perf_counter()
    footage = load_footage()
    rows = footage.plate.shape[0]
    keep = int(round(footage.plate.shape[1] * 9 / 16))  # 16:9 out of the 4:3 plate, centred
    footage = dataclasses.replace(footage, plate=footage.plate[(rows - keep) // 2:(rows - keep) // 2 + keep])
    total = int(round(minutes * 60 * FPS))
    plan = incidents(minutes)
    W, H = RENDER
    part = path.with_suffix(".part.mp4")
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-r", f"{FPS:g}",
           "-i", "-", "-vf", f"scale={SIZE[0]}:{SIZE[1]}:flags=bicubic,noise=c0s={FINE_NOISE}:c0f=t",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", str(int(2 * FPS)),
           "-keyint_min", str(int(2 * FPS)), "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p",
           "-movflags", "+faststart", str(part)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    write = proc.stdin.write
    # the empty scene exactly as the renderer draws it, and fresh noise for every quiet frame
    base: list[np.ndarray] = []
    render(dataclasses.replace(plan[0].clip, seconds=1 / FPS, walkers=[], noise=0.0), footage, base.append)
    plate = base[0].astype(np.float32)
    rng = np.random.default_rng(7)
    bank = rng.standard_normal((NOISE_BANK, H, W, 3), dtype=np.float32) * RENDER_NOISE
    truth: dict = {"version": BUILD_VERSION, "fps": FPS, "frames": total, "size": list(SIZE), "motion": [],
                   "lighting": [], "incidents": []}
    frame = 0

    def quiet_until(end: int) -> None:
        nonlocal frame
        while frame < end:
            noise = np.roll(bank[int(rng.integers(NOISE_BANK))], (int(rng.integers(H)), int(rng.integers(W))),
                            axis=(0, 1))
            write(np.clip(plate + noise, 0, 255).astype(np.uint8).tobytes())
            frame += 1

    try:
        for incident in plan:
            first = int(round(incident.at * FPS))
            quiet_until(first)
            print(f"  {incident.at / 60:5.1f} min: {incident.what}", file=sys.stderr, flush=True)
            visible = render(incident.clip, footage, lambda image: write(image.tobytes()))
            frame += incident.clip.frames
            for event in truth_for(incident.clip, visible, footage, BUILD_VERSION)["events"]:
                if len(event) == 2 or event[2] == "motion":
                    truth["motion"].append([first + event[0], first + event[1]])
            truth["lighting"] += [first + f for f in incident.clip.lighting]
            truth["incidents"].append({"frame": first, "frames": incident.clip.frames, "what": incident.what})
        quiet_until(total)
    finally:
        proc.stdin.close()
        code = proc.wait()
    if code != 0:
        sys.exit(f"ffmpeg failed building {path}")
    part.rename(path)
    truth["build_seconds"] = round(time.perf_counter() - started, 1)
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
    return path, truth


# --- measuring --------------------------------------------------------------------------------------

@dataclass
class Run:
    """One measured process."""

    label: str
    argv: list[str]
    events_file: Path | None = None
    wall: list[float] = dataclasses.field(default_factory=list)
    cpu: list[float] = dataclasses.field(default_factory=list)
    output: str = ""
    events: list[dict] | None = None

    @property
    def vidwatch(self) -> bool:
        return self.events_file is not None


def _plain_decode_argv(path: Path) -> list[str]:
    code = ("import cv2, sys\n"
            "capture = cv2.VideoCapture(sys.argv[1])\n"
            "frames = 0\n"
            "while capture.read()[0]:\n"
            "    frames += 1\n"
            "print(frames)\n")
    return [sys.executable, "-c", code, str(path)]


def runs_for(path: Path, work: Path, dvr_scan: Path | None) -> list[Run]:
    vidwatch = [sys.executable, "-m", "vidwatch", "-q", "run", str(path)]
    plan = [Run("plain OpenCV decode", _plain_decode_argv(path))]
    for label, extra, name in (("vidwatch (one process)", [], "full"), ("vidwatch --jobs 2", ["--jobs", "2"], "jobs2"),
                               ("vidwatch --fast", ["--fast"], "fast"),
                               ("vidwatch --fast --jobs 2", ["--fast", "--jobs", "2"], "fast_jobs2")):
        events = work / f"{name}.jsonl"
        plan.append(Run(label, [*vidwatch, *extra, "--events", str(events)], events))
    if dvr_scan is not None:
        base = [str(dvr_scan), "-i", str(path), "-so", "-q", "--ignore-user-config"]
        plan.append(Run("DVR-Scan 1.8 defaults", base))
        plan.append(Run("DVR-Scan -df 4", [*base, "-df", "4"]))
    return plan


def measure(run: Run) -> None:
    """Run the process once; add its whole-process wall time and CPU time (with its children)."""
    if run.events_file is not None:
        run.events_file.unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen(run.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{run.label} failed ({proc.returncode}): {err.strip()[-800:]}")
    run.wall.append(wall)
    run.output = out
    if run.events_file is not None:
        run.events = [json.loads(line) for line in run.events_file.read_text().splitlines() if line.strip()]


def measure_all(runs: list[Run], rounds: int) -> None:
    import resource

    for r in range(rounds):
        for run in runs:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            measure(run)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            run.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
            print(f"  round {r + 1}/{rounds}  {run.label:<26} {run.wall[-1]:7.1f} s wall, {run.cpu[-1]:7.1f} s CPU",
                  file=sys.stderr, flush=True)


def decoded_share(run: Run) -> str:
    """From vidwatch's summary line: 'decoded N of M frames (x %)'."""
    for line in run.output.splitlines():
        if " decoded " in line and " frames (" in line:
            return line.split(" frames (")[1].split(")")[0].replace(" ", "")
    return "100%" if run.vidwatch else "–"


def compare_events(events: list[dict], reference: list[dict]) -> str:
    """Whether ``events`` are the reference's: same count and kinds, starts and ends within a frame."""
    if [e["kind"] for e in events] != [e["kind"] for e in reference]:
        return f"NO ({len(events)} vs {len(reference)} events)"
    starts = [abs(a["start_frame"] - b["start_frame"]) for a, b in zip(events, reference, strict=True)]
    ends = [abs(a["end_frame"] - b["end_frame"]) for a, b in zip(events, reference, strict=True)]
    worst = max(starts + ends, default=0)
    if worst <= 1:
        return "yes"
    off = [f"{b['kind']} {b['start_frame']}-{b['end_frame']}: start {a['start_frame'] - b['start_frame']:+d}, "
           f"end {a['end_frame'] - b['end_frame']:+d}"
           for a, b in zip(events, reference, strict=True) if max(abs(a["start_frame"] - b["start_frame"]),
                                                                  abs(a["end_frame"] - b["end_frame"])) > 1]
    return "same events; beyond 1 frame: " + "; ".join(off)


def dvr_scan_events(output: str, fps: float) -> list[dict]:
    """DVR-Scan's ``-so`` output (start,end,... timecodes, end exclusive) as motion events."""
    def seconds(code: str) -> float:
        h, m, s = code.strip().split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    codes = [c for c in output.strip().replace("\n", ",").split(",") if c.strip()]
    return [{"kind": "motion", "start_frame": int(round(seconds(a) * fps)),
             "end_frame": max(int(round(seconds(a) * fps)), int(round(seconds(b) * fps)) - 1)}
            for a, b in zip(codes[0::2], codes[1::2], strict=False)]


def against_truth(events: list[dict], truth: dict) -> str:
    """Walker incidents found (a motion event overlaps them), false motion events, lighting events."""
    motion = [e for e in events if e["kind"] == "motion"]
    found = sum(1 for a, b in truth["motion"] if any(e["start_frame"] <= b and e["end_frame"] >= a for e in motion))
    false = sum(1 for e in motion if not any(e["start_frame"] <= b and e["end_frame"] >= a for a, b in truth["motion"]))
    light = sum(1 for e in events if e["kind"] == "lighting")
    return f"{found}/{len(truth['motion'])} walkers, {false} false, {light} lighting"


def report(path: Path, truth: dict, runs: list[Run]) -> str:
    import statistics

    plain = runs[0]
    reference = next(r for r in runs if r.vidwatch).events or []
    lines = [f"{path.name}: {truth['frames']} frames, {SIZE[0]}x{SIZE[1]} H.264, {truth['frames'] / FPS / 60:.0f} min "
             f"at {FPS:g} fps; truth: {len(truth['motion'])} walker incidents, {len(truth['lighting'])} light "
             f"switches; {os.cpu_count()} CPUs, {len(plain.wall)} round(s)",
             "",
             "| run | wall s | CPU s | × plain decode | × DVR-Scan | decoded | events vs one-process scan | vs truth |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    dvr = next((r for r in runs if r.label.startswith("DVR-Scan 1.8")), None)
    for run in runs:
        wall = statistics.median(run.wall)
        vs_plain = statistics.median(p / w for p, w in zip(plain.wall, run.wall, strict=True))
        vs_dvr = statistics.median(d / w for d, w in zip(dvr.wall, run.wall, strict=True)) if dvr else None
        if run.vidwatch:
            events = run.events or []
            same = "(reference)" if run.events is reference else compare_events(events, reference)
            truth_text = against_truth(events, truth)
        elif run.label.startswith("DVR-Scan"):
            events = dvr_scan_events(run.output, FPS)
            same, truth_text = "–", against_truth(events, truth)
        else:
            same, truth_text = "–", "–"
        lines.append(f"| {run.label} | {wall:.1f} | {statistics.median(run.cpu):.1f} | **{vs_plain:.2f}** | "
                     f"{f'{vs_dvr:.2f}' if vs_dvr else '–'} | {decoded_share(run)} | {same} | {truth_text} |")
    return "\n".join(lines)


def fast_on_clips(folder: Path) -> int:
    """``--fast`` against a one-process scan on every clip in ``folder`` (the accuracy clips): lost events?"""
    sys.path.insert(0, str(ROOT))
    from vidwatch.config import load_config
    from vidwatch.pipeline import run_source
    from vidwatch.split import PictureOutputs, plan_file, run_in_process

    config = load_config(None)
    clips = sorted(folder.glob("*.mp4"))
    if not clips:
        sys.exit(f"no clips in {folder}; generate them with python benchmarks/accuracy_clips.py")
    lost_total = events_total = 0
    print("| clip | events (full scan) | --fast: found | lost | extra | decoded | starts/ends within 1 frame |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for clip in clips:
        full = run_source(str(clip), config, []).events
        plan = plan_file(str(clip), config, jobs=1, fast=True)
        if plan is None:
            print(f"| {clip.stem} | {len(full)} | (not triaged: cannot be cut at keyframes) | | | | |")
            continue
        stats, output = run_in_process(plan, config, [], pictures=PictureOutputs())
        fast = stats.events
        def overlaps(a: object, b: object) -> bool:
            return a.kind == b.kind and a.start_frame <= b.end_frame and a.end_frame >= b.start_frame  # type: ignore

        found = [e for e in full if any(overlaps(f, e) for f in fast)]
        extra = [f for f in fast if not any(overlaps(f, e) for e in full)]
        exact = len(fast) == len(full) and all(
            f.kind == e.kind and abs(f.start_frame - e.start_frame) <= 1 and abs(f.end_frame - e.end_frame) <= 1
            for f, e in zip(fast, full, strict=True))
        lost = len(full) - len(found)
        lost_total += lost
        events_total += len(full)
        print(f"| {clip.stem} | {len(full)} | {len(found)} | {lost} | {len(extra)} | "
              f"{100 * output.decoded / plan.index.frames:.0f} % | {'yes' if exact else 'no'} |", flush=True)
    print(f"\n{len(clips)} clips, {events_total} events in the full scans, {lost_total} lost by --fast")
    return 1 if lost_total else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the recording (default 30)")
    parser.add_argument("--only", choices=("build",), help="only build the recording")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the recording even if cached")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of measurements (ratios: median)")
    parser.add_argument("--dvr-scan", type=Path, default=DVR_SCAN, help="DVR-Scan executable (skipped if absent)")
    parser.add_argument("--no-dvr-scan", action="store_true", help="do not run DVR-Scan")
    parser.add_argument("--clips", type=Path, metavar="DIR",
                        help="instead: check that --fast loses no event of a one-process scan on every clip in DIR "
                             "(e.g. benchmarks/.cache/accuracy)")
    args = parser.parse_args(argv)
    if args.clips:
        return fast_on_clips(args.clips)
    path, truth = build(args.minutes, force=args.rebuild)
    print(f"recording: {path} ({truth['frames']} frames, {path.stat().st_size / 1e6:.0f} MB)", flush=True)
    if args.only == "build":
        return 0
    import tempfile

    dvr_scan = None if args.no_dvr_scan or not args.dvr_scan.exists() else args.dvr_scan
    with tempfile.TemporaryDirectory(prefix="vidwatch-archive-") as work:
        runs = runs_for(path, Path(work), dvr_scan)
        measure_all(runs, args.rounds)
        print(report(path, truth, runs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
