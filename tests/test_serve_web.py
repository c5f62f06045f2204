"""The web app in-process (Starlette's test client): auth, ids and paths that must not reach other files,
arm/disarm, metrics, unfinished clips."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():  # Starlette 1.x asks for the httpx2 fork; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from vidwatch.detectors.base import Score  # noqa: E402
from vidwatch.frames import AnalysisFrame, SourceFrame  # noqa: E402
from vidwatch.serve.camera import CameraState, FrameView  # noqa: E402
from vidwatch.serve.live import LiveJpeg  # noqa: E402
from vidwatch.serve.messages import EventMessage  # noqa: E402
from vidwatch.serve.metrics import metrics_registry, render  # noqa: E402
from vidwatch.serve.site import ServeParams  # noqa: E402
from vidwatch.serve.store import EventStore  # noqa: E402
from vidwatch.serve.web import WebContext, build_app, mp4_complete  # noqa: E402
from vidwatch.sinks.places import partial_path  # noqa: E402

TOKEN = "s3cret-token-42"
EVENT = "e" * 32


@pytest.fixture()
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    store = EventStore(data)
    snapshot = data / "door" / "run" / "snap.jpg"
    snapshot.parent.mkdir(parents=True)
    cv2.imwrite(str(snapshot), np.zeros((10, 10, 3), np.uint8))
    (data / "door" / "run" / "clip.mp4").write_bytes(b"\x00\x00\x00\x08mdat")  # being written: no index yet
    (tmp_path / "secret.txt").write_text("not for the web")
    event = {"kind": "motion", "start_time": 1.0, "end_time": 2.0, "snapshot": str(snapshot),
             "clip": str(data / "door" / "run" / "clip.mp4")}
    store.write_event(EventMessage("end", "door", EVENT, "motion", 100.0, 101.0, event))
    states = {"door": CameraState("door"), "yard": CameraState("yard")}
    image = np.full((240, 320, 3), 90, np.uint8)
    frame = AnalysisFrame(7, 0.7, image[::2, ::2, 0].copy(), 2.0, SourceFrame(7, 0.7, image))
    states["door"].observe(FrameView(7, 0.7, 1000.7, frame, {"diff": Score(0.01)}, {"diff": 0.002}, ("motion",)))
    armed: list[tuple[str, bool]] = []

    def arm(name: str, on: bool) -> None:
        armed.append((name, on))
        states[name].armed = on

    registry = metrics_registry(states, lambda: [("queue_messages", "waiting", 0.0)])
    context = WebContext(ServeParams(token=TOKEN), states,
                         {n: LiveJpeg(s, 320, {"motion": ("diff",)}) for n, s in states.items()}, store, arm,
                         lambda: render(registry), lambda: {"status": "ok"}, threading.Event())
    client = TestClient(build_app(context))
    client.armed = armed  # type: ignore[attr-defined]
    return client


def auth(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", **extra}


def test_every_data_route_needs_the_token(app: TestClient) -> None:
    for path in ("/api/cameras", "/api/events", f"/api/events/{EVENT}/snapshot.jpg", "/metrics",
                 "/api/cameras/door/scores", "/api/cameras/door/live.jpg"):
        response = app.get(path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer", path
        assert app.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert app.get(path, headers=auth()).status_code == 200, path
        assert app.get(path, params={"token": TOKEN}).status_code == 200, path
    assert app.post("/api/cameras/door/disarm").status_code == 401 and app.armed == []
    assert app.get("/healthz").status_code == 200
    assert app.get("/").status_code == 200 and "vidwatch" in app.get("/").text
    assert app.get("/static/app.js").status_code == 200


@pytest.mark.parametrize("path", [
    "/api/events/..%2F..%2Fsecret.txt/snapshot.jpg",
    "/api/events/../../secret.txt/snapshot.jpg",
    "/api/events/%2e%2e/snapshot.jpg",
    f"/api/events/{EVENT[:-1]}/snapshot.jpg",
    f"/api/events/{EVENT.upper()}/snapshot.jpg",
    f"/api/events/{EVENT}/../../../secret.txt",
    "/static/../../secret.txt",
    "/static/%2e%2e/%2e%2e/secret.txt",
    "/api/cameras/..%2F..%2Fsecret/live.jpg",
])
def test_no_request_reaches_a_file_outside_the_data_folder(app: TestClient, path: str) -> None:
    response = app.get(path, headers=auth())
    assert response.status_code == 404, path
    assert b"not for the web" not in response.content


def test_a_row_pointing_outside_the_data_folder_is_not_served(app: TestClient, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "data")
    with store._writer as db:  # a tampered row: the path climbs out of the data folder
        db.execute("UPDATE events SET snapshot = '../secret.txt' WHERE id = ?", (EVENT,))
    response = app.get(f"/api/events/{EVENT}/snapshot.jpg", headers=auth())
    assert response.status_code == 404 and b"not for the web" not in response.content


def test_events_snapshot_and_a_clip_still_being_written(app: TestClient) -> None:
    events = app.get("/api/events", headers=auth()).json()
    assert [e["id"] for e in events] == [EVENT]
    assert events[0]["snapshot"] == f"/api/events/{EVENT}/snapshot.jpg"
    assert events[0]["clip"] == f"/api/events/{EVENT}/clip.mp4"
    snapshot = app.get(events[0]["snapshot"], headers=auth())
    assert snapshot.status_code == 200 and snapshot.headers["content-type"] == "image/jpeg"
    clip = app.get(events[0]["clip"], headers=auth())
    assert clip.status_code == 409 and "still being written" in clip.json()["error"]
    assert app.get("/api/events?limit=0", headers=auth()).status_code == 400
    assert app.get("/api/events?since=yesterday", headers=auth()).status_code == 400
    assert app.get("/api/events?camera=yard", headers=auth()).json() == []


def test_a_clip_written_under_its_partial_name_is_being_written_then_missing_without_it(app: TestClient,
                                                                                       tmp_path: Path) -> None:
    """ClipSink writes ``.NAME.part.mp4`` and renames it when whole: until then the clip is not there yet."""
    clip = tmp_path / "data" / "door" / "run" / "clip.mp4"
    clip.rename(partial_path(clip))
    response = app.get(f"/api/events/{EVENT}/clip.mp4", headers=auth())
    assert response.status_code == 409 and "still being written" in response.json()["error"]
    partial_path(clip).unlink()  # given up (no frames, or the disk was full): the event has no clip
    response = app.get(f"/api/events/{EVENT}/clip.mp4", headers=auth())
    assert response.status_code == 404 and "has no clip" in response.json()["error"]


def test_arm_and_disarm(app: TestClient) -> None:
    assert app.post("/api/cameras/door/disarm", headers=auth()).json()["armed"] is False
    assert app.post("/api/cameras/door/arm", headers=auth()).json()["armed"] is True
    assert app.armed == [("door", False), ("door", True)]
    assert app.post("/api/cameras/nope/arm", headers=auth()).status_code == 404
    assert app.get("/api/cameras/door/arm", headers=auth()).status_code == 405


def test_cameras_live_picture_scores_and_metrics(app: TestClient) -> None:
    cameras = app.get("/api/cameras", headers=auth()).json()
    assert [(c["name"], c["state"]) for c in cameras] == [("door", "live"), ("yard", "connecting")]
    picture = app.get("/api/cameras/door/live.jpg", headers=auth())
    image = cv2.imdecode(np.frombuffer(picture.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3)
    waiting = cv2.imdecode(np.frombuffer(app.get("/api/cameras/yard/live.jpg", headers=auth()).content, np.uint8),
                           cv2.IMREAD_COLOR)
    assert waiting.shape[1] == 320  # a picture that says the camera is connecting
    scores = app.get("/api/cameras/door/scores", headers=auth()).json()
    assert scores["scores"] == {"diff": [0.01]} and scores["thresholds"] == {"diff": [0.002]}
    assert scores["active"] == [True]
    text = app.get("/metrics", headers=auth()).text
    assert 'vidwatch_camera_frames_total{camera="door"} 0.0' in text
    assert 'vidwatch_camera_up{camera="door"} 1.0' in text and 'vidwatch_camera_up{camera="yard"} 0.0' in text
    assert "vidwatch_queue_messages 0.0" in text
    assert all(line.startswith(("#", "vidwatch_")) for line in text.splitlines() if line)


def test_mp4_complete_needs_an_index_and_whole_boxes(tmp_path: Path) -> None:
    def box(kind: bytes, size: int) -> bytes:
        return size.to_bytes(4, "big") + kind + b"\x00" * (size - 8)

    path = tmp_path / "clip.mp4"
    path.write_bytes(box(b"ftyp", 16) + box(b"moov", 40) + box(b"mdat", 100))
    assert mp4_complete(path)
    path.write_bytes(box(b"ftyp", 16) + box(b"mdat", 100))
    assert not mp4_complete(path)  # no index yet
    path.write_bytes(box(b"ftyp", 16) + box(b"moov", 40) + box(b"mdat", 100)[:60])
    assert not mp4_complete(path)  # cut short
