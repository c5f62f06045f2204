"""vidwatch on a real network stream: loss, reconnect, no false alarm from it, SIGTERM, every event written.

A looping clip is served on loopback, over HTTP by ffmpeg and over RTSP by rtsp-server-perl with
ffmpeg publishing to it; the server is killed mid-run and a new one started on the same port,
serving the scene as the camera sees it when it comes back (something was left in view meanwhile).
Everything is bounded in time; nothing leaves the machine.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

from .stream_server import FFMPEG, RTSP_SERVER, RtspStreamServer, StreamServer, free_port
from .vidwatch_process import VidwatchProcess

if FFMPEG is None:  # .ci/run installs it; only a machine where that is impossible gets here
    pytest.skip("LIVE STREAM TESTS SKIPPED: ffmpeg is not installed and is needed to serve a test stream "
                "(apt-get install ffmpeg)", allow_module_level=True)

FPS = 15
W, H = 320, 240
QUIET_S, CROSS_S, TAIL_S = 2.0, 1.5, 1.5  # each loop: quiet, a square crosses, quiet


def make_clip(path: Path, *, parked: bool, quiet_s: float = QUIET_S) -> Path:
    """One loop of the scene; ``parked`` adds a static object (the camera's view after the outage)."""
    rng = np.random.default_rng(3)
    cells = rng.integers(50, 200, size=(H // 16, W // 16, 3), dtype=np.uint8)
    scene = np.kron(cells, np.ones((16, 16, 1), np.uint8))
    if parked:
        scene[150:200, 30:80] = (40, 40, 160)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    quiet, cross, tail = (round(s * FPS) for s in (quiet_s, CROSS_S, TAIL_S))
    for i in range(quiet + cross + tail):
        img = np.clip(scene.astype(np.int16) + rng.normal(0, 2, scene.shape), 0, 255).astype(np.uint8)
        if quiet <= i < quiet + cross:
            x = int(-40 + (W + 40) * (i - quiet) / cross)
            cv2.rectangle(img, (x, 60), (x + 40, 110), (240, 240, 240), -1)
        writer.write(img)
    writer.release()
    return path


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# The HTTP server starts the clip when vidwatch connects. The RTSP publisher starts it when it is
# restarted, and vidwatch joins up to a few seconds later (retry interval, stream probing, waiting
# for a key frame): a longer quiet start keeps the crossing clear of the reconnect.
SERVERS = [
    pytest.param(StreamServer, QUIET_S, id="http"),
    pytest.param(RtspStreamServer, 5.0, id="rtsp", marks=pytest.mark.skipif(
        RTSP_SERVER is None, reason="RTSP STREAM TEST SKIPPED: rtsp-server-perl is not installed and is needed to "
        "serve an RTSP test stream (apt-get install rtsp-server-perl)")),
]


@pytest.mark.parametrize(("server_type", "quiet_after"), SERVERS)
def test_reconnect_reports_loss_and_restore_without_false_alarm(
        tmp_path: Path, server_type: type[StreamServer] | type[RtspStreamServer], quiet_after: float) -> None:
    before = make_clip(tmp_path / "before.mp4", parked=False)
    after = make_clip(tmp_path / "after.mp4", parked=True, quiet_s=quiet_after)
    port = free_port()
    out = tmp_path / "events.jsonl"
    server = server_type(before, port).start()
    settings = [arg for setting in server.client_settings for arg in ("--set", setting)]
    run = VidwatchProcess(
        "run", server.url, "--events", str(out), "--status", "1",
        "--set", "source.reconnect_initial=0.2", "--set", "source.reconnect_max=1.0",
        "--set", "source.frame_timeout=3", "--set", "source.open_timeout=20", *settings)
    try:
        run.wait_for(r"end   motion", timeout=40)  # a motion event before the loss, finished
        server.kill()
        lost_at = run.wait_for(r"stream lost", timeout=20)
        run.wait_for(r"reconnect attempt 1 failed", timeout=20, after=lost_at)  # retrying while down
        server = server_type(after, port).start()
        restored_at = run.wait_for(r"stream restored", timeout=40, after=lost_at)
        run.wait_for(r"start motion", timeout=40, after=restored_at)  # a real crossing after the restore
        run.signal(signal.SIGTERM)  # while that event is open
        assert run.finish(timeout=30) == 0
    finally:
        run.kill()
        server.kill()
        print(run.log)  # shown when the test fails

    events = read_events(out)
    kinds = [e["kind"] for e in events]
    assert "scene_change" not in kinds
    lost = kinds.index("stream_lost")
    assert kinds[lost:lost + 2] == ["stream_lost", "stream_restored"]
    assert kinds.count("stream_lost") == 1 and kinds.count("stream_restored") == 1
    assert set(kinds[:lost]) == {"motion"}  # found before the loss
    assert kinds[lost + 2:] == ["motion"]  # the open event, written at SIGTERM
    restored = events[lost + 1]
    assert restored["attempts"] >= 2 and restored["downtime"] > 0
    first_after = events[lost + 2]
    # the reconnect itself raised nothing: the clip is quiet for a while after it comes back
    assert first_after["start_frame"] >= restored["start_frame"] + 5
    assert first_after["start_time"] >= restored["start_time"] + 0.5
    assert "status " + server.url in run.log  # the periodic status line
    assert "1 stream_lost, 1 stream_restored" in run.stdout
    print(f"restored at {restored['start_time']:.2f} s, next motion {first_after['start_time']:.2f} s")
