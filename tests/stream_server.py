"""A real video stream on loopback, over HTTP (MPEG-TS) or RTSP, serving a looping clip, for live tests.

HTTP: ffmpeg's HTTP output in listen mode is a one-client server: it waits for vidwatch to connect,
then plays the clip in real time (``-re``), looping forever.

RTSP: Debian's ffmpeg can only *receive* in RTSP listen mode, so a small RTSP server
(``rtsp-server-perl``, a Debian package) relays the stream: ffmpeg publishes the clip to it
(ANNOUNCE/RECORD) and players PLAY it from the server's client port, RTP over UDP, as from an IP
camera.

Either way, killing the server is a network failure as far as the client can tell; starting another
on the same port is the camera coming back.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import cv2

FFMPEG = shutil.which("ffmpeg")
RTSP_SERVER = shutil.which("rtsp-server-perl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_ports(count: int) -> int:
    """An even UDP port from which ``count`` consecutive ports are free (RTP wants an even start)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            start = int(s.getsockname()[1]) & ~1
        if start + count > 65535:
            continue
        probes = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
        try:
            for i, probe in enumerate(probes):
                probe.bind(("127.0.0.1", start + i))
            return start
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError(f"found no {count} consecutive free UDP ports")


def _listening(port: int) -> bool | None:
    """Whether something listens on 127.0.0.1:port, or has just accepted its one client there (None
    where /proc/net/tcp is unavailable).

    Connecting to check would use up the one-client server, so the kernel's table is read instead. A
    client waiting to reconnect (a camera reader) may be accepted within milliseconds of the server
    listening, after which a one-client server listens no more: its accepted connection counts too.
    """
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    return any(f":{port:04X}" == line.split()[1][-5:] and line.split()[3] in ("0A", "01") for line in table)


class StreamServer:
    """``ffmpeg -re -stream_loop -1 -i CLIP.ts -c copy -f mpegts -listen 1 http://127.0.0.1:PORT/cam``.

    The clip is first remuxed to MPEG-TS with its codec headers repeated at every key frame (as
    cameras send them), so a client joining mid-stream can decode; serving the remuxed file with a
    plain copy also keeps ffmpeg's looping clean.
    """

    client_settings: tuple[str, ...] = ()
    """``--set`` overrides vidwatch needs to play from this server (none)."""

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
        command = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
                   "-i", str(served), "-c", "copy", "-f", "mpegts", "-listen", "1", self.url]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = _listening(self.port)
            if state is None:
                time.sleep(1.0)
                return self
            if state:
                return self
            if self.proc.poll() is not None:
                # restarted on the port of a server just killed: the port may not be free again yet
                time.sleep(0.2)
                self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.05)
        raise RuntimeError(f"ffmpeg did not listen on port {self.port} within {timeout} s")

    def kill(self) -> None:
        """Drop the stream at once, as a crashed camera or a cut cable would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def _accepts(port: int) -> bool:
    """Whether 127.0.0.1:port accepts a connection (fine for a multi-client server such as the RTSP one)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _rtsp_status(port: int, path: str) -> int | None:
    """Status code of an RTSP DESCRIBE of ``path`` (200 once a publisher is mounted there; None: no answer)."""
    request = (f"DESCRIBE rtsp://127.0.0.1:{port}/{path} RTSP/1.0\r\nCSeq: 1\r\n"
               f"Accept: application/sdp\r\n\r\n")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as s:
            s.sendall(request.encode())
            reply = s.recv(4096).decode("latin-1")
        return int(reply.split()[1])
    except (OSError, ValueError, IndexError):
        return None


