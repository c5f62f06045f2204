"""What does serving cost? Two cameras under ``vidwatch serve`` against the same two under ``vidwatch run``.

Serves two looping H.264 streams over HTTP on loopback (ffmpeg, as the tests do; the default clip is
OpenCV's vtest.avi scaled to 1280x720 at its own 10 fps, or a generated clip where opencv-doc is missing:
a rate a shared 2-core machine keeps up with, so both variants analyse every frame), then
runs, one after the other and in turns for ``--rounds`` rounds:

- ``run``: two ``vidwatch run URL --snapshots --clips --events`` processes, one per camera (a live
  source never ends, so one ``run`` cannot take both);
- ``serve``: one ``vidwatch serve`` with both cameras (SQLite, snapshots and clips, web server, metrics;
  with ``--mqtt`` also a mosquitto broker and MQTT), nobody watching;
- ``serve, watched``: the same while a viewer pulls both live views (MJPEG at the live rate) and polls
  the cameras, scores and events every second or two, as the page does.

Each variant runs for ``--duration`` seconds after a warm-up. vidwatch's CPU time (user + system, all
threads, from /proc) is read at the start and end of that window; frames analysed and dropped come from
the status lines of ``run`` (one a second) and from /metrics for ``serve``. The streams' own ffmpeg
processes are not counted.

    python benchmarks/serve_cost.py                       # 60 s per variant, 1 round, with MQTT
    python benchmarks/serve_cost.py --duration 30 --rounds 2 --clip my_720p.mp4

Linux only (reads /proc). Needs ffmpeg with libx264, and mosquitto for ``--mqtt`` (the default).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.serve_env import MOSQUITTO, Broker, HttpStream, make_camera_clip, site_yaml  # noqa: E402
from tests.stream_server import FFMPEG, free_port  # noqa: E402
from tests.vidwatch_process import VidwatchProcess  # noqa: E402

VTEST = Path("/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data/vtest.avi")
CACHE = Path(tempfile.gettempdir()) / "vidwatch-bench"
TICKS = os.sysconf("SC_CLK_TCK")
ANALYSED = re.compile(r"status .*: in [\d.]+ fps, analysed ([\d.]+) fps, dropped (\d+)")


def make_clip() -> Path:
    """A 720p H.264 camera clip with people (vtest.avi) or, without opencv-doc, the tests' crossing square."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / ("vtest_720p10.ts" if VTEST.exists() else "square_720p10.ts")
    if out.exists():
        return out
    source = VTEST if VTEST.exists() else make_camera_clip(CACHE / "square.avi")
    print(f"making {out} from {source} ...", flush=True)
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", "-stream_loop", "1", "-i", str(source), "-t", "60",
                    "-vf", "scale=1280:720:flags=bicubic,fps=10", "-c:v", "libx264", "-preset", "veryfast",
                    "-g", "10", "-b:v", "3M", "-pix_fmt", "yuv420p", "-bsf:v", "dump_extra", "-f", "mpegts", str(out)],
                   check=True)
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Viewer:
    """What the page does: both live views as MJPEG, the cameras every second, scores and events every 2 s."""

    def __init__(self, base: str, cameras: list[str]) -> None:
        self.base = base
        self.cameras = cameras
        self.stop = threading.Event()
        self.bytes = 0
        self.threads = [threading.Thread(target=self._mjpeg, args=(c,), daemon=True) for c in cameras]
        self.threads.append(threading.Thread(target=self._poll, daemon=True))

    def start(self) -> Viewer:
        for thread in self.threads:
            thread.start()
        return self

    def _mjpeg(self, camera: str) -> None:
        with urllib.request.urlopen(f"{self.base}/api/cameras/{camera}/live.mjpg", timeout=10) as stream:
            while not self.stop.is_set():
                chunk = stream.read(65536)
                if not chunk:
                    return
                self.bytes += len(chunk)

    def _poll(self) -> None:
        tick = 0
        while not self.stop.wait(1.0):
            paths = ["/api/cameras"] + ([f"/api/cameras/{c}/scores" for c in self.cameras] + ["/api/events?limit=50"]
                                        if tick % 2 == 0 else [])
            for path in paths:
                with urllib.request.urlopen(self.base + path, timeout=10) as response:
                    self.bytes += len(response.read())
            tick += 1

    def close(self) -> None:
        self.stop.set()


