"""One stretch of a recorded file, decoded from a keyframe, numbered as in a scan of the whole file.

A split or triaged scan analyses a file piece by piece; each piece must number its frames and
time them exactly as a one-process scan would, or events could not be stitched and compared. The
frame index is looked up from the frame's timestamp in the file's :class:`PacketIndex` (so it is
the frame's position in presentation order, whatever the decoder drops at a seek), and its time
is computed the way :class:`~vidwatch.sources.pyav_file.PyAVFileSource` computes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from vidwatch.errors import SourceError
from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source
from vidwatch.sources.packets import PacketIndex
from vidwatch.sources.pyav_file import (
    NOT_READ,
    _bgr_of,
    av,
    decode_packets,
    decoder_threads,
    upright_grey,
    upright_turn,
)

log = logging.getLogger(__name__)


class SegmentSource(Source):
    """Frames ``start`` .. ``end - 1`` of a file (``start`` a keyframe), decoded with PyAV."""

    def __init__(self, index: PacketIndex, start: int, end: int | None = None, *,
                 threads: int | None = None) -> None:
        if index.keyframe_at_or_before(start) != start:
            raise ValueError(f"segment start {start} is not a keyframe")
        self.index = index
        self.start = start
        self.end = index.frames if end is None else min(end, index.frames)
        self.name = index.path
        self.fps = index.fps
        self.frame_count = self.end - start
        self.threads = threads or decoder_threads()
        self._container: Any = None

    def _open(self) -> tuple[Any, Any]:
        try:
            container = av.open(self.index.path)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise SourceError(f"cannot open '{self.index.path}' ({exc}); check that the file is still there") from None
        self._container = container
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.thread_count = self.threads
        if self.fast_decode:  # see PyAVFileSource: no deblocking of frames nothing refers to
            stream.codec_context.options = {"skip_loop_filter": "noref"}
        return container, stream

    def _packets(self, container: Any, stream: Any) -> Iterator[Any]:
        """Packets in decode order from the start keyframe's packet on.

        A seek lands on the keyframe or before it; packets before it are skipped undecoded. Where a
        container's index is inexact and the seek lands past it, reading starts over from the top.
        """
        target = int(self.index.pts[self.start])
        if self.start > 0:
            container.seek(target, stream=stream, backward=True, any_frame=False)
        for attempt in range(2):
            found = False
            for packet in container.demux(stream):
                if not found:
                    if packet.pts == target:
                        found = True
                    elif attempt == 0 and packet.is_keyframe and packet.pts is not None and packet.pts > target:
                        break  # landed past it
                    else:
                        continue
                yield packet
            if found or attempt == 1:
                return
            log.debug("%s: seek to frame %d landed past it; reading from the start", self.name, self.start)
            container.seek(0, stream=stream, backward=True, any_frame=False)

    def _decoded(self) -> Iterator[Any]:
        container, stream = self._open()
        yield from decode_packets(self._packets(container, stream), self.name)

    def __iter__(self) -> Iterator[SourceFrame]:
        pts_list = self.index.pts
        start_seconds = _stream_start(self.index)
        produced = 0
        turn = NOT_READ
        try:
            try:
                for frame in self._decoded():
                    if frame.pts is None:
                        continue
                    if turn == NOT_READ:  # turned upright as the whole-file reader turns it
                        turn = upright_turn(frame, self.name)
                    at = int(np.searchsorted(pts_list, frame.pts))
                    if at >= pts_list.size or pts_list[at] != frame.pts or at < self.start:
                        continue  # a leading picture of the keyframe before, or one the index lacks
                    if at >= self.end:
                        return
                    image, limited = upright_grey(frame, turn)
                    yield SourceFrame(at, frame.time - start_seconds, image, to_bgr=_bgr_of(frame, turn),
                                      limited_range=limited)
                    produced += 1
            except av.error.FFmpegError as exc:
                if produced == 0:
                    raise SourceError(f"'{self.name}': cannot decode from frame {self.start} ({exc})") from None
                log.warning("%s: decoding stopped at frame %d: %s", self.name, self.start + produced, exc)
        finally:
            self.close()

    def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()


def _stream_start(index: PacketIndex) -> float:
    """The stream's start time in seconds, computed as the whole-file reader computes it."""
    return float(index.start_pts * index.time_base) if index.start_pts else 0.0