class RtspStreamServer:
    """``rtsp-server-perl`` on loopback, with ``ffmpeg -re -stream_loop -1 -i CLIP -c copy -f rtsp`` publishing.

    Clients play ``rtsp://127.0.0.1:PORT/cam``. The server only speaks RTP over UDP (its SETUP
    rejects interleaved TCP), so a client must ask for UDP: vidwatch needs
    ``source.rtsp_transport=udp`` (see :attr:`client_settings`). The stream's parameter sets travel
    in the SDP, so the clip is published with ``-c copy``, no remux needed. All ports are chosen
    free and unprivileged: the client port, the port publishers announce to, and the server's
    RTP/RTCP ports.

    The publisher streams whether anyone watches or not, so a client joins mid-stream. The clip is
    published as H.264, as cameras send it: FFmpeg's H.264 decoder holds back the pictures before
    the first key frame, where an MPEG-4 Part 2 decoder would hand out grey, half-decoded ones.
    """

    client_settings = ("source.rtsp_transport=udp",)
    """``--set`` overrides vidwatch needs to play from this server."""
    encode = ("-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p")
    """How a clip that is not H.264 yet is re-encoded (once) before it is published."""

    def __init__(self, clip: Path, port: int) -> None:
        self.clip = clip
        self.port = port
        self.source_port = free_port()
        self.rtp_port = free_udp_ports(8)  # the stream in, and two per client out, with room to spare
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        self.server: subprocess.Popen[bytes] | None = None
        self.proc: subprocess.Popen[bytes] | None = None  # the publisher
        self.log = clip.with_name(f"rtsp-server-{port}.log")

    def _h264(self) -> Path:
        """The clip itself when it is H.264, else an H.264 copy made once beside it."""
        capture = cv2.VideoCapture(str(self.clip))
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1").lower()
        capture.release()
        if fourcc in ("avc1", "h264"):
            return self.clip
        encoded = self.clip.with_suffix(".h264.mp4")
        if not encoded.exists():
            partial = self.clip.with_suffix(".part.mp4")
            subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", "-i", str(self.clip), *self.encode,
                            str(partial)], check=True, timeout=300)
            partial.replace(encoded)
        return encoded

    def start(self, timeout: float = 15.0) -> RtspStreamServer:
        """Start the server, then the publisher; return once players can DESCRIBE the stream."""
        assert FFMPEG, "ffmpeg is not installed"
        assert RTSP_SERVER, "rtsp-server-perl is not installed"
        deadline = time.monotonic() + timeout
        with self.log.open("ab") as log:
            self.server = subprocess.Popen(
                [RTSP_SERVER, "--clientport", str(self.port), "--serverport", str(self.source_port),
                 "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1",
                 "--rtp_start_port", str(self.rtp_port), "--loglevel", "2"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        while not (_accepts(self.port) and _accepts(self.source_port)):
            if self.server.poll() is not None:
                raise RuntimeError(f"rtsp-server-perl exited with code {self.server.returncode}; "
                                   f"see {self.log}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"rtsp-server-perl did not listen on ports {self.port} and "
                                   f"{self.source_port} within {timeout} s")
            time.sleep(0.05)
        return self.start_publisher(deadline - time.monotonic())

    def start_publisher(self, timeout: float = 15.0) -> RtspStreamServer:
        """(Re)start ffmpeg publishing the clip; return once the server has mounted the stream."""
        assert FFMPEG, "ffmpeg is not installed"
        served = self._h264()
        deadline = time.monotonic() + timeout
        self.proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-i", str(served), "-c", "copy", "-f", "rtsp",
             f"rtsp://127.0.0.1:{self.source_port}/cam"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while _rtsp_status(self.port, "cam") != 200:  # the publisher has announced the stream
            if self.proc.poll() is not None:
                self.kill()
                raise RuntimeError(f"ffmpeg could not publish to rtsp-server-perl (exit code "
                                   f"{self.proc.returncode})")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"ffmpeg's stream was not mounted on the RTSP server within {timeout} s")
            time.sleep(0.05)
        return self

    def stop_publisher(self) -> None:
        """Stop only the publisher: the server stays up and the stream just stops (it stalls).

        ffmpeg is stopped with SIGTERM, so it tears its session down and the server frees the
        mount for the next publisher (a publisher killed outright leaves the mount behind, and the
        server refuses a new one on it).
        """
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """Drop the stream at once: the server and its publisher die together, as a camera would."""
        for proc in (self.server, self.proc):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        self.server = self.proc = None
