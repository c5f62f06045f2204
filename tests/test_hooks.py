"""Event hooks against real processes and a real HTTP server on loopback."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vidwatch.config import build_config
from vidwatch.errors import ConfigError
from vidwatch.events import MOTION, STREAM_LOST, Event, instant_event
from vidwatch.sinks.hooks import HookParams, HookSink, event_environment, event_payload

WAIT = 20.0


class Receiver:
    """A loopback HTTP server recording POSTs; ``hold`` makes handlers wait until it is set."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        self.hold: threading.Event | None = None
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(WAIT)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def motion_event() -> Event:
    return Event(MOTION, 30, 2.0, 134, 8.93, detectors=["diff", "flow"], peak={"diff": 0.05},
                 peak_frame=60, peak_time=4.0, box=(10, 20, 30, 40), source="cam1")


RECORD = ("import json, os, sys, pathlib; "
          "env = {k: v for k, v in os.environ.items() if k.startswith('VIDWATCH_')}; "
          "pathlib.Path(sys.argv[1]).write_text(json.dumps({'env': env, 'stdin': json.load(sys.stdin)}))")


def test_commands_get_event_fields_as_environment_and_json_on_stdin(tmp_path: Path) -> None:
    start, end = tmp_path / "start.json", tmp_path / "end.json"
    params = HookParams(on_event_start=(sys.executable, "-c", RECORD, str(start)),
                        on_event_end=f"{sys.executable} -c \"{RECORD}\" {end}")  # shell form
    sink = HookSink(params)
    event = motion_event()
    sink.event_started(event)
    sink.event_ended(event)
    sink.close()
    got_start, got_end = json.loads(start.read_text()), json.loads(end.read_text())
    env = got_end["env"]
    assert env["VIDWATCH_PHASE"] == "end" and got_start["env"]["VIDWATCH_PHASE"] == "start"
    assert env["VIDWATCH_KIND"] == "motion"
    assert env["VIDWATCH_START_FRAME"] == "30" and env["VIDWATCH_END_FRAME"] == "134"
    assert env["VIDWATCH_START_TIME"] == "2.0" and env["VIDWATCH_END_TIME"] == "8.93"
    assert env["VIDWATCH_DETECTORS"] == "diff,flow"
    assert env["VIDWATCH_BOX"] == "10,20,30,40"
    assert env["VIDWATCH_SOURCE"] == "cam1"
    assert json.loads(env["VIDWATCH_PEAK"]) == {"diff": 0.05}
    assert got_end["stdin"] == {"phase": "end", **event.to_dict()}
    assert sink.failures == 0


def test_stream_event_extras_become_variables_too() -> None:
    payload = event_payload("start", instant_event(STREAM_LOST, 5, 1.5, reason="read failed"))
    env = event_environment(payload)
    assert env["VIDWATCH_KIND"] == "stream_lost" and env["VIDWATCH_REASON"] == "read failed"
    assert env["VIDWATCH_BOX"] == ""


def test_webhook_posts_the_event_json_at_start_and_end(receiver: Receiver) -> None:
    sink = HookSink(HookParams(webhook=receiver.url))
    event = motion_event()
    sink.event_started(event)
    event.end_frame = 200  # the open event keeps changing; the start post must not see this
    sink.event_ended(event)
    sink.close()
    assert [b["phase"] for b in receiver.bodies] == ["start", "end"]
    assert receiver.bodies[0]["end_frame"] == 134 and receiver.bodies[1]["end_frame"] == 200
    assert receiver.bodies[1]["kind"] == "motion" and receiver.bodies[1]["box"] == [10, 20, 30, 40]
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert sink.failures == 0


def test_a_hanging_webhook_never_blocks_the_caller(receiver: Receiver) -> None:
    receiver.hold = threading.Event()
    sink = HookSink(HookParams(webhook=receiver.url, timeout=WAIT, queue_size=2))
    event = motion_event()
    sink.event_started(event)  # returns at once although the server will not answer
    assert receiver.arrived.wait(WAIT)
    for _ in range(4):  # the worker is stuck: one more fits the queue, the rest are skipped
        sink.event_ended(event)
    assert not receiver.hold.is_set()  # we got here while the first request was still held
    assert sink.skipped == 2
    receiver.hold.set()
    sink.close()
    assert len(receiver.bodies) == 3
    assert sink.failures == 0


def test_failing_hooks_are_logged_and_detection_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    failing = Receiver(status=500)
    dead = Receiver()
    dead_url = dead.url
    dead.close()  # nothing listens there any more
    try:
        caplog.set_level(logging.WARNING, logger="vidwatch.sinks.hooks")
        sinks = [
            HookSink(HookParams(on_event_start=f"{sys.executable} -c 'import sys; sys.exit(3)'")),
            HookSink(HookParams(on_event_start=(sys.executable, "-c", "import time; time.sleep(60)"),
                                timeout=0.3)),
            HookSink(HookParams(webhook=failing.url)),
            HookSink(HookParams(webhook=dead_url, timeout=2.0)),
        ]
        for sink in sinks:
            sink.event_started(motion_event())
        for sink in sinks:
            sink.close()
    finally:
        failing.close()
    assert [s.failures for s in sinks] == [1, 1, 1, 1]
    text = caplog.text
    assert "exit code 3" in text
    assert "still running after 0.3 s; killed" in text
    assert "500" in text
    assert "refused" in text.lower()


def test_kinds_filter_and_config_section(receiver: Receiver) -> None:
    config = build_config({"hooks": {"webhook": receiver.url, "kinds": ["stream_lost"]}})
    sink = HookSink(config.hooks)
    sink.event_started(motion_event())
    sink.event_started(instant_event(STREAM_LOST, 5, 1.5, reason="x"))
    sink.close()
    assert [b["kind"] for b in receiver.bodies] == ["stream_lost"]
    assert config.hooks.enabled and not build_config(None).hooks.enabled


@pytest.mark.parametrize("hooks, message", [
    ({"webhook": "ftp://example"}, "http:// or https://"),
    ({"on_event_end": ""}, "on_event_end is empty"),
    ({"on_start": "x"}, "hooks.on_start: unknown key"),
    ({"timeout": 0}, "hooks.timeout"),
])
def test_bad_hook_config_is_rejected(hooks: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config({"hooks": hooks})
