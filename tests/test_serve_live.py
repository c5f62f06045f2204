"""``vidwatch serve`` with real parts: two MJPEG/HTTP cameras from ffmpeg, a mosquitto broker, a headless
Chromium, all on 127.0.0.1. One service runs for the whole module; each test waits (bounded) for what it
checks. The cameras loop a 6 s clip with a square crossing it, so a motion event comes every 6 s."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from .serve_env import (
    CHROMEDRIVER,
    CHROMIUM,
    MOSQUITTO,
    Api,
    Broker,
    HttpStream,
    Subscriber,
    chromium,
    make_camera_clip,
    site_yaml,
)
from .stream_server import FFMPEG, free_port
from .vidwatch_process import VidwatchProcess

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token-0123456789"
CAMERAS = ("door", "yard")

pytestmark = pytest.mark.skipif(not (FFMPEG and MOSQUITTO), reason="needs ffmpeg and mosquitto (Debian packages; "
                                ".ci/run installs them)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    folder = tmp_path_factory.mktemp("serve")
    clips = {"door": make_camera_clip(folder / "door.avi", seed=5, y=100),
             "yard": make_camera_clip(folder / "yard.avi", seed=8, y=60)}
    streams = {name: HttpStream(clip).start() for name, clip in clips.items()}
    broker = Broker(folder).start()
    mqtt = Subscriber(broker.port, ["vw/#", "homeassistant/#"])
    port = free_port()
    config = site_yaml(folder / "site.yaml", {n: {"source": s.url} for n, s in streams.items()}, port=port,
                       data=folder / "data", mqtt_port=broker.port, token=TOKEN)
    service = VidwatchProcess("serve", "-c", str(config))
    api = Api(f"http://127.0.0.1:{port}", TOKEN)
    try:
        service.wait_for(r"serving 2 cameras", timeout=20)
        yield SimpleNamespace(folder=folder, clips=clips, streams=streams, broker=broker, mqtt=mqtt, api=api,
                              service=service, port=port)
    finally:
        service.signal(signal.SIGTERM)
        try:
            code = service.finish(timeout=30)
        finally:
            service.kill()
            mqtt.close()
            broker.stop()
            for stream in streams.values():
                stream.kill()
        assert code == 0, service.log


def closed_motion(camera: str, *, notified: bool | None = None, min_duration: float = 0.0,  # type: ignore[no-untyped-def]
                  with_clip: bool = False):
    def check(events: list[dict]) -> dict | None:
        for e in events:
            if e["camera"] == camera and e["kind"] == "motion" and not e["open"] and e["snapshot"] and (
                    notified is None or e["notified"] == notified) and e["duration"] >= min_duration and (
                    e["clip"] or not with_clip):
                return e
        return None
    return check


def test_both_cameras_are_live_with_their_frame_rate_in_the_api_and_metrics(site: SimpleNamespace) -> None:
    # the rate is read over the last 64 frames: once that many have come, the burst a busy machine
    # delivers at start-up is a small part of them
    cameras = site.api.wait_for("/api/cameras", lambda cs: all(c["state"] == "live" and c["frames"] >= 64
                                                               for c in cs) and cs,
                                timeout=30, what="both cameras live for 64 frames")
    assert [c["name"] for c in cameras] == list(CAMERAS)
    for camera in cameras:
        assert camera["armed"] is True and camera["size"] == [320, 240] and camera["last_frame_age"] < 2
    status, body, headers = site.api.request("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    for name in CAMERAS:
        fps = float(next(line.split()[-1] for line in text.splitlines()
                         if line.startswith(f'vidwatch_camera_fps{{camera="{name}"}}')))
        assert 2 < fps < 30  # the stream's own 10 fps (a busy machine drops some and catches up in bursts)
    for camera in cameras:
        assert 2 < camera["fps"] < 30
        assert f'vidwatch_camera_up{{camera="{name}"}} 1.0' in text
    assert "vidwatch_camera_dropped_frames_total" in text and "vidwatch_mqtt_connected 1.0" in text


def test_motion_events_are_stored_with_a_snapshot_and_a_playable_clip(site: SimpleNamespace) -> None:
    for name in CAMERAS:
        # a crossing lasts 2.6 s plus the post-roll; on a machine so busy that a camera stalls for longer than
        # the post-roll and merge gap, an event may be cut in two, and one whose main stream dropped has no
        # clip (its row says so once its files are done): one of them is whole
        event = site.api.wait_for("/api/events?limit=20", closed_motion(name, min_duration=1.0, with_clip=True),
                                  timeout=25, what=f"a finished motion event of {name} with a snapshot and a clip")
        assert event["detectors"] == ["objects"] and event["box"]
        assert event["duration"] < 6.0 and event["end"] > event["start"] > time.time() - 120, json.dumps(event)
        status, jpeg, headers = site.api.request(event["snapshot"])
        assert status == 200 and headers["content-type"] == "image/jpeg"
        picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (240, 320, 3)
        deadline = time.monotonic() + 10
        while (status := site.api.request(event["clip"])[0]) == 409 and time.monotonic() < deadline:
            time.sleep(0.3)  # the clip ends a post-roll after the event
        status, mp4, headers = site.api.request(event["clip"])
        assert status == 200 and headers["content-type"] == "video/mp4"
        clip = site.folder / f"{name}.mp4"
        clip.write_bytes(mp4)
        capture = cv2.VideoCapture(str(clip))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        assert frames >= 10  # 1-4 s of event plus rolls, at 10 fps
    only_door = site.api.json("/api/events?camera=door&kind=motion&limit=5")
    assert only_door and {e["camera"] for e in only_door} == {"door"} and {e["kind"] for e in only_door} == {"motion"}
    newest_first = [e["start"] for e in site.api.json("/api/events?limit=50")]
    assert newest_first == sorted(newest_first, reverse=True)
    later = site.api.json(f"/api/events?since={newest_first[0]}")
    assert [e["start"] for e in later] == [newest_first[0]]


def test_home_assistant_discovery_and_motion_on_and_off(site: SimpleNamespace) -> None:
    mqtt = site.mqtt
    _, config = mqtt.wait_for(lambda t, p: t == "homeassistant/binary_sensor/vw_door_motion/config", 15,
                              "discovery of door's motion sensor")
    discovery = json.loads(config)
    assert discovery["device_class"] == "motion" and discovery["state_topic"] == "vw/door/motion"
    assert discovery["availability_topic"] == "vw/availability" and discovery["unique_id"] == "vw_door_motion"
    mqtt.wait_for(lambda t, p: t == "vw/availability" and p == b"online", 10, "availability online")
    mqtt.wait_for(lambda t, p: t == "vw/door/motion" and p == b"ON", 15, "door motion ON")
    on = mqtt.payloads("vw/door/motion").index(b"ON")
    deadline = time.monotonic() + 10
    while b"OFF" not in mqtt.payloads("vw/door/motion")[on:] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert b"OFF" in mqtt.payloads("vw/door/motion")[on:], "door motion never went back OFF"
    _, end = mqtt.wait_for(lambda t, p: t == "vw/events" and json.loads(p)["type"] == "end"
                           and json.loads(p)["camera"] == "door", 15, "an event end of door")
    event = json.loads(end)
    x1, y1, x2, y2 = event["box"]
    assert x2 > x1 >= 0 and y2 > y1 >= 0 and event["end_time"] > event["start_time"] > time.time() - 120
    assert event["snapshot"].endswith(f"/api/events/{event['id']}/snapshot.jpg")
    _, picture = mqtt.wait_for(lambda t, p: t == "vw/door/snapshot", 10, "door's snapshot")
    assert picture[:2] == b"\xff\xd8"  # a JPEG


def test_token_is_required_in_a_header_or_the_query(site: SimpleNamespace) -> None:
    api = site.api
    for path in ("/api/cameras", "/api/events", "/metrics", "/api/cameras/door/live.jpg", "/api/cameras/door/scores"):
        assert api.request(path, token=None)[0] == 401, path
        assert api.request(path, token="wrong-token-123")[0] == 401, path
        assert api.request(path)[0] == 200, path
    assert api.request(f"/api/cameras?token={TOKEN}", token=None)[0] == 200
    assert api.request("/api/cameras/door/disarm", method="POST", token=None)[0] == 401
    assert api.request("/healthz", token=None)[0] == 200
    assert api.request("/", token=None)[0] == 200  # the page shell holds no data; it asks for the token


def test_a_disarmed_camera_records_events_but_does_not_notify(site: SimpleNamespace) -> None:
    api = site.api
    assert api.json("/api/cameras/yard/disarm", method="POST")["armed"] is False
    try:
        since = time.time()
        event = api.wait_for(f"/api/events?camera=yard&since={since}", closed_motion("yard", notified=False),
                             timeout=20, what="a disarmed motion event of yard")
        time.sleep(0.5)
        published = [json.loads(p)["id"] for p in site.mqtt.payloads("vw/events")]
        assert event["id"] not in published
        assert site.mqtt.payloads("vw/yard/armed")[-1] == b"OFF"
    finally:
        assert api.json("/api/cameras/yard/arm", method="POST")["armed"] is True


@pytest.fixture(scope="module")
def browser(site: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    pytest.importorskip("selenium")
    driver = chromium(tmp_path_factory.mktemp("chromium"))
    try:
        driver.get(f"http://127.0.0.1:{site.port}/?token={TOKEN}")
        yield driver
    finally:
        driver.quit()


def _wait(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen in the browser within {timeout} s")
        time.sleep(0.2)


def test_the_page_shows_both_live_views_moving_and_the_events(site: SimpleNamespace, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    def live_pictures() -> list[bytes]:
        cards = browser.find_elements(By.CSS_SELECTOR, "article.camera[data-state=live] img.live")
        return [card.screenshot_as_png for card in cards] if len(cards) == 2 else []

    first = _wait(live_pictures, 15, "two live camera cards")
    changed = _wait(lambda: (lambda now: now and all(a != b for a, b in zip(first, now, strict=True)))(
        live_pictures()), 10, "both live views changing")
    assert changed
    names = [e.get_attribute("data-camera") for e in browser.find_elements(By.CSS_SELECTOR, "article.camera")]
    assert names == list(CAMERAS)
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#events li.event[data-kind=motion] img"), 20,
          "a motion event with its snapshot")
    _wait(lambda: len(browser.find_elements(By.CSS_SELECTOR, "article.camera .spark canvas")) >= 6, 10,
          "score sparklines")
    time.sleep(1.0)  # one more refresh of the sparklines and the list
    shot = site.folder / "serve.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20000
    if os.environ.get("VIDWATCH_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, ROOT / "docs" / "serve.png")


def test_a_killed_and_restored_stream_shows_in_the_api_and_on_the_page(site: SimpleNamespace, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    def door_state() -> str:
        return browser.find_element(By.CSS_SELECTOR, "article.camera[data-camera=door]").get_attribute("data-state")

    stream = site.streams["door"]
    yard_frames = site.api.json("/api/cameras")[1]["frames"]
    stream.kill()
    lost = site.api.wait_for("/api/cameras", lambda cs: cs[0]["state"] != "live" and cs[0], timeout=10,
                             what="door no longer live")
    assert lost["state"] == "lost" and lost["reason"]
    _wait(lambda: door_state() == "lost", 10, "door shown as lost on the page")
    assert "lost" in browser.find_element(By.CSS_SELECTOR, "article.camera[data-camera=door] .state").text
    assert site.api.json("/api/cameras")[1]["frames"] > yard_frames  # the other camera carries on
    site.streams["door"] = HttpStream(stream.clip, stream.port).start()
    restored = site.api.wait_for("/api/cameras", lambda cs: cs[0]["state"] == "live" and cs[0], timeout=15,
                                 what="door live again")
    assert restored["reconnects"] >= 1
    _wait(lambda: door_state() == "live", 10, "door shown as live again")
    kinds = [e["kind"] for e in site.api.json("/api/events?camera=door&limit=50")]
    assert "stream_lost" in kinds and "stream_restored" in kinds
