"""Scanning part of a file so that its events are the ones a scan of the whole file finds there.

A file is cut into segments at keyframes (to share it over processes) or into the stretches worth
decoding (triage). Every segment is analysed by the ordinary pipeline, from a keyframe far enough
before its own frames that every model — the background model, the noise estimate, alignment —
has settled by the time they begin (the warm-up). A segment then reports exactly:

- the events that **open** in its own range ``[own_start, cap)`` (the frame on which the gate
  opens an event, not its start: a tracked thing's event is dated back to where the thing was
  first seen, which can lie before the boundary, or before ``own_start`` in the warm-up): the next
  segment reports those opening at ``cap`` or later, so every event is reported exactly once;
- the score rows of its own frames.

It keeps analysing past ``cap`` until every event it owns has closed, so an event crossing the
boundary is reported whole, with the state a whole-file scan has. Only an event still open
``OVERTIME`` seconds past ``cap`` is cut there; the stitcher (:mod:`vidwatch.stitch`) then joins it
with its continuation in the next segment, which reports the events it saw open in its warm-up for
that purpose only (``incoming``). The warm-up must cover how far back an event is dated: a thing
first seen more than the warm-up before the segment's own range starts where the segment first
saw it.

A triage stretch may stop before ``cap``, at ``own_end``, once nothing is open or over threshold;
the frames after it are the quiet ones triage decided not to decode. If an event is open, or a
detector over its threshold, on the frame before its own range begins, or an event opened in
its warm-up after the planned end of the stretch before (frames no stretch owns), something was
under way there that triage did not see: the run is abandoned and repeated from earlier in the
file (``retry``), back to the end of the stretch before at most.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vidwatch.config import Config
from vidwatch.events import Event
from vidwatch.gate import Threshold
from vidwatch.record import FrameRecord, RecordLayout
from vidwatch.sinks.base import Sink, SinkSet
from vidwatch.sources.packets import PacketIndex

log = logging.getLogger(__name__)

OVERTIME = 30.0
"""Seconds a segment may analyse past its cap to finish the events it owns. Nearly every event of
sparse footage ends sooner and is reported whole by one segment; a longer one is cut here and
stitched with the next segment's view of it."""
SETTLE_TIME_CONSTANTS = 3.0
"""How many time constants of the slowest running estimate the warm-up must cover (e^-3 = 5 %
of the state before the warm-up left; what is left is far inside the noise)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of a file to analyse; frame indices are the whole file's."""

    start: int
    """Keyframe where decoding (and the warm-up) begins."""
    own_start: int
    """First frame of the segment's own range: its events start here or later."""
    own_end: int
    """End of the range it was planned for (exclusive): once idle after it, the segment may stop."""
    cap: int
    """Where the next segment's own range begins (or the file's end): events starting here or later
    are not this segment's."""
    limit: int
    """Frames from here on are not analysed (``cap`` plus the overtime, or the file's end)."""
    floor: int = 0
    """How far back a retry may move ``own_start`` (the end of the previous segment's plan)."""

    @property
    def warmup(self) -> int:
        return self.own_start - self.start


@dataclass(frozen=True, slots=True)
class Timing:
    """Frame counts that planning needs, from the config and the file's frame rate."""

    warmup: int
    """Frames analysed before a segment's own range."""
    overtime: int
    """Frames a segment may run past its cap."""


def warmup_seconds(config: Config) -> float:
    """Seconds of warm-up every segment needs with this config.

    At least ``source.split_warmup``; longer when a model of the config settles more slowly: the
    background model's own warm-up comes first, and adaptive thresholds learn their baseline with
    the gate's rate (a few hundred frames).
    """
    seconds = config.source.split_warmup
    learning = 0.0
    for spec in config.detectors.values():
        params = spec.params
        learning = max(learning, float(getattr(params, "warmup", 0.0)))
    seconds = max(seconds, 2.0 * learning)
    return seconds


def warmup_frames(config: Config, fps: float) -> int:
    """:func:`warmup_seconds` in frames, plus what adaptive thresholds need to settle at this rate."""
    frames = math.ceil(warmup_seconds(config) * fps)
    if any(spec.params.adaptive > 0 for spec in config.detectors.values()):
        rate = Threshold(1.0, 1.0).rate  # the gate's learning rate for adaptive baselines
        frames = max(frames, math.ceil(SETTLE_TIME_CONSTANTS / rate))
    return frames


