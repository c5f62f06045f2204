"""``vidwatch serve --ray``: each camera's pipeline in a Ray actor that Ray restarts when it dies.

The actor (:class:`CameraWorker`) runs the very runner a local service runs
(:class:`~vidwatch.serve.runner.ThreadCameraRunner`: reconnects, stream events, snapshots, clips,
hooks) against a camera state and a message queue of its own, and writes its snapshots and clips
on its own disk. The serving process keeps one :class:`RayCameraRunner` per camera, which is the
service's :class:`~vidwatch.serve.runner.CameraRunner`: it polls its actor a few times a second
and gets, in the order they happened, the files the camera finished (in bounded chunks, written
under the service's data folder before any message names them) and its events, plus its counters,
sparklines and latest frame (its picture as a JPEG). To the service, the web page, SQLite and
MQTT a camera on Ray looks like a camera on a thread.

A camera whose actor dies (its process killed, its node lost) is restarted by Ray. The serving
process closes and writes the events the dead actor had open (marked ``interrupted``), reports
``stream_lost`` at once and ``stream_restored`` when the new actor delivers, with the downtime.
At shutdown each actor closes its own open events and sends them before it is killed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidwatch.distributed.transfer import FileChunk, Staging, file_chunks
from vidwatch.events import STREAM_LOST, STREAM_RESTORED
from vidwatch.frames import SourceFrame
from vidwatch.serve.camera import LIVE, LOST, CameraState, FrameView
from vidwatch.serve.messages import END, START, EventMessage, MediaMessage, Message
from vidwatch.serve.runner import ThreadCameraRunner
from vidwatch.serve.site import CameraConfig

log = logging.getLogger(__name__)

CAMERA_CPUS = 0.25
"""CPUs Ray reserves per camera actor: a camera runs at its own frame rate, which at the analysis size
takes a fraction of a core; four cameras per CPU is what Ray places before it waits for room."""
MAX_RESTARTS = -1
"""Times Ray restarts a camera actor that died: always (a camera is watched for as long as the service runs)."""
POLL = 0.25
"""Seconds between the serving process's polls of an actor (the live view's rate, at most 4 pictures/s)."""
POLL_TIMEOUT = 10.0
"""Seconds a poll may take before the actor counts as unreachable."""
POLL_BYTES = 8 << 20
"""File bytes one poll carries at most (the rest comes with the next polls), so memory stays bounded."""
STOP_TIMEOUT = 20.0
"""Seconds an actor gets at shutdown to close its open events and send what it has."""
LIVE_QUALITY = 85
"""JPEG quality of the picture sent for the live view."""
QUEUE_SIZE = 10000
"""Messages an actor keeps for the serving process between polls before it drops new ones (and logs it)."""


@dataclass(slots=True)
class CameraReport:
    """What one poll of a camera actor brings: files and messages in order, and the camera's current state."""

    incarnation: str
    """Made when the actor starts: a new value means Ray restarted it."""
    pid: int
    items: list[FileChunk | Message]
    status: dict[str, Any]
    slices: list[tuple[float, dict[str, float], dict[str, float], bool]]
    fps: float
    view: FrameView | None = None
    """The latest frame if there is a new one, its picture replaced by ``picture`` (a JPEG)."""
    picture: bytes = b""
    folder: str | None = None
    """The service-side path of the media folder the camera writes now."""
    ended: bool = False
    """The runner has ended (a file source played to its end, or the actor was stopped)."""


STATUS_FIELDS = ("state", "reason", "since", "frames", "dropped", "latency", "reconnects", "restarts", "events",
                 "sink_failures", "size")


# --- in the actor ------------------------------------------------------------------------------------

class _ActorRunner(ThreadCameraRunner):
    """The local runner, with clips that report when their file is complete (to be sent then)."""

    def __init__(self, *args: Any, finished: queue.SimpleQueue[Path]) -> None:
        super().__init__(*args)
        self.finished = finished

    def _sinks(self, stack: Any, folder: Path, ids: Any) -> list[Any]:
        from vidwatch.sinks.clips import ClipSink

        sinks = super()._sinks(stack, folder, ids)
        for sink in sinks:
            inner = getattr(sink, "inner", sink)
            if isinstance(inner, ClipSink):
                inner.on_finished = self.finished.put
        return sinks

    def is_alive(self) -> bool:
        return self._thread.is_alive()


