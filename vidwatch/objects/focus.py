"""Whether a change is in focus: a flake, a drop or an insect close to the lens is a blurred disc.

Out of focus, something near the lens is a soft, semi-transparent disc whose rim fades over many
source pixels; a person or a car in the scene has an outline a pixel or three wide. On a large picture
both are judged in pixels that each cover many of the source's (the analysis copy, even the fine
pass's picture), where that rim spans a pixel or two and the disc looks as solid as a person. At the
source's own resolution they differ several times over, so the width of a change's edge is measured
there, once a track is about to become a thing.

The width is the change's level over its steepest slope across its outline (a step blurred by a
Gaussian of σ px measures about 2σ; a sharp step about 1). Small sharp flakes crossing a large
defocused one would lend it their edges; a median filter removes them first and keeps step edges.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidwatch.objects.regions import EDGE_QUANTILE, NOISE_FLOOR

DEFOCUS = 0.5
"""Widest edge of a solid thing, as a share of ``objects.min_size``'s narrow side: people in focus
measure 0.23-0.35 of 10 px at 1080p (H.264), a flake out of focus near the lens 0.7-0.8. Tied to
``min_size`` because a thing that small whose edge is half as wide as it has no solid part at all,
and because a camera with more pixels draws the same outline over more of them."""
DESPECKLE = 5
"""Median filter (source pixels) applied to the change before its edge is measured: it removes the
small sharp flakes crossing a defocused one and keeps the outline of anything larger."""
SLOPE = 1.0 / 8.0
"""A 3x3 Sobel filter answers a slope of 1 grey level per pixel with 8."""


def edge_width(picture: np.ndarray, reference: np.ndarray, box: tuple[int, int, int, int],
               noise: float) -> float | None:
    """Width, in pixels of ``picture``, of the edge of the largest strong change inside ``box`` (x, y, w, h
    in the same pixels), ``picture`` against ``reference`` (float32 grey, same shape, with a margin
    around the box); None where there is no change above the noise to measure.

    The change's level is the mean over its strong part (at least half its peak inside the box); its
    slope is taken along the border of that part, at ``EDGE_QUANTILE`` as for the region's sharpness, so
    that an outline partly lost against the background still shows its edge.
    """
    change = cv2.medianBlur(cv2.absdiff(picture, reference), DESPECKLE)
    x, y, w, h = box
    inside = change[max(y, 0):y + h, max(x, 0):x + w]
    if inside.size == 0:
        return None
    peak = float(np.quantile(inside, 0.95))
    if peak < 3.0 * max(noise, NOISE_FLOOR):
        return None
    strong = cv2.compare(change, 0.5 * peak, cv2.CMP_GE)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    part = (labels == largest).astype(np.uint8)
    square = np.ones((3, 3), np.uint8)
    border = (cv2.dilate(part, square) - cv2.erode(part, square)).view(bool)
    if not border.any():
        return None
    slope = cv2.magnitude(cv2.Sobel(change, cv2.CV_32F, 1, 0, ksize=3),
                          cv2.Sobel(change, cv2.CV_32F, 0, 1, ksize=3))[border] * SLOPE
    k = int(EDGE_QUANTILE * (slope.size - 1))
    edge = float(np.partition(slope, k)[k])
    level = float(change[part.view(bool)].mean())
    return level / max(edge, 1e-6)


def out_of_focus(width: float | None, min_size: tuple[int, ...]) -> bool:
    """Whether an edge ``width`` source pixels wide is too soft for a solid thing of at least ``min_size``."""
    return width is not None and width > DEFOCUS * min(min_size)
