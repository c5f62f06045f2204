"""Whether a change is a solid thing in focus, judged at the source's own resolution.

On a large picture both the analysis copy and the fine pass's picture judge a change in pixels that
each cover many of the source's. Two things pass for solid there that are not:

- something near the lens (a flake, a drop, an insect) out of focus is a soft, semi-transparent disc
  whose rim fades over many source pixels; a person or a car in the scene has an outline a pixel or
  three wide. Coarsely, that rim spans a pixel or two and the disc looks as solid as a person.
- a clump of small flakes the masks join into one region is many specks a pixel or two across; a
  person is one patch as wide as ``min_size``. Coarsely, both are a blob of the same size.

At the source's resolution they differ several times over, so a track about to become a thing is
looked at there. A median filter half as wide as ``min_size`` removes what is narrower than that (the
specks, and the small sharp flakes crossing a defocused one, which would lend it their edges) and
keeps the patches and step edges of anything wider. How much of the change is left says whether it
was made of specks; the width of what is left's edge (its level over its steepest slope across its
outline: a step blurred by a Gaussian of σ px measures about 2σ, a sharp step about 1) says whether
it is in focus.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vidwatch.frames import AnalysisFrame
from vidwatch.objects.regions import EDGE_QUANTILE, NOISE_FLOOR
from vidwatch.preprocess import grey_levels

DEFOCUS = 0.5
"""Widest edge of a solid thing, as a share of ``objects.min_size``'s narrow side: people in focus
measure 0.23-0.35 of 10 px at 1080p (H.264), a flake out of focus near the lens 0.7-0.8. Tied to
``min_size`` because a thing that small whose edge is half as wide as it has no solid part at all,
and because a camera with more pixels draws the same outline over more of them."""
SOLID = 0.7
"""Share of its change a solid thing keeps under the median filter (see :attr:`SourceLook.kept`): the
1080p people of the development seeds keep 0.76-0.99 (by day, at dusk and at night), the clumps of
small flakes that became things in their 1080p snow 0.33-0.63 (one look in 300 at 0.70)."""
DESPECKLE = 5
"""Median filter (source pixels) applied to the change: half ``min_size``'s default narrow side. (OpenCV
filters float pictures with a median of at most 5.)"""
CHANGED = 4.0
"""Noise σ beyond which a pixel has changed."""
MIN_CHANGED = 4
"""Changed pixels needed to say anything."""
SLOPE = 1.0 / 8.0
"""A 3x3 Sobel filter answers a slope of 1 grey level per pixel with 8."""


@dataclass(frozen=True, slots=True)
class SourceLook:
    """How a change looks at the source's resolution."""

    edge_width: float
    """Width of its edge, source pixels (about 1 for a sharp step, 2σ for one blurred by a Gaussian of σ)."""
    kept: float
    """Share of its change left once what is narrower than the median filter is removed: of its peak, or
    over the pixels that changed, whichever is more."""


