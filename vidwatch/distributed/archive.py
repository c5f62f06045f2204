"""``vidwatch run --ray``: every file, and every segment of a long file, as a Ray task.

The run is planned and ordered exactly as ``--jobs`` plans and orders it
(:class:`~vidwatch.batch.OrderedRun`: whole files, keyframe-aligned segments with a warm-up,
triage's keyframe comparisons; the stitcher; events in source order): only the executor differs.
Each task runs :func:`~vidwatch.batch.run_task`, the same code a ``--jobs`` worker runs, on a Ray
worker, and is a Ray *generator* task:

- it writes snapshots, clips and score rows on the worker's own disk, then sends each file as
  chunks (:mod:`vidwatch.distributed.transfer`), addressed to the path the driver's options name;
- its last item is every message the task produced (events, segment reports, its statistics).

The driver writes the chunks under hidden names and, when a task's last item arrives, moves its
files into place and hands its messages to the ordered run, which writes them to the outputs when
it is their turn. A task's events are therefore committed once, on the driver, when the task has
finished: a worker that dies mid-task leaves nothing behind, Ray runs the task again (up to
:data:`MAX_RETRIES` times), and nothing is lost or doubled. A stop (Ctrl-C, SIGTERM) reaches the
tasks through a small flag actor: each closes its open events and returns as a ``--jobs`` worker
does, and what they found is written before vidwatch exits.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidwatch.batch import OrderedRun, RunOptions, raise_errors, run_task
from vidwatch.config import Config, build_config
from vidwatch.distributed.cluster import Cluster, require_ray
from vidwatch.distributed.transfer import FileChunk, Staging, file_chunks
from vidwatch.errors import UserError
from vidwatch.events import Event
from vidwatch.logs import setup_worker_logging
from vidwatch.pipeline import RunStats
from vidwatch.sinks.base import Sink
from vidwatch.split import PictureOutputs, RowParts

log = logging.getLogger(__name__)

MAX_RETRIES = 3
"""Times Ray runs a task again whose worker process or node died."""
POLL = 0.2
"""Seconds between checks of the stop request while waiting for tasks."""
STOP_WAIT = 30.0
"""Seconds tasks get to close their open events and return after a stop, before they are cancelled."""
FLAG_POLL = 0.5
"""Seconds between a task's looks at the stop flag."""
THREADS_PER_TASK = 2
"""Decoder threads of a task: one per CPU it holds, plus one frame in flight."""


@dataclass(frozen=True, slots=True)
class Committed:
    """A task's last item: every message it produced, ``(slot, what, payload)``, in order."""

    messages: list[tuple[int, str, Any]]


class StopFlag:
    """Set once by the driver when the run is to stop; read by every running task (a Ray actor)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


def check_recorded(specs: Sequence[str]) -> None:
    """``--ray`` runs recorded footage (files, image folders): a camera or a stream never ends, so its
    events would never be committed; say so before anything starts."""
    from vidwatch.sources import STREAM_PREFIXES

    for spec in specs:
        text = str(spec).strip()
        if text.isdigit() or text.startswith("/dev/video") or text.lower().startswith(STREAM_PREFIXES):
            raise UserError(f"--ray runs recorded files and image folders; '{text}' is a camera or a stream: "
                            f"watch it with `vidwatch serve --ray`, or run it without --ray")


# --- worker side ---------------------------------------------------------------------------------------

class _Messages:
    """Collects a task's messages as copies taken when they are put (as a process queue would send
    them), so an event reported at its start is not changed by what happens to it later."""

    def __init__(self) -> None:
        self._pickled: list[bytes] = []

    def put(self, message: tuple[int, str, Any]) -> None:
        self._pickled.append(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def unpack(self) -> list[tuple[int, str, Any]]:
        return [pickle.loads(data) for data in self._pickled]


def _watch_flag(flag: Any, stop: threading.Event, done: threading.Event) -> None:
    """Set ``stop`` once the driver sets the run's stop flag (polled until the task is done)."""
    import ray

    while not done.wait(FLAG_POLL):
        try:
            if ray.get(flag.is_set.remote(), timeout=10.0):
                stop.set()
                return
        except Exception:  # the driver is gone or busy: keep working, look again
            continue


