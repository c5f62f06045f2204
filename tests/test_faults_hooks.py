"""Hooks that fail: webhook posts held and retried against a real loopback server, commands that never
did their work named and counted as lost outputs (exit code 3). Each test is bounded to a few seconds."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vidwatch.events import MOTION, Event
from vidwatch.sinks.hooks import HookParams, HookSink
from vidwatch.sinks.webhook_backlog import HeldPost, WebhookBacklog

from .test_faults import run_cli

WAIT = 20.0


class FlakyServer:
    """A loopback webhook that answers 503 to its first ``refuse`` POSTs (every one when None), then 200."""

    def __init__(self, refuse: int | None) -> None:
        self.refuse = refuse
        self.attempts: list[float] = []
        """When each POST arrived (monotonic seconds)."""
        self.accepted: list[dict] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.attempts.append(time.monotonic())
                    accept = outer.refuse is not None and len(outer.attempts) > outer.refuse
                    if accept:
                        outer.accepted.append(body)
                self.send_response(200 if accept else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if accept:
                    outer.arrived.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky() -> Iterator[FlakyServer]:
    server = FlakyServer(refuse=2)
    yield server
    server.close()


def motion_event(start: int = 30) -> Event:
    return Event(MOTION, start, start / 15, start + 100, (start + 100) / 15, detectors=["diff"])


def test_a_webhook_that_fails_twice_gets_the_event_on_a_later_retry_while_running(flaky: FlakyServer) -> None:
    """503, 503, then 200: the post arrives by the timed retries (1 s, then 2 s later), before any exit."""
    sink = HookSink(HookParams(webhook=flaky.url, timeout=2.0))
    began = time.monotonic()
    sink.event_started(motion_event())
    assert flaky.arrived.wait(WAIT)  # not closed yet: the retries ran on their own
    took = time.monotonic() - began
    sink.close()
    assert [b["phase"] for b in flaky.accepted] == ["start"]
    first, second, third = flaky.attempts
    assert second - first >= 0.9 and third - second >= 1.9  # waits of 1 s, then doubled
    assert took < 10
    assert sink.failures == 1 and sink.losses() == []


def test_posts_made_while_the_webhook_fails_queue_behind_the_held_one_and_keep_their_order(
        flaky: FlakyServer) -> None:
    flaky.refuse = 1
    sink = HookSink(HookParams(webhook=flaky.url, timeout=2.0))
    sink.event_started(motion_event(30))
    while not flaky.attempts:
        time.sleep(0.01)
    sink.event_ended(motion_event(30))  # held behind the start: not sent before the start is accepted
    sink.event_started(motion_event(200))
    sink.close()  # the exit retry sends all three in order
    assert [(b["phase"], b["start_frame"]) for b in flaky.accepted] == [("start", 30), ("end", 30), ("start", 200)]
    assert len(flaky.attempts) == 1 + 3  # no attempt wasted on a post behind a failing one
    assert sink.losses() == []


def test_the_backlog_doubles_its_wait_to_a_ceiling_and_gives_up_the_oldest_when_full(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="vidwatch.sinks.webhook_backlog")
    now = [0.0]
    backlog = WebhookBacklog("http://x/hook", 3, first_wait=1.0, longest_wait=8.0, clock=lambda: now[0])
    sent: list[str] = []
    up = [False]

    def send(payload: dict, cancelled: threading.Event) -> None:
        if not up[0]:
            raise OSError("Connection refused")
        sent.append(payload["n"])

    backlog.failed(HeldPost("post 0", {"n": "0"}), OSError("Connection refused"))
    waits = []
    for _ in range(6):
        before = now[0]
        now[0] = before + backlog.seconds_to_retry()  # type: ignore[operator]
        assert backlog.due()
        backlog.retry(send, threading.Event())
        waits.append(now[0] - before)
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for n in range(1, 4):
        backlog.hold(HeldPost(f"post {n}", {"n": str(n)}))
    assert backlog.dropped == ["post 0"] and "gave up the oldest (post 0)" in caplog.text
    assert backlog.undelivered() == ["post 0", "post 1", "post 2", "post 3"]
    up[0] = True
    now[0] += backlog.seconds_to_retry()  # type: ignore[operator]
    backlog.retry(send, threading.Event())
    assert sent == ["1", "2", "3"] and backlog.undelivered() == ["post 0"]
    assert backlog.wait == 1.0  # a new failure starts again at the first wait


def test_commands_that_never_did_their_work_are_lost_and_a_non_zero_exit_is_not_retried(tmp_path: Path) -> None:
    count = tmp_path / "runs"
    fails = HookSink(HookParams(on_event_start=f"echo x >> {count}; exit 1"))
    missing = HookSink(HookParams(on_event_start=(str(tmp_path / "no-such-program"),)))
    not_found = HookSink(HookParams(on_event_start="no-such-program-here --now"))
    slow = HookSink(HookParams(on_event_start=(sys.executable, "-c", "import time; time.sleep(60)"), timeout=0.3))
    for sink in (fails, missing, not_found, slow):
        sink.event_started(motion_event())
        sink.close()
    assert count.read_text() == "x\n"  # ran once, never again
    [failed] = fails.losses()
    assert not failed.lost and "1 exited non-zero: on_event_start for motion start" in failed.what
    for sink, how in ((missing, "could not start"), (not_found, "could not start"),
                      (slow, "killed at the 0.3 s deadline")):
        [loss] = sink.losses()
        assert loss.lost and f"commands 1 {how}: on_event_start for motion start" in loss.what, loss


def hooks_config(tmp_path: Path, hooks: dict) -> str:
    path = tmp_path / "hooks.yaml"
    path.write_text(json.dumps({"hooks": {"timeout": 2.0, **hooks}}))
    return str(path)


def test_a_run_whose_webhook_recovers_delivers_every_post_in_order_and_exits_0(samples: Path, tmp_path: Path,
                                                                               flaky: FlakyServer) -> None:
    """The first post is refused; it is held, the end post queues behind it, and both arrive. A command
    that exits non-zero is named but is not a lost output."""
    flaky.refuse = 1
    config = hooks_config(tmp_path, {"webhook": flaky.url, "on_event_end": "exit 1"})
    result = run_cli("run", str(samples / "object_enters.mp4"), "-c", config)
    assert result.returncode == 0, result.stderr
    assert [b["phase"] for b in flaky.accepted] == ["start", "end"]
    assert "not delivered" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "vidwatch: hooks: commands 1 exited non-zero: on_event_end for motion end")


def test_a_webhook_that_never_accepts_is_named_with_its_count_and_the_exit_code_is_3(samples: Path,
                                                                                    tmp_path: Path) -> None:
    server = FlakyServer(refuse=None)
    try:
        config = hooks_config(tmp_path, {"webhook": server.url + "?token=s3cret"})
        result = run_cli("run", str(samples / "object_enters.mp4"), "-c", config, "--events",
                         str(tmp_path / "events.jsonl"))
    finally:
        server.close()
    assert result.returncode == 3, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == (f"vidwatch: webhook {server.url}: 2 event posts not delivered: webhook for motion start, "
                    f"webhook for motion end; HTTP 503 Service Unavailable")
    assert "s3cret" not in result.stderr  # a token in the URL stays out of the summary and the log
    # tried once, then once more at exit (and once a second in, if the run lasted that long); the end post
    # queued behind the held one and was never sent to a server that refuses
    assert 2 <= len(server.attempts) <= 3
    assert (tmp_path / "events.jsonl").read_text().count("\n") == 1  # detection and the other outputs went on


def test_a_command_that_cannot_start_makes_the_exit_code_3(samples: Path, tmp_path: Path) -> None:
    config = hooks_config(tmp_path, {"on_event_start": [str(tmp_path / "missing-script")]})
    result = run_cli("run", str(samples / "object_enters.mp4"), "-c", config)
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "vidwatch: hooks: commands 1 could not start: on_event_start for motion start; could not start: "
        "No such file or directory")


def test_a_command_the_exit_wait_ran_out_on_is_lost(tmp_path: Path) -> None:
    """No signal: the grace period ended while the second command ran, so it never finished its work.
    (A Ctrl-C that cuts the wait short names what it stopped without a lost output: see tests/test_faults.py.)"""
    started = tmp_path / "started"
    sink = HookSink(HookParams(on_event_start=f"echo x >> {started}; sleep 0.7", timeout=1.0))
    sink.event_started(motion_event(30))
    sink.event_started(motion_event(200))
    began = time.monotonic()
    while not started.exists() and time.monotonic() - began < WAIT:
        time.sleep(0.01)
    sink.close()  # the first ends 0.7 s in, the second is cut at 1 s, before its own deadline
    [loss] = sink.losses()
    assert loss.lost and loss.what == "commands 1 cut short at exit: on_event_start for motion start"
    assert started.read_text() == "x\nx\n"
