"""Cameras and network streams, read on their own thread so analysis always gets the newest frame.

The reader thread owns the capture. It reads as fast as the camera delivers and keeps only the
newest unanalysed frame (older ones are dropped and counted), so a slow analysis never makes the
picture lag. When the stream stops delivering (a failed read, or no frame within
``frame_timeout``) it reports the loss, reconnects with capped exponential backoff and reports the
restore; those reports come out of the same iterator as the frames, in order, as
:class:`~vidwatch.sources.reconnect.StreamNotice` items.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np

from vidwatch.errors import SourceError
from vidwatch.events import STREAM_LOST, STREAM_RESTORED
from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source, SourceParams, positive_fps
from vidwatch.sources.reconnect import Backoff, StreamNotice

log = logging.getLogger(__name__)

POLL = 0.1
"""Longest the consumer or the reader sleeps without looking at the stop flags, in seconds."""

Capture = Any
"""Anything with cv2.VideoCapture's ``read``, ``release``, ``isOpened`` and ``get``."""


FFMPEG_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
"""Environment variable holding the options OpenCV passes to FFmpeg when it opens a stream."""


def ffmpeg_options(current: str | None, rtsp_transport: str) -> str | None:
    """``OPENCV_FFMPEG_CAPTURE_OPTIONS`` with ``rtsp_transport`` as configured and the user's other options.

    OpenCV has no capture property for the RTSP transport: it asks FFmpeg for TCP only when this
    variable is unset, and passes the variable's ``key;value|key;value`` pairs instead when it is set.
    None means leave the variable unset (OpenCV's own TCP default).
    """
    if not current and rtsp_transport == "tcp":
        return None
    pairs = [p for p in (current or "").split("|") if p and p.split(";", 1)[0] != "rtsp_transport"]
    return "|".join([*pairs, f"rtsp_transport;{rtsp_transport}"])


def open_capture(spec: str | int, params: SourceParams) -> Capture:
    """Open a camera or stream; network streams get bounded open and read timeouts.

    The timeouts are FFmpeg-backend options: with them a dead server makes ``read()`` fail after
    ``frame_timeout`` instead of blocking for good. Cameras go through the default backend, which
    rejects options it does not know. The RTSP transport can only be passed through the
    environment; it is one setting for the whole run, so every source writes the same value (in
    practice once, from the main thread, before any reader thread opens anything).
    """
    if isinstance(spec, str) and "://" in spec:
        options = ffmpeg_options(os.environ.get(FFMPEG_OPTIONS), params.rtsp_transport)
        if options is not None and os.environ.get(FFMPEG_OPTIONS) != options:
            os.environ[FFMPEG_OPTIONS] = options
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(params.open_timeout * 1000),
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(params.frame_timeout * 1000)]
        return cv2.VideoCapture(spec, cv2.CAP_FFMPEG, timeouts)
    return cv2.VideoCapture(spec)


