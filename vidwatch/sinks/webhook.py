"""POST an event to a webhook within one total deadline, never following a redirect.

Standard library (``http.client``) on purpose. The per-operation socket timeouts every Python HTTP
client offers (urllib's, and httpx's connect/read/write/pool timeouts; httpcore declined a total
timeout) restart with every byte, so a server that drips one byte a second holds a call for ever.
Here the request runs on its own short-lived thread and the caller waits at most ``timeout``
seconds; at the deadline the socket is shut down, which ends a blocking read at once (plain or
TLS). ``http.client`` never follows redirects by itself (urllib re-sent a 302 as a body-less GET, to
any scheme), so a 3xx is reported as a failed delivery naming where it pointed. httpx would bring
five packages into the core for the redirect rule alone; the deadline would still be ours.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from vidwatch.sinks.hook_process import POLL, HookAbandoned

RESPONSE_LIMIT = 64 * 1024
"""Bytes of a webhook's answer read at most (the body is not used)."""


def shown_url(url: str) -> str:
    """The webhook's address for messages: scheme, host, port and path, without a password or query (tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path or '/'}"


class WebhookError(Exception):
    """The webhook did not accept the event (an HTTP error, a redirect, no answer in time)."""


class _Call:
    """One POST on its own thread; ``abort`` shuts its socket so a blocked read ends now."""

    def __init__(self, url: str, body: bytes, timeout: float) -> None:
        self.url = url
        self.body = body
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None
        self.answer: tuple[int, str, str | None] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="webhook", daemon=True)

    def _run(self) -> None:
        try:
            parts = urlsplit(self.url)
            host = parts.hostname or ""
            https = parts.scheme.lower() == "https"
            cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
            self.connection = cls(host, parts.port, timeout=self.timeout)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            self.connection.request("POST", target, body=self.body,
                                    headers={"Content-Type": "application/json", "User-Agent": "vidwatch"})
            response = self.connection.getresponse()
            response.read(RESPONSE_LIMIT)
            self.answer = (response.status, response.reason, response.getheader("Location"))
        except BaseException as exc:  # handed to the caller
            self.error = exc
        finally:
            if self.connection is not None:
                self.connection.close()

    def abort(self) -> None:
        connection = self.connection
        sock = connection.sock if connection is not None else None
        if sock is not None:
            try:  # the plain socket's shutdown, also under TLS: it wakes a read blocked in another thread
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def post_json(url: str, payload: dict[str, Any], timeout: float, *,
              cancelled: threading.Event | None = None) -> None:
    """POST ``payload`` as JSON; returns on a 2xx answer within ``timeout`` s, else raises.

    ``cancelled`` ends the wait early (vidwatch is exiting and no longer waits for hooks).
    """
    call = _Call(url, json.dumps(payload, ensure_ascii=False).encode("utf-8"), timeout)
    deadline = time.monotonic() + timeout
    call.thread.start()
    while call.thread.is_alive() and not (cancelled is not None and cancelled.is_set()):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        call.thread.join(min(left, POLL))
    if call.thread.is_alive():
        call.abort()
        call.thread.join(1.0)
        if cancelled is not None and cancelled.is_set():
            raise HookAbandoned("abandoned at exit")
        raise WebhookError(f"no complete answer within {timeout:g} s; gave up")
    if call.error is not None:
        if isinstance(call.error, OSError) and call.error.strerror:
            raise WebhookError(call.error.strerror) from None
        raise WebhookError(f"{type(call.error).__name__}: {call.error}") from None
    assert call.answer is not None
    status, reason, location = call.answer
    if 300 <= status < 400:
        raise WebhookError(f"answered {status} {reason} (a redirect to {location or 'nowhere'}), which is not "
                           f"followed; set hooks.webhook to the URL that accepts the POST")
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status} {reason}")