class CameraWorker:
    """One camera in a Ray actor (wrapped with ``ray.remote`` by :class:`RayCameraRunner`)."""

    def __init__(self, camera: CameraConfig, history: float, armed: bool, service_data: str) -> None:
        self.name = camera.name
        self.incarnation = uuid.uuid4().hex
        self.root = Path(tempfile.mkdtemp(prefix=f"vidwatch-camera-{camera.name}-"))
        self.target_root = Path(service_data)
        self.state = CameraState(camera.name, history, armed=armed)
        self.outbox: queue.Queue[Message] = queue.Queue(maxsize=QUEUE_SIZE)
        self.finished: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self.runner = _ActorRunner(camera, self.state, self.outbox, self.root, finished=self.finished)
        self._stream: deque[Iterator[FileChunk] | Message] = deque()
        self._clips_waiting: dict[Path, str] = {}
        """Clips named by an event that are still being written: local path -> the service's path."""
        self._clips_done: set[Path] = set()
        """Clips complete before the event that names them ended."""
        self._sent_version = -1
        self.runner.start()

    def poll(self, armed: bool) -> CameraReport:
        """Files and messages since the last poll (at most :data:`POLL_BYTES` of files), and the state."""
        self.state.armed = armed
        return self._report(POLL_BYTES)

    def stop(self) -> CameraReport:
        """Stop the camera (its open events are closed and reported) and hand over everything left."""
        self.runner.stop()
        if not self.runner.join(STOP_TIMEOUT):
            log.error("%s: the camera did not stop within %.0f s", self.name, STOP_TIMEOUT)
        report = self._report(None)
        shutil.rmtree(self.root, ignore_errors=True)
        return report

    # -- the files and messages, in order

    def _target(self, local: str | Path) -> str | None:
        """The service-side path of a file the runner wrote under this actor's root."""
        try:
            relative = Path(local).resolve().relative_to(self.root.resolve())
        except ValueError:
            return None
        return str(self.target_root / relative)

    def _collect(self) -> None:
        """Queue new messages behind the files they name, and clips that are now complete."""
        while True:
            try:
                local = self.finished.get_nowait()
            except queue.Empty:
                break
            target = self._clips_waiting.pop(Path(local), None)
            if target is not None:
                self._stream.append(file_chunks(local, target))
            else:  # finished before the message that names it was collected
                self._clips_done.add(Path(local))
        while True:
            try:
                message = self.outbox.get_nowait()
            except queue.Empty:
                return
            for key, data in _file_fields(message):
                local = data.get(key) if isinstance(data, dict) else getattr(data, key)
                if not local:
                    continue
                target = self._target(local)
                if target is None:
                    continue
                if isinstance(data, dict):
                    data[key] = target
                else:
                    setattr(data, key, target)
                complete = key == "snapshot" or isinstance(message, MediaMessage) or Path(local) in self._clips_done
                if isinstance(message, EventMessage) and message.phase == START:
                    continue  # the path is known at the start; the file comes when it is complete
                if complete and Path(local).is_file():
                    self._clips_done.discard(Path(local))
                    self._stream.append(file_chunks(local, target))
                elif key == "clip" and Path(local) not in self._clips_waiting:
                    self._clips_waiting[Path(local)] = target
            self._stream.append(message)

    def _report(self, budget: int | None) -> CameraReport:
        running = self.runner.is_alive()  # looked at first: what it made before it ended is collected below
        self._collect()
        items: list[FileChunk | Message] = []
        sent = 0
        while self._stream and (budget is None or sent < budget):
            head = self._stream[0]
            if isinstance(head, (EventMessage, MediaMessage)):
                items.append(self._stream.popleft())
                continue
            try:
                chunk = next(head)
            except StopIteration:
                self._stream.popleft()
                continue
            except OSError as exc:
                log.error("%s: cannot send a file: %s", self.name, exc)
                self._stream.popleft()
                continue
            items.append(chunk)
            sent += len(chunk.data)
        state = self.state
        status = {key: getattr(state, key) for key in STATUS_FIELDS}
        status["events"] = dict(status["events"])
        status["sink_failures"] = dict(status["sink_failures"])
        slices, fps = state.export_measures()
        report = CameraReport(self.incarnation, os.getpid(), items, status, slices, fps,
                              ended=not running and not self._stream)
        if self.runner.folder is not None:
            report.folder = self._target(self.runner.folder)
        view = state.latest
        if view is not None and state.version != self._sent_version:
            self._sent_version = state.version
            report.view, report.picture = _portable(view)
        return report


