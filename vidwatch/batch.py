"""Sources, and pieces of long files, in parallel processes, with one combined output in source order.

The work is a queue of tasks: a whole source, a segment of a file (:mod:`vidwatch.segments`), or
a run of a file's keyframes to compare for triage (:mod:`vidwatch.triage`). Worker processes
(spawned, so it works the same on every platform and inherits no threads) take them one at a
time; a file that is triaged is planned once its keyframes are compared, and its segments join
the queue then.

Workers send every event to the parent the moment the pipeline produces it; the parent alone
writes the event outputs (log, events file, hooks). Snapshots and clips need the pictures, so the
worker that analyses an event writes them; score rows go to a part file per task, which the
parent appends to the scores file in order. Events of the first unfinished task go straight
through (through the file's stitcher when it is scanned in pieces); later tasks' wait in memory
until every earlier one has finished, so the output reads as a one-by-one, one-process run would:
source order, then the order events ended. When the run is stopped (Ctrl-C, SIGTERM) the workers
close their open events, and the parent writes every event it holds before it exits.
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
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidwatch.config import Config, build_config
from vidwatch.errors import SourceError, UserError
from vidwatch.events import Event
from vidwatch.logs import setup_worker_logging
from vidwatch.pipeline import RunStats, run_source
from vidwatch.sinks.base import Sink, SinkSet
from vidwatch.split import (
    FilePlan,
    PictureOutputs,
    RowParts,
    StitchedOutput,
    plan_split_file,
    plan_triaged,
    read_index,
    run_with_retries,
)

log = logging.getLogger(__name__)

POLL = 0.2
"""Seconds between checks of the stop flag and of workers that died."""
STOP_WAIT = 10.0
"""Seconds workers get to close their open events after a stop before they are terminated."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What every task of a run shares besides the config."""

    pictures: PictureOutputs = field(default_factory=PictureOutputs)
    rows: str | None = None
    """Folder for score-row part files (None: no scores)."""
    with_source: bool = False
    """Rows carry a ``source`` column (several sources)."""
    label: bool = False
    """Events name their source (several sources)."""
    threads: int | None = None
    """Decoder threads per worker."""


# --- worker side ------------------------------------------------------------------------------------

class _Forward(Sink):
    """Worker side: hands each event of a whole-source task to the parent as soon as it happens."""

    name = "forward"

    def __init__(self, slot: int, results: Any) -> None:
        self.slot = slot
        self.results = results

    def event_started(self, event: Event) -> None:
        self.results.put((self.slot, "started", (event, None)))

    def event_ended(self, event: Event) -> None:
        self.results.put((self.slot, "ended", (event, None)))


class _SegmentReports:
    """Worker side: a segment's reports, sent to the parent."""

    def __init__(self, slot: int, results: Any) -> None:
        self.slot = slot
        self.results = results

    def begin(self, segment: object) -> None:
        self.results.put((self.slot, "segment", segment))

    def report(self, what: str, event: Event, note: object) -> None:
        self.results.put((self.slot, what, (event, note)))


def _rows_sink(options: RunOptions, config: Config, slot: int, spec: str, stack: ExitStack) -> Sink | None:
    if options.rows is None:
        return None
    from vidwatch.pipeline import record_layout
    from vidwatch.sinks.scores_csv import ScoresCsvSink

    return stack.enter_context(ScoresCsvSink(RowParts.part_path(options.rows, slot), record_layout(config),
                                             with_source=options.with_source))


def _worker(tasks: Any, results: Any, stop: Any, plain_config: dict[str, Any], options: RunOptions,
            log_level: int) -> None:
    """Process entry point: run tasks from ``tasks`` until told there are no more."""
    setup_worker_logging(log_level)
    # Ctrl-C reaches the whole process group: the parent decides when to stop and sets ``stop``;
    # a SIGTERM sent to a worker alone stops it the same gentle way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = build_config(plain_config)
    indexes: dict[str, Any] = {}
    while True:
        task = tasks.get()
        if task is None:
            return
        if stop.is_set():
            results.put((task[1], "skipped", None))
            continue
        run_task(task, config, options, results, stop, indexes)


