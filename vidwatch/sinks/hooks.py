"""Event hooks: run a command and/or POST a webhook when an event starts and ends (YAML ``hooks``).

Hooks run on one worker thread fed by a bounded queue, so a slow script or a dead web server never
holds up the capture loop: the sink only enqueues. Each run has a hard deadline (``timeout``): a
command and everything it started are killed then (:mod:`~vidwatch.sinks.hook_process`), a webhook
call is cut off then (:mod:`~vidwatch.sinks.webhook`); a failure is logged and detection goes on.
A webhook post that failed is held and retried (:mod:`~vidwatch.sinks.webhook_backlog`). A command
is never run twice: one that exited non-zero may have done part of its work. At exit the hooks still
running, queued or held get one grace period of ``timeout`` seconds, announced in the log; then, or
at once on Ctrl-C/SIGTERM, what is left is killed and named, so no hook process outlives vidwatch.
What never reached its hook (a post not delivered, a command that could not start or was killed at
its deadline) is named in the end-of-run summary and counts as a lost output (exit code 3); a
command that ran and exited non-zero, or one cut short because the user stopped the wait, is named
only. Commands get the event as ``VIDWATCH_*`` environment variables and as JSON on stdin; the
webhook receives the same JSON.
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
from vidwatch.sinks.hook_process import CommandNotStarted, HookAbandoned, HookProcess, command_stdin
from vidwatch.sinks.webhook import post_json, shown_url
from vidwatch.sinks.webhook_backlog import HeldPost, WebhookBacklog

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
    webhook_backlog: int = param(100, "failed webhook posts held to retry (after 1 s, doubling to 60 s, and once "
                                 "more at exit); beyond this the oldest is given up, named at the end",
                                 min=1, max=100000)

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


RETRY = "retry"
"""The worker's own job: send the held webhook posts again."""


class _Job:
    """One queued hook run: a command or a webhook call for one event phase (or the retry of held posts)."""

    def __init__(self, what: str, run: Callable[[threading.Event], None], *,
                 payload: dict[str, Any] | None = None, kind: str = "command") -> None:
        self.what = what
        self.run = run
        self.payload = payload
        """The webhook's JSON (webhook calls only): what is held when the call fails."""
        self.kind = kind
        """``command``, ``webhook`` or ``retry``."""
        self.started: float | None = None


@dataclass(frozen=True, slots=True)
class _Miss:
    """A hook run that did not do what it should, for the end-of-run summary."""

    what: str
    how: str
    """``could not start``, ``killed at the deadline``, ``exited non-zero``, ``skipped (queue full)``..."""
    lost: bool
    """Whether the hook never got the event (a lost output) rather than ran and failed."""
    reason: str = ""
    """The error, when there was one."""