def totals(base: str) -> tuple[float, float]:
    """(frames analysed, frames dropped) of all cameras, from /metrics."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        lines = response.read().decode().splitlines()

    def total(name: str) -> float:
        return sum(float(line.split()[-1]) for line in lines if line.startswith(name + "{"))

    return total("vidwatch_camera_frames_total"), total("vidwatch_camera_dropped_frames_total")


def measure_run(clip: Path, folder: Path, warmup: float, duration: float) -> dict[str, float]:
    streams = [HttpStream(clip, fmt="mpegts").start() for _ in range(2)]
    runs = [VidwatchProcess("run", s.url, "--snapshots", str(folder / f"run{i}"), "--clips", str(folder / f"run{i}"),
                            "--events", str(folder / f"run{i}.jsonl"), "--status", "1", "--progress", "off")
            for i, s in enumerate(streams)]
    try:
        time.sleep(warmup)
        lines = [len(r.lines) for r in runs]
        cpu0 = sum(cpu_seconds(r.proc.pid) for r in runs)
        time.sleep(duration)
        cpu = sum(cpu_seconds(r.proc.pid) for r in runs) - cpu0
        for run in runs:
            assert run.proc.poll() is None, f"vidwatch run ended early:\n{run.log}"
        frames = dropped = 0.0  # each status line: the analysed rate and the drops over the second before it
        for run, start in zip(runs, lines, strict=True):
            matches = [m for line in run.lines[start:] if (m := ANALYSED.search(line))]
            frames += sum(float(m.group(1)) for m in matches)
            dropped += sum(int(m.group(2)) for m in matches)
    finally:
        for run in runs:
            run.signal(signal.SIGTERM)
        for run in runs:
            run.finish(60)
        for stream in streams:
            stream.kill()
    return {"cpu": cpu, "frames": frames, "dropped": dropped}


def measure_serve(clip: Path, folder: Path, warmup: float, duration: float, *, watched: bool,
                  mqtt_port: int | None) -> dict[str, float]:
    streams = [HttpStream(clip, fmt="mpegts").start() for _ in range(2)]
    port = free_port()
    cameras = {f"cam{i}": {"source": s.url} for i, s in enumerate(streams)}
    config = site_yaml(folder / "site.yaml", cameras, port=port, data=folder / f"serve-{int(watched)}",
                       mqtt_port=mqtt_port, extra={"outputs": {"pre_roll": 2.0, "post_roll": 2.0},
                                                   "events": {"motion": {"post_roll": 1.0, "merge_gap": 1.0}}})
    service = VidwatchProcess("serve", "-c", str(config))
    base = f"http://127.0.0.1:{port}"
    viewer = None
    try:
        service.wait_for("serving 2 cameras", 30)
        if watched:
            viewer = Viewer(base, list(cameras)).start()
        time.sleep(warmup)
        (frames0, dropped0), cpu0 = totals(base), cpu_seconds(service.proc.pid)
        time.sleep(duration)
        cpu, (frames1, dropped1) = cpu_seconds(service.proc.pid) - cpu0, totals(base)
    finally:
        if viewer is not None:
            viewer.close()
        service.signal(signal.SIGTERM)
        code = service.finish(60)
        for stream in streams:
            stream.kill()
    assert code == 0, service.log
    return {"cpu": cpu, "frames": frames1 - frames0, "dropped": dropped1 - dropped0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per variant (default 60)")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring (default 8)")
    parser.add_argument("--rounds", type=int, default=1, help="times each variant runs, in turns (default 1)")
    parser.add_argument("--clip", type=Path, help="camera clip to serve (default: see above)")
    parser.add_argument("--no-mqtt", dest="mqtt", action="store_false", help="serve without MQTT")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON too")
    args = parser.parse_args()
    if not FFMPEG:
        sys.exit("needs ffmpeg")
    clip = args.clip or make_clip()
    broker = None
    with tempfile.TemporaryDirectory(prefix="vidwatch-serve-cost-") as tmp:
        folder = Path(tmp)
        if args.mqtt:
            if not MOSQUITTO:
                sys.exit("needs mosquitto for MQTT (or --no-mqtt)")
            broker = Broker(folder).start()
        results: dict[str, list[dict[str, float]]] = {"run": [], "serve": [], "serve, watched": []}
        try:
            for round_ in range(args.rounds):
                for name in results:
                    print(f"round {round_ + 1}: {name} ...", flush=True)
                    if name == "run":
                        result = measure_run(clip, folder, args.warmup, args.duration)
                    else:
                        result = measure_serve(clip, folder, args.warmup, args.duration, watched="watched" in name,
                                               mqtt_port=broker.port if broker else None)
                    results[name].append(result)
        finally:
            if broker is not None:
                broker.stop()
    base = statistics.median(r["cpu"] for r in results["run"])
    base_frame = statistics.median(r["cpu"] / r["frames"] for r in results["run"])
    print(f"\ntwo cameras ({clip.name}), {args.duration:g} s measured per variant, {args.rounds} round(s)"
          f"{', MQTT on' if args.mqtt else ''}\n")
    print("| variant | CPU s | CPU % of one core | frames analysed | dropped | CPU ms/frame | CPU × run | "
          "per frame × run |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, rows in results.items():
        cpu = statistics.median(r["cpu"] for r in rows)
        frames = statistics.median(r["frames"] for r in rows)
        dropped = statistics.median(r["dropped"] for r in rows)
        per_frame = statistics.median(r["cpu"] / r["frames"] for r in rows)
        print(f"| {name} | {cpu:.1f} | {100 * cpu / args.duration:.0f} % | {frames:.0f} | {dropped:.0f} | "
              f"{1000 * per_frame:.2f} | **{cpu / base:.3f}** | {per_frame / base_frame:.3f} |")
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