def _file_fields(message: Message) -> list[tuple[str, Any]]:
    if isinstance(message, EventMessage):
        return [("snapshot", message.event), ("clip", message.event)]
    return [("snapshot", message), ("clip", message)]


def _portable(view: FrameView) -> tuple[FrameView, bytes]:
    """The view without its full picture (sent as a JPEG instead), without the frame's caches and without
    what the scores make only on request (a function of this process, which cannot be sent), nor their
    masks' labelling (read only by this process's object stage)."""
    frame = view.frame
    ok, jpeg = cv2.imencode(".jpg", frame.source.bgr(), [cv2.IMWRITE_JPEG_QUALITY, LIVE_QUALITY])
    empty = SourceFrame(frame.source.index, frame.source.time, np.zeros((1, 1), np.uint8))
    light = dataclasses.replace(frame, source=empty, cache={}, colour=None, sharp=None)
    scores = {name: dataclasses.replace(score, faint=None, components=None) for name, score in view.scores.items()}
    return dataclasses.replace(view, frame=light, scores=scores), (jpeg.tobytes() if ok else b"")


def _with_picture(view: FrameView, picture: bytes) -> FrameView | None:
    image = cv2.imdecode(np.frombuffer(picture, np.uint8), cv2.IMREAD_COLOR) if picture else None
    if image is None:
        return None
    source = SourceFrame(view.frame.source.index, view.frame.source.time, image)
    return dataclasses.replace(view, frame=dataclasses.replace(view.frame, source=source))


# --- in the serving process ---------------------------------------------------------------------------

@dataclass(slots=True)
class _Totals:
    """Counters of the actor's earlier incarnations, which the current one's counts add to."""

    frames: int = 0
    dropped: int = 0
    reconnects: int = 0
    restarts: int = 0
    events: dict[str, int] = field(default_factory=dict)


