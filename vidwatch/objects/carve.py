"""Light carved out of a region that a thing has joined, leaving the thing's own part of it.

A small person walking through the pieces of a tree's dappled shadow is joined by them in the mask:
one region, whose centre is pulled toward the shadow and whose area is several times the person's.
Their track then seems to jump and to grow, its straightness and its travel in its own size drop, and
it may not count for seconds. Light keeps the surface's texture pixel by pixel where it falls, though,
while a thing replaces it: over a small window around each pixel, the frame and the background are
correlated (normalised cross-correlation, which a change of gain or offset leaves alone) where light
fell, and are not where the thing is. Taking those pixels out, and the thin rims they leave (the
light's own edge), leaves the thing; its part is grown back by a pixel or two within the region, since
its blurred outline keeps some of the background too.

Where the surface has no texture (a wall, a smooth road) nothing can be told and nothing is carved:
the region stays joined. Only regions that joined a track that looks like a thing are carved (see
``ObjectStage._carve_joined``), so clutter is judged on its regions as they come; and none where
clutter drifts one way as a crowd (snow, rain), where flakes join flakes and a half-transparent flake
near the lens keeps the pattern behind it: carved, it would leave its rim, as solid as a thing.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidwatch.objects.regions import LIGHT_GAIN, NOISE_FLOOR, Region, Regions

WINDOW = 5
"""Analysis pixels per side of the window a pixel's correlation is measured over."""
KEPT_PATTERN = 0.5
"""Correlation of frame and background over a pixel's window from which light fell there."""
MIN_TEXTURE = 2.0
"""Background σ over a pixel's window, in noise σ, needed to tell whether its pattern was kept."""
GROW = 2
"""Pixels by which a thing's part is grown back within its region (its blurred outline)."""
NOTHING_CARVED = 0.85
"""Share of a region left after carving from which it is left whole: there was little light in it."""
_SQUARE = np.ones((3, 3), np.uint8)


def kept_pattern(frame: np.ndarray, back: np.ndarray, noise: float) -> np.ndarray:
    """Pixels (bool) where the frame keeps the background's pattern, merely lit differently."""
    f, b = frame.astype(np.float32), back.astype(np.float32)

    def mean(image: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(image, -1, (WINDOW, WINDOW), borderType=cv2.BORDER_REFLECT)

    mf, mb = mean(f), mean(b)
    var_f = mean(f * f) - mf * mf
    var_b = mean(b * b) - mb * mb
    correlation = (mean(f * b) - mf * mb) / np.sqrt(np.maximum(var_f * var_b, 1e-6))
    ratio = var_f / np.maximum(var_b, 1e-6)
    textured = var_b >= (MIN_TEXTURE * max(noise, NOISE_FLOOR)) ** 2
    # no light scales a surface's contrast by more than LIGHT_GAIN
    plausible = (ratio >= 1.0 / LIGHT_GAIN**2) & (ratio <= LIGHT_GAIN**2)
    return (correlation >= KEPT_PATTERN) & textured & plausible


def carve(found: Regions, region: Region, frame: np.ndarray, reference: np.ndarray, noise: float,
          min_area: float) -> list[tuple[np.ndarray, tuple[int, int]]] | None:
    """The parts of ``region`` that are no light on the surface and have ``min_area`` pixels or more, each
    as (0/1 patch, its top-left), or None where the region is to be kept whole (little light in it, or
    nothing left as large). ``frame`` is the analysis picture before the blur, ``reference`` what it
    was compared with. A part may be a rim of the light's edge where it is thicker than the opening
    removes: it is tracked as any small region is, and judged light or clutter on its own."""
    inside, (x0, y0) = found.patch(region, WINDOW, frame.shape)
    h, w = inside.shape
    light = kept_pattern(frame[y0:y0 + h, x0:x0 + w], reference[y0:y0 + h, x0:x0 + w], noise)
    kept = inside.copy()
    kept[light] = 0
    kept = cv2.morphologyEx(kept, cv2.MORPH_OPEN, _SQUARE)  # the thin rims light leaves at its own edge
    for _ in range(GROW):
        kept = cv2.dilate(kept, _SQUARE) & inside
    if cv2.countNonZero(kept) >= NOTHING_CARVED * region.area:
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStats(kept, connectivity=8)
    parts = [((labels == j).view(np.uint8), (x0, y0)) for j in range(1, count)
             if stats[j, cv2.CC_STAT_AREA] >= min_area]
    return parts or None


def with_parts(found: Regions, parts: dict[int, list[tuple[np.ndarray, tuple[int, int]]]]) -> Regions:
    """``found`` with each region whose label is in ``parts`` replaced by those parts (new labels)."""
    if not parts or found.labels is None:
        return found
    labels = found.labels.astype(np.int32)  # a copy: the detector's own labels are left alone
    left, top = found.origin
    label = int(labels.max()) + 1
    regions: list[Region] = []
    for region in found.regions:
        if region.label not in parts:
            regions.append(region)
            continue
        for part, (px, py) in parts[region.label]:
            ys, xs = np.nonzero(part)
            xs, ys = xs + (px - left), ys + (py - top)
            inside = (xs >= 0) & (ys >= 0) & (xs < labels.shape[1]) & (ys < labels.shape[0])
            xs, ys = xs[inside], ys[inside]
            if xs.size == 0:
                continue
            labels[ys, xs] = label
            bx, by = int(xs.min()), int(ys.min())
            regions.append(Region((bx + left, by + top, int(xs.max()) - bx + 1, int(ys.max()) - by + 1),
                                  int(xs.size), (float(xs.mean()) + left, float(ys.mean()) + top), label))
            label += 1
    return Regions(regions, labels, found.origin)
