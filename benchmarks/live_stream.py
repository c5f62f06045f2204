"""Does vidwatch keep up with a 1080p 30 fps network stream, and survive disconnects?

Serves a looping 1080p 30 fps H.264 clip on loopback (the same servers the tests use): over HTTP
with ffmpeg, or with ``--rtsp`` over RTSP (rtsp-server-perl, ffmpeg publishing to it, RTP over
UDP). Runs ``vidwatch run URL`` on it as a separate process, forces ``--disconnects`` outages, then
stops vidwatch with SIGTERM. Over HTTP each outage kills the server; over RTSP they alternate
between killing the server with its publisher (the camera goes away) and stopping only the
publisher (the RTSP server stays up and the stream stalls). Reports vidwatch's CPU use (from
/proc, user + system, all threads), the input and analysed frame rates, drops and latency from its
status lines, and checks that every loss was reported and restored and that every event that
started was written to the events file.

    python benchmarks/live_stream.py                 # makes /tmp/vidwatch-bench/vtest_1080p30.mp4 first
    python benchmarks/live_stream.py --rtsp
    python benchmarks/live_stream.py --duration 90 --disconnects 3 --clip my_1080p.mp4

Linux only (reads /proc). Needs ffmpeg with libx264 to make the default clip, and rtsp-server-perl
for ``--rtsp``.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback stream server and process follower the tests use

from stream_server import FFMPEG, RTSP_SERVER, RtspStreamServer, StreamServer, free_port  # noqa: E402
from vidwatch_process import VidwatchProcess  # noqa: E402

VTEST = Path("/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data/vtest.avi")
DEFAULT_CLIP = Path("/tmp/vidwatch-bench/vtest_1080p30.mp4")
TICKS = os.sysconf("SC_CLK_TCK")
STATUS = re.compile(r"status .*: in ([\d.]+) fps, analysed ([\d.]+) fps, dropped (\d+) \((\d+) in total\), "
                    r"latency (\d+) ms \(max (\d+) ms\)")


def make_clip(path: Path) -> Path:
    """vtest.avi (768x576, 10 fps) scaled to 1920x1080 at 30 fps, H.264 as a camera would send it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"making {path} from {VTEST} ...", flush=True)
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", "-stream_loop", "2", "-i", str(VTEST), "-t", "60",
                    "-vf", "scale=1920:1080:flags=bicubic,fps=30", "-c:v", "libx264", "-preset", "veryfast",
                    "-tune", "zerolatency", "-g", "30", "-b:v", "6M", "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return path


DECODE_ONLY = """
import resource, sys, time, cv2
cap = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG)
for _ in range(30):
    cap.read()
usage = lambda: sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime"))
c0, t0, n = usage(), time.monotonic(), 0
while time.monotonic() - t0 < float(sys.argv[2]):
    n += cap.read()[0]
print(usage() - c0, time.monotonic() - t0, n)
"""


