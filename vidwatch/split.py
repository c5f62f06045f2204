"""Scanning one recorded file in pieces: split over processes (``--jobs``) and/or triaged (``--fast``).

Planning reads the file's packets (never decoding a frame), compares keyframes when triaging, and
turns the result into segments (:mod:`vidwatch.segments`). Running them in this process, one
after the other, is here; running them in worker processes is :mod:`vidwatch.batch`'s. Either way
their reports go through one :class:`~vidwatch.stitch.Stitcher`, so the events are those of a
one-process scan of the whole file.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from vidwatch.config import Config
from vidwatch.errors import UserError
from vidwatch.events import Event
from vidwatch.pipeline import RunStats
from vidwatch.segments import EventNote, Segment, SegmentResult, Timing, plan_split, run_segment, timing_for
from vidwatch.sinks.base import Sink, SinkSet
from vidwatch.sources.packets import PacketIndex, Unreadable, Unsplittable, read_packet_index
from vidwatch.stitch import Stitcher

log = logging.getLogger(__name__)

SEGMENTS_PER_JOB = 3
"""A split file gets this many segments per process, so a process that finishes early takes
another one instead of waiting for the slowest."""


@dataclass(slots=True)
class PictureOutputs:
    """Outputs that need the decoded pictures, made afresh for every segment where it is analysed."""

    snapshots: str | None = None
    clips: str | None = None

    def open(self, config: Config, stack: ExitStack) -> list[Sink]:
        from vidwatch.pipeline import record_layout
        from vidwatch.sinks.clips import ClipSink
        from vidwatch.sinks.snapshots import SnapshotSink

        layout = record_layout(config)
        sinks: list[Sink] = []
        if self.snapshots:
            sinks.append(stack.enter_context(SnapshotSink(self.snapshots, layout, config.outputs)))
        if self.clips:
            # a file: the writer is waited for rather than frames left out of the clip
            sinks.append(stack.enter_context(ClipSink(self.clips, layout, config.outputs, paced=False)))
        return sinks

    def tail(self, config: Config) -> float:
        """Seconds a segment must go on after its last event ends, for that event's clip."""
        return config.outputs.post_roll if self.clips else 0.0


@dataclass(slots=True)
class FilePlan:
    """How one file is scanned: its packet index, its segments and, when triaged, what triage decided."""

    spec: str
    index: PacketIndex
    timing: Timing
    segments: list[Segment]
    triage: object | None = None
    """The :class:`~vidwatch.triage.TriagePlan` when the file is triaged."""


def read_index(spec: str) -> PacketIndex | None:
    """The file's packet index, or None (logged) when it cannot be cut at keyframes."""
    try:
        return read_packet_index(spec)
    except Unreadable as exc:  # the whole-file reader names the problem, once, if it cannot read it either
        log.info("%s cannot be scanned in pieces (%s); scanning it whole", spec, exc)
    except Unsplittable as exc:  # readable, but not at the speed asked for: say why
        log.warning("%s cannot be scanned in pieces (%s); scanning it whole", spec, exc)
    return None


def plan_file(spec: str, config: Config, *, jobs: int, fast: bool) -> FilePlan | None:
    """Plan the scan of one file in this process, or None when it is to be scanned whole in one piece."""
    index = read_index(spec)
    if index is None:
        return None
    if fast:
        from concurrent.futures import ThreadPoolExecutor

        from vidwatch import cores, triage

        # one run of keyframes per core, on threads: decoding releases the GIL, so they decode side by side
        chunks = triage.keyframe_chunks(index, cores.usable_cores())
        with ThreadPoolExecutor(max_workers=len(chunks) or 1, thread_name_prefix="keyframes") as pool:
            smallest, width = triage.smallest_object(config), triage.burnt_in_width(config)
            runs = list(pool.map(lambda chunk: triage.compare_keyframes(index, chunk, smallest, width), chunks))
        return plan_triaged(spec, index, config, [c for run in runs for c in run])
    return plan_split_file(spec, index, config, jobs)


def plan_split_file(spec: str, index: PacketIndex, config: Config, jobs: int) -> FilePlan | None:
    """Contiguous segments for ``jobs`` processes, or None when the file is too short to be worth cutting."""
    timing = timing_for(config, index.fps)
    segments = plan_split(index, jobs * SEGMENTS_PER_JOB, timing)
    if len(segments) < 2:
        return None
    log.info("%s: scanning in %d segments over %d processes", spec, len(segments), jobs)
    return FilePlan(spec, index, timing, segments)


def plan_triaged(spec: str, index: PacketIndex, config: Config, changes: Sequence[object]) -> FilePlan:
    """The stretches triage decides to decode, from the keyframe comparisons ``changes``."""
    from vidwatch import triage

    timing = timing_for(config, index.fps)
    decided = triage.plan(index, changes, timing)  # type: ignore[arg-type]
    log.info("%s: %s", spec, decided.describe())
    return FilePlan(spec, index, timing, decided.segments, decided)


