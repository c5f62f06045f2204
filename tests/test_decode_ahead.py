"""The decode-ahead wrapper: same frames in order, bounded read-ahead, errors passed on, no thread left."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from vidwatch.errors import SourceError
from vidwatch.frames import SourceFrame
from vidwatch.sources import DecodeAhead, Source


class CountingSource(Source):
    """Frames 0..n-1; records how many were produced and whether it was closed."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.name = "counting"
        self.n = n
        self.fail_at = fail_at
        self.produced = 0
        self.closed = False

    def __iter__(self) -> Iterator[SourceFrame]:
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    raise SourceError("counting: broken at frame 3")
                self.produced += 1
                yield SourceFrame(i, i / 10, np.full((4, 4), i % 256, np.uint8))
        finally:
            self.close()

    def close(self) -> None:
        self.closed = True


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("decode-")]


def test_yields_every_frame_in_order_and_stops_its_thread():
    inner = CountingSource(500)
    with DecodeAhead(inner, depth=4) as source:
        indices = [f.index for f in source]
    assert indices == list(range(500))
    assert inner.closed and not _reader_threads()


def test_read_ahead_is_bounded():
    inner = CountingSource(2000)
    depth = 3
    consumed = 0
    with DecodeAhead(inner, depth=depth) as source:
        for _ in source:
            consumed += 1
            # in the queue, plus one frame the reader holds waiting for room
            assert inner.produced - consumed <= depth + 1
    assert consumed == 2000


def test_stopping_early_drains_and_joins():
    inner = CountingSource(10_000)
    source = DecodeAhead(inner, depth=2)
    for frame in source:
        if frame.index == 5:
            break
    source.close()
    assert not _reader_threads()
    assert inner.closed
    assert inner.produced < 100


def test_errors_of_the_reader_reach_the_consumer():
    seen: list[int] = []
    with pytest.raises(SourceError, match="broken at frame 3"):
        with DecodeAhead(CountingSource(10, fail_at=3)) as source:
            for frame in source:
                seen.append(frame.index)
    assert seen == [0, 1, 2]
    assert not _reader_threads()
