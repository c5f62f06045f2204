"""Real parts for the serve tests: generated camera clips, MJPEG/HTTP streams from ffmpeg, a mosquitto
broker, a headless Chromium, and a client for the service's API. Everything listens on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .stream_server import FFMPEG, _listening, free_port
from .synthetic import noisy, scene, square_at

MOSQUITTO = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

FPS = 10
LOOP_FRAMES = 60
"""A 6 s loop: the 3.4 s without the square are longer than any post-roll and merge gap these tests set
(at most 2.5 s), so a square of the next loop, first seen after the event would close, opens a new one."""
MOTION = (8, 33)
"""Frames of each loop in which a square crosses the scene (the rest is a still, noisy scene): 2.6 s, a
walk long enough for the object stage to see it travel."""
SPEED = 6


def square_x(frame: int) -> int | None:
    """Left edge of the square (analysis clip pixels, 320 wide) in loop frame ``frame``, or None."""
    return 10 + (frame - MOTION[0]) * SPEED if MOTION[0] <= frame <= MOTION[1] else None


def make_camera_clip(path: Path, *, seed: int = 5, y: int = 100) -> Path:
    """A 6 s MJPEG clip at 10 fps, 320x240: a still scene, a square crossing it in frames 8-33."""
    if path.exists():
        return path
    base = scene(seed)
    rng = np.random.default_rng(seed)
    partial = path.with_suffix(".part.avi")
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (320, 240))
    for i in range(LOOP_FRAMES):
        x = square_x(i)
        image = square_at(base, x, y) if x is not None else base
        writer.write(cv2.cvtColor(noisy(image, rng, 2.0), cv2.COLOR_GRAY2BGR))
    writer.release()
    partial.replace(path)
    return path


class CameraStreams:
    """One ffmpeg playing a clip out as a camera does: a small MJPEG sub-stream and a main stream at twice the
    size (H.264 in MPEG-TS), both over HTTP, from the same frames at the same moments.

    ffmpeg waits until both streams have a client before it sends anything, then sends each frame to both,
    the main stream's copy after scaling and encoding it (x264's zero-latency tuning). Measured here, a frame
    of the main stream reaches a reader 0.2 s (2 frames) after the same frame of the sub-stream.
    """

    def __init__(self, clip: Path) -> None:
        self.clip = clip
        self.sub_port, self.main_port = free_port(), free_port()
        self.sub_url = f"http://127.0.0.1:{self.sub_port}/sub.mjpg"
        self.main_url = f"http://127.0.0.1:{self.main_port}/main"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> CameraStreams:
        assert FFMPEG, "ffmpeg is not installed"
        self.proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "quiet", "-re", "-stream_loop", "-1",
             "-i", str(self.clip),
             "-map", "0:v", "-c", "copy", "-flush_packets", "1", "-f", "mpjpeg", "-listen", "1", self.sub_url,
             "-map", "0:v", "-vf", "scale=iw*2:ih*2", "-c:v", "libx264", "-preset", "ultrafast", "-tune",
             "zerolatency", "-g", "10", "-bf", "0", "-pix_fmt", "yuv420p", "-flush_packets", "1", "-muxdelay", "0",
             "-f", "mpegts", "-listen", "1", self.main_url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while _listening(self.sub_port) is False:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ffmpeg did not listen on port {self.sub_port}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class HttpStream:
    """``ffmpeg -re -stream_loop -1 -i CLIP -c copy -f FORMAT -listen 1 http://127.0.0.1:PORT/...``.

    One client at a time; when it goes (or the server is killed) the stream is gone, as a camera
    that dropped off the network.
    """

    def __init__(self, clip: Path, port: int | None = None, *, fmt: str = "mpjpeg") -> None:
        self.clip = clip
        self.port = port or free_port()
        self.fmt = fmt
        self.url = f"http://127.0.0.1:{self.port}/cam" + (".mjpg" if fmt == "mpjpeg" else "")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> HttpStream:
        assert FFMPEG, "ffmpeg is not installed"
        command = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "quiet", "-re", "-stream_loop", "-1",
                   "-i", str(self.clip), "-c", "copy", "-f", self.fmt, "-listen", "1", self.url]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while _listening(self.port) is False:
            if time.monotonic() > deadline:
                raise RuntimeError(f"ffmpeg did not listen on port {self.port}")
            if self.proc.poll() is not None:
                # restarted on the port of a server just killed: the port may not be free again yet
                time.sleep(0.2)
                self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class Broker:
    """Debian's mosquitto on a free loopback port, with a config file that binds it to 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        assert MOSQUITTO, "mosquitto is not installed"
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.log = folder / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> Broker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start; see {self.log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class Subscriber:
    """A paho client that records every message under ``topics`` (retained ones included)."""

    def __init__(self, port: int, topics: list[str]) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{time.monotonic_ns()}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self._cond.notify_all()

    def wait_for(self, match: Callable[[str, bytes], bool], timeout: float, what: str) -> tuple[str, bytes]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for topic, payload, _ in self.messages:
                    if match(topic, payload):
                        return topic, payload
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({t for t, _, _ in self.messages})
                    raise AssertionError(f"no MQTT message {what} within {timeout} s; topics seen: {seen}")
                self._cond.wait(min(left, 0.2))

    def payloads(self, topic: str) -> list[bytes]:
        with self._cond:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Api:
    """The service's HTTP API, with the token sent as a Bearer header."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.token = token

    def request(self, path: str, *, method: str = "GET", token: str | None = "default",
                timeout: float = 5.0) -> tuple[int, bytes, dict[str, str]]:
        headers = {}
        token = self.token if token == "default" else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, method=method, headers=headers,
                                         data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}

    def json(self, path: str, **kwargs: Any) -> Any:
        status, body, _ = self.request(path, **kwargs)
        assert status == 200, f"{path}: HTTP {status}: {body[:200]!r}"
        return json.loads(body)

    def wait_for(self, path: str, check: Callable[[Any], Any], timeout: float, what: str) -> Any:
        """Poll ``path`` until ``check(json)`` is truthy; returns what it returned."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                last = self.json(path)
                result = check(last)
                if result:
                    return result
            except (OSError, AssertionError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not seen within {timeout} s; last answer from {path}: "
                                     f"{json.dumps(last)[:1500]}")
            time.sleep(0.2)


def site_yaml(path: Path, cameras: dict[str, dict[str, Any]], *, port: int, data: Path,
              mqtt_port: int | None = None, token: str | None = None, extra: dict[str, Any] | None = None) -> Path:
    """A site config for tests: quick reconnects, short rolls, everything on 127.0.0.1."""
    document: dict[str, Any] = {
        "source": {"frame_timeout": 2.0, "reconnect_initial": 0.2, "reconnect_max": 1.0, "open_timeout": 5.0},
        "outputs": {"pre_roll": 0.5, "post_roll": 0.5},
        "events": {"motion": {"post_roll": 0.5, "merge_gap": 1.0}},  # a busy machine may stall a camera
        "cameras": cameras,
        "serve": {"host": "127.0.0.1", "port": port, "data": str(data), "live_fps": 5, "token": token},
        "mqtt": {"host": "127.0.0.1" if mqtt_port else None, "port": mqtt_port or 1883, "prefix": "vw"},
    }
    for key, value in (extra or {}).items():
        document.setdefault(key, {}).update(value)
    path.write_text(json.dumps(document, indent=1))
    return path


def chromium(user_data: Path, *, width: int = 1400, height: int = 900) -> Any:
    """A headless Chromium driven by selenium (Debian's chromium and chromium-driver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={user_data}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER or "/usr/bin/chromedriver"),
                              options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    return driver
