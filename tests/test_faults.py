"""Faults a hostile or unlucky user meets: hooks that hang, servers that drip, hostile YAML, odd videos,
a full disk. Real files, real processes and loopback servers, each bounded in time."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from vidwatch.events import MOTION, Event
from vidwatch.sinks.hooks import HookParams, HookSink

from .vidwatch_process import VidwatchProcess

WAIT = 20.0
ROOT = Path(__file__).resolve().parent.parent


def motion_event(start: int = 30) -> Event:
    return Event(MOTION, start, start / 15, start + 100, (start + 100) / 15, detectors=["diff"])


def processes_running(token: str) -> list[int]:
    """Ids of live (not zombie) processes whose command line contains ``token``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token in cmdline and state != "Z" and int(name) != os.getpid():
            found.append(int(name))
    return found


def unique_seconds() -> str:
    """A sleep duration no other process on the machine is using, to find our hook's processes."""
    return f"{4000 + os.getpid() % 1000}.{time.monotonic_ns() % 9973}"


@pytest.fixture
def no_leftovers() -> Iterator[list[str]]:
    """Tokens a test registers; after it, no process with one in its command line may be running."""
    tokens: list[str] = []
    yield tokens
    for token in tokens:
        pids = processes_running(token)
        for pid in pids:  # clean up, then fail
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        assert not pids, f"processes left behind: {token}"


# -- hooks (issue items 3 and 6) ---------------------------------------------------------------


def test_a_hook_that_leaves_a_setsid_child_does_not_block_later_hooks(tmp_path: Path,
                                                                    no_leftovers: list[str]) -> None:
    seconds = unique_seconds()
    no_leftovers.append(f"sleep {seconds}")
    marker = tmp_path / "second.txt"
    # the first run detaches a child into its own session (it keeps stderr open) and exits at once
    params = HookParams(on_event_start=f"setsid sleep {seconds} & echo started",
                        on_event_end=f"echo done > {marker}", timeout=1.5)
    sink = HookSink(params)
    began = time.monotonic()
    sink.event_started(motion_event())
    sink.event_ended(motion_event())
    while not marker.exists() and time.monotonic() - began < WAIT:
        time.sleep(0.02)
    assert marker.exists() and time.monotonic() - began < 1.0  # not held by the child's open stderr
    assert processes_running(f"sleep {seconds}")  # the child is alive until the deadline ...
    while processes_running(f"sleep {seconds}") and time.monotonic() - began < 5.0:
        time.sleep(0.05)
    assert not processes_running(f"sleep {seconds}")  # ... and killed then (1.5 s), not at exit
    assert time.monotonic() - began < 3.0
    sink.close()
    assert sink.failures == 0


def test_a_hook_timeout_kills_children_that_left_its_group_and_session(no_leftovers: list[str]) -> None:
    seconds = unique_seconds()
    no_leftovers.append(f"sleep {seconds}")
    sink = HookSink(HookParams(on_event_start=f"setsid sleep {seconds} & sleep {seconds}", timeout=0.5))
    began = time.monotonic()
    sink.event_started(motion_event())
    while sink.failures == 0 and time.monotonic() - began < WAIT:
        time.sleep(0.02)
    assert sink.failures == 1 and time.monotonic() - began < 1.5
    assert not processes_running(f"sleep {seconds}")
    sink.close()


class Dripper:
    """A loopback 'HTTP server' that answers one byte a second, for at most ``limit`` seconds."""

    def __init__(self, limit: float = 15.0) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        self.limit = limit
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(self.limit)
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
            began = time.monotonic()
            for byte in answer:
                if time.monotonic() - began > self.limit:
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(1.0)

    def close(self) -> None:
        self.server.close()


def test_a_webhook_that_drips_is_cut_off_at_the_total_deadline(caplog: pytest.LogCaptureFixture,
                                                               tmp_path: Path) -> None:
    caplog.set_level(logging.WARNING, logger="vidwatch.sinks.hooks")
    dripper = Dripper()
    marker = tmp_path / "after.txt"
    try:
        sink = HookSink(HookParams(webhook=dripper.url, on_event_end=f"echo ok > {marker}", timeout=1.0))
        began = time.monotonic()
        sink.event_started(motion_event())  # webhook only: the command is for the end
        sink.event_ended(motion_event())  # command, then webhook
        while not marker.exists() and time.monotonic() - began < WAIT:
            time.sleep(0.02)
        assert marker.exists() and time.monotonic() - began < 2.0  # the next hook ran after 1 s
        sink.close()
    finally:
        dripper.close()
    assert sink.failures >= 1
    assert "no complete answer within 1 s" in caplog.text