def decode_only(server_type: type[StreamServer] | type[RtspStreamServer], clip: Path,
                seconds: float) -> tuple[float, float, int]:
    """CPU seconds, wall seconds and frames of just reading the same stream with OpenCV (no analysis)."""
    server = server_type(clip, free_port()).start()
    env = dict(os.environ)
    if server_type is RtspStreamServer:  # the server speaks RTP over UDP only (vidwatch: source.rtsp_transport)
        env["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;udp"
    try:
        out = subprocess.run([sys.executable, "-c", DECODE_ONLY, server.url, str(seconds)], capture_output=True,
                             text=True, timeout=seconds + 60, check=True, env=env).stdout.splitlines()[-1].split()
    finally:
        server.kill()
    return float(out[0]), float(out[1]), int(out[2])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def serving_cpu(server: StreamServer | RtspStreamServer) -> float:
    """CPU seconds of the serving processes so far: ffmpeg, and for RTSP the relay server too."""
    procs = [server.proc, getattr(server, "server", None)]
    return sum(cpu_seconds(p.pid) for p in procs if p is not None and p.poll() is None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="clip to serve (default: made from vtest.avi)")
    parser.add_argument("--duration", type=float, default=80.0, help="seconds to run in total")
    parser.add_argument("--disconnects", type=int, default=3, help="times the server is killed and restarted")
    parser.add_argument("--down", type=float, default=2.0, help="seconds the server stays down each time")
    parser.add_argument("--decode-seconds", type=float, default=20.0,
                        help="also time decoding alone for this long (0: skip)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/vidwatch-bench"), help="where events and log go")
    parser.add_argument("--rtsp", action="store_true", help="serve over RTSP (rtsp-server-perl) instead of HTTP")
    parser.add_argument("vidwatch_args", nargs="*", help="extra arguments for `vidwatch run` (after --)")
    args = parser.parse_args()
    if FFMPEG is None or (args.rtsp and RTSP_SERVER is None):
        print("ffmpeg (and for --rtsp, rtsp-server-perl) is needed to serve the stream", file=sys.stderr)
        return 2
    server_type: type[StreamServer] | type[RtspStreamServer] = RtspStreamServer if args.rtsp else StreamServer
    clip = args.clip if args.clip.exists() else make_clip(args.clip)
    args.out.mkdir(parents=True, exist_ok=True)
    events_file = args.out / "live_events.jsonl"
    port = free_port()
    server = server_type(clip, port).start()
    settings = [arg for setting in server.client_settings for arg in ("--set", setting)]
    run = VidwatchProcess("run", server.url, "--events", str(events_file), "--status", "5",
                          "--set", "source.reconnect_initial=0.5", "--set", "source.reconnect_max=2",
                          *settings, *args.vidwatch_args)
    server_cpu = 0.0
    outages: list[str] = []
    try:
        run.wait_for(r"status ", timeout=60)  # connected and analysing
        start_wall, start_cpu = time.monotonic(), cpu_seconds(run.proc.pid)
        gap = args.duration / (args.disconnects + 1)
        after = 0
        for i in range(args.disconnects):
            time.sleep(max(0.0, start_wall + gap * (i + 1) - time.monotonic()))
            server_cpu += serving_cpu(server)
            stall = isinstance(server, RtspStreamServer) and i % 2 == 1
            if stall:
                server.stop_publisher()  # the RTSP server stays up; the stream stops flowing
            else:
                server.kill()
            outages.append("publisher stopped" if stall else "server killed")
            after = run.wait_for(r"stream lost", timeout=30, after=after)
            time.sleep(args.down)
            if isinstance(server, RtspStreamServer) and stall:
                server.start_publisher()
            else:
                server = server_type(clip, port).start()
            after = run.wait_for(r"stream restored", timeout=60, after=after)
        time.sleep(max(0.0, start_wall + args.duration - time.monotonic()))
        assert run.proc.poll() is None, "vidwatch exited before the end of the run"
        wall, cpu = time.monotonic() - start_wall, cpu_seconds(run.proc.pid) - start_cpu
        server_cpu += serving_cpu(server)
        run.signal(signal.SIGTERM)
        code = run.finish(timeout=60)
    finally:
        run.kill()
        server.kill()
    (args.out / "live_stream.log").write_text(run.log + "\n")

    statuses = [tuple(map(float, m.groups())) for m in map(STATUS.search, run.lines) if m]
    steady = [s for s in statuses if s[0] > 20]  # intervals without an outage in them
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    started = sum(1 for line in run.lines if re.search(r"INFO +(\[.*\] )?start ", line))
    print(f"clip: {clip}  over {'RTSP' if args.rtsp else 'HTTP'}  run: {wall:.0f} s, {args.disconnects} "
          f"disconnects ({', '.join(outages) or 'none'}), exit code {code}")
    print(f"vidwatch CPU: {cpu:.1f} s in {wall:.1f} s = {100 * cpu / wall:.0f}% of one core "
          f"(serving, ffmpeg -c copy{' + rtsp-server-perl' if args.rtsp else ''}: {server_cpu:.1f} s)")
    restores = [re.search(r"stream restored after ([\d.]+) s", line) for line in run.lines]
    downtimes = [float(m.group(1)) for m in restores if m]
    if downtimes:
        print(f"downtime per outage (loss to first frame again): {', '.join(f'{d:.1f} s' for d in downtimes)}")
    if steady:
        print(f"steady intervals ({len(steady)} x 5 s): in {statistics.median(s[0] for s in steady):.1f} fps, "
              f"analysed {statistics.median(s[1] for s in steady):.1f} fps, "
              f"dropped {sum(s[2] for s in steady):.0f} of {sum(5 * s[0] for s in steady):.0f} frames, "
              f"latency median {statistics.median(s[4] for s in steady):.0f} ms, "
              f"max {max(s[5] for s in steady):.0f} ms")
    if args.decode_seconds > 0:
        d_cpu, d_wall, d_frames = decode_only(server_type, clip, args.decode_seconds)
        print(f"decoding alone (OpenCV reading the same stream, no analysis): {100 * d_cpu / d_wall:.0f}% of one "
              f"core, {d_frames / d_wall:.1f} fps")
    print(f"events: {len(events)} written ({', '.join(f'{kinds.count(k)} {k}' for k in sorted(set(kinds)))}); "
          f"{started} started in the log")
    ok = (code == 0 and kinds.count("stream_lost") == args.disconnects
          and kinds.count("stream_restored") == args.disconnects and started == len(events))
    print("OK: every loss reported and restored, every started event written" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