class HookSink(Sink):
    """Queues hook runs for every event start and end; a worker thread runs them in order."""

    name = "hooks"

    def __init__(self, params: HookParams) -> None:
        self.params = params
        self.failures = 0
        """Hook runs that failed (a webhook post counts once, however often it is retried)."""
        self.skipped = 0
        self.abandoned: list[str] = []
        """Hook runs killed or never run because vidwatch stopped waiting for them at exit."""
        self.backlog = WebhookBacklog(shown_url(params.webhook), params.webhook_backlog) if params.webhook else None
        self._command_misses: list[_Miss] = []
        self._webhook_misses: list[_Miss] = []
        """Posts never sent (queue full, or vidwatch stopped waiting); failed ones are in the backlog."""
        self._stopped_on_signal = False
        self._final_try = False
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
            self._put(_Job(f"webhook for {label}", lambda cancelled: self._post(payload, cancelled), payload=payload,
                           kind="webhook"))

    def _post(self, payload: dict[str, Any], cancelled: threading.Event) -> None:
        assert self.params.webhook is not None
        post_json(self.params.webhook, payload, self.params.timeout, cancelled=cancelled)

    def _put(self, job: _Job) -> None:
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.skipped += 1
            self._missed(job, "skipped (queue full)", lost=True)
            log.warning("hook queue full (%d waiting): skipped %s; hooks are slower than events "
                        "(raise hooks.queue_size or shorten the hook)", self.params.queue_size, job.what)

    def _run_command(self, what: str, command: str | tuple[str, ...], payload: dict[str, Any],
                     cancelled: threading.Event) -> None:
        run = HookProcess(command, {**os.environ, **event_environment(payload)}, self.params.timeout)
        try:
            run.wait(command_stdin(payload), cancelled)
        finally:
            if run.proc.returncode is not None and run.left_running():
                with self._lock:  # its own exit is not the end of what it started: held to its deadline
                    self._stragglers.append((what, run))
            else:
                run.close()

    # -- worker thread --------------------------------------------------------------------------

    def _work(self) -> None:
        backlog = self.backlog
        while not self._abandon.is_set():
            self._reap_stragglers()
            if backlog is not None and not self._closing.is_set() and backlog.due():
                self._run(self._retry_job())
            try:
                job = self._queue.get(timeout=self._idle_wait())
            except queue.Empty:
                if self._closing.is_set():
                    if backlog is not None and backlog.held and not self._final_try:
                        self._final_try = True  # once more, within the exit grace period
                        self._run(self._retry_job(last=True))
                    elif not self._stragglers:
                        return
                continue
            if not job.what:  # the wake-up close() sends
                continue
            if job.payload is not None and backlog is not None and backlog.held:
                backlog.hold(HeldPost(job.what, job.payload))  # behind the held ones: in order, one wait
                continue
            self._run(job)

    def _retry_job(self, *, last: bool = False) -> _Job:
        backlog = self.backlog
        assert backlog is not None
        return _Job(f"retry of {len(backlog)} held webhook post{'' if len(backlog) == 1 else 's'}",
                    lambda cancelled: backlog.retry(self._post, cancelled, last=last), kind=RETRY)

    def _run(self, job: _Job) -> None:
        with self._lock:
            self._current = job
            job.started = time.monotonic()
        try:
            job.run(self._abandon)
            log.debug("hook ran: %s", job.what)
        except HookAbandoned:
            if job.kind != RETRY:  # a held post stays held, and is named as such
                self._missed(job, "cut short at exit", lost=not self._stopped_on_signal)
        except Exception as exc:  # a failing hook is reported and never stops anything
            self.failures += 1
            if job.payload is not None and self.backlog is not None:
                self.backlog.failed(HeldPost(job.what, job.payload), exc)
                log.warning("hook failed: %s: %s; holding it to retry in %g s (%d held)", job.what, exc,
                            self.backlog.wait, len(self.backlog))
            else:
                self._command_failed(job, exc)
        finally:
            with self._lock:
                self._current = None

    def _command_failed(self, job: _Job, exc: Exception) -> None:
        """Name a failed command; it is not run again (it may have done part of its work)."""
        log.warning("hook failed: %s: %s", job.what, exc)
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, CommandNotStarted):
            self._missed(job, "could not start", lost=True, reason=reason)
        elif isinstance(exc, TimeoutError):
            self._missed(job, f"killed at the {self.params.timeout:g} s deadline", lost=True, reason=reason)
        else:
            self._missed(job, "exited non-zero", lost=False, reason=reason)

    def _missed(self, job: _Job, how: str, *, lost: bool, reason: str = "") -> None:
        with self._lock:
            misses = self._webhook_misses if job.kind == "webhook" else self._command_misses
            misses.append(_Miss(job.what, how, lost, reason))

    def _idle_wait(self) -> float:
        """How long the idle worker may sleep: until the next straggler's deadline or webhook retry, and briefly
        when closing."""
        with self._lock:
            deadlines = [run.deadline for _, run in self._stragglers]
        wait = 0.05 if self._closing.is_set() else IDLE_POLL
        if deadlines:
            wait = min(wait, max(0.0, min(deadlines) - time.monotonic()))
        if self.backlog is not None and not self._closing.is_set():
            retry_in = self.backlog.seconds_to_retry()
            if retry_in is not None:
                wait = min(wait, retry_in)
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
        """One line for the webhook and one for the commands, naming what did not reach them (after close).

        A webhook post not delivered, or a command that could not start, was killed at its deadline
        or never ran, is a lost output (exit code 3). A command that ran and exited non-zero, or one
        cut short because the user stopped the exit wait, is named only.
        """
        found = []
        with self._lock:
            command_misses, webhook_misses = list(self._command_misses), list(self._webhook_misses)
        backlog = self.backlog
        if backlog is not None and (backlog.undelivered() or webhook_misses):
            names = [*backlog.undelivered(), *(m.what for m in webhook_misses)]
            hows = ([f"{len(backlog.dropped)} given up (too many held)"] if backlog.dropped else []) + \
                _counted(webhook_misses)
            count = len(names)
            what = (f"{count} event post{'' if count == 1 else 's'} not delivered"
                    + (f" ({', '.join(hows)})" if hows else "") + f": {listing(names)}")
            lost = bool(backlog.undelivered()) or any(m.lost for m in webhook_misses)
            found.append(Loss("webhook", backlog.where, what, backlog.reason or "not sent before exit", lost=lost))
        if command_misses:
            what = f"commands {', '.join(_counted(command_misses))}: {listing([m.what for m in command_misses])}"
            lost = any(m.lost for m in command_misses)
            reasons = [m.reason for m in command_misses if m.reason and (m.lost or not lost)]
            found.append(Loss(self.name, "", what, reasons[-1] if reasons else "see the log", lost=lost))
        return [*found, *super().losses()]

    # -- exit -----------------------------------------------------------------------------------

    def _outstanding(self) -> list[str]:
        with self._lock:
            current = self._current
            names = [f"{current.what} (running {time.monotonic() - (current.started or 0):.1f} s)"] if current else []
            stragglers = [f"processes left by {what}" for what, _ in self._stragglers]
        with self._queue.mutex:
            queued = [job.what for job in self._queue.queue if job.what]
        held = len(self.backlog) if self.backlog is not None else 0
        if held and not (current is not None and current.kind == RETRY):
            queued.append(f"{held} webhook post{'' if held == 1 else 's'} held to retry")
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
            self._stopped_on_signal = why == "on a signal"  # the user's choice: what it cuts short is named only
            self._abandon.set()  # the worker kills the running command or cuts the call, and stops
            self._worker.join(5.0)
            with self._queue.mutex:
                never_ran = [job for job in self._queue.queue if job.what]
                self._queue.queue.clear()
            for job in never_ran:
                self._missed(job, "cut short at exit", lost=not self._stopped_on_signal)
            self.abandoned = left_over
            if left_over:
                log.warning("stopped waiting for hooks %s: killed or dropped %s", why, ", ".join(left_over))
        self._reap_stragglers(all_now=True)


def _counted(misses: list[_Miss]) -> list[str]:
    """``['1 could not start', '2 killed at the 10 s deadline']``, in the order first met."""
    counts: dict[str, int] = {}
    for miss in misses:
        counts[miss.how] = counts.get(miss.how, 0) + 1
    return [f"{n} {how}" for how, n in counts.items()]


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
