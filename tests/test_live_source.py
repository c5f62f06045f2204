"""LiveSource against scripted captures: newest frame, drops, loss, reconnect with backoff, stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from vidwatch.errors import SourceError
from vidwatch.events import STREAM_LOST, STREAM_RESTORED
from vidwatch.frames import SourceFrame
from vidwatch.sources import LiveSource, SourceParams, StreamNotice
from vidwatch.sources.reconnect import Backoff

BOUND = 20.0  # seconds any scripted scenario may take at most before the test fails


class FakeCapture:
    """A scripted connection: ``frames`` frames (numbered in pixel 0,0), then reads fail.

    ``block`` (an Event) makes the read after the last frame wait until it is set, like a stalled
    server, and then deliver ``after_block`` more frames.
    """

    counter = 0

    def __init__(self, frames: int, *, opened: bool = True, delay: float = 0.0,
                 block: threading.Event | None = None, after_block: int = 0) -> None:
        self.left = frames
        self.opened = opened
        self.delay = delay
        self.block = block
        self.after_block = after_block
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - mirrors cv2.VideoCapture
        return self.opened

    def get(self, _prop: int) -> float:
        return 25.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.delay:
            time.sleep(self.delay)
        if self.left <= 0 and self.block is not None:
            self.block.wait(BOUND)
            self.block = None
            self.left = self.after_block
        if not self.opened or self.left <= 0:
            return False, None
        self.left -= 1
        FakeCapture.counter += 1
        image = np.zeros((8, 8, 3), np.uint8)
        image[0, 0, 0] = FakeCapture.counter % 256
        return True, image

    def release(self) -> None:
        self.released = True


def opener_of(captures: list[FakeCapture]):
    """Hands out the scripted connections in order; after the last, the stream stays unreachable."""
    it = iter(captures)
    return lambda: next(it, FakeCapture(0, opened=False))


def params(**kw: object) -> SourceParams:
    base = dict(open_timeout=5.0, frame_timeout=5.0, reconnect_initial=0.01, reconnect_max=0.02)
    base.update(kw)
    return SourceParams(**base)  # type: ignore[arg-type]


def collect(source: LiveSource, *, per_frame: float = 0.0) -> list[SourceFrame | StreamNotice]:
    """Drain the source on a thread, so a hang fails the test instead of freezing the suite."""
    items: list[SourceFrame | StreamNotice] = []
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            for item in source:
                items.append(item)
                if per_frame and isinstance(item, SourceFrame):
                    time.sleep(per_frame)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), "the live source never finished"
    if errors:
        raise errors[0]
    return items


def kinds(items: list[SourceFrame | StreamNotice]) -> list[str]:
    """Frames as 'f', notices by kind, consecutive frames collapsed."""
    out: list[str] = []
    for item in items:
        tag = item.kind if isinstance(item, StreamNotice) else "f"
        if not (tag == "f" and out and out[-1] == "f"):
            out.append(tag)
    return out


def test_backoff_doubles_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next() for _ in range(6)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_reconnects_after_failed_attempts_then_gives_up() -> None:
    captures = [FakeCapture(10), FakeCapture(0, opened=False), FakeCapture(0, opened=False), FakeCapture(10)]
    source = LiveSource("fake://cam", "cam", params(reconnect_attempts=3), opener=opener_of(captures))
    items = collect(source, per_frame=0.001)
    assert kinds(items) == ["f", STREAM_LOST, STREAM_RESTORED, "f", STREAM_LOST]
    restored = next(i for i in items if isinstance(i, StreamNotice) and i.kind == STREAM_RESTORED)
    assert restored.info["attempts"] == 3  # two unreachable, the third delivered
    assert restored.info["downtime"] >= 0
    frames = [i for i in items if isinstance(i, SourceFrame)]
    assert [f.index for f in frames] == list(range(len(frames)))
    assert len(frames) + source.dropped == 20
    assert source.reconnects == 1
    assert all(c.released for c in captures)
    times = [i.time for i in items]
    assert times == sorted(times)


def test_reconnect_off_ends_the_source_at_the_first_loss() -> None:
    source = LiveSource("fake://cam", "cam", params(reconnect=False), opener=opener_of([FakeCapture(5)]))
    items = collect(source)
    assert kinds(items) == ["f", STREAM_LOST]


def test_slow_consumer_gets_the_newest_frame_and_drops_are_counted() -> None:
    total = 60
    source = LiveSource("fake://cam", "cam", params(reconnect=False),
                        opener=opener_of([FakeCapture(total, delay=0.002)]))
    items = collect(source, per_frame=0.03)
    frames = [i for i in items if isinstance(i, SourceFrame)]
    assert source.dropped > 0
    assert len(frames) + source.dropped == total
    numbers = [int(f.image[0, 0, 0]) for f in frames]
    assert numbers == sorted(numbers)  # never an older frame after a newer one
    assert all(f.received is not None for f in frames)


def test_a_stalled_stream_is_reported_lost_and_reopened() -> None:
    resume = threading.Event()
    stalled = FakeCapture(5, block=resume, after_block=5)
    source = LiveSource("fake://cam", "cam", params(frame_timeout=0.3, reconnect_attempts=1),
                        opener=opener_of([stalled, FakeCapture(5)]))
    items: list[SourceFrame | StreamNotice] = []
    deadline = time.monotonic() + BOUND
    for item in source:
        items.append(item)
        if isinstance(item, StreamNotice) and item.kind == STREAM_LOST:
            resume.set()  # the stalled connection hands out late frames, as FFmpeg drains its decoder
        assert time.monotonic() < deadline
    assert kinds(items)[:4] == ["f", STREAM_LOST, STREAM_RESTORED, "f"]
    lost = next(i for i in items if isinstance(i, StreamNotice))
    assert "no frame for 0.3 s" in lost.info["reason"]
    restored = next(i for i in items if isinstance(i, StreamNotice) and i.kind == STREAM_RESTORED)
    assert restored.info["attempts"] == 1  # a new connection, not the stalled one coming back
    assert stalled.released and stalled.left == 4  # its late frame was read and thrown away
    assert source.reconnects == 1


def test_stop_interrupts_a_reconnect_wait() -> None:
    stop = threading.Event()
    source = LiveSource("fake://cam", "cam", params(reconnect_initial=600.0, reconnect_max=600.0),
                        stop=stop, opener=opener_of([FakeCapture(3)]))
    seen: list[str] = []

    def consume() -> Iterator[None]:
        for item in source:
            if isinstance(item, StreamNotice):
                seen.append(item.kind)
                stop.set()  # e.g. SIGTERM while the source waits 600 s to reconnect
            yield None

    thread = threading.Thread(target=lambda: list(consume()), daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), "stop did not interrupt the reconnect wait"
    assert seen == [STREAM_LOST]


def test_unreachable_stream_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="not reachable"):
        LiveSource("fake://cam", "cam", params(), opener=lambda: FakeCapture(0, opened=False))


def test_stream_that_never_delivers_is_a_source_error() -> None:
    source = LiveSource("fake://cam", "cam", params(open_timeout=0.2, reconnect=False),
                        opener=opener_of([FakeCapture(0, block=threading.Event())]))
    with pytest.raises(SourceError, match="no frame within 0.2 s"):
        collect(source)


def test_rtsp_transport_goes_to_opencv_through_its_environment_variable() -> None:
    from vidwatch.sources.live import ffmpeg_options
    assert ffmpeg_options(None, "tcp") is None  # unset: OpenCV asks FFmpeg for TCP itself
    assert ffmpeg_options(None, "udp") == "rtsp_transport;udp"
    assert ffmpeg_options("", "udp") == "rtsp_transport;udp"
    # the user's own options are kept; the configured transport replaces theirs
    assert ffmpeg_options("rtsp_transport;udp|stimeout;5000000", "tcp") == "stimeout;5000000|rtsp_transport;tcp"
    assert ffmpeg_options("fflags;nobuffer", "udp") == "fflags;nobuffer|rtsp_transport;udp"