def timing_for(config: Config, fps: float) -> Timing:
    return Timing(warmup=warmup_frames(config, fps), overtime=math.ceil(OVERTIME * fps))


def plan_split(index: PacketIndex, parts: int, timing: Timing) -> list[Segment]:
    """Cut a file into up to ``parts`` contiguous segments of about equal length, at keyframes.

    Boundaries sit on keyframes (where a segment's own range begins needs no decoding before it
    beyond the warm-up); segments shorter than a few warm-ups are not worth their warm-up and are
    joined with a neighbour.
    """
    n = index.frames
    keys = index.keyframes
    minimum = max(4 * timing.warmup, 1)
    bounds = [0]
    for i in range(1, max(parts, 1)):
        target = round(i * n / parts)
        nearest = int(keys[min(range(len(keys)), key=lambda k: abs(int(keys[k]) - target))])
        if nearest - bounds[-1] >= minimum and n - nearest >= minimum:
            bounds.append(nearest)
    bounds.append(n)
    segments = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        start = index.keyframe_at_or_before(max(0, a - timing.warmup)) if a > 0 else 0
        segments.append(Segment(start=start, own_start=a, own_end=b, cap=b, limit=min(n, b + timing.overtime),
                                floor=a))
    return segments


# --- running one segment ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EventNote:
    """What the stitcher needs to know about an event besides its own fields."""

    owned: bool
    """It opened in the segment's own range (else it opened in the warm-up: ``incoming``)."""
    cut: bool
    """It was still open when the segment stopped at its limit: its end is not final."""
    strength: float
    """Its peak: the highest score relative to its threshold (how the gate chooses the peak frame)."""


Emit = Callable[[str, Event, "EventNote | None"], None]
"""Receives ``("started", event, None)``, ``("ended", event, note)`` and ``("incoming", event, note)``."""


@dataclass(slots=True)
class SegmentResult:
    """What one segment run did."""

    segment: Segment
    owned_frames: int = 0
    decoded_frames: int = 0
    last_owned: int = -1
    """Index of the last analysed frame of its own range (-1: none)."""
    last_owned_time: float = 0.0
    stopped_at: int = -1
    """Index of the last frame analysed."""
    retry: bool = False
    """Abandoned: an event was already open where its own range begins; start earlier."""
    stopped: bool = False
    """Stopped by the user."""
    elapsed: float = 0.0
    sink_failures: dict[str, int] = field(default_factory=dict)


