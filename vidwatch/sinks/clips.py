"""Each event as a playable video clip, with pre-roll before it and post-roll after it, made off the analysis path.

The capture loop only hands each frame (the decoded picture, not yet converted or encoded) to a
bounded queue and goes on; a writer thread, at a lower CPU priority, does the work: it JPEG-encodes
every frame into a ring buffer (the pre-roll must come from the past), and writes each clip through
the video writer with the frames' own timestamps. When the writer falls behind (a 4K source, a busy
machine) the queue is full and frames are left out of clips — with a warning that says so — never
out of analysis; with timestamps kept, a clip with frames left out still plays at the right speed.

The ring holds JPEG-encoded frames (a 1080p BGR frame is 6 MB raw, a few hundred KB as JPEG) and is
bounded both in time (what the longest pre-roll and the gate's decision lag need) and in bytes
(``buffer_mb``), so a long run at high resolution cannot exhaust memory. A clip is written as its
frames become final: everything up to the event's current end plus the post-roll; frames after that
wait in the ring in case the event goes on, and the clip is finished once the post-roll after the
final end has passed, or at once when a live stream is lost (no frame after the loss belongs to it).

A clip is written under a temporary name and renamed when complete, so a clip file that exists is
whole. When writing fails (a full disk) the clip's frames, held while they fit in ``buffer_mb``,
are kept and the whole clip is written again later; what could not be written is named at the end.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vidwatch.events import STREAM_LOST, Event
from vidwatch.frames import SourceFrame
from vidwatch.record import FrameRecord, RecordLayout
from vidwatch.sinks.base import Sink
from vidwatch.sinks.delivery import Loss, Outbox, Pending, listing, why
from vidwatch.sinks.params import OutputParams
from vidwatch.sinks.places import output_stem, partial_path, writable_dir
from vidwatch.sinks.video import BACKGROUND_NICE, VideoWriter, writer_method
from vidwatch.timing import estimate_fps

log = logging.getLogger(__name__)

EPS = 1e-6
QUEUE_FRAMES = 64
"""Frames waiting for the writer thread at most (fewer when they are large: see ``QUEUE_SHARE``)."""
QUEUE_SHARE = 0.25
"""Share of ``outputs.buffer_mb`` the waiting raw frames may take (at least two frames always fit)."""
IDLE_POLL = 0.5
"""Seconds the idle writer thread waits for work before it looks at clips to write again."""
MAX_SPACING = 1.0
"""Longest stretch of video (seconds) between frames written while the writer cannot keep up."""


@dataclass(slots=True)
class _Held:
    index: int
    time: float
    jpeg: bytes


class FrameRing:
    """Recent full-resolution frames as JPEG, bounded by age (seconds) and total bytes."""

    def __init__(self, seconds: float, max_bytes: int, quality: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.quality = quality
        self.frames: deque[_Held] = deque()
        self.bytes = 0
        self.evicted_early = 0
        """Frames dropped by the byte cap before they were ``seconds`` old."""
        self.evicted_early_last = -1
        """Index of the latest frame the byte cap dropped early (to tell why a clip misses frames)."""

    def push(self, index: int, time: float, image: np.ndarray) -> _Held:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError("JPEG encoding of a frame failed")
        held = _Held(index, time, data.tobytes())
        self.frames.append(held)
        self.bytes += len(held.jpeg)
        while self.frames and (self.frames[0].time < time - self.seconds - EPS or self.bytes > self.max_bytes):
            old = self.frames.popleft()
            self.bytes -= len(old.jpeg)
            if old.time >= time - self.seconds - EPS:
                self.evicted_early += 1
                self.evicted_early_last = old.index
        return held

    def since(self, index: int) -> list[_Held]:
        """Held frames with ``frame.index >= index``, oldest first."""
        out: list[_Held] = []
        for held in reversed(self.frames):
            if held.index < index:
                break
            out.append(held)
        out.reverse()
        return out

    def times(self) -> list[float]:
        return [h.time for h in self.frames]

    def clear(self) -> None:
        self.frames.clear()
        self.bytes = 0

    @property
    def latest_time(self) -> float | None:
        return self.frames[-1].time if self.frames else None


# -- what the capture loop hands the writer thread ----------------------------------------------------


@dataclass(slots=True)
class _Frame:
    index: int
    time: float
    picture: SourceFrame


@dataclass(slots=True)
class _Start:
    event: Event
    path: Path


@dataclass(slots=True)
class _End:
    event: Event
    lost_stream: bool
    """A live stream was lost after this event: no later frame belongs to any clip."""


class _Close:
    pass


class _Handoff:
    """The queue from the capture loop to the writer thread.

    Frames are bounded: when the queue is full the oldest waiting frame is left out (or, with
    ``wait``, the capture loop waits for room), so a clip made while the writer is behind is thinned
    out over its whole length rather than cut short. Event messages are never refused (there are
    few, and each one matters).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque[tuple[object, int]] = deque()
        self._cond = threading.Condition()
        self._frames = 0
        self._bytes = 0
        self._left_out: deque[int] = deque(maxlen=4096)
        """Indexes of frames left out (recent ones), to tell why a clip misses frames."""
        self.left_out_count = 0

    def offer(self, frame: _Frame, size: int, *, wait: bool) -> bool:
        """Queue a frame; returns False when an older waiting frame had to be left out for it."""
        with self._cond:
            kept = True
            while self._frames >= 2 and (self._frames >= QUEUE_FRAMES or self._bytes + size > self.max_bytes):
                if wait:
                    self._cond.wait()
                    continue
                oldest = next(i for i, (item, _) in enumerate(self._items) if isinstance(item, _Frame))
                item, dropped = self._items[oldest]
                del self._items[oldest]
                self._frames -= 1
                self._bytes -= dropped
                self._left_out.append(item.index)  # type: ignore[attr-defined]
                self.left_out_count += 1
                kept = False
            self._items.append((frame, size))
            self._frames += 1
            self._bytes += size
            self._cond.notify()
        return kept

    def left_out(self, first: int, last: int) -> bool:
        """Whether a frame with an index in ``first..last`` was left out here."""
        with self._cond:
            return any(first <= index <= last for index in self._left_out)

    @property
    def waiting(self) -> int:
        return self._frames

    def put(self, message: object) -> None:
        with self._cond:
            self._items.append((message, 0))
            self._cond.notify()

    def get(self, timeout: float) -> object | None:
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                return None
            item, size = self._items.popleft()
            if isinstance(item, _Frame):
                self._frames -= 1
                self._bytes -= size
                self._cond.notify_all()  # room for a capture loop that waits
            return item