def _events_of(message: tuple[int, str, Any]) -> list[Event]:
    _, what, payload = message
    if what in ("started", "ended", "incoming"):
        return [payload[0]]
    if what == "done" and isinstance(payload, RunStats):
        return list(payload.events)
    return []


def run_piece(task: tuple[str, int, str, Any], plain_config: dict[str, Any], options: RunOptions, flag: Any,
              log_level: int, index: Any = None) -> Iterator[FileChunk | Committed]:
    """The body of one Ray task: run ``task`` here, send its files, then every message it produced.

    ``index`` is the file's packet index the driver read to plan the run (Ray hands it over from its
    object store), so a segment's worker reads only its own stretch of the file, never all of it.
    """
    setup_worker_logging(log_level)
    slot = task[1]
    stop, done = threading.Event(), threading.Event()
    watcher = threading.Thread(target=_watch_flag, args=(flag, stop, done), name="stop-flag", daemon=True)
    watcher.start()
    try:
        with tempfile.TemporaryDirectory(prefix="vidwatch-task-") as tmp:
            here = Path(tmp)
            local, targets = _local_options(options, here)
            results = _Messages()
            if stop.is_set():
                results.put((slot, "skipped", None))
            else:
                indexes = {task[2]: index} if index is not None else {}
                run_task(task, build_config(plain_config), local, results, stop, indexes)
            messages = results.unpack()
            files: dict[str, str] = {}
            for message in messages:
                for event in _events_of(message):
                    _readdress(event, targets, files)
            if local.rows is not None and options.rows is not None:
                files[RowParts.part_path(local.rows, slot)] = RowParts.part_path(options.rows, slot)
            for path, target in files.items():
                if Path(path).is_file():
                    yield from file_chunks(path, target)
            yield Committed(messages)
    finally:
        done.set()


def _local_options(options: RunOptions, here: Path) -> tuple[RunOptions, dict[Path, str]]:
    """Options that write this task's files under ``here``, and each local folder's folder on the driver."""
    targets: dict[Path, str] = {}
    local_pictures = PictureOutputs()
    for name in ("snapshots", "clips"):
        wanted = getattr(options.pictures, name)
        if wanted:
            folder = here / name
            setattr(local_pictures, name, str(folder))
            targets[folder] = wanted
    rows = None
    if options.rows is not None:
        (here / "rows").mkdir()
        rows = str(here / "rows")
    return dataclasses.replace(options, pictures=local_pictures, rows=rows), targets


def _readdress(event: Event, targets: dict[Path, str], files: dict[str, str]) -> None:
    """Point the event's snapshot and clip at the driver's folders, noting which local file goes where."""
    for key in ("snapshot", "clip"):
        path = event.extra.get(key)
        if not path:
            continue
        folder = targets.get(Path(path).parent)
        if folder is None:
            continue
        target = str(Path(folder) / Path(path).name)
        files[path] = target
        event.extra[key] = target


# --- driver side ---------------------------------------------------------------------------------------

class _Submitted:
    """What the ordered run queues tasks on: each task becomes a Ray generator task, at once once
    :meth:`start` was called (the run plans, and queues, its first tasks while it is made)."""

    def __init__(self, submit: Callable[[tuple[str, int, str, Any]], Any]) -> None:
        self.submit = submit
        self.running: dict[Any, int] = {}
        """Generator of a running task -> its slot."""
        self._waiting: list[tuple[str, int, str, Any]] | None = []

    def put(self, task: tuple[str, int, str, Any]) -> None:
        if self._waiting is not None:
            self._waiting.append(task)
        else:
            self.running[self.submit(task)] = task[1]

    def start(self) -> None:
        waiting, self._waiting = self._waiting or [], None
        for task in waiting:
            self.put(task)


