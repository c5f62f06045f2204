"""``record_source``: detect on a camera's small sub-stream, keep snapshots and clips from its main stream.

The main stream is read on its own thread with PyAV and never decoded: its compressed packets are
kept for a few seconds in a ring (a 1080p stream at 6 Mbit/s is under 1 MB a second), each with
the time it was captured, on this machine's monotonic clock. When an event opens, a clip starts at
the last key frame before its pre-roll and takes every packet until the event's end plus the
post-roll; a worker thread writes the packets into an MP4 as they come (H.264 is copied as it is,
other codecs are re-encoded to H.264 so browsers can play them). Once a clip is complete, the
snapshot is decoded from it at the event's peak, its box scaled from the sub-stream to the main
stream's size.

**Matching the two streams in time.** Both streams are put on one clock: the time each frame or
packet arrived here. The detecting stream's frames carry their arrival time; a main-stream packet's
capture time is estimated from its own timestamp (PTS) plus the smallest arrival-minus-PTS seen on
the connection (the packet that came with the least delay), allowed to creep up by 1 ms per second
to follow clock drift, so bursts and network jitter do not move it. Streams whose timestamps are
not real capture times (MJPEG over HTTP counts frames at a made-up rate) use the arrival time
itself. What this cannot see is how much longer one stream takes than the other inside the camera
(encoding) and on the way (network, buffering): that difference, usually tens to a few hundred
milliseconds, is the error of the match. Pre- and post-roll cover it for clips; a snapshot may show
the moving object a little before or after the detecting stream's peak frame. When the main stream
is down, the event has no clip and its snapshot comes from the detecting stream.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from vidwatch.detectors.base import Score
from vidwatch.events import Event
from vidwatch.frames import AnalysisFrame
from vidwatch.pipeline import record_layout
from vidwatch.record import FrameRecord, RecordLayout
from vidwatch.serve.feed import EventIds
from vidwatch.serve.messages import MediaMessage, Message
from vidwatch.serve.site import CameraConfig
from vidwatch.sinks import draw
from vidwatch.sinks.base import Sink
from vidwatch.sinks.snapshots import event_stem
from vidwatch.sources.reconnect import Backoff

log = logging.getLogger(__name__)

UNTIMED_FORMATS = {"mpjpeg", "mjpeg", "image2pipe", "jpeg_pipe", "mjpeg_2000"}
"""Demuxers whose packet timestamps count frames at a made-up rate instead of capture times."""
DRIFT = 0.001
"""Seconds per second the arrival-minus-PTS offset may rise (clock drift between camera and host)."""
JUMP = 2.0
"""A packet this many seconds off the current offset is a timestamp discontinuity: start afresh."""
COPIED_CODECS = {"h264"}
"""Codecs copied into clips as they are; anything else is re-encoded to H.264 for browsers."""
CLIP_TIMEBASE = Fraction(1, 90000)


@dataclass(slots=True)
class _Timing:
    """One connection's mapping from packet timestamps to this machine's monotonic clock."""

    trusted: bool
    offset: float | None = None
    last_arrival: float = 0.0

    def observe(self, pts: float | None, arrival: float) -> None:
        if not self.trusted or pts is None:
            return
        seen = arrival - pts
        if self.offset is None or abs(seen - self.offset) > JUMP:
            self.offset = seen
        else:
            self.offset = min(self.offset + DRIFT * max(0.0, arrival - self.last_arrival), seen)
        self.last_arrival = arrival


@dataclass(slots=True)
class Held:
    """One compressed packet of the main stream."""

    packet: av.Packet
    arrival: float
    pts: float | None
    timing: _Timing
    keyframe: bool

    @property
    def time(self) -> float:
        """Estimated capture time on the monotonic clock (arrival for untimed streams)."""
        if self.pts is None or self.timing.offset is None or not self.timing.trusted:
            return self.arrival
        return self.pts + self.timing.offset


@dataclass(eq=False)
class Recording:
    """The packets of one clip, from a key frame before its start to its end (set when the event ends)."""

    start: float
    stream: Any
    """The input stream the packets belong to (its parameters shape the output)."""
    end: float | None = None
    packets: deque[Held] = field(default_factory=deque)
    done: threading.Event = field(default_factory=threading.Event)
    keyed: bool = False
    """A key frame has been taken (a clip must begin with one)."""
    cut: bool = False
    """The main stream was lost (or the service stopped) before the clip's end arrived."""

    def wants(self, held: Held) -> bool:
        return self.end is None or held.time <= self.end

    def take(self, held: Held) -> None:
        if self.keyed or held.keyframe:
            self.keyed = True
            self.packets.append(held)