# -- the writer thread ---------------------------------------------------------------------------------


class _Budget:
    """Bytes of JPEG frames held so a failed clip can be written again."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        self.used -= size


@dataclass(slots=True)
class _Clip:
    event: Event
    path: Path
    writer: VideoWriter | None
    start_time: float
    next_index: int
    frames: list[_Held] | None = field(default_factory=list)
    """The clip's frames, held while they fit the budget (None once released): a failed clip is
    written again from them."""
    held_bytes: int = 0
    count: int = 0
    last_time: float | None = None
    """Time of the last frame given to the clip."""
    ended: bool = False
    failed: OSError | None = None
    missing: dict[str, int] = field(default_factory=dict)
    """Why frames are missing -> how many."""

    def limit(self, post_roll: float) -> float:
        return self.event.end_time + post_roll

    def describe(self) -> str:
        return f"{self.path.name} ({self.event.kind} frames {self.event.start_frame}-{self.event.end_frame})"


class _Pace:
    """How thinly clips sample the video while the writer cannot keep up.

    When frames had to be left out at the queue, the writer would otherwise spend its time on a
    backlog (an event's pre-roll all at once) and leave a hole after it; instead it writes frames
    no closer than ``spacing`` seconds of video apart, widening the spacing while it falls behind
    and narrowing it again once it keeps up, so a clip made under load is thinned evenly.
    """

    def __init__(self) -> None:
        self.spacing = 0.0
        self._seen = 0

    def check(self, handoff: _Handoff | None) -> None:
        if handoff is None:
            return
        if handoff.left_out_count > self._seen:
            self._seen = handoff.left_out_count
            self.spacing = min(MAX_SPACING, max(2 * self.spacing, 0.05))
        elif handoff.waiting == 0 and self.spacing:
            self.spacing = self.spacing / 2 if self.spacing > 0.01 else 0.0


BUFFER_FULL = "the clip buffer (outputs.buffer_mb) was full"
WRITER_BEHIND = "the clip writer fell behind (encoding is slower than the video comes in)"


class _ClipWriter:
    """Everything the writer thread owns: the ring, the clips being made, the clips waiting for a retry."""

    def __init__(self, folder: Path, ring_seconds: float, params: OutputParams, method: str) -> None:
        self.folder = folder
        self.params = params
        self.method = method
        budget = int(params.buffer_mb * 1e6)
        self.ring = FrameRing(ring_seconds, budget, params.jpeg_quality)
        self.clips: dict[int, _Clip] = {}
        self.hold = _Budget(budget)
        self.outbox = Outbox("clips", folder, noun="clip", max_items=1000, max_bytes=budget)
        self.lost: list[tuple[str, str]] = []
        """Clips given up at once, and why: no frames held to write them again, or no frames at all."""
        self.failures = 0
        self.handoff: _Handoff | None = None
        self.pace = _Pace()
        self._fresh: tuple[_Held, np.ndarray] | None = None
        """The frame just pushed and its picture: written straight away, it needs no JPEG decoding."""
        self.on_finished: Callable[[Path], None] | None = None
        """Called (on the writer thread) with a clip's path once its file is complete."""

    def run(self, handoff: _Handoff) -> None:
        self.handoff = handoff
        try:  # Linux gives each thread its own nice value: analysis keeps the CPU first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
        except (OSError, AttributeError):
            pass
        while True:
            item = handoff.get(IDLE_POLL)
            try:
                if isinstance(item, _Close):
                    self.finish_all()
                    self.outbox.close()
                    return
                self.handle(item)
            except Exception:  # a defect in one clip must not end clips for the rest of the run
                self.failures += 1
                log.exception("clips: writing failed")
                if isinstance(item, _Close):
                    return

    def handle(self, item: object) -> None:
        if isinstance(item, _Frame):
            self.frame(item)
        elif isinstance(item, _Start):
            self.start(item.event, item.path)
        elif isinstance(item, _End):
            self.end(item.event, item.lost_stream)
        self.outbox.retry()

    def frame(self, item: _Frame) -> None:
        self.pace.check(self.handoff)
        image = item.picture.bgr()
        self._fresh = (self.ring.push(item.index, item.time, image), image)
        for key, clip in list(self.clips.items()):
            self.advance(clip)
            if clip.ended and item.time > clip.limit(self.params.post_roll) + EPS:
                self.finish(key)

    def start(self, event: Event, path: Path) -> None:
        writer = VideoWriter(partial_path(path), estimate_fps(self.ring.times()), method=self.method, background=True)
        start = event.start_time - self.params.pre_roll
        first = next((h.index for h in self.ring.frames if h.time >= start - EPS), event.start_frame)
        clip = _Clip(event, path, writer, start, first)
        self.clips[id(event)] = clip
        self.advance(clip)

    def end(self, event: Event, lost_stream: bool) -> None:
        clip = self.clips.get(id(event))
        if clip is not None:
            clip.ended = True
            self.advance(clip)
            latest = self.ring.latest_time
            if latest is not None and latest > clip.limit(self.params.post_roll) + EPS:
                self.finish(id(event))
        if lost_stream:  # the post-roll will never come, and frames before the loss are no one's pre-roll
            for key, open_clip in list(self.clips.items()):
                if open_clip.ended:
                    self.finish(key)
            self.ring.clear()

    def advance(self, clip: _Clip) -> None:
        """Write every held frame that now certainly belongs to the clip."""
        limit = clip.limit(self.params.post_roll) + EPS
        pending = self.ring.since(clip.next_index)
        if pending and pending[0].index > clip.next_index and clip.count:
            self.note_missing(clip, clip.next_index, pending[0].index - 1)
        for held in pending:
            if held.time > limit:
                break
            if held.time >= clip.start_time - EPS:
                self.add(clip, held)
            clip.next_index = held.index + 1

    def note_missing(self, clip: _Clip, first: int, last: int) -> None:
        """Say why frames ``first..last`` are not in the clip (frames the source never delivered are not news)."""
        if self.ring.evicted_early_last >= first:
            reason = BUFFER_FULL
        elif self.handoff is not None and self.handoff.left_out(first, last):
            reason = WRITER_BEHIND
        else:
            return  # not analysed either: a live source or --realtime dropped them (the status line counts those)
        if reason == BUFFER_FULL and reason not in clip.missing:
            log.warning("clip %s misses frames %d-%d: %s", clip.path, first, last, reason)
        clip.missing[reason] = clip.missing.get(reason, 0) + last - first + 1

    def add(self, clip: _Clip, held: _Held) -> None:
        self.pace.check(self.handoff)
        if clip.last_time is not None and held.time - clip.last_time < self.pace.spacing - EPS:
            clip.missing[WRITER_BEHIND] = clip.missing.get(WRITER_BEHIND, 0) + 1  # thinned: the writer is behind
            return
        clip.last_time = held.time
        if clip.frames is not None:
            if self.hold.take(len(held.jpeg)):
                clip.frames.append(held)
                clip.held_bytes += len(held.jpeg)
            else:  # too long to keep for a retry: it is written once, or not at all
                self.release(clip)
        clip.count += 1
        if clip.writer is None:
            return
        try:
            clip.writer.write(self.picture(held), held.time)
        except OSError as exc:  # the writer gave the file up; the frames held can make it again later
            clip.writer = None
            clip.failed = exc
            log.error("clips: cannot write %s (%s); %s", clip.path, why(exc),
                      "keeping its frames to write it again" if clip.frames is not None else
                      "the clip is too long to keep for another try")

    def picture(self, held: _Held) -> np.ndarray:
        fresh = self._fresh
        return fresh[1] if fresh is not None and fresh[0] is held else _decode(held)

    def release(self, clip: _Clip) -> None:
        if clip.frames is not None:
            self.hold.give(clip.held_bytes)
            clip.frames, clip.held_bytes = None, 0

    def finish(self, key: int) -> None:
        clip = self.clips.pop(key)
        if clip.writer is not None and clip.writer.frames == 0:  # every frame of it was left out
            clip.writer.abort()
            self.release(clip)
            reason = next(iter(clip.missing), "no frame of it was analysed")
            log.warning("clip %s has no frames: %s", clip.path, reason)
            self.lost.append((clip.describe(), reason))
            return
        if clip.writer is not None:
            try:
                clip.writer.close()
                os.replace(partial_path(clip.path), clip.path)
                log.info("clip %s: %d frames%s", clip.path, clip.count, _missing_text(clip))
                self._finished(clip.path)
            except OSError as exc:
                clip.failed = exc
        if clip.failed is None:
            self.release(clip)
            return
        if clip.frames is None:
            self.lost.append((clip.describe(), why(clip.failed)))
            return
        frames, size = clip.frames, clip.held_bytes
        fps = estimate_fps([h.time for h in frames])
        clip.frames, clip.held_bytes = None, 0  # the outbox holds them now (within its own bound)
        self.hold.give(size)
        self.outbox.send(Pending(clip.describe(), size, lambda: self.write_whole(clip.path, frames, fps)))

    def write_whole(self, path: Path, frames: list[_Held], fps: float) -> None:
        """Write a clip again from its held frames (after a failure); complete or not at all."""
        writer = VideoWriter(partial_path(path), fps, method=self.method, background=True)
        for held in frames:
            writer.write(_decode(held), held.time)
        writer.close()
        os.replace(partial_path(path), path)
        log.info("clip %s: %d frames (written on a later try)", path, len(frames))
        self._finished(path)

    def _finished(self, path: Path) -> None:
        if self.on_finished is not None:
            self.on_finished(path)

    def finish_all(self) -> None:
        """Finish every clip; one that fails in an unforeseen way is given up (its encoder stopped), not the rest."""
        self._fresh = None
        for key in list(self.clips):
            clip = self.clips[key]
            try:
                self.finish(key)
            except Exception:
                self.failures += 1
                log.exception("clips: finishing %s failed", clip.path)
                if clip.writer is not None:
                    clip.writer.abort()
                self.clips.pop(key, None)
        self.ring.clear()

    def losses(self) -> list[Loss]:
        error = why(self.outbox.error) if self.outbox.error else "not written"
        lost = [*self.lost, *((item.what, error) for item in self.outbox.given_up)]
        if not lost:
            return []
        count = len(lost)
        what = f"{count} clip{'' if count == 1 else 's'} not written: {listing([w for w, _ in lost])}"
        return [Loss("clips", str(self.folder), what, lost[-1][1])]


def _decode(held: _Held) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(held.jpeg, np.uint8), cv2.IMREAD_COLOR)


