"""What a camera burns into its picture, for triage: found on the first seconds of a run of keyframes
and left out of their comparison.

A camera's clock differs between any two keyframes, so a comparison of keyframes that counts it
finds change everywhere in a file and triage would decode it all. A run's first few seconds are
decoded in full and given to the finder the analysis uses (:mod:`vidwatch.burnt_in`); its marks'
lines are then left out of every comparison of that run. The full analysis of what is decoded finds
them again on its own.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from vidwatch.burnt_in import BurntInFinder
from vidwatch.preprocess import VIDEO_TO_FULL_RANGE, downscale
from vidwatch.sources.packets import PacketIndex
from vidwatch.sources.pyav_file import av, grey_of

log = logging.getLogger(__name__)

PROBE_SECONDS = 5.0
"""Seconds decoded in full from the first keyframe of a run: the finder takes a clock's seconds for
burnt-in once they have stepped twice, in two or three seconds."""

Lines = list[tuple[float, float, float, float]]
"""Boxes of burnt-in lines, as shares of the picture (x0, y0, x1, y1)."""


def find_lines(index: PacketIndex, first_key: int, width: int) -> Lines:
    """The burnt-in lines seen in the ``PROBE_SECONDS`` from keyframe ``first_key``, analysed ``width``
    pixels wide as the analysis would (none where the file cannot be read there: nothing is left out)."""
    finder = BurntInFinder()
    start_pts = int(index.pts[first_key])
    seconds_per_tick = index.time_base.numerator / index.time_base.denominator
    try:
        container = av.open(index.path)
    except (av.error.FFmpegError, OSError, ValueError):
        return []
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if first_key > 0:
            container.seek(start_pts, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts < start_pts:
                continue
            time = (frame.pts - start_pts) * seconds_per_tick
            if time > PROBE_SECONDS:
                break
            finder.update(_analysis_grey(frame, width), time)
    except av.error.FFmpegError as exc:
        log.debug("%s: looking for burnt-in marks stopped: %s", index.path, exc)
    finally:
        container.close()
    return finder.lines()


def _analysis_grey(frame: object, width: int) -> np.ndarray:
    """A decoded frame as the analysis copy's grey, ``width`` pixels wide (before any blur)."""
    grey, limited = grey_of(frame)
    height, full = grey.shape
    if 0 < width < full:
        grey = downscale(grey, (width, max(1, round(height * width / full))))
    return cv2.LUT(grey, VIDEO_TO_FULL_RANGE) if limited else np.ascontiguousarray(grey)


def lines_mask(lines: Lines, shape: tuple[int, ...]) -> np.ndarray | None:
    """A bool mask of ``shape`` (height, width), True over ``lines`` (None: no lines)."""
    if not lines:
        return None
    height, width = shape[:2]
    mask = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in lines:
        mask[int(y0 * height):int(np.ceil(y1 * height)), int(x0 * width):int(np.ceil(x1 * width))] = True
    return mask
