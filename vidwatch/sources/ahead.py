"""Decode ahead: run a file source on its own thread so decoding overlaps analysis.

Decoders (FFmpeg via PyAV or OpenCV) release the GIL while they work, so a reader thread keeps a
second core busy while the main thread analyses the previous frames. The queue is bounded, so
memory stays flat however far ahead the decoder could run, and nothing is ever dropped: the reader
waits for room. On every exit path the consumer stops the reader, drains the queue so a blocked
``put`` returns, and joins the thread, so no thread outlives its source.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source, WrappingSource

_END = object()


class _Failure:
    """An exception raised on the reader thread, re-raised on the consumer's."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class DecodeAhead(WrappingSource):
    """Wraps a non-live source; iterating it yields the same frames, decoded up to ``depth`` ahead."""

    def __init__(self, inner: Source, depth: int = 8) -> None:
        super().__init__(inner)
        self.depth = max(1, depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._frames: queue.Queue[object] | None = None

    @property  # type: ignore[override]
    def dropped(self) -> int:
        return self.inner.dropped

    def _read(self, frames: queue.Queue[object]) -> None:
        def put(item: object) -> bool:
            while not self._stop.is_set():
                try:
                    frames.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for frame in self.inner:
                if not put(frame):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, who re-raises it
            put(_Failure(exc))
        finally:
            self.inner.close()

    def __iter__(self) -> Iterator[SourceFrame]:
        frames: queue.Queue[object] = queue.Queue(maxsize=self.depth)
        self._frames = frames
        self._stop.clear()
        self._thread = threading.Thread(target=self._read, args=(frames,), name=f"decode-{self.name}",
                                        daemon=True)
        self._thread.start()
        try:
            while True:
                item = frames.get()
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    raise item.exc
                yield item  # type: ignore[misc]
        finally:
            self._stop.set()
            while self._thread.is_alive():
                try:  # drain so a reader blocked on a full queue sees the stop flag
                    while True:
                        frames.get_nowait()
                except queue.Empty:
                    pass
                self._thread.join(timeout=0.05)
            self._thread = None

    def next_ready(self) -> bool:
        """Whether a decoded frame waits in the queue (not the end, not a failure)."""
        frames = self._frames
        if frames is None:
            return False
        with frames.mutex:
            return bool(frames.queue) and isinstance(frames.queue[0], SourceFrame)

    def close(self) -> None:
        if self._thread is None:
            self.inner.close()
