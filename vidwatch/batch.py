"""Several sources in parallel processes, with one combined event output in source order.

Each source runs the ordinary pipeline in a worker process (spawned, so it works the same on every
platform and inherits no threads). Workers send every event to the parent the moment the gate
produces it; the parent alone writes the outputs. Events of the first unfinished source go straight
through; those of later sources wait in memory until every earlier source has finished, so the
output reads exactly as a one-by-one run would: source order, then the order events ended. When the
run is stopped (Ctrl-C, SIGTERM) the workers close their open events, and the parent writes every
event it holds before it exits, so no finished event is lost.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vidwatch.config import Config, build_config
from vidwatch.errors import SourceError, UserError
from vidwatch.events import Event
from vidwatch.logs import setup_worker_logging
from vidwatch.pipeline import RunStats, run_source
from vidwatch.sinks.base import Sink, SinkSet

log = logging.getLogger(__name__)

POLL = 0.2
"""Seconds between checks of the stop flag and of workers that died."""
STOP_WAIT = 10.0
"""Seconds workers get to close their open events after a stop before they are terminated."""


class _Forward(Sink):
    """Worker side: hands each event to the parent as soon as it happens."""

    name = "forward"

    def __init__(self, index: int, results: Any) -> None:
        self.index = index
        self.results = results

    def event_started(self, event: Event) -> None:
        self.results.put((self.index, "started", event))

    def event_ended(self, event: Event) -> None:
        self.results.put((self.index, "ended", event))


def _worker(tasks: Any, results: Any, stop: Any, plain_config: dict[str, Any], log_level: int) -> None:
    """Process entry point: run sources from ``tasks`` until told there are no more."""
    setup_worker_logging(log_level)
    # Ctrl-C reaches the whole process group: the parent decides when to stop and sets ``stop``;
    # a SIGTERM sent to a worker alone stops it the same gentle way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = build_config(plain_config)
    while True:
        task = tasks.get()
        if task is None:
            return
        index, spec = task
        if stop.is_set():
            results.put((index, "skipped", None))
            continue
        results.put((index, "begin", os.getpid()))
        try:
            stats = run_source(spec, config, [_Forward(index, results)], stop=stop, label_events=True)
            results.put((index, "done", stats))
        except UserError as exc:
            results.put((index, "error", ("user", str(exc))))
        except Exception as exc:  # reported by the parent; the other sources go on
            results.put((index, "error", ("internal", f"{type(exc).__name__}: {exc}")))


@dataclass
class _Slot:
    """What the parent holds for one source until it is that source's turn."""

    pending: list[tuple[str, Event]] = field(default_factory=list)
    finished: bool = False
    stats: RunStats | None = None
    error: tuple[str, str] | None = None
    pid: int | None = None


def run_parallel(
    specs: Sequence[str],
    config: Config,
    sinks: Sequence[Sink],
    *,
    jobs: int,
    stop: threading.Event,
    on_source_done: Callable[[RunStats], None] | None = None,
) -> list[RunStats]:
    """Run every spec in up to ``jobs`` worker processes; events reach ``sinks`` in source order.

    ``on_source_done`` is called with each source's statistics, also in source order. A source that
    fails is reported after the others have finished, as a :class:`SourceError` (or a
    ``RuntimeError`` for an internal error), like a one-by-one run would report it.
    """
    ctx = mp.get_context("spawn")
    tasks, results, worker_stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    n_workers = max(1, min(jobs, len(specs)))
    for task in enumerate(specs):
        tasks.put(task)
    for _ in range(n_workers):
        tasks.put(None)
    level = logging.getLogger().getEffectiveLevel()
    workers = [ctx.Process(target=_worker, args=(tasks, results, worker_stop, config.to_plain(), level),
                           name=f"vidwatch-worker-{i}", daemon=True) for i in range(n_workers)]
    out = SinkSet(list(sinks))
    slots = [_Slot() for _ in specs]
    done: list[RunStats] = []
    head = 0

    def release() -> None:
        """Hand over everything of the first unfinished source, and of every finished one before it."""
        nonlocal head
        while head < len(slots):
            slot = slots[head]
            for method, event in slot.pending:
                getattr(out, method)(event)
            slot.pending.clear()
            if not slot.finished:
                return
            if slot.stats is not None:
                done.append(slot.stats)
                if on_source_done is not None:
                    on_source_done(slot.stats)
            head += 1

    def receive(message: tuple[int, str, Any]) -> None:
        index, what, payload = message
        slot = slots[index]
        if what in ("started", "ended"):
            slot.pending.append(("event_started" if what == "started" else "event_ended", payload))
        elif what == "begin":
            slot.pid = payload
        else:  # done, error, skipped
            slot.finished = True
            slot.stats = payload if what == "done" else None
            slot.error = payload if what == "error" else None
        if index == head:
            release()

    def notice_dead_workers() -> None:
        for worker in workers:
            if worker.exitcode not in (None, 0):
                for i, slot in enumerate(slots):
                    if slot.pid == worker.pid and not slot.finished:
                        receive((i, "error", ("internal", f"worker for {specs[i]} died "
                                                          f"(exit code {worker.exitcode})")))

    try:
        if stop.is_set():
            worker_stop.set()
        for worker in workers:
            worker.start()
        while head < len(slots):
            if stop.is_set():
                worker_stop.set()
            try:
                receive(results.get(timeout=POLL))
            except queue.Empty:
                notice_dead_workers()
                if not any(w.is_alive() for w in workers):
                    _drain(results, receive)
                    for i, slot in enumerate(slots):  # nothing can arrive any more
                        if not slot.finished:
                            receive((i, "skipped", None))
    finally:
        worker_stop.set()
        deadline = time.monotonic() + STOP_WAIT
        # keep reading while workers finish: a worker cannot exit before its queued messages are taken
        while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
            _drain(results, receive)
        _drain(results, receive)
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()
        # whatever arrived is written, in source order, even when the run is cut short
        for slot in slots:
            slot.finished = True
        release()
    if out.failures:
        log.error("outputs that failed (see above): %s",
                  ", ".join(f"{name} {count}x" for name, count in sorted(out.failures.items())))
    errors = [(specs[i], s.error) for i, s in enumerate(slots) if s.error is not None]
    for spec, (_, message) in errors[1:]:
        log.error("%s: %s", spec, message)
    if errors:
        kind, message = errors[0][1]
        raise SourceError(message) if kind == "user" else RuntimeError(message)
    return done


def _drain(results: Any, receive: Callable[[tuple[int, str, Any]], None]) -> None:
    """Take every message still queued (workers have stopped or are stopping)."""
    while True:
        try:
            receive(results.get(timeout=0.05))
        except queue.Empty:
            return