def run_task(task: tuple[str, int, str, Any], config: Config, options: RunOptions, results: Any, stop: Any,
             indexes: dict[str, Any]) -> None:
    """Run one task of a parallel run, putting its messages on ``results`` (``put((slot, what, payload))``).

    The one place a task is run, whichever executor runs it (these worker processes, or Ray); it
    ends with a ``done`` or an ``error`` message and raises nothing of its own.
    """
    kind, slot, spec, detail = task
    results.put((slot, "begin", os.getpid()))
    try:
        if kind == "keyframes":
            from vidwatch.triage import burnt_in_width, compare_keyframes, smallest_object

            results.put((slot, "changes", compare_keyframes(_index(indexes, spec), detail, smallest_object(config),
                                                            burnt_in_width(config))))
        elif kind == "segment":
            segment, retry, warmup = detail
            with ExitStack() as stack:
                rows = _rows_sink(options, config, slot, spec, stack)
                result = run_with_retries(_index(indexes, spec), segment, config, _SegmentReports(slot, results),
                                          pictures=options.pictures, rows=rows, stop=stop,
                                          label=spec if options.label else "", retry=retry, warmup=warmup,
                                          threads=options.threads)
            results.put((slot, "done", result))
        else:
            with ExitStack() as stack:
                sinks = options.pictures.open(config, stack)
                rows = _rows_sink(options, config, slot, spec, stack)
                sinks += [rows] if rows is not None else []
                stats = run_source(spec, config, [*sinks, _Forward(slot, results)], stop=stop,
                                   label_events=options.label)
            results.put((slot, "done", stats))
    except UserError as exc:
        results.put((slot, "error", ("user", str(exc))))
    except Exception as exc:  # reported by the parent; the other tasks go on
        results.put((slot, "error", ("internal", f"{type(exc).__name__}: {exc}")))


def _index(cache: dict[str, Any], spec: str) -> Any:
    """The packet index of ``spec``, read once per worker (demuxing only)."""
    if spec not in cache:
        from vidwatch.sources.packets import read_packet_index

        cache.clear()
        cache[spec] = read_packet_index(spec)
    return cache[spec]


# --- parent side ------------------------------------------------------------------------------------

@dataclass
class _Slot:
    """What the parent holds for one task until it is that task's turn."""

    source: int
    chunk: int | None = None
    """For a keyframe-comparison task: which run of the file's keyframes."""
    pending: list[tuple[str, Any]] = field(default_factory=list)
    finished: bool = False
    result: Any = None
    error: tuple[str, str] | None = None
    pid: int | None = None


@dataclass
class _Source:
    """One source of the run and the tasks it was cut into."""

    spec: str
    plan: FilePlan | None = None
    index: Any = None
    slots: list[int] = field(default_factory=list)
    """Slots of its output tasks (whole source or segments), in file order."""
    output: StitchedOutput | None = None
    changes: dict[int, list] = field(default_factory=dict)
    chunks: int = 0
    ready: bool = False
    """Its output tasks are known (planned, or a whole-source task)."""
    error: tuple[str, str] | None = None
    stats: RunStats | None = None