class Redirector:
    """Answers every POST with a redirect to ``location``; counts what reaches a second server."""

    def __init__(self, location: str, status: int = 302) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.requests.append(f"{self.command} {self.path}")
                if self.path == "/hook":
                    self.send_response(status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_redirect_is_a_failed_delivery_and_never_followed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="vidwatch.sinks.hooks")
    ftp = socket.create_server(("127.0.0.1", 0))  # would see a connection if ftp:// were followed
    ftp.settimeout(0.2)
    redirect_http = Redirector("/elsewhere", status=302)
    redirect_ftp = Redirector(f"ftp://127.0.0.1:{ftp.getsockname()[1]}/x", status=307)
    try:
        for server in (redirect_http, redirect_ftp):
            sink = HookSink(HookParams(webhook=f"{server.base}/hook", timeout=3.0))
            sink.event_started(motion_event())
            sink.close()
            assert sink.failures == 1
        with pytest.raises(TimeoutError):
            ftp.accept()
    finally:
        redirect_http.close()
        redirect_ftp.close()
        ftp.close()
    # retried at exit at the same URL; nothing went to /elsewhere, as GET or otherwise
    assert set(redirect_http.requests) == {"POST /hook"}
    assert "answered 302 Found (a redirect to /elsewhere), which is not followed" in caplog.text
    assert "answered 307 Temporary Redirect (a redirect to ftp://" in caplog.text


def test_at_exit_hooks_get_one_announced_grace_period_then_are_killed(caplog: pytest.LogCaptureFixture,
                                                                      no_leftovers: list[str]) -> None:
    caplog.set_level(logging.INFO, logger="vidwatch.sinks.hooks")
    seconds = unique_seconds()
    no_leftovers.append(f"sleep {seconds}")
    sink = HookSink(HookParams(on_event_start=f"sleep {seconds}", on_event_end=f"sleep {seconds}", timeout=1.0))
    sink.event_started(motion_event())
    sink.event_ended(motion_event())
    began = time.monotonic()
    while not processes_running(f"sleep {seconds}") and time.monotonic() - began < WAIT:
        time.sleep(0.02)
    began = time.monotonic()
    sink.close()
    took = time.monotonic() - began
    assert 0.5 < took < 2.5  # one grace period of `timeout`, not one per queued hook
    assert "waiting up to 1 s for 2 hook runs: on_event_start for motion start (running" in caplog.text
    assert "on_event_end for motion end" in caplog.text
    assert not processes_running(f"sleep {seconds}")


def test_ctrl_c_the_instant_the_exit_wait_is_announced_ends_the_wait(no_leftovers: list[str]) -> None:
    """The message invites Ctrl-C: a user (or a loaded machine's timing) may answer before the wait has begun.
    The signal is sent from the log record itself, the earliest moment anyone could react to it."""
    seconds = unique_seconds()
    no_leftovers.append(f"sleep {seconds}")

    class CtrlC(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("waiting up to"):
                os.kill(os.getpid(), signal.SIGINT)

    hooks_log = logging.getLogger("vidwatch.sinks.hooks")
    handler, level = CtrlC(), hooks_log.level
    hooks_log.addHandler(handler)
    hooks_log.setLevel(logging.INFO)
    sink = HookSink(HookParams(on_event_end=f"sleep {seconds}", timeout=30.0))
    try:
        sink.event_ended(motion_event())
        began = time.monotonic()
        while not processes_running(f"sleep {seconds}") and time.monotonic() - began < WAIT:
            time.sleep(0.02)
        try:
            sink.close()
        except KeyboardInterrupt:
            pytest.fail("the Ctrl-C the message asked for ended vidwatch, not the wait")
        assert time.monotonic() - began < 10
    finally:
        hooks_log.removeHandler(handler)
        hooks_log.setLevel(level)
    assert sink.abandoned and not processes_running(f"sleep {seconds}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_the_exit_wait_exits_0_and_leaves_no_child(samples: Path, tmp_path: Path, signum: int,
                                                                   no_leftovers: list[str]) -> None:
    seconds = unique_seconds()
    no_leftovers.append(f"sleep {seconds}")
    config = tmp_path / "hooks.yaml"
    config.write_text(json.dumps({"hooks": {"on_event_end": f"setsid sleep {seconds} & sleep {seconds}",
                                            "timeout": 60}}))
    events = tmp_path / "events.jsonl"
    run = VidwatchProcess("run", str(samples / "object_enters.mp4"), "-c", str(config), "--events", str(events))
    try:
        run.wait_for(r"waiting up to 60 s for \d+ hook run", timeout=WAIT)
        assert processes_running(f"sleep {seconds}")
        run.signal(signum)
        assert run.finish(timeout=10) == 0
    finally:
        run.kill()
    assert "stopped waiting for hooks on a signal" in run.log
    assert events.read_text().count("\n") == 1  # the event was written before the wait
    assert not processes_running(f"sleep {seconds}")


# -- hostile and awkward YAML (items 10 and 13) ------------------------------------------------


def run_cli(*args: str, timeout: float = 60.0, memory_mb: int = 1500,
            log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m vidwatch ARGS`` as a real process, bounded in time and address space.

    With ``log``, its stderr goes to that file line by line as it runs (so a hook can wait for a line),
    and is read back into the result's ``stderr`` at the end."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "vidwatch", *args]
    if log is None:
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=limit)
    with open(log, "w") as stderr:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
                              timeout=timeout, preexec_fn=limit)
    done.stderr = log.read_text()
    return done


