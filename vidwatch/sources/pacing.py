"""``--realtime``: play a recorded source at its own frame rate, as if a camera were delivering it.

Frames are released at their timestamps; when analysis falls behind, frames whose successor is
already due (and decoded) are skipped and counted as dropped, exactly as a live source would drop
stale frames. When decoding itself is slower than the video, every decoded frame is analysed, late.
This rehearses live behaviour (latency, drops, the status line, hooks) on a file with known content.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source, WrappingSource
from vidwatch.timing import FALLBACK_FPS


class RealtimeSource(WrappingSource):
    """Wraps a file or image source and paces it in real time."""

    def __init__(self, inner: Source, *, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wait: Callable[[float], bool] | None = None) -> None:
        super().__init__(inner)
        self.paced = True
        self._clock = clock
        self._stop = stop or threading.Event()
        self._wait = wait or self._stop.wait

    def __iter__(self) -> Iterator[SourceFrame]:
        interval = 1.0 / (self.fps or FALLBACK_FPS)
        origin: float | None = None
        for frame in self.inner:
            now = self._clock()
            if origin is None:
                origin = now - frame.time
            due = origin + frame.time
            if now < due:
                if self._wait(due - now):
                    return
            elif now - due >= interval and self.inner.next_ready():
                # the next frame is due and at hand: a camera would have replaced this one. A late
                # frame with no successor decoded yet is analysed (the decoder is what is slow)
                self.dropped += 1
                continue
            frame.received = due
            yield frame