class OrderedRun:
    """The parent's bookkeeping for one parallel run: tasks planned and queued, their messages handed on in
    source order (whichever executor runs the tasks)."""

    def __init__(self, specs: Sequence[str], config: Config, sinks: Sequence[Sink], *, jobs: int, fast: bool,
                 split: bool, options: RunOptions, scores: str | None, tasks: Any,
                 on_source_done: Callable[[RunStats], None] | None,
                 on_note: Callable[[str, str], None] | None) -> None:
        self.config = config
        self.jobs = jobs
        self.options = options
        self.tasks = tasks
        self.out = SinkSet(list(sinks))
        self.sources = [_Source(spec) for spec in specs]
        self.slots: list[_Slot] = []
        self.rows = RowParts(scores) if scores else None
        self.on_source_done = on_source_done
        self.on_note = on_note
        self.done: list[RunStats] = []
        self.queued = 0
        self.head = (0, 0)  # source, position among its output slots
        for i in range(len(self.sources)):
            self._plan(i, fast=fast, split=split)

    # -- planning ----------------------------------------------------------------------------------
    def _slot(self, source: int, chunk: int | None = None) -> int:
        self.slots.append(_Slot(source, chunk))
        return len(self.slots) - 1

    def _enqueue(self, kind: str, slot: int, spec: str, detail: Any) -> None:
        self.tasks.put((kind, slot, spec, detail))
        self.queued += 1

    def _plan(self, i: int, *, fast: bool, split: bool) -> None:
        src = self.sources[i]
        try:
            index = read_index(src.spec) if (split or fast) and Path(src.spec).is_file() else None
        except UserError as exc:
            self._fail(i, ("user", str(exc)))
            return
        if index is None:
            self._output(i, None)
        elif fast:
            from vidwatch.triage import keyframe_chunks

            src.index = index
            chunks = keyframe_chunks(index, self.jobs)
            src.chunks = len(chunks)
            for c, chunk in enumerate(chunks):
                self._enqueue("keyframes", self._slot(i, c), src.spec, chunk)
            if not chunks:
                self._output(i, plan_triaged(src.spec, index, self.config, []))
        else:
            self._output(i, plan_split_file(src.spec, index, self.config, self.jobs))

    def _output(self, i: int, plan: FilePlan | None) -> None:
        """Queue a source's output tasks: its segments, or itself whole."""
        src = self.sources[i]
        src.plan = plan
        if plan is None:
            slot = self._slot(i)
            src.slots = [slot]
            self._enqueue("whole", slot, src.spec, None)
        else:
            src.output = StitchedOutput(plan, [self.out], label=self.options.label)
            retry = plan.triage is not None
            for segment in plan.segments:
                slot = self._slot(i)
                src.slots.append(slot)
                self._enqueue("segment", slot, src.spec, (segment, retry, plan.timing.warmup))
        src.ready = True

    def _fail(self, i: int, error: tuple[str, str] | None) -> None:
        """The source produces nothing (more): an error, or the run stopped before it was planned."""
        src = self.sources[i]
        src.error = src.error or error
        if not src.ready:
            slot = self._slot(i)
            self.slots[slot].finished = True
            src.slots, src.ready = [slot], True

    # -- messages ----------------------------------------------------------------------------------
    def receive(self, message: tuple[int, str, Any], stopping: bool) -> None:
        slot_id, what, payload = message
        slot = self.slots[slot_id]
        if what == "begin":
            slot.pid = payload
            return
        src = self.sources[slot.source]
        if slot.chunk is not None:
            slot.finished = True
            src.changes[slot.chunk] = payload if what == "changes" else []
            if what == "error":
                src.error = src.error or payload
            if len(src.changes) == src.chunks and not src.ready:
                if stopping or src.error is not None:
                    self._fail(slot.source, src.error)
                else:
                    changes = [c for k in sorted(src.changes) for c in src.changes[k]]
                    self._output(slot.source, plan_triaged(src.spec, src.index, self.config, changes))
            self.release()
            return
        if what in ("started", "ended", "incoming", "segment"):
            slot.pending.append((what, payload))
        else:  # done, error, skipped
            slot.finished = True
            slot.result = payload if what == "done" else None
            if what == "error":
                slot.error = payload
                src.error = src.error or payload
        if self.head[0] == slot.source:
            self.release()

    def release(self) -> None:
        """Hand over everything of the first unfinished task, and of every finished one before it."""
        i, k = self.head
        while i < len(self.sources):
            src = self.sources[i]
            if not src.ready:
                break
            while k < len(src.slots):
                slot = self.slots[src.slots[k]]
                for what, payload in slot.pending:
                    _deliver(src, self.out, what, payload)
                slot.pending.clear()
                if not slot.finished:
                    self.head = (i, k)
                    return
                if isinstance(slot.result, RunStats):
                    src.stats = slot.result
                elif slot.result is not None and src.output is not None:
                    src.output.finish(slot.result)
                if self.rows is not None:
                    self.rows.append(src.slots[k])
                k += 1
            stats = src.stats
            if src.output is not None:
                stats = src.output.close()
                if self.on_note is not None:
                    self.on_note(src.spec, src.output.describe())
            if stats is not None:
                self.done.append(stats)
                if self.on_source_done is not None:
                    self.on_source_done(stats)
            i, k = i + 1, 0
        self.head = (i, k)

    @property
    def finished(self) -> bool:
        return self.head[0] >= len(self.sources)

    def abandon(self) -> None:
        """Nothing more can arrive: finish every task and source as it stands."""
        for slot in self.slots:
            slot.finished = True
        for i in range(len(self.sources)):
            self._fail(i, None)
        self.release()

    def errors(self) -> list[tuple[str, tuple[str, str]]]:
        return [(src.spec, src.error) for src in self.sources if src.error is not None]