class _Indexes:
    """Each planned file's packet index in Ray's object store, put there once, for the tasks that need it."""

    def __init__(self, ray: Any) -> None:
        self.ray = ray
        self.run: OrderedRun | None = None
        self._refs: dict[str, Any] = {}

    def ref(self, task: tuple[str, int, str, Any]) -> Any:
        kind, _, spec, _ = task
        if kind not in ("segment", "keyframes") or self.run is None:
            return None
        if spec not in self._refs:
            index = next((s.index for s in self.run.sources if s.spec == spec and s.index is not None), None)
            self._refs[spec] = None if index is None else self.ray.put(index)
        return self._refs[spec]


def run_on_ray(
    specs: Sequence[str],
    config: Config,
    sinks: Sequence[Sink],
    *,
    cluster: Cluster,
    stop: threading.Event,
    on_source_done: Callable[[RunStats], None] | None = None,
    fast: bool = False,
    split: bool = True,
    options: RunOptions | None = None,
    scores: str | None = None,
    on_note: Callable[[str, str], None] | None = None,
) -> list[RunStats]:
    """Run every spec as Ray tasks on ``cluster``; events reach ``sinks`` in source order (as
    :func:`~vidwatch.batch.run_parallel` does with processes). Snapshots, clips and score rows
    arrive from the workers and are written where ``options`` says."""
    ray = require_ray()
    options = options or RunOptions()
    flag = ray.remote(num_cpus=0)(StopFlag).remote()
    piece = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(run_piece)
    plain = ray.put(config.to_plain())
    level = logging.getLogger().getEffectiveLevel()
    indexes = _Indexes(ray)
    submitted = _Submitted(lambda task: piece.remote(task, plain, options, flag, level, indexes.ref(task)))
    run = OrderedRun(specs, config, sinks, jobs=cluster.cpus, fast=fast, split=split, options=options,
                     scores=scores, tasks=submitted, on_source_done=on_source_done, on_note=on_note)
    indexes.run = run
    submitted.start()
    folders = [f for f in (options.pictures.snapshots, options.pictures.clips, options.rows) if f]
    staging = Staging(folders)
    stopping_since: float | None = None

    def receive(message: tuple[int, str, Any]) -> None:
        run.receive(message, stop.is_set())

    def step(generator: Any) -> None:
        slot = submitted.running[generator]
        try:
            item = ray.get(next(generator))
        except StopIteration:
            del submitted.running[generator]
            staging.discard(slot)
            receive((slot, "error", ("internal", "a task ended without its result")))
            return
        except ray.exceptions.RayError as exc:
            del submitted.running[generator]
            staging.discard(slot)
            receive((slot, "error", ("internal", _failure(exc))))
            return
        if isinstance(item, FileChunk):
            staging.write(slot, item)
            return
        del submitted.running[generator]
        staging.commit(slot)
        for message in item.messages:
            receive(message)

    try:
        run.release()
        while not run.finished:
            if stop.is_set() and stopping_since is None:
                stopping_since = time.monotonic()
                flag.set.remote()
            if not submitted.running:
                break  # nothing more can arrive
            if stopping_since is not None and time.monotonic() - stopping_since > STOP_WAIT:
                log.error("%d tasks did not stop within %.0f s; cancelling them", len(submitted.running), STOP_WAIT)
                break
            ready, _ = ray.wait(list(submitted.running), num_returns=1, timeout=POLL)
            for generator in ready:
                step(generator)
    finally:
        for generator in list(submitted.running):
            ray.cancel(generator, force=True)
        staging.discard_all()
        # whatever was committed is written, in source order, even when the run is cut short
        run.abandon()
        if run.rows is not None:
            run.rows.close()
        ray.kill(flag)
    if staging.failures:
        log.error("files that could not be written: %s", ", ".join(staging.failures[:20]))
    raise_errors(run)
    return run.done


def _failure(exc: Exception) -> str:
    """One line for a task Ray gave up on (a worker or node died more often than it retries)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'the task failed'} (after {MAX_RETRIES} retries)"