class SegmentScan(Sink):
    """The sink a segment's pipeline feeds: decides what the segment reports and when it is done.

    ``pictures`` (snapshots, clips) see every analysed frame and the segment's own events;
    ``rows`` (the scores file) sees its own frames only; ``emit`` gets its own events, and the
    events that opened in the warm-up, with what the stitcher needs.
    """

    name = "segment"

    def __init__(self, segment: Segment, layout: RecordLayout, emit: Emit, *, pictures: Sequence[Sink] = (),
                 rows: Sink | None = None, tail: float = 0.0, user_stop: threading.Event | None = None,
                 can_retry: bool = False, total: int | None = None) -> None:
        self.segment = segment
        self.total = total if total is not None else segment.limit
        self.shows_pictures = any(sink.shows_pictures for sink in pictures)
        self.emit = emit
        self.pictures = SinkSet(list(pictures))
        self.rows = SinkSet([rows]) if rows is not None else None
        self.tail = tail
        self.user_stop = user_stop
        self.can_retry = can_retry
        self.feeds = layout.feeds
        self.stop = threading.Event()
        """Set when the segment is done; the pipeline stops after the current frame."""
        self.result = SegmentResult(segment)
        self._open: dict[int, list] = {}  # id(event) -> [event, owned, strength]
        self._latest: FrameRecord | None = None
        self._tail_until = -math.inf
        self._flushing = False

    # -- per frame -------------------------------------------------------------------------------
    def frame(self, record: FrameRecord) -> None:
        seg, f = self.segment, record.index
        self._latest = record
        self.pictures.frame(record)
        if seg.own_start <= f < seg.cap:
            if self.rows is not None:
                self.rows.frame(record)
            self.result.owned_frames += 1
            self.result.last_owned, self.result.last_owned_time = f, record.time
        for entry in self._open.values():
            event = entry[0]
            if event.peak_frame == f:
                entry[2] = self._strength(event.kind, record)
        if self.can_retry and f == seg.own_start - 1 and (record.active or record.over) and seg.own_start > seg.floor:
            # something is under way where the own range begins: an event could start before it
            # (a run of frames over threshold only ever starts at a frame where one is over)
            self.result.retry = True
            self.stop.set()

    def after_frame(self) -> None:
        """Called once the frame's events have been handed out: decide whether the segment is done."""
        record = self._latest
        if record is None:
            return
        index = record.index
        self.result.stopped_at = index
        self.result.decoded_frames += 1
        if self.stop.is_set():
            self._flushing = True
            return
        seg = self.segment
        owned_open = any(entry[1] for entry in self._open.values())
        tail_ok = record.time >= self._tail_until - 1e-9
        done = False
        if index + 1 >= seg.limit and seg.limit < self.total:
            done = True  # the overtime is used up: what is open is cut here
        elif index + 1 >= seg.own_end and index + 1 < seg.cap and not record.active and not record.over and tail_ok:
            done = True  # a triage stretch, idle after its planned end
        elif index + 1 >= seg.cap and not owned_open and tail_ok:
            done = True  # nothing of its own open; what opens from the cap on is the next segment's
        if done:
            self._flushing = True
            self.stop.set()

    # -- events ----------------------------------------------------------------------------------
    def event_started(self, event: Event) -> None:
        seg = self.segment
        opened = self._latest.index if self._latest is not None else event.start_frame
        owned = seg.own_start <= opened < seg.cap
        if not owned and opened >= seg.cap:
            return  # the next segment's
        strength = 0.0
        if self._latest is not None and self._latest.index == event.peak_frame:
            strength = self._strength(event.kind, self._latest)
        self._open[id(event)] = [event, owned, strength]
        if self.can_retry and not owned and seg.floor <= opened < seg.own_start:
            # an event opened where no stretch owns the frames: triage did not see it; start earlier
            self.result.retry = True
            self.stop.set()
        if not owned or self.result.retry:
            return
        self.pictures.event_started(event)
        self.emit("started", event, None)

    def event_ended(self, event: Event) -> None:
        entry = self._open.pop(id(event), None)
        if entry is None:
            return
        _, owned, strength = entry
        cut = self._flushing and not (self.user_stop is not None and self.user_stop.is_set())
        note = EventNote(owned=owned, cut=cut, strength=strength)
        if self.result.retry:
            return
        if owned:
            self.pictures.event_ended(event)
            self._tail_until = max(self._tail_until, event.end_time + self.tail)
            self.emit("ended", event, note)
        else:
            self.emit("incoming", event, note)

    def _strength(self, kind: str, record: FrameRecord) -> float:
        """The highest score of the kind's detectors relative to the threshold the gate applied."""
        best = 0.0
        for name in self.feeds.get(kind, ()):
            score = record.scores.get(name)
            if score is None:
                continue
            threshold = record.thresholds.get(name, 0.0)
            best = max(best, score.value / threshold if threshold > 0 else score.value)
        return best


def run_segment(index: PacketIndex, segment: Segment, config: Config, emit: Emit, *,
                pictures: Sequence[Sink] = (), rows: Sink | None = None, tail: float = 0.0,
                stop: threading.Event | None = None, threads: int | None = None,
                can_retry: bool = False, label: str = "") -> SegmentResult:
    """Analyse one segment with the ordinary pipeline; returns what it did (see :class:`SegmentScan`)."""
    from vidwatch.pipeline import record_layout, run_source
    from vidwatch.sources import DecodeAhead
    from vidwatch.sources.segment import SegmentSource

    scan = SegmentScan(segment, record_layout(config), emit, pictures=pictures, rows=rows, tail=tail,
                       user_stop=stop, can_retry=can_retry, total=index.frames)
    source = SegmentSource(index, segment.start, segment.limit, threads=threads)
    if config.source.decode_ahead > 0:
        source = DecodeAhead(source, config.source.decode_ahead)  # type: ignore[assignment]

    def on_frame(stats: object) -> None:
        scan.after_frame()
        if stop is not None and stop.is_set():
            scan.stop.set()

    started = time.perf_counter()
    stats = run_source(source, config, [scan], stop=scan.stop, on_frame=on_frame, label_events=bool(label))
    scan.result.elapsed = time.perf_counter() - started
    scan.result.stopped = stop is not None and stop.is_set()
    scan.result.sink_failures = {**stats.sink_failures, **scan.pictures.failures}
    return scan.result