class MainStream:
    """The main stream's reader thread and its ring of recent packets.

    It lives as long as the camera's runner, independent of the detecting stream: either may be
    lost and come back without the other (and a camera that serves both streams from one encoder
    may wait for both connections before it sends anything).
    """

    @classmethod
    def for_camera(cls, camera: CameraConfig) -> MainStream:
        """The reader for ``camera.record_source``, holding what the longest pre-roll and the gate's lag need."""
        config = camera.config
        assert camera.record_source
        lag = record_layout(config).decision_lag
        return cls(camera.record_source, camera.name, keep=config.outputs.pre_roll + lag + 5.0,
                   open_timeout=config.source.open_timeout, read_timeout=config.source.frame_timeout,
                   reconnect_max=config.source.reconnect_max)

    def __init__(self, url: str, name: str, *, keep: float, open_timeout: float, read_timeout: float,
                 reconnect_max: float) -> None:
        self.url = url
        self.name = name
        self.keep = keep
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.reconnect_max = reconnect_max
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.ring: deque[Held] = deque()
        self.recordings: list[Recording] = []
        self.stream: Any = None
        self.size: tuple[int, int] | None = None
        self.connected = False
        self._thread = threading.Thread(target=self._run, name=f"main-{name}", daemon=True)
        self._thread.start()

    def _stopping(self) -> bool:
        return self._halt.is_set()

    def _run(self) -> None:
        backoff = Backoff(0.5, self.reconnect_max)
        while not self._stopping():
            try:
                container = av.open(self.url, timeout=(self.open_timeout, self.read_timeout))
            except (av.FFmpegError, OSError) as exc:
                delay = backoff.next()
                log.warning("%s: main stream %s unreachable (%s); retrying in %.1f s", self.name,
                            _safe(self.url), exc, delay)
                if self._halt.wait(delay) or self._stopping():
                    return
                continue
            backoff.reset()
            try:
                self._read(container)
            except (av.FFmpegError, OSError) as exc:
                log.warning("%s: main stream lost (%s)", self.name, exc)
            finally:
                with self._lock:
                    self.connected = False
                    self.stream = None
                    for recording in self.recordings:
                        recording.cut = True
                        recording.done.set()
                    self.recordings.clear()
                    self.ring.clear()
                    container.close()
            if not self._stopping() and self._halt.wait(backoff.next()):
                return

    def _read(self, container: Any) -> None:
        stream = container.streams.video[0]
        timing = _Timing(trusted=container.format.name not in UNTIMED_FORMATS)
        with self._lock:
            self.stream = stream
            self.size = (stream.codec_context.width, stream.codec_context.height)
            self.connected = True
        log.info("%s: recording from the main stream (%s, %dx%d)", self.name, stream.codec_context.name,
                 *self.size)
        for packet in container.demux(stream):
            if self._stopping():
                return
            if packet.size == 0:
                continue
            arrival = time.monotonic()
            pts = float(packet.pts * packet.time_base) if packet.pts is not None and packet.time_base else None
            timing.observe(pts, arrival)
            held = Held(packet, arrival, pts, timing, bool(packet.is_keyframe))
            with self._lock:
                self.ring.append(held)
                while self.ring and self.ring[0].arrival < arrival - self.keep:
                    self.ring.popleft()
                for recording in self.recordings:
                    if recording.wants(held):
                        recording.take(held)
                    else:
                        recording.done.set()
                self.recordings = [r for r in self.recordings if not r.done.is_set()]

    def record(self, start: float) -> Recording | None:
        """A clip from the last key frame at or before ``start`` on; None while the main stream is down."""
        with self._lock:
            if self.stream is None:
                return None
            recording = Recording(start, self.stream)
            held = list(self.ring)
            first = None
            for i, h in enumerate(held):
                if h.keyframe and h.time <= start:
                    first = i
            if first is None:  # the ring holds no key frame that early: from its first key frame
                first = next((i for i, h in enumerate(held) if h.keyframe), len(held))
            for h in held[first:]:
                recording.take(h)
            self.recordings.append(recording)
            return recording

    def finish(self, recording: Recording, end: float) -> None:
        with self._lock:
            recording.end = end
            if self.ring and self.ring[-1].time > end:
                recording.done.set()
                if recording in self.recordings:
                    self.recordings.remove(recording)

    def stop_recording(self) -> None:
        """End every clip in progress at the packets that have arrived."""
        with self._lock:
            for recording in self.recordings:
                recording.done.set()
            self.recordings.clear()

    def close(self) -> None:
        self._halt.set()
        self._thread.join(max(self.open_timeout, self.read_timeout) + 2.0)


