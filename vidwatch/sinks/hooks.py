"""Event hooks: run a command and/or POST a webhook when an event starts and ends (YAML ``hooks``).

Hooks run on one worker thread fed by a bounded queue, so a slow script or a dead web server never
holds up the capture loop: the sink only enqueues. Each run has a timeout; a failure is logged and
detection goes on. Commands get the event as ``VIDWATCH_*`` environment variables and as JSON on
stdin; the webhook receives the same JSON. Only the standard library is used.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vidwatch.events import Event
from vidwatch.params import param
from vidwatch.sinks.base import Sink

log = logging.getLogger(__name__)

Command = str | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class HookParams:
    """Commands and a webhook run on event start and end (YAML section ``hooks``)."""

    on_event_start: str | tuple[str, ...] | None = param(
        None, "command run when an event starts: a shell command line, or a list [program, arg, ...] run "
        "without a shell")
    on_event_end: str | tuple[str, ...] | None = param(
        None, "command run when an event ends (same forms as on_event_start)")
    webhook: str | None = param(None, "http(s) URL that receives a POST of the event JSON at start and end")
    timeout: float = param(10.0, "seconds a command or webhook call may take before it is abandoned",
                           min=0.1, max=3600.0)
    kinds: tuple[str, ...] | None = param(None, "event kinds that trigger hooks; default: every kind")
    queue_size: int = param(100, "hook runs waiting at most; beyond this new ones are dropped and logged, the "
                       "capture loop never waits", min=1, max=100000)

    def __post_init__(self) -> None:
        if self.webhook is not None and not self.webhook.lower().startswith(("http://", "https://")):
            raise ValueError(f"webhook must be an http:// or https:// URL, got {self.webhook!r}")
        for name in ("on_event_start", "on_event_end"):
            if getattr(self, name) in ("", ()):
                raise ValueError(f"{name} is empty; give a command or leave it out")

    @property
    def enabled(self) -> bool:
        return bool(self.on_event_start or self.on_event_end or self.webhook)


def event_payload(phase: str, event: Event) -> dict[str, Any]:
    """What a hook receives: ``phase`` (start or end) and the event's JSON fields."""
    return {"phase": phase, **event.to_dict()}


def event_environment(payload: dict[str, Any]) -> dict[str, str]:
    """``VIDWATCH_<FIELD>`` variables: lists comma-joined, mappings as JSON, null as empty."""
    env: dict[str, str] = {}
    for key, value in payload.items():
        if value is None:
            text = ""
        elif isinstance(value, (list, tuple)):
            text = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = json.dumps(value, sort_keys=True)
        else:
            text = str(value)
        env["VIDWATCH_" + "".join(c if c.isalnum() else "_" for c in str(key)).upper()] = text
    return env


def run_command(command: str | tuple[str, ...], payload: dict[str, Any], timeout: float) -> None:
    """Run one hook command; raises on a non-zero exit or a timeout (the whole process group is killed)."""
    text = json.dumps(payload, ensure_ascii=False)
    env = {**os.environ, **event_environment(payload)}
    shell = isinstance(command, str)
    proc = subprocess.Popen(command if shell else list(command), shell=shell, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(text, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.communicate()
        raise TimeoutError(f"still running after {timeout:g} s; killed") from None
    if proc.returncode != 0:
        tail = (err or "").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"exit code {proc.returncode}" + (f": {tail[0][:200]}" if tail[0] else ""))


def post_json(url: str, payload: dict[str, Any], timeout: float) -> None:
    """POST ``payload`` as JSON; raises on a connection error, a timeout or an HTTP error status."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "vidwatch"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user-configured URL
        response.read()


class HookSink(Sink):
    """Queues hook runs for every event start and end; a worker thread runs them in order."""

    name = "hooks"

    def __init__(self, params: HookParams) -> None:
        self.params = params
        self.failures = 0
        self.skipped = 0
        self._queue: queue.Queue[tuple[str, Callable[[], None]] | None] = queue.Queue(maxsize=params.queue_size)
        self._worker = threading.Thread(target=self._work, name="hooks", daemon=True)
        self._worker.start()

    def event_started(self, event: Event) -> None:
        self._submit("start", event, self.params.on_event_start)

    def event_ended(self, event: Event) -> None:
        self._submit("end", event, self.params.on_event_end)

    def _submit(self, phase: str, event: Event, command: Command) -> None:
        p = self.params
        if p.kinds is not None and event.kind not in p.kinds:
            return
        payload = event_payload(phase, event)  # a snapshot now: an open event keeps changing
        label = f"{event.kind} {phase}"
        if command:
            self._put(f"on_event_{phase} for {label}", lambda: run_command(command, payload, p.timeout))
        if p.webhook:
            url = p.webhook
            self._put(f"webhook for {label}", lambda: post_json(url, payload, p.timeout))

    def _put(self, what: str, job: Callable[[], None]) -> None:
        try:
            self._queue.put_nowait((what, job))
        except queue.Full:
            self.skipped += 1
            log.warning("hook queue full (%d waiting): skipped %s; hooks are slower than events "
                        "(raise hooks.queue_size or shorten the hook)", self.params.queue_size, what)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            what, job = item
            try:
                job()
                log.debug("hook ran: %s", what)
            except Exception as exc:  # a failing hook is reported and never stops anything
                self.failures += 1
                reason = exc.reason if isinstance(exc, urllib.error.URLError) and not isinstance(
                    exc, urllib.error.HTTPError) else exc
                log.warning("hook failed: %s: %s", what, reason)

    def close(self) -> None:
        """Let queued hooks finish (each within its timeout, the whole drain within 30 s), then stop."""
        if not self._worker.is_alive():
            return
        waiting = self._queue.qsize()
        deadline = time.monotonic() + min(30.0, (waiting + 1) * (self.params.timeout + 1.0))
        while True:
            try:
                self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    break
        self._worker.join(max(0.0, deadline - time.monotonic()))
        if self._worker.is_alive():
            log.warning("hooks still running at exit were abandoned (%d waiting)", self._queue.qsize())
