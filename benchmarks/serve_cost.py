"""What does serving cost? Two cameras under ``vidwatch serve`` against the same two under ``vidwatch run``.

Serves looping H.264 streams over HTTP on loopback (ffmpeg, as the tests do; the default clip is OpenCV's
vtest.avi at 640x360 and its own 10 fps, as a camera's sub-stream, or a generated clip where opencv-doc is
missing), two per variant, and runs the three variants side by side, at the same time, so that whatever
else the machine does weighs on all of them alike (``--rounds`` times):

- ``run``: two ``vidwatch run URL --snapshots --clips --events`` processes, one per camera (a live
  source never ends, so one ``run`` cannot take both);
- ``serve``: one ``vidwatch serve`` with both cameras (SQLite, snapshots and clips, web server, metrics;
  with ``--mqtt`` also a mosquitto broker and MQTT), nobody watching;
- ``serve, watched``: the same while a viewer pulls both live views (MJPEG at the live rate) and polls
  the cameras, scores and events every second or two, as the page does.

Each round measures ``--duration`` seconds after a warm-up. vidwatch's CPU time (user + system, all
threads, from /proc) is read at the start and end of that window; frames analysed and dropped come from
the status lines of ``run`` (one a second) and from /metrics for ``serve``. The streams' own ffmpeg
processes are not counted.

    python benchmarks/serve_cost.py                       # 60 s, 1 round, with MQTT
    python benchmarks/serve_cost.py --duration 30 --rounds 3 --clip my_720p.ts

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
    """A 640x360 H.264 camera clip with people (vtest.avi) or, without opencv-doc, the tests' crossing square."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / ("vtest_360p10.ts" if VTEST.exists() else "square_360p10.ts")
    if out.exists():
        return out
    source = VTEST if VTEST.exists() else make_camera_clip(CACHE / "square.avi")
    print(f"making {out} from {source} ...", flush=True)
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", "-stream_loop", "1", "-i", str(source), "-t", "60",
                    "-vf", "scale=640:360:flags=bicubic,fps=10", "-c:v", "libx264", "-preset", "veryfast",
                    "-g", "10", "-b:v", "1M", "-pix_fmt", "yuv420p", "-bsf:v", "dump_extra", "-f", "mpegts", str(out)],
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


class RunPair:
    """Two ``vidwatch run URL --snapshots --clips --events`` processes, one per camera."""

    name = "run"

    def __init__(self, clip: Path, folder: Path) -> None:
        self.streams = [HttpStream(clip, fmt="mpegts").start() for _ in range(2)]
        self.runs = [VidwatchProcess("run", s.url, "--snapshots", str(folder / f"run{i}"), "--clips",
                                     str(folder / f"run{i}"), "--events", str(folder / f"run{i}.jsonl"),
                                     "--status", "1", "--progress", "off")
                     for i, s in enumerate(self.streams)]

    def ready(self) -> None:
        for run in self.runs:
            run.wait_for("status ", 30)

    def sample(self) -> dict[str, float]:
        """CPU seconds so far, and the frames analysed and dropped in the status lines so far."""
        frames = dropped = 0.0  # each status line: the analysed rate and the drops over the second before it
        for run in self.runs:
            assert run.proc.poll() is None, f"vidwatch run ended early:\n{run.log}"
            matches = [m for line in list(run.lines) if (m := ANALYSED.search(line))]
            frames += sum(float(m.group(1)) for m in matches)
            dropped += sum(int(m.group(2)) for m in matches)
        return {"cpu": sum(cpu_seconds(r.proc.pid) for r in self.runs), "frames": frames, "dropped": dropped}

    def stop(self) -> None:
        for run in self.runs:
            run.signal(signal.SIGTERM)
        for run in self.runs:
            run.finish(60)
        for stream in self.streams:
            stream.kill()


class Served:
    """One ``vidwatch serve`` with two cameras, and optionally a viewer doing what the page does."""

    def __init__(self, clip: Path, folder: Path, *, watched: bool, mqtt_port: int | None) -> None:
        self.name = "serve, watched" if watched else "serve"
        self.streams = [HttpStream(clip, fmt="mpegts").start() for _ in range(2)]
        port = free_port()
        self.cameras = {f"cam{i}": {"source": s.url} for i, s in enumerate(self.streams)}
        config = site_yaml(folder / f"site-{int(watched)}.yaml", self.cameras, port=port,
                           data=folder / f"serve-{int(watched)}", mqtt_port=mqtt_port,
                           extra={"outputs": {"pre_roll": 2.0, "post_roll": 2.0},  # run's defaults, as run uses
                                  "events": {"motion": {"post_roll": 1.0, "merge_gap": 1.0}}})
        self.service = VidwatchProcess("serve", "-c", str(config))
        self.base = f"http://127.0.0.1:{port}"
        self.watched = watched
        self.viewer: Viewer | None = None

    def ready(self) -> None:
        self.service.wait_for("serving 2 cameras", 30)
        if self.watched:
            self.viewer = Viewer(self.base, list(self.cameras)).start()

    def sample(self) -> dict[str, float]:
        frames, dropped = totals(self.base)
        return {"cpu": cpu_seconds(self.service.proc.pid), "frames": frames, "dropped": dropped}

    def stop(self) -> None:
        if self.viewer is not None:
            self.viewer.close()
        self.service.signal(signal.SIGTERM)
        code = self.service.finish(60)
        for stream in self.streams:
            stream.kill()
        assert code == 0, self.service.log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per round (default 60)")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring (default 8)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, each with fresh processes (default 1)")
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
                print(f"round {round_ + 1}: run, serve and serve watched side by side ...", flush=True)
                mqtt_port = broker.port if broker else None
                here = folder / f"round{round_}"
                here.mkdir()
                variants: list[RunPair | Served] = []
                try:
                    variants.append(RunPair(clip, here))
                    variants.append(Served(clip, here, watched=False, mqtt_port=mqtt_port))
                    variants.append(Served(clip, here, watched=True, mqtt_port=mqtt_port))
                    for variant in variants:
                        variant.ready()
                    time.sleep(args.warmup)
                    before = [v.sample() for v in variants]
                    time.sleep(args.duration)
                    after = [v.sample() for v in variants]
                finally:
                    for variant in variants:
                        variant.stop()
                for variant, a, b in zip(variants, before, after, strict=True):
                    results[variant.name].append({k: b[k] - a[k] for k in a})
        finally:
            if broker is not None:
                broker.stop()
    base = statistics.median(r["cpu"] for r in results["run"])
    base_frame = statistics.median(r["cpu"] / r["frames"] for r in results["run"])
    print(f"\ntwo cameras each ({clip.name}), {args.duration:g} s measured side by side, {args.rounds} round(s)"
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
