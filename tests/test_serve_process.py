"""A real ``vidwatch serve`` process: SIGTERM mid-event, a restart that keeps the events, record_source.

record_source: the camera is detected on a 320x240 MJPEG sub-stream and recorded from a 640x480 H.264
main stream of the same frames (one ffmpeg sends both, as a camera does, on loopback). The clip must
come from the main stream and show the moving square where, and when, the detecting stream saw it.
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from .serve_env import MOSQUITTO, SPEED, Api, Broker, CameraStreams, HttpStream, Subscriber, make_camera_clip, site_yaml
from .stream_server import FFMPEG, free_port
from .vidwatch_process import VidwatchProcess

pytestmark = pytest.mark.skipif(not FFMPEG, reason="needs ffmpeg (a Debian package; .ci/run installs it)")


def rows(data: Path) -> list[dict]:
    with sqlite3.connect(data / "events.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM events ORDER BY start_epoch")]


def test_sigterm_mid_event_writes_it_and_a_restart_shows_the_same_events(tmp_path: Path) -> None:
    stream = HttpStream(make_camera_clip(tmp_path / "cam.avi")).start()
    port = free_port()
    data = tmp_path / "data"
    config = site_yaml(tmp_path / "site.yaml", {"cam": {"source": stream.url}}, port=port, data=data,
                       extra={"events": {"motion": {"post_roll": 5.0}}})  # still open when SIGTERM comes
    service = VidwatchProcess("serve", "-c", str(config))
    try:
        service.wait_for(r"\[cam\] start motion", timeout=20)
        service.signal(signal.SIGTERM)
        assert service.finish(timeout=30) == 0
    finally:
        service.kill()
        stream.kill()
    assert "stopping (SIGTERM)" in service.log and "Traceback" not in service.log
    stored = rows(data)
    motion = [r for r in stored if r["kind"] == "motion"]
    assert len(motion) == 1 and motion[0]["open"] == 0, stored  # closed and written at the stop
    assert motion[0]["end_epoch"] >= motion[0]["start_epoch"] and motion[0]["end_frame"] >= motion[0]["start_frame"]
    assert "interrupted" not in motion[0]["info"]

    restarted = VidwatchProcess("serve", "-c", str(config), "--set", "cameras.cam.source=http://127.0.0.1:9/none")
    try:
        restarted.wait_for(r"serving 1 cameras", timeout=20)
        events = Api(f"http://127.0.0.1:{port}").json("/api/events")
    finally:
        restarted.signal(signal.SIGTERM)
        code = restarted.finish(timeout=30)
    assert code == 0
    assert [(e["id"], e["kind"], e["start"]) for e in events] == [(motion[0]["id"], "motion", motion[0]["start_epoch"])]


def test_a_bad_site_config_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("cameras:\n  door:\n    source: rtsp://cam/stream\n    detectors: {diff: {threshold: -1}}\n")
    run = VidwatchProcess("serve", "-c", str(config))
    assert run.finish(timeout=30) == 2
    assert run.lines == [f"vidwatch: error: {config}: cameras.door.detectors.diff.threshold: -1.0 is out of "
                         f"range; allowed: float >= 0.0"]


def _square_column(image: np.ndarray, row: int) -> int | None:
    """Left edge of the dark striped square on ``row`` of a grey picture (the clip's scene has no other run
    of near-black pixels that long)."""
    dark = np.flatnonzero(image[row] < 40)
    if dark.size < 10:
        return None
    runs = np.split(dark, np.flatnonzero(np.diff(dark) > 1) + 1)
    longest = max(runs, key=len)
    return int(longest[0]) if len(longest) >= 10 else None


def test_record_source_films_the_main_stream_matched_in_time(tmp_path: Path) -> None:
    camera = CameraStreams(make_camera_clip(tmp_path / "sub.avi", seed=5, y=100)).start()
    port = free_port()
    data = tmp_path / "data"
    config = site_yaml(tmp_path / "site.yaml", {"cam": {"source": camera.sub_url, "record_source": camera.main_url}},
                       port=port,
                       data=data, extra={"outputs": {"pre_roll": 1.0, "post_roll": 0.5}})
    service = VidwatchProcess("serve", "-c", str(config))
    api = Api(f"http://127.0.0.1:{port}")
    try:
        service.wait_for(r"serving 1 cameras", timeout=20)
        event = api.wait_for("/api/events", lambda es: next((e for e in es if e["kind"] == "motion" and e["clip"]
                                                             and e["snapshot"] and not e["open"]), None),
                             timeout=25, what="a motion event with a clip and a snapshot")
        api.wait_for(f"/api/events?since={event['start']}", lambda es: api.request(event["clip"])[0] == 200,
                     timeout=10, what="the finished clip")
        status, jpeg, _ = api.request(event["snapshot"])  # written from the clip, before the event names it
    finally:
        service.signal(signal.SIGTERM)
        code = service.finish(timeout=30)
        camera.kill()
    assert code == 0, service.log
    assert status == 200
    snapshot = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert snapshot.shape == (480, 640, 3)  # from the main stream, not the 320x240 sub-stream
    clip = data / next(r["clip"] for r in rows(data) if r["id"] == event["id"])
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 640, 480)
        frames = [(f.time, f.to_ndarray(format="gray")) for f in container.decode(stream)]
    # the clip spans the pre-roll (1 s), the event and the post-roll (0.5 s): at 10 fps at least the event's
    # frames and 10 more
    assert len(frames) >= event["end_frame"] - event["start_frame"] + 1 + 10
    assert sum(_square_column(image, 2 * 100 + 6) is not None for _, image in frames) >= 5  # the square crosses
    # matched in time: the snapshot is the main stream's frame at the detecting stream's peak, so the square
    # sits at the event's box (scaled to the main stream); a frame off moves it 24 pixels, a second 240. This
    # camera's main stream arrives 2 frames after its sub-stream (MPEG-TS is demuxed a frame late, and the
    # encoder takes one): a difference the match cannot see, so 3 frames either side are allowed
    x, _, w, _ = event["box"]
    square = _square_column(cv2.cvtColor(snapshot, cv2.COLOR_BGR2GRAY), 2 * 100 + 6)
    assert square is not None
    assert 2 * x - 3 * 2 * SPEED <= square <= 2 * (x + w) + 3 * 2 * SPEED, (square, event["box"])


@pytest.mark.skipif(not MOSQUITTO, reason="needs mosquitto (a Debian package; .ci/run installs it)")
def test_a_broker_that_comes_late_gets_every_state_and_detection_never_waited(tmp_path: Path) -> None:
    stream = HttpStream(make_camera_clip(tmp_path / "cam.avi")).start()
    broker = Broker(tmp_path)  # not started yet: the broker is down when vidwatch starts
    port = free_port()
    config = site_yaml(tmp_path / "site.yaml", {"cam": {"source": stream.url}}, port=port, data=tmp_path / "data",
                       mqtt_port=broker.port, extra={"mqtt": {"reconnect_max": 1.0}})
    service = VidwatchProcess("serve", "-c", str(config))
    api = Api(f"http://127.0.0.1:{port}")
    subscriber = None
    try:
        service.wait_for(r"\[cam\] end   motion", timeout=20)  # detecting and recording without the broker
        assert "vidwatch_mqtt_connected 0.0" in api.request("/metrics")[1].decode()
        broker.start()
        subscriber = Subscriber(broker.port, ["vw/#", "homeassistant/#"])
        subscriber.wait_for(lambda t, p: t == "vw/availability" and p == b"online", 15, "availability online")
        subscriber.wait_for(lambda t, p: t == "vw/cam/motion" and p in (b"ON", b"OFF"), 10, "the motion state")
        subscriber.wait_for(lambda t, p: t == "homeassistant/binary_sensor/vw_cam_motion/config", 10, "discovery")
        subscriber.wait_for(lambda t, p: t == "vw/events", 15, "an event after the broker came")
        assert api.json("/api/cameras")[0]["state"] == "live"
    finally:
        service.signal(signal.SIGTERM)
        code = service.finish(timeout=30)
        if subscriber is not None:
            subscriber.close()
        broker.stop()
        stream.kill()
    assert code == 0, service.log
    assert "MQTT: connected" in service.log