def test_an_alias_bomb_aimed_at_zones_fails_fast_with_one_line(tmp_path: Path) -> None:
    # every anchor inside zones.include, so no unknown key stops it first: under 1 KB of text
    # standing for 10^12 values, which validation (and its error message) used to expand
    text = "zones:\n  include:\n    - &l0 [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]\n"
    for level in range(1, 13):
        text += f"    - &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]\n"
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(text)
    began = time.monotonic()
    result = run_cli("config", "-c", str(bomb), timeout=30)
    assert result.returncode == 2
    assert time.monotonic() - began < 15
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "expands to more than 50,000 values" in lines[0] and "bomb.yaml" in lines[0]


def test_a_10_mb_zones_file_is_refused_at_once(tmp_path: Path) -> None:
    big = tmp_path / "zones.yaml"
    rng = np.random.default_rng(0)
    points = ", ".join(f"[{x:.6f}, {y:.6f}]" for x, y in rng.random((480_000, 2)))
    big.write_text(f"zones:\n  include: [[{points}]]\n")
    assert big.stat().st_size > 10_000_000
    began = time.monotonic()
    result = run_cli("config", "-c", str(big), timeout=60)
    assert result.returncode == 2 and time.monotonic() - began < 15
    assert "larger than 1 MB" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_exponent_floats_are_floats_in_files_and_in_set(tmp_path: Path) -> None:
    from vidwatch.config import load_config

    path = tmp_path / "tiny.yaml"
    path.write_text("detectors:\n  diff: {threshold: 1e-3}\n  background: {threshold: 2.5E-4}\n")
    config = load_config(path, ["detectors.diff.min_area=5e-4"])
    assert config.detectors["diff"].params.threshold == 0.001
    assert config.detectors["background"].params.threshold == 0.00025
    assert config.detectors["diff"].params.min_area == 0.0005
    assert load_config(None, ["detectors.histogram.threshold=3e-1"]).detectors["histogram"].threshold == 0.3


def test_a_tab_in_yaml_is_named_as_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "tabbed.yaml"
    path.write_text("detectors:\n\tdiff: {threshold: 0.01}\n")
    result = run_cli("config", "-c", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"vidwatch: error: {path}: line 2 has a tab where YAML allows only spaces "
                                     f"(indentation); replace the tab with spaces")


# -- odd videos (items 7, 8 and 11) --------------------------------------------------------------

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed (apt-get install ffmpeg)")