class RayCameraRunner:
    """The service's runner for one camera whose pipeline runs in a Ray actor."""

    def __init__(self, camera: CameraConfig, state: CameraState, outbox: queue.Queue[Message], data: Path) -> None:
        self.name = camera.name
        self.camera = camera
        self.state = state
        self.outbox = outbox
        self.data = data
        self.folder: Path | None = None
        """The media folder the camera writes now (retention leaves it alone)."""
        self.actor: Any = None
        self.pid: int | None = None
        """The actor's process id (as last reported)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera.name}", daemon=True)
        self._staging = Staging([], trees=[data / camera.name])
        self._open: dict[str, EventMessage] = {}
        """Events the actor reported open: id -> their latest message."""
        self._incarnation: str | None = None
        self._totals = _Totals()
        self._lost_at: float | None = None
        self._attempts = 0

    def start(self) -> None:
        import ray

        worker = ray.remote(CameraWorker).options(num_cpus=CAMERA_CPUS, max_restarts=MAX_RESTARTS,
                                                  max_task_retries=0, name=f"vidwatch-camera-{self.name}-"
                                                  f"{uuid.uuid4().hex[:8]}")
        self.actor = worker.remote(self.camera, self.state.history_seconds, self.state.armed, str(self.data))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        import ray

        try:
            while not self._stop.is_set():
                try:
                    report = ray.get(self.actor.poll.remote(self.state.armed), timeout=POLL_TIMEOUT)
                except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
                    self._lost(_reason(exc))
                    self._stop.wait(POLL * 4)
                    continue
                self._take(report)
                if report.ended:
                    return
                self._stop.wait(POLL)
            try:
                self._take(ray.get(self.actor.stop.remote(), timeout=STOP_TIMEOUT + 5.0))
            except (ray.exceptions.RayError, TimeoutError) as exc:
                log.error("%s: the camera's actor did not stop cleanly (%s); closing its open events here",
                          self.name, _reason(exc))
        except Exception:  # the service goes on without this camera; its open events are still written
            log.exception("%s: the camera's runner failed", self.name)
        finally:
            self._close_open("the camera's actor was lost")
            self._staging.discard_all()
            if self.actor is not None:
                ray.kill(self.actor, no_restart=True)

    # -- a report

    def _take(self, report: CameraReport) -> None:
        if report.incarnation != self._incarnation:
            self._new_incarnation(report)
        if self._lost_at is not None:
            self._restored(report)
        self.pid = report.pid
        for item in report.items:
            if isinstance(item, FileChunk):
                self._staging.write(self, item)
                if item.last:
                    self._staging.commit(self)
            else:
                self._forward(item)
        self._mirror(report)

    def _new_incarnation(self, report: CameraReport) -> None:
        """The first report, or one from an actor Ray restarted: earlier counts become the base."""
        restarted = self._incarnation is not None
        if restarted:
            self._lost("the camera's actor was restarted")  # a restart noticed only now
            state = self.state
            self._totals = _Totals(state.frames, state.dropped, state.reconnects, state.restarts + 1,
                                   dict(state.events))
        self._incarnation = report.incarnation

    def _restored(self, report: CameraReport) -> None:
        """The actor answers again (restarted by Ray, or no longer too busy to answer)."""
        assert self._lost_at is not None
        downtime = time.time() - self._lost_at
        self._instant(STREAM_RESTORED, {"attempts": self._attempts, "downtime": round(downtime, 3)})
        self._totals.reconnects += 1
        log.warning("%s: the camera's actor answers again (pid %d) after %.1f s", self.name, report.pid, downtime)
        self._lost_at, self._attempts = None, 0

    def _forward(self, message: Message) -> None:
        if isinstance(message, EventMessage):
            if message.phase == END:
                self._open.pop(message.id, None)
            else:
                self._open[message.id] = message
        _put(self.outbox, message)

    def _mirror(self, report: CameraReport) -> None:
        status, totals, state = report.status, self._totals, self.state
        if self._lost_at is None:
            with state.lock:
                if (status["state"], status["reason"]) != (state.state, state.reason):
                    state.state, state.reason, state.since = status["state"], status["reason"], status["since"]
                    state.version += 1
        state.frames = totals.frames + status["frames"]
        state.dropped = totals.dropped + status["dropped"]
        state.latency = status["latency"]
        state.reconnects = totals.reconnects + status["reconnects"]
        state.restarts = totals.restarts + status["restarts"]
        state.events = {k: totals.events.get(k, 0) + status["events"].get(k, 0)
                        for k in {*totals.events, *status["events"]}}
        state.sink_failures = dict(status["sink_failures"])
        state.size = status["size"] or state.size
        view = _with_picture(report.view, report.picture) if report.view is not None else None
        state.take_remote(view, report.slices, report.fps)
        if report.folder is not None:
            self.folder = Path(report.folder)

    # -- a dead actor

    def _lost(self, reason: str) -> None:
        """The actor died or cannot be reached: its open events end now, ``stream_lost`` once."""
        self._attempts += 1
        if self._lost_at is not None:
            return
        self._lost_at = time.time()
        log.error("%s: the camera's actor was lost (%s); Ray restarts it", self.name, reason)
        self._staging.discard(self)
        self._close_open(reason)
        self._instant(STREAM_LOST, {"reason": reason})
        self.state.set_state(LOST, reason)

    def _close_open(self, reason: str) -> None:
        """End and write the events a lost actor had open, as they were last reported, marked interrupted."""
        for message in list(self._open.values()):
            event = dict(message.event, interrupted=reason)
            end_epoch = max(message.start_epoch, time.time() if self._lost_at is None else self._lost_at)
            _put(self.outbox, dataclasses.replace(message, phase=END, end_epoch=end_epoch, event=event))
            log.warning("%s: %s closed here: %s", self.name, message.kind, reason)
        self._open.clear()

    def _instant(self, kind: str, info: dict[str, Any]) -> None:
        now = time.time()
        event = {"kind": kind, "start_time": None, "end_time": None, "detectors": [], "peak": {}, **info}
        message = EventMessage(START, self.name, uuid.uuid4().hex, kind, now, now, event, notify=self.state.armed)
        _put(self.outbox, message)
        _put(self.outbox, dataclasses.replace(message, phase=END))
        self.state.events[kind] = self.state.events.get(kind, 0) + 1
        self._totals.events[kind] = self._totals.events.get(kind, 0) + 1
        if kind == STREAM_RESTORED:
            self.state.set_state(LIVE)


def _put(outbox: queue.Queue[Message], message: Message) -> None:
    try:
        outbox.put(message, timeout=5.0)
    except queue.Full:
        log.error("the service is %d messages behind; %s not recorded", outbox.maxsize, message.camera)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__
