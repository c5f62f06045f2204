"""`vidwatch serve --ray`: cameras as Ray actors, seen by the service as cameras on threads.

Two looping MJPEG/HTTP cameras from ffmpeg on 127.0.0.1 (:mod:`tests.serve_env`: a square crosses
the scene every 6 s). In-process tests share one local Ray (2 CPUs); the process test starts
``vidwatch serve --ray`` with its own Ray and checks that nothing it started outlives it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.serve_env import Api, HttpStream, make_camera_clip, site_yaml
from tests.stream_server import FFMPEG, free_port
from tests.vidwatch_process import VidwatchProcess

pytestmark = pytest.mark.skipif(not FFMPEG, reason="needs ffmpeg (a Debian package; .ci/run installs it)")


def rows(data: Path) -> list[dict]:
    with sqlite3.connect(data / "events.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM events ORDER BY start_epoch, rowid")]


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_serve_ray_process_writes_the_open_event_at_sigterm_and_leaves_no_process(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="RAY TESTS SKIPPED: Ray is not installed (pip install 'vidwatch[ray]')")
    stream = HttpStream(make_camera_clip(tmp_path / "cam.avi")).start()
    port = free_port()
    data = tmp_path / "data"
    config = site_yaml(tmp_path / "site.yaml", {"cam": {"source": stream.url}}, port=port, data=data,
                       extra={"events": {"motion": {"post_roll": 5.0}}})  # still open when SIGTERM comes
    service = VidwatchProcess("serve", "-c", str(config), "--ray")
    api = Api(f"http://127.0.0.1:{port}")
    try:
        service.wait_for(r"serving 1 cameras", timeout=60)
        wait_until(lambda: [e for e in api.json("/api/events") if e["kind"] == "motion" and e["open"]], 40,
                   "an open motion event")
        started = descendants(service.proc.pid)
        assert started, "Ray started no process: the test proves nothing"
        service.signal(signal.SIGTERM)
        assert service.finish(timeout=60) == 0
    finally:
        service.kill()
        stream.kill()
    assert "Traceback" not in service.log, service.log
    motion = [r for r in rows(data) if r["kind"] == "motion"]
    assert len(motion) == 1 and motion[0]["open"] == 0, motion  # closed by the actor, written by the service
    assert "interrupted" not in motion[0]["info"]
    wait_until(lambda: not any(alive(p) for p in started), 15, "every process Ray started to end")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    ray = pytest.importorskip("ray", reason="RAY TESTS SKIPPED: Ray is not installed (pip install 'vidwatch[ray]')")
    from vidwatch.distributed.cameras import RayCameraRunner
    from vidwatch.serve.service import Service
    from vidwatch.serve.site import load_site

    folder = tmp_path_factory.mktemp("fleet")
    streams = {"door": HttpStream(make_camera_clip(folder / "door.avi", seed=5, y=100)).start(),
               "yard": HttpStream(make_camera_clip(folder / "yard.avi", seed=8, y=60)).start()}
    port = free_port()
    config = site_yaml(folder / "site.yaml", {n: {"source": s.url} for n, s in streams.items()}, port=port,
                       data=folder / "data", extra={"events": {"motion": {"post_roll": 1.5}}})
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    service = Service(load_site(config), RayCameraRunner)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(service=service, data=folder / "data", api=Api(f"http://127.0.0.1:{port}"),
                              stop=stop, thread=thread, streams=streams)
    finally:
        stop.set()
        thread.join(60)
        for stream in streams.values():
            stream.kill()
        ray.shutdown()


def closed_motion(fleet: SimpleNamespace, camera: str, after: float = 0.0, *, with_clip: bool = False) -> list[dict]:
    """Finished motion events of ``camera`` whose files are done (a snapshot, and a clip with ``with_clip``:
    one whose main stream dropped on a busy machine rightly has none)."""
    return [r for r in rows(fleet.data) if r["camera"] == camera and r["kind"] == "motion" and not r["open"]
            and r["start_epoch"] > after and r["snapshot"] and (r["clip"] or not with_clip)]


def test_ray_cameras_are_live_and_their_events_arrive_with_their_files(fleet: SimpleNamespace) -> None:
    for camera in ("door", "yard"):
        event = wait_until(lambda c=camera: closed_motion(fleet, c, with_clip=True), 40,
                           f"a closed motion event of {camera} with its clip")[0]
        snapshot, clip = fleet.data / event["snapshot"], fleet.data / event["clip"]
        # written by the actor on its own disk, sent to the service, stored under the service's data folder
        wait_until(clip.is_file, 15, "the clip to arrive")
        assert snapshot.stat().st_size > 1000 and snapshot.read_bytes()[:2] == b"\xff\xd8"
        assert clip.stat().st_size > 1000
    cameras = {c["name"]: c for c in fleet.api.json("/api/cameras")}
    assert all(cameras[n]["state"] == "live" and cameras[n]["fps"] > 3 and cameras[n]["frames"] > 20
               for n in ("door", "yard")), cameras
    status, body, headers = fleet.api.request("/api/cameras/door/live.jpg")
    assert status == 200 and body[:2] == b"\xff\xd8", status


def test_a_killed_camera_actor_is_restarted_its_open_event_closed_and_reported(fleet: SimpleNamespace) -> None:
    runner = fleet.service.runners["door"]
    # one seen opening: it is still open when the kill lands (one already open may be about to end, and on a
    # busy machine end between this look and the kill: nothing would be interrupted)
    before = set(runner._open)
    wait_until(lambda: [i for i, m in list(runner._open.items()) if m.kind == "motion" and i not in before], 40,
               "a motion event on door opening")
    pid = runner.pid
    os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    # the test camera serves one client, and ends when it goes: start it again for the new actor
    stream = fleet.streams["door"]
    if stream.proc is not None:
        stream.proc.wait(10)
    fleet.streams["door"] = HttpStream(stream.clip, stream.port).start()
    lost = wait_until(lambda: [r for r in rows(fleet.data) if r["camera"] == "door" and r["kind"] == "stream_lost"],
                      30, "stream_lost for door")
    # the open event was closed and written, marked interrupted, ending where the actor was lost
    interrupted = [r for r in rows(fleet.data) if r["camera"] == "door" and "interrupted" in r["info"]]
    assert len(interrupted) == 1 and interrupted[0]["kind"] == "motion" and interrupted[0]["open"] == 0
    assert interrupted[0]["end_epoch"] <= lost[0]["start_epoch"] + 1.0
    restored = wait_until(lambda: [r for r in rows(fleet.data) if r["camera"] == "door"
                                   and r["kind"] == "stream_restored"], 60, "stream_restored for door")
    assert restored[0]["start_epoch"] >= lost[0]["start_epoch"]
    assert runner.pid != pid and alive(runner.pid) and not alive(pid)
    # the restarted actor detects again, and the other camera never stopped
    wait_until(lambda: closed_motion(fleet, "door", after=killed_at), 40, "a motion event after the restart")
    assert not [r for r in rows(fleet.data) if r["camera"] == "yard" and r["kind"].startswith("stream_")]
    door = next(c for c in fleet.api.json("/api/cameras") if c["name"] == "door")
    assert door["state"] == "live" and door["reconnects"] >= 1


def test_stopping_the_service_closes_every_event_and_ends_every_actor(fleet: SimpleNamespace) -> None:
    pids = [r.pid for r in fleet.service.runners.values()]
    wait_until(lambda: [r for r in rows(fleet.data) if r["kind"] == "motion" and r["open"]], 40, "an open event")
    fleet.stop.set()
    fleet.thread.join(60)
    assert not fleet.thread.is_alive()
    assert [r for r in rows(fleet.data) if r["open"]] == []
    wait_until(lambda: not any(alive(p) for p in pids), 15, "the camera actors' processes ended")
