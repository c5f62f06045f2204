"""``vidwatch serve``: every camera's runner, the event store, MQTT and the web page in one process.

The main thread starts everything and waits for a stop request (SIGINT/SIGTERM). One dispatcher
thread takes the cameras' messages off the shared bounded queue and writes them to SQLite, MQTT
and the counters, and runs retention now and then. Shutdown goes in the order that loses
nothing: the runners stop (closing and reporting their open events), the dispatcher writes every
message left on the queue, then MQTT says offline and the web server stops.
"""

from __future__ import annotations

import importlib.util
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any

from vidwatch.errors import UserError
from vidwatch.pipeline import record_layout
from vidwatch.serve.camera import LIVE, CameraState
from vidwatch.serve.live import LiveJpeg
from vidwatch.serve.messages import EventMessage, MediaMessage, Message
from vidwatch.serve.retention import sweep
from vidwatch.serve.runner import CameraRunner, RunnerFactory, ThreadCameraRunner
from vidwatch.serve.site import SiteConfig
from vidwatch.serve.store import EventStore

log = logging.getLogger(__name__)

QUEUE_SIZE = 10000
"""Messages the cameras may be ahead of the dispatcher before new ones are dropped (and counted)."""
RETENTION_EVERY = 600.0
"""Seconds between retention passes (one also runs at start)."""
RUNNER_STOP_TIMEOUT = 20.0
"""Seconds each camera gets to close its open events and outputs at shutdown."""