class LiveSource(Source):
    """A camera or network stream read on its own thread, reconnecting when it is lost.

    Iterating yields :class:`SourceFrame` (the newest frame each time) and :class:`StreamNotice`
    items. ``stop`` (e.g. set by SIGTERM) ends the iteration and interrupts a reconnect wait.
    """

    live = True
    paced = True

    def __init__(self, spec: str | int, name: str, params: SourceParams, *,
                 stop: threading.Event | None = None,
                 opener: Callable[[], Capture] | None = None) -> None:
        self.name = name
        self.params = params
        self._open = opener or (lambda: open_capture(spec, params))
        capture = self._open()
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open {name}: the device or stream is not reachable; check the "
                              f"index/URL and that nothing else holds the camera")
        self.fps = positive_fps(capture.get(cv2.CAP_PROP_FPS))
        self.reconnects = 0
        self._outside_stop = stop
        self._halt = threading.Event()
        self._cond = threading.Condition()
        self._pending: deque[tuple[np.ndarray, float] | StreamNotice] = deque()
        self._connected = True
        self._lost_at = 0.0
        self._finished = False
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._read_loop, args=(capture,), name=f"reader-{name}",
                                        daemon=True)
        self._thread.start()

    # -- reader thread -------------------------------------------------------------------------

    def _stopping(self) -> bool:
        return self._halt.is_set() or (self._outside_stop is not None and self._outside_stop.is_set())

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless asked to stop; True when stopping."""
        deadline = time.monotonic() + seconds
        while not self._stopping():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._halt.wait(min(left, POLL))
        return True

    def _read_loop(self, capture: Capture | None) -> None:
        try:
            delivered = False  # whether this connection has delivered a frame (the first may be slow)
            while not self._stopping():
                began = time.monotonic()
                ok, image = capture.read() if capture is not None else (False, None)
                # A read that ran into the read timeout and still returned a frame got one the decoder
                # was holding back (FFmpeg drains it when a stream stalls): stale, and the connection
                # is dead (an RTP/UDP stream whose sender stopped) though the next read or two may
                # succeed the same way. Reopen it now rather than count those as a restored stream.
                stalled = delivered and time.monotonic() - began >= self.params.frame_timeout
                if ok and image is not None and not stalled:
                    delivered = True
                    self._publish(image)
                    continue
                if capture is not None:
                    capture.release()
                    capture = None
                if self._stopping():
                    break
                self._report_lost(f"no frame for {self.params.frame_timeout:g} s" if stalled
                                  else "the stream ended or a read failed")
                if not self.params.reconnect:
                    log.warning("%s: stream lost; reconnecting is off (source.reconnect: false)", self.name)
                    break
                capture = self._reconnect()
                if capture is None:
                    break
                delivered = True  # _reconnect read its first frame
        except Exception:  # a backend failure must end the source, not hang the consumer
            log.exception("%s: reader failed", self.name)
        finally:
            if capture is not None:
                capture.release()
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def _reconnect(self) -> Capture | None:
        """Retry until the source delivers a frame again, it gives up, or it is stopped."""
        p = self.params
        backoff = Backoff(p.reconnect_initial, p.reconnect_max)
        attempt = 0
        delay = backoff.next()
        log.info("%s: reconnecting in %.1f s", self.name, delay)
        while True:
            if self._sleep(delay):
                return None
            attempt += 1
            capture = self._open()
            ok, image = capture.read() if capture.isOpened() else (False, None)
            if ok and image is not None:
                self.reconnects += 1
                self._publish(image, attempts=attempt)
                return capture
            capture.release()
            if p.reconnect_attempts and attempt >= p.reconnect_attempts:
                log.error("%s: still unreachable after %d reconnect attempts; giving up "
                          "(source.reconnect_attempts)", self.name, attempt)
                return None
            delay = backoff.next()
            log.info("%s: reconnect attempt %d failed; next in %.1f s", self.name, attempt, delay)

    # -- shared between the threads --------------------------------------------------------------

    def _now(self) -> float:
        return time.monotonic() - self._started

    def _publish(self, image: np.ndarray, *, attempts: int = 0) -> None:
        """Hand a frame to the consumer, replacing one it has not taken yet (a drop)."""
        now = self._now()
        with self._cond:
            if not self._connected:  # the first frame after a loss
                self._connected = True
                downtime = round(now - self._lost_at, 3)
                self._pending.append(StreamNotice(STREAM_RESTORED, now, {"attempts": attempts,
                                                                        "downtime": downtime}))
                log.warning("%s: stream restored after %.1f s (%d attempts)", self.name, downtime, attempts)
            if self._pending and not isinstance(self._pending[-1], StreamNotice):
                self._pending.pop()
                self.dropped += 1
            self._pending.append((image, now))
            self._cond.notify_all()

    def _report_lost(self, reason: str) -> None:
        """Report a loss once, whichever thread notices it first."""
        with self._cond:
            if not self._connected:
                return
            self._connected = False
            self._lost_at = self._now()
            self._pending.append(StreamNotice(STREAM_LOST, self._lost_at, {"reason": reason}))
            self._cond.notify_all()
        log.warning("%s: stream lost (%s)", self.name, reason)

    # -- consumer ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[SourceFrame | StreamNotice]:  # type: ignore[override]
        index = 0
        last_frame = time.monotonic()
        try:
            while not self._stopping():
                with self._cond:
                    self._cond.wait_for(lambda: self._pending or self._finished, timeout=POLL)
                    item = self._pending.popleft() if self._pending else None
                    finished = self._finished and not self._pending
                if isinstance(item, StreamNotice):
                    yield item
                elif item is not None:
                    image, t = item
                    last_frame = time.monotonic()
                    yield SourceFrame(index, t, image, received=self._started + t)
                    index += 1
                elif finished:
                    if index == 0 and not self._stopping():
                        raise SourceError(f"{self.name} opened but delivered no frame; check the stream")
                    return
                else:
                    waited = time.monotonic() - last_frame
                    if index == 0 and waited > self.params.open_timeout:
                        raise SourceError(f"{self.name} delivered no frame within {self.params.open_timeout:g}"
                                          f" s; check that the camera or stream is running")
                    if index > 0 and waited > self.params.frame_timeout:
                        self._report_lost(f"no frame for {self.params.frame_timeout:g} s")
        finally:
            self.close()

    def close(self) -> None:
        """Stop the reader; it releases the capture itself (a read may still be blocking in it)."""
        self._halt.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