def _safe(url: str) -> str:
    """A URL without its user name and password, for logs."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.split('@', 1)[-1]}" if sep else url


class ClipWriter:
    """Writes one recording's packets into an MP4 as they arrive (copied, or re-encoded to H.264)."""

    def __init__(self, path: Path, recording: Recording, lock: threading.Lock) -> None:
        self.path = path
        self.recording = recording
        self.frames = 0
        self._first: Held | None = None
        self._start: float | None = None
        self._base: int | None = None
        self._last_dts = -1
        with lock:  # the reader closes its container under this lock: the stream stays valid here
            if recording.cut:
                raise ValueError("the main stream was lost before the clip began")
            template = recording.stream
            self.codec = template.codec_context.name
            self.copy = self.codec in COPIED_CODECS
            self.output = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
            if self.copy:
                self.out_stream = self.output.add_stream_from_template(template)
                self.decoder = None
            else:
                rate = template.average_rate or 25
                self.out_stream = self.output.add_stream("libx264", rate=rate, options={"preset": "veryfast",
                                                                                        "crf": "23"})
                self.out_stream.width = template.codec_context.width
                self.out_stream.height = template.codec_context.height
                self.out_stream.pix_fmt = "yuv420p"
                self.out_stream.time_base = CLIP_TIMEBASE
                self.decoder = av.CodecContext.create(self.codec, "r")

    @property
    def t0(self) -> float | None:
        """Monotonic time of the clip's time 0, to find the peak frame in it.

        Asked for when the clip is done: by then the stream's clock offset has settled (its first
        packets may have come in a burst, late), and copied packets keep their own timestamps.
        """
        first = self._first
        if first is None:
            return None
        if self._base is not None and first.timing.offset is not None:
            return float(self._base * first.packet.time_base) + first.timing.offset
        return self._start

    def pump(self) -> None:
        """Write every packet that has arrived so far."""
        packets = self.recording.packets
        while packets:
            held = packets.popleft()
            if self._first is None:
                self._first, self._start = held, held.time
                packet = held.packet
                if self.copy and held.timing.trusted and packet.pts is not None:
                    self._base = packet.dts if packet.dts is not None else packet.pts
            if self.copy:
                self._copy(held)
            else:
                self._encode(held)

    def _copy(self, held: Held) -> None:
        source = held.packet
        packet = av.Packet(bytes(source))  # the ring's packet may be in another clip too: never retimed
        packet.is_keyframe = held.keyframe
        if self._base is None or source.pts is None:
            packet.time_base = CLIP_TIMEBASE
            ticks = round((held.time - (self._start or 0.0)) / CLIP_TIMEBASE)
            packet.pts = packet.dts = max(ticks, self._last_dts + 1)
        else:
            packet.time_base = source.time_base
            packet.pts = source.pts - self._base
            packet.dts = (source.dts if source.dts is not None else source.pts) - self._base
        if packet.dts <= self._last_dts:
            return  # a repeat after a timestamp jump: muxers need increasing decode times
        self._last_dts = packet.dts
        packet.stream = self.out_stream
        self.output.mux(packet)
        self.frames += 1

    def _encode(self, held: Held) -> None:
        assert self.decoder is not None
        for frame in self.decoder.decode(held.packet):
            frame.pts = max(round((held.time - (self._start or 0.0)) / CLIP_TIMEBASE), self._last_dts + 1)
            self._last_dts = frame.pts
            frame.time_base = CLIP_TIMEBASE
            for packet in self.out_stream.encode(frame.reformat(format="yuv420p")):
                self.output.mux(packet)
            self.frames += 1

    def close(self) -> None:
        self.pump()
        if not self.copy:
            for packet in self.out_stream.encode(None):
                self.output.mux(packet)
        self.output.close()