def _missing_text(clip: _Clip) -> str:
    return "".join(f"; {n} left out: {reason}" for reason, n in clip.missing.items())


# -- the sink the capture loop calls ---------------------------------------------------------------


class ClipSink(Sink):
    """Writes ``<dir>/<source>_<kind>_<start frame>.mp4`` per event and puts its path in ``event.extra['clip']``.

    The clip spans ``outputs.pre_roll`` seconds before the event's first frame to ``outputs.post_roll``
    seconds after its last frame (the gate's own post-roll is already inside the event). The path is
    set when the event starts; the file appears, complete, once that post-roll has passed, when a
    live stream is lost, or at close. One sink serves one source (frames of another source would not
    belong in its clips); ``source`` names it in file names (default: the first record's source).
    With ``paced`` (a camera, a stream, ``--realtime``: frames come at the clock's pace) a writer that
    falls behind loses frames from clips; otherwise (a file read as fast as it decodes) the capture
    loop waits for it, and clips get every frame.
    """

    name = "clips"
    shows_pictures = True

    def __init__(self, folder: str | Path, layout: RecordLayout, params: OutputParams, *,
                 source: str | None = None, paced: bool = True) -> None:
        self.folder = writable_dir(folder, "--clips")
        self.params = params
        self.source = source
        self.paced = paced
        method = writer_method(params.video_writer)
        # the ring covers the pre-roll, frames the gate has not yet decided on, and a margin for min_frames
        seconds = params.pre_roll + max(0.0, layout.decision_lag - params.post_roll) + 2.0
        self._writer = _ClipWriter(self.folder, seconds, params, method)
        self._handoff = _Handoff(int(params.buffer_mb * 1e6 * QUEUE_SHARE))
        self.left_out = 0
        """Frames left out of clips because the writer thread was behind."""
        self._thread = threading.Thread(target=self._writer.run, args=(self._handoff,), name="clips", daemon=True)
        self._thread.start()
        self._closed = False

    @property
    def on_finished(self) -> Callable[[Path], None] | None:
        """Called with a clip's path once its file is complete (a runner that sends files elsewhere)."""
        return self._writer.on_finished

    @on_finished.setter
    def on_finished(self, callback: Callable[[Path], None] | None) -> None:
        self._writer.on_finished = callback

    def frame(self, record: FrameRecord) -> None:
        if self.source is None:
            self.source = record.source
        picture = record.frame.source
        height, width = picture.image.shape[:2]
        if self._handoff.offer(_Frame(record.index, record.time, picture), height * width * 3, wait=not self.paced):
            return
        self.left_out += 1
        if self.left_out == 1:
            log.warning("clips: %s; frames are left out of clips (never out of analysis) while it catches up",
                        WRITER_BEHIND)

    def event_started(self, event: Event) -> None:
        path = self.folder / f"{output_stem(self.source or event.source, event)}.mp4"
        event.extra["clip"] = str(path)
        self._handoff.put(_Start(event, path))

    def event_ended(self, event: Event) -> None:
        self._handoff.put(_End(event, lost_stream=event.kind == STREAM_LOST))

    def close(self) -> None:
        """Finish every clip (the writer thread works through what is queued first) and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._handoff.put(_Close())
        began = time.monotonic()
        self._thread.join(1.0)
        if self._thread.is_alive():
            log.info("clips: finishing the clips still being written ...")
            self._thread.join()
            log.info("clips: finished in %.1f s", time.monotonic() - began)
        if self.left_out:
            log.warning("clips: %d frames were left out of clips: %s", self.left_out, WRITER_BEHIND)

    def losses(self) -> list[Loss]:
        losses = self._writer.losses()
        if self._writer.failures:
            losses.append(Loss("clips", str(self.folder), f"{self._writer.failures} writes failed (see the log)",
                               "internal failure"))
        return losses
