"""Foreground regions of one frame, and whether each looks like a thing or like light.

A person replaces what was behind them: inside and around their silhouette the picture has edges the
background did not have, and the background's own edges are covered. Light falling on a surface — a
cloud's shadow, a tree's dappled shadow, a headlight's cone — scales the brightness and keeps the
surface's texture: the frame's gradients stay parallel to the background's. A change that fades out
instead of stopping at an edge (a soft shadow on flat ground, a defocused flake on the lens) is no
solid thing either. So each region gets three numbers:

- ``core``: how many pixels changed by at least half the region's peak change: its real size, which
  the analysis blur does not inflate the way it inflates a small bright thing's mask;
- ``texture``: normalised correlation of the frame's and the background's gradient fields over the
  core (1 = the background's texture is still there, merely lit differently). Faint parts of the
  region are left out — a slow walker's trace in the model, merged with them, keeps the background's
  texture — and so are the pixels around it: near a small thing they hold mostly the background's own
  strong edges, which would make any change look like light;
- ``sharpness``: how abruptly the change (frame minus background) stops at the core's border (a thin
  ring around it), over the change inside it (about 1 for a step, much less for a blur).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vidwatch.blobs import Components, disc, label_type

SOBEL_STEP_GAIN = 4.0
"""A 3x3 Sobel filter answers a step of height C with 4·C."""
RING = 2
"""Pixels around a region in which its border is looked for."""
LIGHT_GAIN = 4.5
"""The most light scales a surface's edges by (a shadow to a fifth, a headlight to four and a half
times): a region whose edges grew or faded more than that is no light on that surface."""
EDGE_QUANTILE = 0.7
"""Quantile of the change's gradient along a region's border taken as its edge: high enough that a
thing whose outline is partly lost against the background still shows its edge, low enough that the
small sharp flakes of a snowfall crossing the border of a defocused one do not lend it theirs."""
MIN_JUDGED = 12
"""Pixels of strong change a region needs for its texture to be judged on them alone."""
NOISE_FLOOR = 0.5
"""Lowest noise σ assumed (grey levels): the analysis copy is quantised to whole levels."""


@dataclass(frozen=True, slots=True)
class Region:
    """One connected foreground region, analysis pixels."""

    box: tuple[int, int, int, int]
    area: int
    centre: tuple[float, float]
    label: int
    """Its label in the label image of :class:`Regions` (-1: found by the fine pass, not in it)."""
    look: tuple[bool | None, float | None] | None = None
    """(looks like light, core in source pixels²) when already judged (on the fine pass's pictures)."""


@dataclass(frozen=True, slots=True)
class Appearance:
    """How one region's pixels relate to the background behind them."""

    texture: float
    """Normalised correlation of frame and background gradients (−1..1); high = texture kept (light)."""
    sharpness: float
    """The change's gradient on the core's border (its EDGE_QUANTILE) over 4 × the mean change in the core."""
    contrast: float
    """Mean absolute difference from the background inside the region, grey levels."""
    core: int
    """Pixels whose change is at least half the region's peak change (and above noise): the size of
    the change itself rather than of its mask. The mask follows the analysis blur far out from a small
    bright thing — a snowflake's mask is as large as a distant person's — but half of the peak stays
    tight: a flake's core is about the blur's own footprint, a person's most of their silhouette."""


@dataclass(slots=True)
class Regions:
    """The regions of one mask, with the label image they were cut from."""

    regions: list[Region]
    labels: np.ndarray | None
    origin: tuple[int, int]
    """Top-left corner of ``labels`` in the frame (only the mask's bounding rectangle is labelled)."""

    def patch(self, region: Region, pad: int, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        """The region's pixels (uint8 0/1) over its box grown by ``pad``, and that rectangle's top-left."""
        assert self.labels is not None
        x, y, w, h = region.box
        height, width = shape
        x0, y0 = max(x - pad, 0), max(y - pad, 0)
        x1, y1 = min(x + w + pad, width), min(y + h + pad, height)
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        left, top = self.origin
        lx0, ly0 = max(x0 - left, 0), max(y0 - top, 0)
        lx1, ly1 = min(x1 - left, self.labels.shape[1]), min(y1 - top, self.labels.shape[0])
        if lx1 > lx0 and ly1 > ly0:
            part = self.labels[ly0:ly1, lx0:lx1] == region.label
            inside[ly0 + top - y0:ly1 + top - y0, lx0 + left - x0:lx1 + left - x0][part] = 1
        return inside, (x0, y0)


def find_regions(mask: np.ndarray, *, min_area: float, max_regions: int,
                 components: Components | None = None) -> Regions:
    """Connected regions of at least ``min_area`` pixels, largest first (at most ``max_regions``).

    ``components``: the regions of ``mask`` as already labelled (by the detector that made it), taken
    instead of labelling the mask again.
    """
    if components is None:
        left, top, width, height = cv2.boundingRect(mask)
        if width == 0:
            return Regions([], None, (0, 0))
        crop = mask[top:top + height, left:left + width]
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(crop, connectivity=8,
                                                                            ltype=label_type(crop))
        candidates = np.arange(1, count)
    else:
        labels, (left, top), stats, centroids = components.labels, components.origin, components.stats, \
            components.centroids
        candidates = components.kept
    keep = candidates[stats[candidates, cv2.CC_STAT_AREA] >= min_area]
    keep = keep[np.argsort(-stats[keep, cv2.CC_STAT_AREA], kind="stable")][:max_regions]
    regions = []
    for j in keep:
        x, y, w, h, area = (int(v) for v in stats[j])
        cx, cy = centroids[j]
        regions.append(Region((x + left, y + top, w, h), area, (float(cx) + left, float(cy) + top), int(j)))
    return Regions(regions, labels, (left, top))


def appearance(inside: np.ndarray, origin: tuple[int, int], grey: np.ndarray, reference: np.ndarray,
               noise: float) -> Appearance:
    """Compare the frame with the background over a region's patch (see the module docstring).

    ``inside`` must come from :meth:`Regions.patch` with a pad of at least ``RING + 1``.
    """
    x0, y0 = origin
    h, w = inside.shape
    frame = grey[y0:y0 + h, x0:x0 + w].astype(np.float32)
    back = reference[y0:y0 + h, x0:x0 + w].astype(np.float32)
    fx = cv2.Sobel(frame, cv2.CV_32F, 1, 0, ksize=3)
    fy = cv2.Sobel(frame, cv2.CV_32F, 0, 1, ksize=3)
    bx = cv2.Sobel(back, cv2.CV_32F, 1, 0, ksize=3)
    by = cv2.Sobel(back, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.absdiff(frame, back)
    pixels = inside.view(bool)  # 0/1 bytes: a view, not a copy
    delta = magnitude[pixels]
    contrast = _mean(delta)
    peak = _quantile(delta, 0.95)
    ring = magnitude[(cv2.dilate(inside, disc(2 * RING + 1)) - inside).view(bool)]
    if ring.size >= 8:  # the noise right here, in this picture (the frame's σ is of the blurred one)
        noise = 1.4826 * _quantile(ring, 0.5)
    strong = pixels & (magnitude >= max(0.5 * peak, 3.0 * max(noise, NOISE_FLOOR)))
    core = int(np.count_nonzero(strong))
    # texture is judged where the change is strong: a faint part of the region (the trace a slow
    # walker left in the model, merged with them) keeps the background's texture and would make a
    # person look like light
    judged = strong if core >= MIN_JUDGED else pixels
    shape = judged.view(np.uint8)
    border = cv2.dilate(shape, disc(2 * RING + 1)) - cv2.erode(shape, disc(3), borderType=cv2.BORDER_REPLICATE)
    # this runs for every tracked region several times a second: dot products of the judged pixels
    # rather than whole-patch arrays, and the change's gradient as the difference of the frame's and
    # the background's (Sobel is linear)
    fxj, fyj, bxj, byj = fx[judged], fy[judged], bx[judged], by[judged]
    f_energy = float(fxj @ fxj + fyj @ fyj)
    b_energy = float(bxj @ bxj + byj @ byj)
    cross = float(fxj @ bxj + fyj @ byj)
    texture = cross / math.sqrt(max(f_energy * b_energy, 1e-9))
    if not 1.0 / LIGHT_GAIN**2 <= f_energy / max(b_energy, 1e-9) <= LIGHT_GAIN**2:
        # parallel but of another strength: no light scales edges that much (a striped thing crossing
        # the faint trace it left in the model along its own path)
        texture = min(texture, 0.0)
    edges = cv2.magnitude(fx - bx, fy - by)[border.view(bool)]
    edge = _quantile(edges, EDGE_QUANTILE)
    level = _mean(magnitude[judged]) if core >= MIN_JUDGED else contrast
    return Appearance(texture, edge / (SOBEL_STEP_GAIN * max(level, 1.0)), contrast, core)


def _mean(values: np.ndarray) -> float:
    """The mean, 0 for no values (a sum and a division: ``ndarray.mean`` costs several times more)."""
    return float(values.sum()) / values.size if values.size else 0.0


def _quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile by partition (no sort, no interpolation); 0 for no values."""
    if values.size == 0:
        return 0.0
    k = int(q * (values.size - 1))
    return float(np.partition(values, k)[k])
