"""The web page, the HTTP API and /metrics (Starlette, served by uvicorn on a thread of the service).

Every request but the page shell, its static files and ``/healthz`` needs the token when one is
set: ``Authorization: Bearer TOKEN`` or ``?token=TOKEN`` (pictures in ``<img>`` tags cannot send
headers). Event ids are 32 hex digits checked before any lookup, and a file is only ever served
from the path its database row names, resolved and checked to lie inside the data folder, so no
request reaches a file outside it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import socket
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from vidwatch.errors import UserError
from vidwatch.serve.camera import CameraState
from vidwatch.serve.live import LiveJpeg
from vidwatch.serve.metrics import CONTENT_TYPE
from vidwatch.serve.site import ServeParams
from vidwatch.serve.store import EventStore
from vidwatch.sinks.places import partial_path

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
EVENT_ID = re.compile(r"^[0-9a-f]{32}$")
OPEN_PATHS = ("/", "/healthz", "/favicon.ico")
BOUNDARY = "vidwatchframe"
MAX_LIMIT = 1000


@dataclass
class WebContext:
    """What the web app reads and may change in the service."""

    serve: ServeParams
    states: Mapping[str, CameraState]
    lives: Mapping[str, LiveJpeg]
    store: EventStore
    arm: Callable[[str, bool], None]
    metrics: Callable[[], bytes]
    health: Callable[[], dict[str, Any]]
    stopping: threading.Event


class TokenAuth:
    """Rejects requests without the token with 401 (pure ASGI, so streamed responses pass untouched)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or self.token is None or path in OPEN_PATHS or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        supplied = header[7:].strip() if header[:7].lower() == "bearer " else None
        if supplied is None:
            supplied = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("token")
        if supplied is not None and hmac.compare_digest(supplied.encode(), self.token):
            await self.app(scope, receive, send)
            return
        response = JSONResponse({"error": "this service needs its token: send `Authorization: Bearer TOKEN` "
                                          "or add ?token=TOKEN"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def build_app(ctx: WebContext) -> ASGIApp:
    """The Starlette application wrapped in token auth."""

    def camera_of(request: Request) -> CameraState | None:
        return ctx.states.get(request.path_params["name"])

    async def index(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def healthz(_request: Request) -> Response:
        health = ctx.health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    async def metrics(_request: Request) -> Response:
        body = await run_in_threadpool(ctx.metrics)
        return Response(body, media_type=CONTENT_TYPE)

    async def cameras(_request: Request) -> Response:
        return JSONResponse([state.summary() for state in ctx.states.values()])

    async def scores(request: Request) -> Response:
        state = camera_of(request)
        if state is None:
            return _error(404, "no such camera")
        return JSONResponse(await run_in_threadpool(state.history))

    async def arm(request: Request) -> Response:
        state = camera_of(request)
        if state is None:
            return _error(404, "no such camera")
        armed = request.url.path.endswith("/arm")
        await run_in_threadpool(ctx.arm, state.name, armed)
        return JSONResponse(state.summary())

    async def live_jpg(request: Request) -> Response:
        live = ctx.lives.get(request.path_params["name"])
        if live is None:
            return _error(404, "no such camera")
        jpeg, _ = await run_in_threadpool(live.get)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def live_mjpg(request: Request) -> Response:
        live = ctx.lives.get(request.path_params["name"])
        if live is None:
            return _error(404, "no such camera")
        return StreamingResponse(_mjpeg(live, ctx), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                                 headers={"Cache-Control": "no-store"})

    async def events(request: Request) -> Response:
        query = request.query_params
        try:
            since = float(query["since"]) if query.get("since") else None
            limit = int(query.get("limit") or 100)
        except ValueError:
            return _error(400, "since is epoch seconds and limit a whole number")
        if not 1 <= limit <= MAX_LIMIT:
            return _error(400, f"limit must be 1..{MAX_LIMIT}")
        rows = await run_in_threadpool(ctx.store.events, camera=query.get("camera") or None,
                                       kind=query.get("kind") or None, since=since, limit=limit)
        return JSONResponse([_public(row) for row in rows])

    async def event_file(request: Request) -> Response:
        event_id = request.path_params["id"]
        if not EVENT_ID.match(event_id):
            return _error(404, "no such event")
        row = await run_in_threadpool(ctx.store.event, event_id)
        if row is None:
            return _error(404, "no such event")
        what = "snapshot" if request.url.path.endswith("/snapshot.jpg") else "clip"
        path = _inside(ctx.store.data, row.get(what))
        if path is not None and what == "clip" and not path.is_file() and partial_path(path).is_file():
            return _error(409, "the clip is still being written; try again in a few seconds")
        if path is None or not path.is_file():
            return _error(404, f"this event has no {what}")
        if what == "clip" and not await run_in_threadpool(mp4_complete, path):
            return _error(409, "the clip is still being written; try again in a few seconds")
        return FileResponse(path, media_type="image/jpeg" if what == "snapshot" else "video/mp4")

    routes = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/api/cameras", cameras),
        Route("/api/cameras/{name}/scores", scores),
        Route("/api/cameras/{name}/arm", arm, methods=["POST"]),
        Route("/api/cameras/{name}/disarm", arm, methods=["POST"]),
        Route("/api/cameras/{name}/live.jpg", live_jpg),
        Route("/api/cameras/{name}/live.mjpg", live_mjpg),
        Route("/api/events", events),
        Route("/api/events/{id}/snapshot.jpg", event_file),
        Route("/api/events/{id}/clip.mp4", event_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    return TokenAuth(app, ctx.serve.token)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event as the API shows it: links instead of file paths."""
    out = {k: v for k, v in row.items() if k not in ("snapshot", "clip")}
    out["snapshot"] = f"/api/events/{row['id']}/snapshot.jpg" if row.get("snapshot") else None
    out["clip"] = f"/api/events/{row['id']}/clip.mp4" if row.get("clip") else None
    return out


def _inside(data: Path, relative: str | None) -> Path | None:
    """The stored path resolved, or None when it is missing or would lie outside the data folder."""
    if not relative:
        return None
    root = data.resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) else None


def mp4_complete(path: Path) -> bool:
    """Whether an MP4 file is finished: its top-level boxes tile the file and one of them is ``moov``.

    A clip is written while its event goes on and for a post-roll after it; until the writer
    closes it, the index (``moov``) is missing and browsers cannot play it.
    """
    try:
        with path.open("rb") as f:
            size = path.stat().st_size
            position, seen_moov = 0, False
            while position < size:
                f.seek(position)
                header = f.read(16)
                if len(header) < 8:
                    return False
                length = int.from_bytes(header[:4], "big")
                kind = header[4:8]
                if length == 1 and len(header) == 16:
                    length = int.from_bytes(header[8:16], "big")
                elif length == 0:
                    length = size - position
                if length < 8:
                    return False
                seen_moov = seen_moov or kind == b"moov"
                position += length
            return seen_moov and position == size
    except OSError:
        return False


async def _mjpeg(live: LiveJpeg, ctx: WebContext) -> AsyncIterator[bytes]:
    """multipart/x-mixed-replace parts at the live rate, each new picture once, until the viewer leaves."""
    state = live.state
    with state.lock:
        state.watchers += 1
    interval = 1.0 / ctx.serve.live_fps
    last = None
    try:
        while not ctx.stopping.is_set():
            jpeg, key = await run_in_threadpool(live.get)
            if key != last:
                last = key
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                       .encode() + jpeg + b"\r\n")
            await asyncio.sleep(interval)
    finally:
        with state.lock:
            state.watchers -= 1


class WebServer:
    """uvicorn on its own thread, on a socket bound before it starts (so a busy port is a clear error)."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host.strip("[]"), port))
        except OSError as exc:
            self.socket.close()
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another serve.port "
                            f"or stop what uses it") from None
        self.socket.listen(128)
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=3, server_header=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.socket])
        except Exception:
            log.exception("the web server failed")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        self.socket.close()