@dataclass(slots=True)
class _Open:
    """What the media sink keeps of an open event."""

    event: Event
    id: str
    recording: Recording | None
    clip: Path
    snapshot: Path
    peak_time: float | None = None
    peak: tuple[AnalysisFrame, Mapping[str, Score]] | None = None


class MainStreamMedia(Sink):
    """Snapshots and clips of a camera's events from its main stream (``record_source``)."""

    name = "main-stream"
    shows_pictures = True  # the fallback snapshot is the detecting stream's own picture

    def __init__(self, camera: CameraConfig, layout: RecordLayout, main: MainStream, folder: Path,
                 outbox: queue.Queue[Message], ids: EventIds) -> None:
        config = camera.config
        self.camera = camera.name
        self.params = config.outputs
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.outbox = outbox
        self.ids = ids
        self.feeds = layout.feeds
        self.main = main
        self._clock: float | None = None
        """Monotonic time minus the detecting stream's media time (its frames' arrival)."""
        self._current: tuple[AnalysisFrame, Mapping[str, Score]] | None = None
        self._open: dict[int, _Open] = {}
        self._jobs: queue.Queue[_Open | None] = queue.Queue()
        self._writers: list[tuple[_Open, ClipWriter]] = []
        self._pending_snapshots: list[_Open] = []
        """Events whose clip could not be written: snapshot once they end."""
        self._closing = False
        self._worker = threading.Thread(target=self._work, name=f"media-{camera.name}", daemon=True)
        self._worker.start()

    def _mono(self, media_time: float) -> float:
        return media_time + (self._clock if self._clock is not None else time.monotonic() - media_time)

    def frame(self, record: FrameRecord) -> None:
        frame, scores = record.frame, record.scores
        received = frame.source.received
        self._clock = (received if received is not None else time.monotonic()) - frame.time
        self._current = (frame, scores)
        for entry in self._open.values():
            if entry.event.peak_frame == frame.index:
                entry.peak_time = self._mono(frame.time)
                entry.peak = (frame, scores)

    def event_started(self, event: Event) -> None:
        if event.start_frame == event.end_frame and not event.detectors:
            return  # an instant event (stream lost or restored) has nothing to film
        stem = event_stem(event)
        recording = self.main.record(self._mono(event.start_time) - self.params.pre_roll)
        entry = _Open(event, self.ids.of(event), recording, self.folder / f"{stem}.mp4", self.folder / f"{stem}.jpg")
        if self._current is not None and self._current[0].index == event.peak_frame:
            entry.peak_time, entry.peak = self._mono(self._current[0].time), self._current
        self._open[id(event)] = entry
        if recording is None:
            log.warning("%s: the main stream is down; %s at frame %d gets no clip", self.camera, event.kind,
                        event.start_frame)
        else:
            event.extra["clip"] = str(entry.clip)  # the page shows it as being written until it is done
            self._jobs.put(entry)

    def event_ended(self, event: Event) -> None:
        entry = self._open.pop(id(event), None)
        if entry is None:
            return
        if entry.recording is not None:
            self.main.finish(entry.recording, self._mono(event.end_time) + self.params.post_roll)
        else:
            self._jobs.put(entry)  # snapshot from the detecting stream only

    # -- the worker thread -----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=0.2)
            except queue.Empty:
                job = None
            try:
                self._step(job)
            except Exception:  # one event's files must not end the worker for the next ones
                log.exception("%s: writing an event's snapshot or clip failed", self.camera)
            if job is None and self._jobs.empty() and not self._writers and not self._pending_snapshots \
                    and self._closing:
                return

    def _step(self, job: _Open | None) -> None:
        """Start the clip of a new event, write what arrived into every clip, finish those that are done."""
        if job is not None and job.recording is not None:
            try:
                self._writers.append((job, ClipWriter(job.clip, job.recording, self.main._lock)))
            except (av.FFmpegError, OSError, ValueError) as exc:
                log.error("%s: cannot write clip %s: %s", self.camera, job.clip, exc)
                self._pending_snapshots.append(job)  # its snapshot still comes, from the detecting stream
        elif job is not None:
            self._finish(job, None)
        for entry in [e for e in self._pending_snapshots if e.recording is None or e.recording.done.is_set()]:
            self._pending_snapshots.remove(entry)
            self._finish(entry, None)
        for entry, writer in list(self._writers):
            try:
                writer.pump()
                if entry.recording is not None and entry.recording.done.is_set():
                    self._writers.remove((entry, writer))
                    writer.close()
                    log.info("clip %s: %d frames%s", writer.path, writer.frames,
                             " (cut short: the main stream stopped)" if entry.recording.cut else "")
                    self._finish(entry, writer)
            except (av.FFmpegError, OSError, ValueError) as exc:
                self._writers.remove((entry, writer))
                log.error("%s: clip %s failed: %s", self.camera, writer.path, exc)
                self._finish(entry, None)

    def _finish(self, entry: _Open, writer: ClipWriter | None) -> None:
        """Write the snapshot (from the clip when there is one) and tell the service about the files."""
        image = None
        if writer is not None and writer.frames and entry.peak_time is not None and writer.t0 is not None:
            image = _decode_at(writer.path, entry.peak_time - writer.t0)
        scale = 1.0
        if image is None and entry.peak is not None:
            image = entry.peak[0].source.bgr().copy()
        elif image is not None and entry.peak is not None:
            scale = image.shape[1] / entry.peak[0].source.image.shape[1]
        snapshot = None
        if image is not None:
            self._draw(image, entry, scale)
            if cv2.imwrite(str(entry.snapshot), image, [cv2.IMWRITE_JPEG_QUALITY, self.params.jpeg_quality]):
                snapshot = str(entry.snapshot)
            else:
                log.error("%s: cannot write snapshot %s", self.camera, entry.snapshot)
        clip = str(entry.clip) if writer is not None and writer.frames else None
        if clip is None:
            entry.clip.unlink(missing_ok=True)  # begun and given up, or empty: nothing to play
        try:
            self.outbox.put(MediaMessage(self.camera, entry.id, snapshot, clip), timeout=5.0)
        except queue.Full:
            log.error("%s: the service is far behind; the snapshot and clip of %s are written but not "
                      "recorded", self.camera, entry.event.kind)

    def _draw(self, image: np.ndarray, entry: _Open, scale: float) -> None:
        event = entry.event
        thickness = max(1, image.shape[0] // 240)
        if entry.peak is not None:
            frame, scores = entry.peak
            for box in draw.change_boxes(scores, self.feeds.get(event.kind, tuple(scores)), frame):
                draw.draw_box(image, _scale(box, scale), draw.YELLOW, thickness)
        if event.box is not None:
            draw.draw_box(image, _scale(event.box, scale), draw.RED, thickness + 1)
        draw.draw_caption(image, [(event.kind, draw.WHITE), (f"t={event.peak_time:.2f}s", draw.WHITE),
                                  (f"frame {event.peak_frame}", draw.WHITE)])

    def close(self) -> None:
        """Cut open clips at what has arrived and finish every file (the reader goes on for the next run)."""
        self.main.stop_recording()  # what has arrived is what the clips get: a stop does not wait for rolls
        self._open.clear()
        self._closing = True
        self._worker.join(30.0)


def _scale(box: draw.Box, scale: float) -> draw.Box:
    return tuple(round(v * scale) for v in box)  # type: ignore[return-value]


def _decode_at(path: Path, seconds: float) -> np.ndarray | None:
    """The frame of an MP4 shown at ``seconds`` from its start (BGR), or None."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            best = None
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                best = frame
                if frame.time >= seconds - 1e-3:
                    break
            return best.to_ndarray(format="bgr24") if best is not None else None
    except (av.FFmpegError, OSError) as exc:
        log.warning("cannot read %s for its snapshot: %s", path, exc)
        return None