class Service:
    """One serving process for a site."""

    def __init__(self, site: SiteConfig, runner: RunnerFactory = ThreadCameraRunner) -> None:
        self.site = site
        self.data = site.data
        self.stopping = threading.Event()
        self.outbox: queue.Queue[Message] = queue.Queue(maxsize=QUEUE_SIZE)
        self.store = EventStore(self.data)
        interrupted = self.store.close_interrupted()
        if interrupted:
            log.warning("%d events were left open by a process that did not stop cleanly; closed them "
                        "(marked interrupted)", interrupted)
        names = list(site.cameras)
        armed = self.store.armed(names)
        serve = site.serve
        self.states = {n: CameraState(n, serve.history, armed=armed[n]) for n in names}
        self.lives = {n: LiveJpeg(self.states[n], serve.live_width, record_layout(site.cameras[n].config).feeds)
                      for n in names}
        self.runners: dict[str, CameraRunner] = {
            n: runner(site.cameras[n], self.states[n], self.outbox, self.data) for n in names}
        self.written = 0
        self.write_failures = 0
        self.unwritten: list[str] = []
        self.web: Any = None
        self.mqtt: Any = None
        self.port = serve.port
        self._dispatcher = threading.Thread(target=self._dispatch, name="dispatcher", daemon=True)
        self._dispatch_done = threading.Event()
        self._last_sweep = 0.0

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the web server first (a busy port is a clear error before any camera starts), then the rest."""
        from vidwatch.serve.metrics import metrics_registry, render
        from vidwatch.serve.web import WebContext, WebServer, build_app

        serve = self.site.serve
        registry = metrics_registry(self.states, self._service_metrics)
        context = WebContext(serve, self.states, self.lives, self.store, self.arm, lambda: render(registry),
                             self.health, self.stopping)
        self.web = WebServer(build_app(context), serve.host, serve.port)
        self.port = self.web.port
        if self.site.mqtt.enabled:
            from vidwatch.serve.mqtt import MqttPublisher

            self.mqtt = MqttPublisher(self.site.mqtt, self.states, base_url=self.base_url, on_arm=self.arm,
                                      armed={n: s.armed for n, s in self.states.items()})
            self.mqtt.start()
        self.web.start()
        self._dispatcher.start()
        for runner in self.runners.values():
            runner.start()
        log.info("serving %d cameras (%s) on %s; data in %s", len(self.runners), ", ".join(self.runners),
                 self.base_url, self.data)

    @property
    def base_url(self) -> str:
        serve = self.site.serve
        if serve.public_url:
            return serve.public_url.rstrip("/")
        host = serve.host if ":" not in serve.host else f"[{serve.host.strip('[]')}]"
        return f"http://{host}:{self.port}"

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set, then shut down in order."""
        self.start()
        try:
            while not stop.wait(1.0):
                self._watch_connections()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        self.stopping.set()
        for runner in self.runners.values():
            runner.stop()
        deadline = time.monotonic() + RUNNER_STOP_TIMEOUT
        for name, runner in self.runners.items():
            if not runner.join(max(0.1, deadline - time.monotonic())):
                log.error("%s: did not stop within %.0f s; its open event may be lost", name, RUNNER_STOP_TIMEOUT)
                self.unwritten.append(f"{name}: open events (the camera did not stop)")
        self._dispatch_done.set()
        if self._dispatcher.is_alive():
            self._dispatcher.join(30.0)
        self._drain()
        if self.mqtt is not None:
            self._watch_connections()
            self.mqtt.stop()
        if self.web is not None:
            self.web.stop()
        self.store.close()
        if self.unwritten:
            log.error("not written: %s", "; ".join(self.unwritten))

    # -- the dispatcher thread ------------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._retain()
        while not self._dispatch_done.is_set():
            try:
                message = self.outbox.get(timeout=0.5)
            except queue.Empty:
                message = None
            if message is not None:
                self._handle(message)
            if time.monotonic() - self._last_sweep > RETENTION_EVERY:
                self._retain()
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                self._handle(self.outbox.get_nowait())
            except queue.Empty:
                return

    def _handle(self, message: Message) -> None:
        try:
            if isinstance(message, EventMessage):
                self.store.write_event(message)
            else:
                self.store.write_media(message)
            self.written += 1
        except Exception as exc:  # a full disk must not stop the service
            self.write_failures += 1
            what = f"{message.camera} {getattr(message, 'kind', 'media')} {getattr(message, 'phase', '')}".strip()
            log.error("event database: cannot write %s (%s)", what, exc)
            if len(self.unwritten) < 100:
                self.unwritten.append(what)
        if self.mqtt is None:
            return
        try:
            if isinstance(message, EventMessage):
                snapshot = self._file(message.event.get("snapshot")) if message.phase == "end" else None
                self.mqtt.event(message, snapshot)
            elif isinstance(message, MediaMessage) and message.snapshot and self._notified(message.id):
                path = self._file(message.snapshot)
                if path is not None:
                    self.mqtt.snapshot(message.camera, path)
        except Exception:
            log.exception("MQTT: publishing failed")

    def _notified(self, event_id: str) -> bool:
        row = self.store.event(event_id)
        return bool(row and row["notified"])

    def _file(self, path: str | None) -> Path | None:
        return Path(path) if path and Path(path).is_file() else None

    def _retain(self) -> None:
        self._last_sweep = time.monotonic()
        serve = self.site.serve
        keep = [r.folder for r in self.runners.values() if getattr(r, "folder", None) is not None]
        try:
            sweep(self.store, retain_days=serve.retain_days, retain_gb=serve.retain_gb, keep=keep)
        except Exception:
            log.exception("retention failed; it is tried again in %.0f s", RETENTION_EVERY)

    # -- called by the web page and MQTT ------------------------------------------------------------

    def arm(self, name: str, armed: bool) -> None:
        """Arm or disarm a camera (saved, so it survives a restart)."""
        state = self.states[name]
        state.armed = armed
        self.store.set_armed(name, armed)
        log.info("%s: %s", name, "armed" if armed else "disarmed (events are recorded, not notified)")
        if self.mqtt is not None:
            self.mqtt.armed(name, armed)

    def health(self) -> dict[str, Any]:
        live = sum(1 for s in self.states.values() if s.state == LIVE)
        return {"status": "stopping" if self.stopping.is_set() else "ok", "cameras": len(self.states),
                "live": live}

    def _service_metrics(self) -> list[tuple[str, str, float]]:
        rows = [("queue_messages", "Messages from the cameras waiting for the dispatcher", self.outbox.qsize()),
                ("store_write_failures", "Event database writes that failed", self.write_failures)]
        if self.mqtt is not None:
            rows.append(("mqtt_connected", "1 while connected to the MQTT broker", float(self.mqtt.connected)))
        return rows

    def _watch_connections(self) -> None:
        """Tell MQTT which cameras deliver frames (polled: a stall has no event of its own until it is lost)."""
        if self.mqtt is None:
            return
        for name, state in self.states.items():
            self.mqtt.connection(name, state.state == LIVE)


def require_libraries(site: SiteConfig) -> None:
    """The optional libraries this site needs, or one line saying how to install them."""
    wanted = {"starlette": "starlette", "uvicorn": "uvicorn", "prometheus_client": "prometheus-client"}
    if site.mqtt.enabled:
        wanted["paho.mqtt"] = "paho-mqtt"
    missing = [package for module, package in wanted.items() if not _importable(module)]
    if missing:
        raise UserError(f"`vidwatch serve` needs {', '.join(missing)}; install them with: "
                        f"pip install 'vidwatch[serve]'")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def serve(site: SiteConfig, stop: threading.Event, ray: str | None = None) -> int:
    """Run the service until ``stop``; the exit code (0, also after SIGTERM).

    With ``ray`` (an address, or ``local``) every camera runs in a Ray actor instead of on a thread here.
    """
    require_libraries(site)
    if ray is None:
        Service(site).run(stop)
        return 0
    from vidwatch import cores
    from vidwatch.distributed.cameras import RayCameraRunner
    from vidwatch.distributed.cluster import connect

    with connect(ray, cpus=cores.usable_cores()):
        Service(site, RayCameraRunner).run(stop)
    return 0
