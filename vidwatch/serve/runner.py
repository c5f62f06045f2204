"""Running one camera's pipeline for the service, isolated from every other camera.

:class:`CameraRunner` is the whole interface the service uses: start, ask to stop, wait. What a
runner produces reaches the service through the camera's :class:`~vidwatch.serve.camera.CameraState`
(latest frame, counters) and the service's bounded message queue (events, media), so a runner on
a thread here and a runner in another process (a Ray actor) look the same to the service.

:class:`ThreadCameraRunner` runs the same pipeline as ``vidwatch run`` (reconnects, stream
events, snapshots, clips, hooks) on its own thread. A camera that cannot be opened is retried with
capped exponential backoff instead of ending the service; a pipeline that fails is logged and
started again; a file source plays at its own frame rate and the camera ends with the file. On a
stop request the pipeline closes and reports its open events before the runner ends.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

from vidwatch.errors import UserError
from vidwatch.pipeline import RunStats, record_layout, run_source
from vidwatch.serve.camera import CONNECTING, ENDED, FAILED, STOPPED, CameraState
from vidwatch.serve.feed import ArmedOnly, EventIds, FeedSink, counted
from vidwatch.serve.messages import Message
from vidwatch.serve.site import CameraConfig
from vidwatch.sinks import LogSink, Sink
from vidwatch.sources import Source, open_source
from vidwatch.sources.reconnect import Backoff

log = logging.getLogger(__name__)


class CameraRunner(Protocol):
    """Runs one camera's pipeline until asked to stop; reports through the camera's state and queue."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None:
        """Ask to stop: open events are closed and reported before the runner ends."""

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True when the runner has ended."""


RunnerFactory = Callable[[CameraConfig, CameraState, "queue.Queue[Message]", Path], CameraRunner]
"""Makes a camera's runner (on a thread here, or in a Ray actor): camera, its state, the service's queue, data."""


def media_folder(data: Path, camera: str) -> Path:
    """Where one run of a camera keeps its snapshots and clips: a folder per start, so names never clash."""
    return data / camera / time.strftime("%Y%m%d-%H%M%S")


class ThreadCameraRunner:
    """One camera's pipeline on its own thread."""

    def __init__(self, camera: CameraConfig, state: CameraState, outbox: queue.Queue[Message], data: Path) -> None:
        self.name = camera.name
        self.camera = camera
        self.state = state
        self.outbox = outbox
        self.data = data
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera.name}", daemon=True)
        self.folder: Path | None = None
        """The media folder of the current run (retention leaves it alone)."""
        self.main: Any = None
        """The main stream's reader (``record_source``), for as long as the runner runs."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _stopping(self) -> bool:
        return self._stop.is_set()

    def _wait(self, seconds: float) -> bool:
        """Sleep unless asked to stop; True when stopping."""
        return self._stop.wait(seconds)

    def _run(self) -> None:
        if self.camera.record_source:
            from vidwatch.serve.mainstream import MainStream

            self.main = MainStream.for_camera(self.camera)
        try:
            self._run_pipelines()
        finally:
            if self.main is not None:
                self.main.close()

    def _run_pipelines(self) -> None:
        params = self.camera.config.source
        backoff = Backoff(max(params.reconnect_initial, 0.1), max(params.reconnect_max, 1.0))
        stop = self._stop
        while not self._stopping():
            try:
                source = self._open(stop)
            except UserError as exc:
                delay = backoff.next()
                self.state.set_state(CONNECTING, str(exc))
                log.warning("%s: %s; retrying in %.1f s", self.name, exc, delay)
                if self._wait(delay):
                    break
                continue
            backoff.reset()
            try:
                stats = self._pipeline(source, stop)
            except Exception as exc:  # one camera's failure never ends the service
                log.exception("%s: the pipeline failed; starting it again", self.name)
                self.state.restarts += 1
                self.state.set_state(FAILED, f"{type(exc).__name__}: {exc}")
                if self._wait(backoff.next()):
                    break
                continue
            if self._stopping():
                break
            if not source.live:
                log.info("%s: %s ended after %d frames", self.name, self.camera.source, stats.frames)
                self.state.set_state(ENDED, "the file ended")
                return
            reason = "the stream could not be restored" if params.reconnect else "the stream was lost"
            self.state.set_state(CONNECTING, reason)
            if self._wait(backoff.next()):
                break
        self.state.set_state(STOPPED)

    def _open(self, stop: threading.Event) -> Source:
        source = open_source(self.camera.source, self.camera.config.source, stop=stop)
        source.name = self.name  # logs and events name the camera, never its URL (which may hold a password)
        return source

    def _sinks(self, stack: ExitStack, folder: Path, ids: EventIds) -> list[Sink]:
        """The camera's outputs, in the order the pipeline must call them (file paths before the feed)."""
        from vidwatch.sinks.clips import ClipSink
        from vidwatch.sinks.hooks import HookSink
        from vidwatch.sinks.snapshots import SnapshotSink

        config = self.camera.config
        layout = record_layout(config)
        sinks: list[Sink] = [stack.enter_context(LogSink())]
        if self.main is not None:
            from vidwatch.serve.mainstream import MainStreamMedia

            sinks.append(stack.enter_context(MainStreamMedia(self.camera, layout, self.main, folder, self.outbox,
                                                             ids)))
        else:
            sinks.append(stack.enter_context(SnapshotSink(folder, layout, config.outputs)))
            sinks.append(stack.enter_context(ClipSink(folder, layout, config.outputs)))
        if config.hooks.enabled:
            sinks.append(ArmedOnly(stack.enter_context(HookSink(config.hooks)), self.state))
        sinks.append(FeedSink(self.state, self.outbox, ids))
        return [counted(s, self.state) for s in sinks]

    def _pipeline(self, source: Source, stop: threading.Event) -> RunStats:
        self.state.new_connection()
        self.folder = media_folder(self.data, self.name)
        ids = EventIds()

        def on_frame(stats: RunStats) -> None:
            self.state.count(stats.frames, stats.dropped, stats.latency)

        with ExitStack() as stack:
            sinks = self._sinks(stack, self.folder, ids)
            # files play at their own frame rate, as a camera would deliver them
            return run_source(source, self.camera.config, sinks, stop=stop, on_frame=on_frame, label_events=True,
                              realtime=True)