def ffmpeg(*args: str) -> None:
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small generated files: complete, truncated, audio-only, rotated, variable frame rate."""
    if FFMPEG is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    out = tmp_path_factory.mktemp("media")
    source = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-pix_fmt", "yuv420p", "-c:v", "libx264"]
    ffmpeg(*source, "-t", "4", "-movflags", "+faststart", str(out / "full.mp4"))  # moov first
    data = (out / "full.mp4").read_bytes()
    (out / "half.mp4").write_bytes(data[: len(data) // 2])
    ffmpeg(*source, "-t", "4", str(out / "full.mkv"))
    data = (out / "full.mkv").read_bytes()
    (out / "half.mkv").write_bytes(data[: len(data) // 2])
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(out / "audio.m4a"))
    # a stored picture that is not symmetric, and a display matrix that turns it a quarter
    ffmpeg(*source, "-t", "1", "-vf", "drawbox=x=0:y=0:w=100:h=60:color=white:t=fill", str(out / "plain.mp4"))
    try:
        ffmpeg("-display_rotation", "90", "-i", str(out / "plain.mp4"), "-c", "copy", str(out / "rotated.mp4"))
    except subprocess.CalledProcessError:  # FFmpeg before 6 writes the matrix from the rotate tag
        ffmpeg("-i", str(out / "plain.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out / "rotated.mp4"))
    ffmpeg("-i", str(out / "rotated.mp4"), "-frames:v", "1", str(out / "upright.png"))  # as players show it
    # 20 frames at 15 fps, then 20 at 5 fps, with B-frames (decode order != presentation order)
    ffmpeg(*source, "-frames:v", "40", "-vf", "setpts='if(lt(N,20),N/15,20/15+(N-20)/5)/TB'",
           "-fps_mode", "passthrough", str(out / "vfr.mp4"))
    return out


@needs_ffmpeg
@pytest.mark.parametrize("name, decoder", [("half.mp4", "auto"), ("half.mp4", "opencv"), ("half.mkv", "auto")])
def test_a_truncated_video_is_reported_in_a_warning_and_the_summary(media: Path, name: str, decoder: str) -> None:
    result = run_cli("run", str(media / name), "--set", f"source.decoder={decoder}", "--progress", "off")
    assert result.returncode == 0, result.stderr
    assert f"{name} ended early: decoded" in result.stderr and "truncated or damaged" in result.stderr
    incomplete = [line for line in result.stdout.splitlines() if "INCOMPLETE" in line]
    assert len(incomplete) == 1
    if name.endswith(".mp4"):  # the mp4 declares its 60 frames up front
        assert "of the 60 frames the file declares" in incomplete[0] and "of its 4.0 s" in incomplete[0]
    complete = run_cli("run", str(media / name.replace("half", "full")), "--set", f"source.decoder={decoder}")
    assert complete.returncode == 0 and "INCOMPLETE" not in complete.stdout
    assert "ended early" not in complete.stderr


@needs_ffmpeg
def test_an_audio_only_file_is_named_as_having_no_video_stream(media: Path) -> None:
    result = run_cli("run", str(media / "audio.m4a"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"vidwatch: error: '{media / 'audio.m4a'}' has no video stream (it holds "
                                     f"audio only); give a video file")


@needs_ffmpeg
@pytest.mark.parametrize("decoder", ["pyav", "opencv"])
def test_rotation_metadata_turns_the_frames_upright(media: Path, decoder: str) -> None:
    import cv2

    from vidwatch.sources import SourceParams, open_source

    upright = cv2.imread(str(media / "upright.png"))
    assert upright.shape[:2] == (320, 240)  # the player's view: portrait
    source = open_source(str(media / "rotated.mp4"), SourceParams(decoder=decoder))
    with source:
        frame = next(iter(source))
    assert frame.image.shape[1::-1] == (240, 320)  # what detectors see, and what snapshots and clips get
    assert np.abs(frame.bgr().astype(int) - upright).mean() < 3.0
    grey = (frame.image if frame.is_grey else cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)).astype(float)
    if frame.limited_range:  # video-range luma, as preprocessing stretches it
        grey = (grey - 16) * 255 / 219
    assert np.abs(grey - cv2.cvtColor(upright, cv2.COLOR_BGR2GRAY)).mean() < 6.0


@needs_ffmpeg
@pytest.mark.parametrize("decoder", ["pyav", "opencv"])
def test_variable_frame_rate_frames_carry_their_container_timestamps(media: Path, decoder: str) -> None:
    from vidwatch.sources import SourceParams, open_source

    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time",
                            "-of", "csv=p=0", str(media / "vfr.mp4")], capture_output=True, text=True,
                           check=True, timeout=30)
    truth = [float(line.strip(",")) for line in probe.stdout.split()]
    assert len(truth) == 40 and truth[21] - truth[20] > 0.15  # really 5 fps after frame 20
    with open_source(str(media / "vfr.mp4"), SourceParams(decoder=decoder)) as source:
        times = [frame.time for frame in source]
    assert times == pytest.approx(truth, abs=1e-3)


# -- environment faults (item 4) -------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device whose writes fail with ENOSPC)")
@pytest.mark.parametrize("flag, lost", [
    ("--events", r"events-file /dev/full: 1 event not written: motion frames \d+-\d+"),
    ("--scores", r"scores-file /dev/full: the header and the rows of 180 frames \(0-179\) not written")])
def test_a_full_disk_is_named_at_the_end_not_an_internal_error(samples: Path, flag: str, lost: str) -> None:
    """Detection goes on; what could not be written is named, one line per output, and the exit code is 3
    (see tests/test_faults_outputs.py for a disk that frees up mid-run and every output on it)."""
    result = run_cli("run", str(samples / "object_enters.mp4"), flag, "/dev/full")
    assert result.returncode == 3
    assert "internal error" not in result.stderr
    assert "1 motion" in result.stdout.splitlines()[0]
    assert re.fullmatch(f"vidwatch: {lost}; no space left on the device", result.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("code, words", [(errno.EROFS, "the file system is read-only while writing /mnt/ro/e.jsonl"),
                                         (errno.EACCES, "permission denied while writing /mnt/ro/e.jsonl")])
def test_environment_errors_name_the_path_and_the_fix(code: int, words: str) -> None:
    from vidwatch.errors import environment_problem

    message = environment_problem(OSError(code, os.strerror(code), "/mnt/ro/e.jsonl"), {"--events": "x"})
    assert message is not None and message.startswith(words) and "; " in message
    assert environment_problem(OSError(errno.EINVAL, "bad"), {}) is None  # not the machine's fault


# -- presets as package data (item 14) ------------------------------------------------------------


def test_c_takes_a_preset_name_and_a_path_still_wins(tmp_path: Path) -> None:
    from vidwatch.config import load_config

    preset = load_config("scene_cuts")
    assert list(preset.detectors) == ["histogram", "structure", "lighting"] and preset == load_config("scene_cuts.yaml")
    own = tmp_path / "scene_cuts"
    own.write_text("detectors:\n  histogram: {threshold: 0.5}\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        mine = load_config("scene_cuts")  # a file of that name here wins over the preset
    finally:
        os.chdir(cwd)
    assert list(mine.detectors) == ["histogram"] and mine.detectors["histogram"].threshold == 0.5
    result = run_cli("config", "-c", "no_such_preset")
    assert result.returncode == 2 and "scene_cuts" in result.stderr and "--presets" in result.stderr


def test_config_presets_lists_each_preset_with_its_description() -> None:
    result = run_cli("config", "--presets")
    assert result.returncode == 0
    listing = result.stdout.split("\n\n")[0].splitlines()  # then a blank line and how to use one
    rows = {line.split()[0]: line.split(None, 1)[1] for line in listing}
    assert list(rows) == ["default", "scene_cuts"]
    assert rows["default"].startswith("The built-in defaults")
    assert rows["scene_cuts"].startswith("Only cuts and whole-frame scene changes")


def test_presets_work_from_a_plain_non_editable_install(tmp_path: Path) -> None:
    """Build a wheel of this checkout offline, install it into a fresh venv, run `vidwatch -c NAME config`."""
    import sysconfig

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copy(ROOT / "README.md", src)
    shutil.copytree(ROOT / "vidwatch", src / "vidwatch", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "--no-index", "-w", str(wheels), str(src)], capture_output=True, text=True, timeout=180)
    if built.returncode != 0:
        pytest.skip(f"pip cannot build a wheel offline here: {built.stderr.strip().splitlines()[-1:]}")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    # the dependencies (OpenCV, NumPy, PyAV, PyYAML) come from this environment, after the venv's own
    # packages, so the vidwatch imported is the installed copy; .pth files there are not processed
    Path(site, "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", *map(str, wheels.glob("*.whl"))], check=True, timeout=180)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(python), "-c", "import vidwatch; print(vidwatch.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    assert where.startswith(site)  # the installed copy, not this checkout
    assert sorted(p.name for p in Path(site, "vidwatch", "presets").glob("*.yaml")) == [
        "default.yaml", "scene_cuts.yaml"]
    result = subprocess.run([str(venv / "bin" / "vidwatch"), "-c", "scene_cuts", "config"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "  histogram:" in result.stdout and "  background:" not in result.stdout  # the preset's, not the defaults
    listing = subprocess.run([str(venv / "bin" / "vidwatch"), "config", "--presets"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert "scene_cuts" in listing.stdout


def test_a_tuned_yaml_says_where_it_came_from_not_the_default_header(samples: Path, tmp_path: Path) -> None:
    from vidwatch.config import CONFIG_HEADER, load_config

    out = tmp_path / "tuned.yaml"
    clip = samples / "hard_cut.mp4"
    result = run_cli("tune", str(clip), "-o", str(out), "-c", "scene_cuts", timeout=120)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert CONFIG_HEADER.splitlines()[0] not in text
    assert text.startswith(f"# Fitted by `vidwatch tune` to {clip} (base: scene_cuts).\n")
    load_config(out)  # and it still loads


# -- smaller things (item 13) -----------------------------------------------------------------------


def screen_lines(raw: str) -> list[str]:
    """What a terminal shows for ``raw``: a carriage return goes back to the start of the line and
    what follows overwrites it."""
    lines: list[str] = []
    line: list[str] = []
    column = 0
    for char in raw:
        if char == "\r":
            column = 0
        elif char == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        else:
            if column < len(line):
                line[column] = char
            else:
                line.append(char)
            column += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines


def test_progress_and_log_lines_never_share_a_line_and_the_bar_ends_full(samples: Path, tmp_path: Path) -> None:
    import cv2

    clip = tmp_path / "short.mp4"  # 80 frames played at 30 fps: an event is logged while the bar is up
    capture = cv2.VideoCapture(str(samples / "object_enters.mp4"))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for _ in range(80):
        ok, image = capture.read()
        assert ok and image.shape[:2] == (240, 320)
        writer.write(image)
    writer.release()
    capture.release()
    result = run_cli("run", str(clip), "--realtime", "--progress", "on")
    assert result.returncode == 0, result.stderr
    lines = screen_lines(result.stderr)
    progress = re.compile(r"frames \d+/80")
    logged = [line for line in lines if re.search(r"\d\d:\d\d:\d\d (INFO|WARNING)", line)]
    assert any("start motion" in line for line in logged) and any("end   motion" in line for line in logged)
    for line in logged:  # each log line on its own, from the first column
        assert re.match(r"\d\d:\d\d:\d\d (INFO|WARNING)", line) and not progress.search(line), line
    bars = [line for line in lines if progress.search(line)]
    assert bars and "frames 80/80" in bars[-1] and "events 1" in bars[-1]


def test_detectors_prints_defaults_as_yaml_does() -> None:
    result = run_cli("detectors")
    assert result.returncode == 0
    text = result.stdout
    assert re.search(r"compensate_light +default true ", text) and re.search(r"norm +default zero ", text)
    assert "True" not in text and "False" not in text and "'zero'" not in text.split("default zero")[0]


def test_plot_of_several_sources_asks_which_and_lists_them(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    scores = tmp_path / "scores.csv"  # the columns `run --scores` writes for two sources
    a, b = "cam1/front.mp4", "cam2/front.mp4"
    rows = ["source,frame,time,diff.value,diff.threshold,motion.active"]
    rows += [f"{name},{i},{i / 15:.4f},{0.01 * (i % 7)},0.03,{int(i % 7 > 3)}" for name in (a, b) for i in range(60)]
    scores.write_text("\n".join(rows) + "\n")
    names = f"'{a}', '{b}'"
    result = run_cli("plot", str(scores), "-o", str(tmp_path / "t.png"))
    assert result.returncode == 2 and not (tmp_path / "t.png").exists()
    assert result.stderr.strip() == (f"vidwatch: error: {scores} holds the scores of 2 sources ({names}); choose "
                                     f"one with --source NAME")
    wrong = run_cli("plot", str(scores), "--source", "cam9", "-o", str(tmp_path / "t.png"))
    assert wrong.returncode == 2 and wrong.stderr.strip().endswith(f"has no source 'cam9'; its sources: {names}")
    right = run_cli("plot", str(scores), "--source", str(b), "-o", str(tmp_path / "t.png"))
    assert right.returncode == 0 and (tmp_path / "t.png").stat().st_size > 10_000