class RowParts:
    """Score rows written by worker processes, one part file per task, joined into one file in order.

    Each part is a complete scores CSV of the same run layout (so the same header): the first
    header is kept, the rows of every part follow in task order.
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.folder = self.folder_for(path)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UserError(f"cannot write scores file {self.path}: {exc.strerror}; "
                            f"choose a writable path for --scores") from None
        self._header = False

    @staticmethod
    def folder_for(path: str) -> Path:
        """Where the parts of scores file ``path`` are written while the run goes on."""
        return Path(path).parent / f".{Path(path).name}.parts"

    @staticmethod
    def part_path(folder: str, slot: int) -> str:
        return str(Path(folder) / f"part-{slot:06d}.csv")

    def append(self, slot: int) -> None:
        """Move the rows of task ``slot`` (if it wrote any) to the end of the file."""
        part = Path(self.part_path(str(self.folder), slot))
        if not part.is_file():
            return
        with open(part, encoding="utf-8", newline="") as handle:
            header = handle.readline()
            if not self._header:
                self._file.write(header)
                self._header = True
            shutil.copyfileobj(handle, self._file)
        self._file.flush()
        part.unlink()

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.close()
        for leftover in self.folder.glob("part-*.csv"):  # tasks that never got their turn
            leftover.unlink()
        try:
            self.folder.rmdir()
        except OSError:
            pass


class StitchedOutput:
    """The parent side of a planned file: segment reports in file order -> the stitcher -> the sinks."""

    def __init__(self, plan: FilePlan, sinks: Sequence[Sink], *, label: bool) -> None:
        self.plan = plan
        self.out = SinkSet(list(sinks))
        self.stitcher = Stitcher(self.out)
        self.results: list[SegmentResult] = []
        self.started = time.perf_counter()

    def begin(self, segment: Segment) -> None:
        self.stitcher.begin(segment)

    def report(self, what: str, event: Event, note: EventNote | None) -> None:
        if what == "started":
            self.stitcher.started(event)
        elif what == "ended":
            assert note is not None
            self.stitcher.ended(event, note)
        else:
            assert note is not None
            self.stitcher.incoming(event, note)

    def finish(self, result: SegmentResult) -> None:
        self.results.append(result)
        self.stitcher.finish_segment()

    def close(self) -> RunStats:
        self.stitcher.close()
        return self.stats()

    def stats(self) -> RunStats:
        """What the whole file's scan did, as a one-process scan reports it."""
        index = self.plan.index
        stats = RunStats(source=self.plan.spec, source_fps=index.fps)
        stats.frames = sum(r.owned_frames for r in self.results)
        owned = [r for r in self.results if r.owned_frames]
        if owned:
            stats.first_time = float(index.times[owned[0].segment.own_start])
            stats.media_time = owned[-1].last_owned_time
        stats.events = list(self.stitcher.events)
        stats.stopped = any(r.stopped for r in self.results)
        stats.elapsed = time.perf_counter() - self.started
        failures: dict[str, int] = {}
        for r in self.results:
            for name, count in r.sink_failures.items():
                failures[name] = failures.get(name, 0) + count
        stats.sink_failures = dict(failures, **self.out.failures)
        return stats

    @property
    def decoded(self) -> int:
        return sum(r.decoded_frames for r in self.results)

    def describe(self) -> str:
        """One line on how much was decoded."""
        total = self.plan.index.frames
        pieces = len(self.results)
        return (f"{self.plan.spec}: decoded {self.decoded} of {total} frames ({100 * self.decoded / total:.1f} %) "
                f"in {pieces} piece{'s' if pieces != 1 else ''}")


def run_in_process(plan: FilePlan, config: Config, sinks: Sequence[Sink], *, pictures: PictureOutputs,
                   rows: Sink | None = None, stop: threading.Event | None = None,
                   label: bool = False) -> tuple[RunStats, StitchedOutput]:
    """Scan a planned file's segments one after the other in this process."""
    output = StitchedOutput(plan, sinks, label=label)
    stop = stop or threading.Event()
    for segment in plan.segments:
        if stop.is_set():
            break
        result = run_with_retries(plan.index, segment, config, output, pictures=pictures, rows=rows, stop=stop,
                                  label=plan.spec if label else "", retry=plan.triage is not None,
                                  warmup=plan.timing.warmup)
        output.finish(result)
    return output.close(), output


def run_with_retries(index: PacketIndex, segment: Segment, config: Config, output: StitchedOutput | object, *,
                     pictures: PictureOutputs, rows: Sink | None, stop: threading.Event, label: str,
                     retry: bool, warmup: int, threads: int | None = None) -> SegmentResult:
    """Run one segment; a triage stretch whose beginning was missed is run again from earlier in the file."""
    output.begin(segment)  # type: ignore[attr-defined]
    while True:
        with ExitStack() as stack:
            sinks = pictures.open(config, stack)
            result = run_segment(index, segment, config, output.report,  # type: ignore[attr-defined]
                                 pictures=sinks, rows=rows, tail=pictures.tail(config), stop=stop,
                                 threads=threads, can_retry=retry, label=label)
        if not result.retry:
            return result
        own_start = max(segment.floor, segment.own_start - warmup)
        start = index.keyframe_at_or_before(max(0, own_start - warmup)) if own_start > 0 else 0
        log.debug("%s: activity already under way at frame %d; starting that stretch at %d instead",
                  index.path, segment.own_start, own_start)
        # from the file's start nothing comes before the frames the stretch before owns (its floor)
        segment = Segment(start=start, own_start=own_start if start > 0 else segment.floor, own_end=segment.own_end,
                          cap=segment.cap, limit=segment.limit, floor=segment.floor)
        output.begin(segment)  # type: ignore[attr-defined]