def source_look(picture: np.ndarray, reference: np.ndarray, box: tuple[int, int, int, int],
                noise: float) -> SourceLook | None:
    """How the largest change inside ``box`` (x, y, w, h in the pixels of ``picture``) looks, ``picture``
    against ``reference`` (float32 grey, same shape, with a margin around the box); None where there is
    no change above the noise to look at. ``noise`` is a floor for the σ measured in the patch itself.

    The change's level is the mean over its strong part (at least half its filtered peak inside the
    box); its slope is taken along the border of that part, at ``EDGE_QUANTILE`` as for the region's
    sharpness, so that an outline partly lost against the background still shows its edge.
    """
    raw = cv2.absdiff(picture, reference)
    change = cv2.medianBlur(raw, DESPECKLE)
    x, y, w, h = box
    inside = (slice(max(y, 0), max(y + h, 0)), slice(max(x, 0), max(x + w, 0)))
    raw_in, change_in = raw[inside], change[inside]
    if change_in.size == 0:
        return None
    # the noise here: most of the patch is background (the region's surroundings)
    sigma = max(1.4826 * float(np.median(raw)), noise, NOISE_FLOOR)
    changed = raw_in >= CHANGED * sigma
    if np.count_nonzero(changed) < MIN_CHANGED:
        return None
    # what the filter left of the change, two ways, either of which a solid thing shows: of its peak
    # (a thing on a textured ground has that texture in its change, which the filter evens out, but
    # keeps its level) and of the change over the pixels that changed (bright flakes crossing a person
    # are its peak, but few of its pixels); a clump of flakes is specks either way
    before = raw_in[changed]
    peak = float(np.quantile(change_in, 0.95))
    kept = max(float(np.minimum(change_in[changed], before).sum() / before.sum()),
               peak / max(float(np.quantile(raw_in, 0.95)), 1e-6))
    strong = cv2.compare(change, 0.5 * peak, cv2.CMP_GE)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
    if count < 2 or peak <= 0:  # nothing left but specks
        return SourceLook(0.0, kept)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    part = (labels == largest).astype(np.uint8)
    square = np.ones((3, 3), np.uint8)
    border = (cv2.dilate(part, square) - cv2.erode(part, square)).view(bool)
    if not border.any():
        return SourceLook(0.0, kept)
    slope = cv2.magnitude(cv2.Sobel(change, cv2.CV_32F, 1, 0, ksize=3),
                          cv2.Sobel(change, cv2.CV_32F, 0, 1, ksize=3))[border] * SLOPE
    k = int(EDGE_QUANTILE * (slope.size - 1))
    edge = float(np.partition(slope, k)[k])
    level = float(change[part.view(bool)].mean())
    return SourceLook(level / max(edge, 1e-6), kept)


def solid_in_focus(look: SourceLook | None, min_size: tuple[int, ...]) -> bool:
    """Whether a change that looks so at the source's resolution is a solid thing in focus, of at least
    ``min_size`` (True where it could not be looked at: nothing to say against it)."""
    if look is None:
        return True
    return look.kept >= SOLID and look.edge_width <= DEFOCUS * min(min_size)


MODEL_MARGIN = 3
"""Analysis pixels of surroundings taken around a box looked at against the enlarged model (the noise is
measured on them)."""


def look_against_model(frame: AnalysisFrame, box: tuple[int, int, int, int],
                       reference: np.ndarray) -> SourceLook | None:
    """How the change inside an analysis-pixel ``box`` looks at the source's resolution, against
    ``reference`` (the background model at the frame's light, analysis pixels) enlarged to it. For
    pictures a few times the analysis copy's size, where no fine model is kept (:mod:`vidwatch.objects.fine`):
    the model enlarged has none of the ground's finest texture, but what is asked of it, how much of
    the change a median filter keeps, is about the change's own shape. None where the box cannot be
    looked at (shifted off the picture by the alignment) or shows no change."""
    s = frame.scale
    x, y, w, h = box
    height, width = reference.shape[:2]
    ax0, ay0 = max(x - MODEL_MARGIN, 0), max(y - MODEL_MARGIN, 0)
    ax1, ay1 = min(x + w + MODEL_MARGIN, width), min(y + h + MODEL_MARGIN, height)
    dx, dy = (round(v * s) for v in frame.offset)
    sx0, sy0, sx1, sy1 = round(ax0 * s) + dx, round(ay0 * s) + dy, round(ax1 * s) + dx, round(ay1 * s) + dy
    image = frame.source.image
    if sx0 < 0 or sy0 < 0 or sx1 > image.shape[1] or sy1 > image.shape[0] or sx1 - sx0 < 2 or sy1 - sy0 < 2:
        return None
    picture = grey_levels(image[sy0:sy1, sx0:sx1], frame.source.limited_range).astype(np.float32)
    model = cv2.resize(reference[ay0:ay1, ax0:ax1], (sx1 - sx0, sy1 - sy0), interpolation=cv2.INTER_LINEAR)
    inside = (round(x * s) + dx - sx0, round(y * s) + dy - sy0, round(w * s), round(h * s))
    return source_look(picture, model, inside, frame.noise)
