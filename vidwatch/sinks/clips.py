"""Each event as a playable video clip, with pre-roll before it and post-roll after it.

The pre-roll must come from the past, so every frame goes into a ring buffer first. The ring holds
JPEG-encoded frames (a 1080p BGR frame is 6 MB raw, a few hundred KB as JPEG) and is bounded both in
time (what the longest pre-roll and the gate's decision lag need) and in bytes (``buffer_mb``), so a
long run at high resolution cannot exhaust memory. A clip is written as its frames become final:
everything up to the event's current end plus the post-roll; frames after that wait in the ring in
case the event goes on, and the clip is finished once the post-roll after the final end has passed.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidwatch.events import Event
from vidwatch.record import FrameRecord, RecordLayout
from vidwatch.sinks.base import Sink
from vidwatch.sinks.params import OutputParams
from vidwatch.sinks.snapshots import ensure_dir, event_stem
from vidwatch.sinks.video import VideoWriter
from vidwatch.timing import estimate_fps

log = logging.getLogger(__name__)

EPS = 1e-6


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

    def push(self, index: int, time: float, image: np.ndarray) -> None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise OSError("JPEG encoding of a frame failed")
        held = _Held(index, time, data.tobytes())
        self.frames.append(held)
        self.bytes += len(held.jpeg)
        while self.frames and (self.frames[0].time < time - self.seconds - EPS or self.bytes > self.max_bytes):
            old = self.frames.popleft()
            self.bytes -= len(old.jpeg)
            if old.time >= time - self.seconds - EPS:
                self.evicted_early += 1

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


@dataclass(slots=True)
class _Clip:
    event: Event
    path: Path
    writer: VideoWriter
    start_time: float
    next_index: int
    ended: bool = False

    def limit(self, post_roll: float) -> float:
        return self.event.end_time + post_roll


class ClipSink(Sink):
    """Writes ``<dir>/<kind>_<start frame>.mp4`` per event and puts its path in ``event.extra['clip']``.

    The clip spans ``outputs.pre_roll`` seconds before the event's first frame to ``outputs.post_roll``
    seconds after its last frame (the gate's own post-roll is already inside the event). The path is
    set when the event starts; the file is complete once that post-roll has passed, or at close.
    One sink serves one source (frames of another source would not belong in its clips).
    """

    name = "clips"
    shows_pictures = True

    def __init__(self, folder: str | Path, layout: RecordLayout, params: OutputParams) -> None:
        self.folder = ensure_dir(folder, "--clips")
        self.params = params
        # the ring covers the pre-roll, frames the gate has not yet decided on, and a margin for min_frames
        seconds = self.params.pre_roll + max(0.0, layout.decision_lag - self.params.post_roll) + 2.0
        self.ring = FrameRing(seconds, int(self.params.buffer_mb * 1e6), self.params.jpeg_quality)
        self._clips: dict[int, _Clip] = {}
        self._warned_gap = False

    def frame(self, record: FrameRecord) -> None:
        self.ring.push(record.index, record.time, record.frame.source.bgr())
        for key, clip in list(self._clips.items()):
            self._advance(clip)
            if clip.ended and record.time > clip.limit(self.params.post_roll) + EPS:
                self._finish(key)

    def event_started(self, event: Event) -> None:
        path = self.folder / f"{event_stem(event)}.mp4"
        writer = VideoWriter(path, estimate_fps(self.ring.times()), method=self.params.video_writer)
        start = event.start_time - self.params.pre_roll
        first = next((h.index for h in self.ring.frames if h.time >= start - EPS), event.start_frame)
        clip = _Clip(event, path, writer, start, first)
        self._clips[id(event)] = clip
        event.extra["clip"] = str(path)
        self._advance(clip)

    def event_ended(self, event: Event) -> None:
        clip = self._clips.get(id(event))
        if clip is None:
            return
        clip.ended = True
        self._advance(clip)
        latest = self.ring.latest_time
        if latest is not None and latest > clip.limit(self.params.post_roll) + EPS:
            self._finish(id(event))

    def _advance(self, clip: _Clip) -> None:
        """Write every held frame that now certainly belongs to the clip."""
        limit = clip.limit(self.params.post_roll) + EPS
        pending = self.ring.since(clip.next_index)
        if pending and pending[0].index > clip.next_index and clip.writer.frames and not self._warned_gap:
            self._warned_gap = True
            log.warning("clip %s misses frames %d-%d: the clip buffer (outputs.buffer_mb) was full",
                        clip.path, clip.next_index, pending[0].index - 1)
        for held in pending:
            if held.time > limit:
                break
            if held.time >= clip.start_time - EPS:
                image = cv2.imdecode(np.frombuffer(held.jpeg, np.uint8), cv2.IMREAD_COLOR)
                clip.writer.write(image)
            clip.next_index = held.index + 1

    def _finish(self, key: int) -> None:
        clip = self._clips.pop(key)
        frames = clip.writer.frames
        clip.writer.close()
        log.info("clip %s: %d frames", clip.path, frames)

    def _finish_all(self) -> None:
        for key in list(self._clips):
            self._finish(key)

    def close(self) -> None:
        self._finish_all()
        self.ring.clear()
