"""Frame rates and durations: the one fallback rate, a rate estimated from timestamps, a clip's length.

Sources, the real-time pacing and the video writers all need a frame rate when the container or the
camera does not report one; it is assumed here, once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FALLBACK_FPS = 25.0
"""Frame rate assumed where the source reports none and its timestamps cannot tell."""


def estimate_fps(times: Sequence[float], fallback: float = FALLBACK_FPS) -> float:
    """Frame rate from frame timestamps (median spacing), robust to a few late or dropped frames."""
    if len(times) < 2:
        return fallback
    deltas = np.diff(np.asarray(times, dtype=np.float64))
    deltas = deltas[deltas > 0]
    if deltas.size == 0:
        return fallback
    fps = 1.0 / float(np.median(deltas))
    return fps if 0.01 <= fps <= 1000 else fallback


def clip_seconds(frames: int, fps: float | None, first_time: float, last_time: float) -> float:
    """How long a clip of ``frames`` analysed frames lasts (for false events per hour).

    ``frames / fps`` where the source reports its rate; otherwise the span of the timestamps plus
    one average frame step, so a clip of n frames counts n frame steps either way.
    """
    if frames <= 0:
        return 0.0
    if fps:
        return frames / fps
    if frames > 1:
        return (last_time - first_time) * frames / (frames - 1)
    return 0.0