def run_parallel(
    specs: Sequence[str],
    config: Config,
    sinks: Sequence[Sink],
    *,
    jobs: int,
    stop: threading.Event,
    on_source_done: Callable[[RunStats], None] | None = None,
    fast: bool = False,
    split: bool = True,
    options: RunOptions | None = None,
    scores: str | None = None,
    on_note: Callable[[str, str], None] | None = None,
) -> list[RunStats]:
    """Run every spec in up to ``jobs`` worker processes; events reach ``sinks`` in source order.

    Files are cut into segments (``split``) and triaged (``fast``) where they can be; ``scores`` is
    the scores file the workers' rows are joined into. ``on_source_done`` is called with each
    source's statistics, also in source order, after ``on_note(spec, text)`` with how much of it was
    decoded when it was scanned in pieces. A source that fails is reported after the others
    have finished, as a :class:`SourceError` (or a ``RuntimeError`` for an internal error), like a
    one-by-one run would report it.
    """
    options = options or RunOptions()
    ctx = mp.get_context("spawn")
    tasks, results, worker_stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    run = OrderedRun(specs, config, sinks, jobs=jobs, fast=fast, split=split, options=options, scores=scores,
               tasks=tasks, on_source_done=on_source_done, on_note=on_note)
    n_workers = max(1, min(jobs, run.queued))
    level = logging.getLogger().getEffectiveLevel()
    workers = [ctx.Process(target=_worker, args=(tasks, results, worker_stop, config.to_plain(), options, level),
                           name=f"vidwatch-worker-{i}", daemon=True) for i in range(n_workers)]

    def receive(message: tuple[int, str, Any]) -> None:
        run.receive(message, stop.is_set())

    def notice_dead_workers() -> None:
        for worker in workers:
            if worker.exitcode not in (None, 0):
                for s_id, slot in enumerate(run.slots):
                    if slot.pid == worker.pid and not slot.finished:
                        receive((s_id, "error", ("internal", f"worker died (exit code {worker.exitcode})")))

    try:
        if stop.is_set():
            worker_stop.set()
        for worker in workers:
            worker.start()
        run.release()
        while not run.finished:
            if stop.is_set():
                worker_stop.set()
            try:
                receive(results.get(timeout=POLL))
            except queue.Empty:
                notice_dead_workers()
                if not any(w.is_alive() for w in workers):
                    _drain(results, receive)
                    run.abandon()
    finally:
        worker_stop.set()
        for _ in workers:
            tasks.put(None)
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
        run.abandon()
        if run.rows is not None:
            run.rows.close()
    raise_errors(run)
    return run.done


def raise_errors(run: OrderedRun) -> None:
    """At the end of a run: name the outputs that failed, and raise the first source's error (the
    others are logged), as a one-by-one run would have stopped on it."""
    if run.out.failures:
        log.error("outputs that failed (see above): %s",
                  ", ".join(f"{name} {count}x" for name, count in sorted(run.out.failures.items())))
    errors = run.errors()
    for spec, (_, message) in errors[1:]:
        log.error("%s: %s", spec, message)
    if errors:
        kind, message = errors[0][1]
        raise SourceError(message) if kind == "user" else RuntimeError(message)


def _deliver(src: _Source, out: SinkSet, what: str, payload: Any) -> None:
    if src.output is None:  # a whole source
        event, _ = payload
        getattr(out, "event_started" if what == "started" else "event_ended")(event)
        return
    if what == "segment":
        src.output.begin(payload)
        return
    event, note = payload
    src.output.report(what, event, note)


def _drain(results: Any, receive: Callable[[tuple[int, str, Any]], None]) -> None:
    """Take every message still queued (workers have stopped or are stopping)."""
    while True:
        try:
            receive(results.get(timeout=0.05))
        except queue.Empty:
            return
