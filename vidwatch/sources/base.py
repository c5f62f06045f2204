"""The Source interface and the parameters shared by all sources (YAML section ``source``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from vidwatch.frames import SourceFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class SourceParams:
    """How inputs are read (YAML section ``source``)."""

    image_fps: float = param(1.0, "frame rate assumed for image folders, to turn frame numbers into seconds",
                             min=0.0, min_exclusive=True)
    open_timeout: float = param(10.0, "seconds to wait for a camera or stream to deliver its first frame",
                                min=0.1, max=600.0)
    frame_timeout: float = param(5.0, "a live source that delivers no frame for this many seconds is lost",
                                 min=0.1, max=600.0)
    reconnect: bool = param(True, "reconnect a live source that is lost; false ends the run instead")
    reconnect_initial: float = param(0.5, "seconds before the first reconnect attempt; doubles after each "
                                     "failed attempt", min=0.0, max=600.0)
    reconnect_max: float = param(30.0, "longest wait between reconnect attempts, in seconds", min=0.0, max=3600.0)
    reconnect_attempts: int = param(0, "failed reconnect attempts before giving up; 0 retries forever",
                                    min=0, max=1000000)
    decoder: Literal["auto", "pyav", "opencv"] = param(
        "auto", "video file decoder: 'pyav' decodes straight to grey (fastest), 'opencv' uses OpenCV's "
        "reader, 'auto' takes PyAV and falls back to OpenCV for files PyAV cannot open")
    decode_ahead: int = param(8, "frames a video file is decoded ahead of analysis on a reader thread; "
                              "0 decodes on the analysis thread", min=0, max=256)
    triage: bool = param(False, "recorded files: decode only the stretches whose compressed stream shows "
                         "activity (packet sizes, keyframes compared), the rest is skipped; the same as --fast")
    split_warmup: float = param(4.0, "seconds analysed before each piece of a file scanned in pieces (--jobs "
                                "on one file, --fast), so every model has settled where the piece begins",
                                min=1.0, max=600.0)
    rtsp_transport: Literal["tcp", "udp"] = param(
        "tcp", "how rtsp:// streams carry their video: tcp (inside the RTSP connection; passes NAT and "
        "firewalls) or udp (separate RTP ports; for cameras and servers that offer only UDP)")


class Source:
    """Base for all sources: a context manager yielding :class:`SourceFrame` objects."""

    fast_decode: bool = False
    """Set when nothing keeps or shows the decoded pictures, only the detectors' small grey copy: a
    decoder may then skip work that barely changes the analysis copy (the file reader skips H.264's
    deblocking filter on frames no other frame refers to: hundredths of a grey level on average)."""
    name: str = ""
    live: bool = False
    paced: bool = False
    """Frames arrive at a clock's pace (a camera, a stream, ``--realtime``): each frame's latency
    matters more than how many frames a second the machine could get through."""
    fps: float | None = None
    frame_count: int | None = None
    dropped: int = 0
    incomplete: str | None = None
    """Set when a file ended before the length it declares (truncated or damaged): what was missing."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[SourceFrame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the underlying device or file; safe to call twice."""

    def next_ready(self) -> bool:
        """Whether the next frame is already at hand, read and decoded, while one is being analysed.

        Pacing (``--realtime``) skips a late frame only when its successor can be had now: when
        the decoder itself is slower than the video, skipping would leave analysis with nothing
        at all. A source read on demand says yes (reading it is taken as free, as a camera's frame
        would be); a read-ahead says whether its queue holds a frame.
        """
        return True


def shortfall(decoded: int, last_time: float, frame_count: int | None, duration: float | None,
              fps: float | None) -> str | None:
    """What is missing when a file decoded to less than the length it declares, else None.

    Time decides where the file declares a length (its duration, or frame count / fps): some
    files declare more frames than they hold and still cover their whole length (AVI's skipped
    frames), while a truncated file stops early in time. A frame or two and 2 % are tolerated.
    """
    interval = 1.0 / fps if fps else None
    seconds = last_time + (interval or 0.0) if decoded else 0.0
    declared = duration or (frame_count * interval if frame_count and interval else None)
    counted = f"decoded {decoded} of the {frame_count} frames the file declares" if frame_count else \
        f"decoded {decoded} frames"
    if declared:
        if seconds >= declared - max(2 * (interval or 0.04), 0.02 * declared):
            return None
        return f"{counted}, {seconds:.1f} of its {declared:.1f} s"
    if frame_count and decoded < frame_count - max(2, round(0.02 * frame_count)):
        return counted
    return None


def positive_fps(value: float) -> float | None:
    """A frame rate the backend reported, or None when it is missing or absurd."""
    return float(value) if value and np.isfinite(value) and 0 < value < 1000 else None


class WrappingSource(Source):
    """A source that wraps another (decode-ahead, real-time pacing) and passes the per-run hints on."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.name = inner.name
        self.live = inner.live
        self.paced = inner.paced
        self.fps = inner.fps
        self.frame_count = inner.frame_count

    @property  # type: ignore[override]
    def fast_decode(self) -> bool:
        return self.inner.fast_decode

    @property  # type: ignore[override]
    def incomplete(self) -> str | None:
        return self.inner.incomplete

    @fast_decode.setter
    def fast_decode(self, value: bool) -> None:
        self.inner.fast_decode = value

    def next_ready(self) -> bool:
        return self.inner.next_ready()

    def close(self) -> None:
        self.inner.close()
