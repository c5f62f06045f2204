"""`vidwatch run` over recorded files in pieces: ``--jobs N`` on long files, ``--fast`` (triage), or both.

The command line hands over here when a run is split or triaged. This module only decides where
each output lives: the event outputs (log, events file, hooks) stay in this process and get the
stitched events in order; snapshots and clips are written where the pictures are, beside each
segment's analysis; score rows are written per segment and joined in order.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from vidwatch.config import Config
from vidwatch.errors import UserError
from vidwatch.pipeline import RunStats
from vidwatch.split import PictureOutputs, RowParts, StitchedOutput, plan_file, run_in_process

if TYPE_CHECKING:
    from vidwatch.outputs import RunOutputs

log = logging.getLogger(__name__)


def check_sources(specs: Sequence[str], *, fast: bool) -> None:
    """``--fast`` reads recorded files: say so for anything else, before anything runs."""
    if not fast:
        return
    for spec in specs:
        if not Path(spec).is_file():
            if not Path(spec).exists() and not spec.strip().isdigit() and "://" not in spec:
                from vidwatch.sources import open_source

                open_source(spec)  # the usual one-line error for a missing file or an empty folder
            raise UserError(f"--fast triages recorded video files; '{spec}' is not one (a camera, stream or "
                            f"image folder): run it without --fast")


def run_pieces(specs: Sequence[str], config: Config, choices: object, *, jobs: int, fast: bool,
               stop: threading.Event, stack: ExitStack,
               on_source_done: Callable[[RunStats, str | None], None],
               on_outputs: Callable[[RunOutputs], None] | None = None,
               cluster: object | None = None) -> list[RunStats]:
    """Run ``specs`` split over ``jobs`` processes and/or triaged; ``on_source_done(stats, note)`` per source.

    ``note`` says how much of a file was decoded when it was scanned in pieces; ``on_outputs`` gets the
    event outputs once open, so the caller can name what they lost after they close. With ``cluster`` (a
    :class:`~vidwatch.distributed.cluster.Cluster`) the pieces are Ray tasks on its CPUs instead.
    """
    from vidwatch.outputs import RunOutputs

    several = len(specs) > 1
    pictures = PictureOutputs(snapshots=choices.snapshots, clips=choices.clips)  # type: ignore[attr-defined]
    if pictures.snapshots or pictures.clips:
        from vidwatch.sinks.places import writable_dir

        for folder, flag in ((pictures.snapshots, "--snapshots"), (pictures.clips, "--clips")):
            if folder:
                writable_dir(folder, flag)
    # the events go to these; the pictures are taken beside each segment, the rows come from it
    event_choices = dataclasses.replace(choices, snapshots=None, clips=None, scores=None)  # type: ignore[type-var]
    outputs = RunOutputs(event_choices, config, stack, stop, several_sources=several)
    if on_outputs is not None:
        on_outputs(outputs)
    scores = choices.scores  # type: ignore[attr-defined]
    if cluster is not None:
        jobs = cluster.cpus  # type: ignore[attr-defined]
    elif jobs <= 1:
        from vidwatch.pipeline import record_layout
        from vidwatch.sinks.scores_csv import ScoresCsvSink

        rows = stack.enter_context(ScoresCsvSink(scores, record_layout(config), with_source=several)) \
            if scores else None
        done = []
        for spec in specs:
            if stop.is_set():
                break
            plan = plan_file(spec, config, jobs=1, fast=fast)
            if plan is None:
                stats = _whole(spec, config, outputs, pictures, rows, stop, several)
                on_source_done(stats, None)
            else:
                stats, output = run_in_process(plan, config, outputs.sinks, pictures=pictures, rows=rows,
                                               stop=stop, label=several)
                on_source_done(stats, _note(output))
            done.append(stats)
        return done

    from vidwatch.batch import RunOptions, run_parallel

    threads = _threads_per_worker(jobs)
    if cluster is not None:
        from vidwatch.distributed.archive import THREADS_PER_TASK

        threads = THREADS_PER_TASK
    options = RunOptions(pictures=pictures, rows=str(RowParts.folder_for(scores)) if scores else None,
                         with_source=several, label=several, threads=threads)
    notes: dict[str, str] = {}

    def done_one(stats: RunStats) -> None:
        on_source_done(stats, notes.get(stats.source))

    # with at least as many files as processes, whole files keep every process busy (and need no index)
    split = len(specs) < jobs
    if cluster is not None:
        from vidwatch.distributed.archive import run_on_ray

        return run_on_ray(list(specs), config, outputs.sinks, cluster=cluster, stop=stop,  # type: ignore[arg-type]
                          on_source_done=done_one, fast=fast, split=split, options=options, scores=scores,
                          on_note=notes.__setitem__)
    return run_parallel(list(specs), config, outputs.sinks, jobs=jobs, stop=stop, on_source_done=done_one,
                        fast=fast, split=split, options=options, scores=scores, on_note=notes.__setitem__)


def _whole(spec: str, config: Config, outputs: object, pictures: PictureOutputs, rows: object,
           stop: threading.Event, several: bool) -> RunStats:
    """A source that cannot be cut (not indexable, too short): the ordinary one-process scan."""
    from vidwatch.pipeline import open_for_run, run_source

    source = open_for_run(spec, config, stop=stop)
    with ExitStack() as per_source:
        sinks = outputs.for_source(source, per_source)  # type: ignore[attr-defined]
        sinks = [*pictures.open(config, per_source), *sinks, *([rows] if rows is not None else [])]
        return run_source(source, config, sinks, stop=stop, label_events=several)


def _note(output: StitchedOutput) -> str:
    return output.describe()


def _threads_per_worker(jobs: int) -> int:
    """Decoder threads for each of ``jobs`` workers: the cores shared out, plus one frame in flight."""
    from vidwatch import cores

    return max(1, cores.usable_cores() // max(jobs, 1)) + 1
