"""Event hooks: run a command and/or POST a webhook when an event starts and ends (YAML ``hooks``).

Hooks run on one worker thread fed by a bounded queue, so a slow script or a dead web server never
holds up the capture loop: the sink only enqueues. Each run has a hard deadline (``timeout``): a
command and everything it started are killed then (:mod:`~vidwatch.sinks.hook_process`), a webhook
call is cut off then (:mod:`~vidwatch.sinks.webhook`); a failure is logged and detection goes on.
At exit the hooks still running or queued get one grace period of ``timeout`` seconds, announced in
the log; then, or at once on Ctrl-C/SIGTERM, what is left is killed and named, so no hook process
outlives vidwatch. Commands get the event as ``VIDWATCH_*`` environment variables and as JSON on
stdin; the webhook receives the same JSON.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from vidwatch.events import Event
from vidwatch.params import param
from vidwatch.sinks.base import Sink
from vidwatch.sinks.delivery import Loss, listing
from vidwatch.sinks.hook_process import HookAbandoned, HookProcess, command_stdin
from vidwatch.sinks.webhook import post_json

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
    timeout: float = param(10.0, "seconds a command (with every process it starts) or a webhook call may "
                           "take before it is killed or cut off; also the one grace period hooks get at exit",
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


IDLE_POLL = 0.2
"""Seconds the idle worker sleeps between looks at the exit request."""


class _Job:
    """One queued hook run: a command or a webhook call for one event phase."""

    def __init__(self, what: str, run: Callable[[threading.Event], None]) -> None:
        self.what = what
        self.run = run
        self.started: float | None = None


class HookSink(Sink):
    """Queues hook runs for every event start and end; a worker thread runs them in order."""

    name = "hooks"

    def __init__(self, params: HookParams) -> None:
        self.params = params
        self.failures = 0
        self.skipped = 0
        self.abandoned: list[str] = []
        """Hook runs killed or never run because vidwatch stopped waiting for them at exit."""
        self._queue: queue.Queue[_Job] = queue.Queue(maxsize=params.queue_size)
        self._closing = threading.Event()
        self._abandon = threading.Event()
        self._lock = threading.Lock()
        self._current: _Job | None = None
        self._stragglers: list[tuple[str, HookProcess]] = []
        """Commands that exited but left processes running: killed at their run's deadline."""
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
            self._put(_Job(f"on_event_{phase} for {label}",
                           lambda cancelled: self._run_command(f"on_event_{phase} for {label}", command,
                                                               payload, cancelled)))
        if p.webhook:
            url = p.webhook
            self._put(_Job(f"webhook for {label}", lambda cancelled: post_json(url, payload, p.timeout,
                                                                               cancelled=cancelled)))

    def _put(self, job: _Job) -> None:
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.skipped += 1
            log.warning("hook queue full (%d waiting): skipped %s; hooks are slower than events "
                        "(raise hooks.queue_size or shorten the hook)", self.params.queue_size, job.what)

    def _run_command(self, what: str, command: str | tuple[str, ...], payload: dict[str, Any],
                     cancelled: threading.Event) -> None:
        run = HookProcess(command, {**os.environ, **event_environment(payload)}, self.params.timeout)
        try:
            run.wait(command_stdin(payload), cancelled)
        finally:
            if run.proc.returncode is not None and run.leftovers():
                with self._lock:  # its own exit is not the end of what it started: held to its deadline
                    self._stragglers.append((what, run))
            else:
                run.close()

    # -- worker thread --------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._abandon.is_set():
            self._reap_stragglers()
            try:
                job = self._queue.get(timeout=self._idle_wait())
            except queue.Empty:
                if self._closing.is_set() and not self._stragglers:
                    return
                continue
            if not job.what:  # the wake-up close() sends
                continue
            with self._lock:
                self._current = job
                job.started = time.monotonic()
            try:
                job.run(self._abandon)
                log.debug("hook ran: %s", job.what)
            except HookAbandoned:
                pass  # close() names it
            except Exception as exc:  # a failing hook is reported and never stops anything
                self.failures += 1
                log.warning("hook failed: %s: %s", job.what, exc)
            finally:
                with self._lock:
                    self._current = None

    def _idle_wait(self) -> float:
        """How long the idle worker may sleep: until the next straggler's deadline, and briefly when closing."""
        with self._lock:
            deadlines = [run.deadline for _, run in self._stragglers]
        wait = 0.05 if self._closing.is_set() else IDLE_POLL
        if deadlines:
            wait = min(wait, max(0.0, min(deadlines) - time.monotonic()))
        return wait

    def _reap_stragglers(self, *, all_now: bool = False) -> None:
        """Kill what finished hooks left running once their deadline has passed (every one when ``all_now``).

        While closing, stragglers that ended by themselves are let go, so the exit wait ends with them.
        """
        now = time.monotonic()
        closing = self._closing.is_set()
        with self._lock:
            due = [(w, r) for w, r in self._stragglers if all_now or closing or r.deadline <= now]
        for what, run in due:
            if run.deadline > now and not all_now:
                if run.leftovers():
                    continue  # still within its time
            elif run.leftovers():
                run.kill()
                log.warning("hook %s left processes running past %g s; killed them", what, self.params.timeout)
            run.close()
            with self._lock:
                self._stragglers.remove((what, run))

    def losses(self) -> list[Loss]:
        """Hook runs that failed, were skipped or were cut short at exit: named in the summary.

        They lose no record (the events are in the log and the other outputs), so they do not
        count as lost outputs for the exit code.
        """
        parts = [f"{n} {what}" for n, what in ((self.failures, "failed"), (self.skipped, "skipped (queue full)"),
                                                (len(self.abandoned), "cut short at exit")) if n]
        if not parts:
            return super().losses()
        detail = f": {listing(self.abandoned)}" if self.abandoned else ""
        return [Loss(self.name, "", "hook runs " + ", ".join(parts) + detail, "see the log", lost=False),
                *super().losses()]

    # -- exit -----------------------------------------------------------------------------------

    def _outstanding(self) -> list[str]:
        with self._lock:
            current = self._current
            names = [f"{current.what} (running {time.monotonic() - (current.started or 0):.1f} s)"] if current else []
            stragglers = [f"processes left by {what}" for what, _ in self._stragglers]
        with self._queue.mutex:
            queued = [job.what for job in self._queue.queue if job.what]
        return [*names, *queued, *stragglers]

    def close(self) -> None:
        """Give running and queued hooks one grace period of ``timeout`` s, then kill what is left.

        Ctrl-C or SIGTERM during the wait ends it at once. Either way no hook process is left behind.
        """
        if self._closing.is_set():
            return
        self._closing.set()
        try:
            self._queue.put_nowait(_Job("", lambda _: None))  # wakes an idle worker, which then ends
        except queue.Full:
            pass  # a full queue: the worker is busy and will see the exit request
        self._worker.join(0.1)  # an idle worker ends now; a busy one shows what it is doing
        outstanding = self._outstanding()
        began = time.monotonic()
        if outstanding and self._worker.is_alive():
            grace = self.params.timeout
            with _interrupted_by_signals() as interrupted:  # before the message that invites Ctrl-C
                log.info("waiting up to %g s for %d hook run%s: %s (Ctrl-C to stop waiting)", grace,
                         len(outstanding), "" if len(outstanding) == 1 else "s", ", ".join(outstanding[:5])
                         + (f" and {len(outstanding) - 5} more" if len(outstanding) > 5 else ""))
                while self._worker.is_alive() and not interrupted.is_set():
                    left = began + grace - time.monotonic()
                    if left <= 0:
                        break
                    self._worker.join(min(left, 0.05))
                why = "on a signal" if interrupted.is_set() else f"after {grace:g} s"
        else:
            why = ""
        if self._worker.is_alive():
            left_over = self._outstanding()
            self._abandon.set()  # the worker kills the running command or cuts the call, and stops
            self._worker.join(5.0)
            with self._queue.mutex:
                self._queue.queue.clear()
            self.abandoned = left_over
            if left_over:
                log.warning("stopped waiting for hooks %s: killed or dropped %s", why, ", ".join(left_over))
        self._reap_stragglers(all_now=True)


@contextmanager
def _interrupted_by_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs (main thread only; elsewhere never set).

    The exit wait is the one place where a signal must not kill vidwatch (leaving hook processes
    behind) nor raise KeyboardInterrupt: it only ends the wait, and the run still exits normally.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return
    previous = {s: signal.signal(s, lambda *_: interrupted.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield interrupted
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
