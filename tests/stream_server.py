"""A real video stream on loopback: ffmpeg serving a looping clip over HTTP (MPEG-TS), for live tests.

ffmpeg's HTTP output in listen mode is a one-client server: it waits for vidwatch to connect, then
plays the clip in real time (``-re``), looping forever. Killing it is a network failure as far as
the client can tell; starting another on the same port is the camera coming back.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

FFMPEG = shutil.which("ffmpeg")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool | None:
    """Whether something listens on 127.0.0.1:port (None where /proc/net/tcp is unavailable).

    Connecting to check would use up the one-client server, so the kernel's table is read instead.
    """
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    return any(f":{port:04X}" == line.split()[1][-5:] and line.split()[3] == "0A" for line in table)


class StreamServer:
    """``ffmpeg -re -stream_loop -1 -i CLIP.ts -c copy -f mpegts -listen 1 http://127.0.0.1:PORT/cam``.

    The clip is first remuxed to MPEG-TS with its codec headers repeated at every key frame (as
    cameras send them), so a client joining mid-stream can decode; serving the remuxed file with a
    plain copy also keeps ffmpeg's looping clean.
    """

    def __init__(self, clip: Path, port: int) -> None:
        self.clip = clip
        self.port = port
        self.url = f"http://127.0.0.1:{port}/cam"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> StreamServer:
        assert FFMPEG, "ffmpeg is not installed"
        served = self.clip.with_suffix(".ts")
        if not served.exists():
            partial = served.with_suffix(".part.ts")
            remux = [FFMPEG, "-nostdin", "-v", "quiet", "-y", "-i", str(self.clip), "-c", "copy"]
            # MPEG-4 part 2 keeps its headers out of band: repeat them. H.264 is made Annex B by the
            # muxer, which repeats SPS/PPS by itself (and rejects dump_extra).
            if subprocess.run([*remux, "-bsf:v", "dump_extra", str(partial)], timeout=300).returncode != 0:
                subprocess.run([*remux, str(partial)], check=True, timeout=300)
            partial.replace(served)
        self.proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-i", str(served), "-c", "copy", "-f", "mpegts", "-listen", "1", self.url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = _listening(self.port)
            if state is None:
                time.sleep(1.0)
                return self
            if state:
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"ffmpeg stream server exited with code {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError(f"ffmpeg did not listen on port {self.port} within {timeout} s")

    def kill(self) -> None:
        """Drop the stream at once, as a crashed camera or a cut cable would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
