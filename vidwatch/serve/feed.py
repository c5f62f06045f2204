"""The sinks a served camera adds to its pipeline: what crosses from the analysis thread to the service.

:class:`FeedSink` is the last sink of every camera. Per frame it only hands a reference to the
frame and its scores to the camera's state (the live view and the sparklines read it later, on
other threads); per event it puts one message on the service's bounded queue and returns. It never
waits: when the queue is full (the service is far behind) the message is dropped, counted and
logged, and detection goes on.

An event is notified (MQTT, hooks) when its camera was armed at the moment it opened; a camera
that is disarmed still detects and records every event, with its snapshot and clip, in the
database and on the page.
"""

from __future__ import annotations

import logging
import queue
import time
import uuid
from typing import Any

from vidwatch.events import STREAM_LOST, STREAM_RESTORED, Event
from vidwatch.record import FrameRecord
from vidwatch.serve.camera import LIVE, LOST, CameraState, FrameView
from vidwatch.serve.messages import END, START, EventMessage, Message
from vidwatch.sinks.base import Sink

log = logging.getLogger(__name__)


class EventIds:
    """The id of each open event of one camera, shared by the sinks that report on it."""

    def __init__(self) -> None:
        self._ids: dict[int, str] = {}

    def of(self, event: Event) -> str:
        """The event's id (made on first use: whichever sink sees the event first)."""
        return self._ids.setdefault(id(event), uuid.uuid4().hex)

    def release(self, event: Event) -> str:
        """The id of an event that is final, forgotten here (a new one if its start was never seen)."""
        return self._ids.pop(id(event), None) or uuid.uuid4().hex


class FeedSink(Sink):
    """Latest frame into the camera's state, events onto the service's queue.

    The sparklines show the thresholds the gate applied to each frame (``record.thresholds``,
    adaptive ones included), never the config's.
    """

    name = "serve"
    shows_pictures = True
    """The live view shows the full-resolution picture, so the decoder must deliver it exactly."""

    def __init__(self, state: CameraState, outbox: queue.Queue[Message], ids: EventIds) -> None:
        self.state = state
        self.outbox = outbox
        self.ids = ids
        self.dropped_messages = 0
        self._armed: dict[int, bool] = {}
        self._offset: float | None = None
        self._offset_at = -1

    def epoch(self, media_time: float) -> float:
        """Wall-clock seconds of a time on the source's clock."""
        if self._offset is None:
            return time.time()
        return media_time + self._offset

    def frame(self, record: FrameRecord) -> None:
        frame = record.frame
        if self._offset is None or frame.index - self._offset_at >= 30:  # re-measured now and then
            received = frame.source.received
            lag = time.monotonic() - received if received is not None else 0.0
            self._offset = time.time() - lag - frame.time
            self._offset_at = frame.index
            if self.state.size is None:
                height, width = frame.source.image.shape[:2]
                self.state.size = (width, height)
        self.state.observe(FrameView(record.index, record.time, record.time + self._offset, frame, record.scores,
                                     record.thresholds, record.active, record.tracks))

    def event_started(self, event: Event) -> None:
        armed = self._armed.setdefault(id(event), self.state.armed)
        self._send(START, event, self.ids.of(event), armed)
        self.state.events[event.kind] = self.state.events.get(event.kind, 0) + 1
        if event.kind == STREAM_LOST:
            self.state.set_state(LOST, str(event.extra.get("reason", "")))
        elif event.kind == STREAM_RESTORED:
            self.state.reconnects += 1
            self.state.set_state(LIVE)

    def event_ended(self, event: Event) -> None:
        armed = self._armed.pop(id(event), self.state.armed)
        self._send(END, event, self.ids.release(event), armed)

    def _send(self, phase: str, event: Event, event_id: str, armed: bool) -> None:
        data: dict[str, Any] = event.to_dict()
        message = EventMessage(phase, self.state.name, event_id, event.kind, self.epoch(event.start_time),
                               self.epoch(event.end_time), data, notify=armed)
        try:
            self.outbox.put_nowait(message)
        except queue.Full:
            self.dropped_messages += 1
            log.error("%s: the service is %d messages behind; %s %s of %s not recorded", self.state.name,
                      self.outbox.maxsize, event.kind, phase, self.state.name)


class ArmedOnly(Sink):
    """Passes events to ``inner`` (hooks) only when the camera was armed as the event opened."""

    def __init__(self, inner: Sink, state: CameraState) -> None:
        self.inner = inner
        self.state = state
        self.name = inner.name
        self._passed: set[int] = set()

    def event_started(self, event: Event) -> None:
        if self.state.armed:
            self._passed.add(id(event))
            self.inner.event_started(event)

    def event_ended(self, event: Event) -> None:
        if id(event) in self._passed:
            self._passed.discard(id(event))
            self.inner.event_ended(event)

    def close(self) -> None:
        self.inner.close()


class Counted(Sink):
    """Counts ``inner``'s failures in the camera's state (for /metrics); the pipeline still logs them."""

    def __init__(self, inner: Sink, state: CameraState) -> None:
        self.inner = inner
        self.state = state
        self.name = inner.name
        self.shows_pictures = inner.shows_pictures

    def _call(self, method: str, *args: Any) -> None:
        try:
            getattr(self.inner, method)(*args)
        except Exception:
            failures = self.state.sink_failures
            failures[self.name] = failures.get(self.name, 0) + 1
            raise

    def event_started(self, event: Event) -> None:
        self._call("event_started", event)

    def event_ended(self, event: Event) -> None:
        self._call("event_ended", event)

    def close(self) -> None:
        self._call("close")


class CountedFrames(Counted):
    """:class:`Counted` for a sink that also wants every frame."""

    def frame(self, *args: Any) -> None:
        self._call("frame", *args)


def counted(sink: Sink, state: CameraState) -> Sink:
    """``sink`` with its failures counted; only sinks that take frames get the per-frame call."""
    wants_frames = type(sink).frame is not Sink.frame
    return (CountedFrames if wants_frames else Counted)(sink, state)
