"""From a raw per-pixel change mask to regions that matter.

Isolated changed pixels are noise, rain or snow; a real object is a connected region of some size.
Opening the mask removes specks, and connected components with a minimum area (relative to the
frame, so the same value works at any resolution) keep a distant person while dropping raindrops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vidwatch.params import param

_KERNELS: dict[int, np.ndarray] = {}


def min_area_param(default: float) -> Any:
    """The ``min_area`` field shared by every mask-based detector: in source pixels², so a distant person
    is never smaller than the threshold just because the picture is large."""
    return param(default, "smallest changed region that counts, in source pixels² (full-resolution pixels, "
                 "whatever the analysis size)", min=0.0)


def open_size_param() -> Any:
    return param(3, "opening kernel (analysis pixels) that removes specks such as noise and raindrops; "
                 "0/1 = off", min=0, max=15)


def reach_param(default: int) -> Any:
    return param(default, "keep only changes within this many analysis pixels of the previous frame's changes, so "
                 "rain, snow and sparkle (new places every frame) drop out while objects, which persist or "
                 "travel, stay; 0 = off", min=0, max=50)


def close_size_param() -> Any:
    return param(7, "closing kernel (analysis pixels) that joins the fragments of one object; 0/1 = off",
                 min=0, max=31)


def min_area_pixels(min_area: float, scale: float) -> float:
    """A ``min_area`` in source pixels² as analysis pixels (``scale`` source pixels per analysis pixel)."""
    return min_area / (scale * scale)


def disc(size: int) -> np.ndarray:
    """The elliptical structuring element of ``size`` x ``size`` pixels, made once and kept."""
    if size not in _KERNELS:
        _KERNELS[size] = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return _KERNELS[size]


def label_type(mask: np.ndarray) -> int:
    """16-bit labels where they cannot overflow: the same components, several times faster than 32-bit."""
    height, width = mask.shape[:2]
    return cv2.CV_16U if ((height + 1) // 2) * ((width + 1) // 2) < 65535 else cv2.CV_32S


@dataclass(frozen=True, slots=True)
class Components:
    """A cleaned mask's 8-connected regions, as :func:`find_blobs` labelled them, so later stages (the
    object stage) need not label the same mask again."""

    labels: np.ndarray
    """Label image of the rectangle of the mask that holds changes."""
    origin: tuple[int, int]
    """That rectangle's top-left corner (x, y) in the frame."""
    stats: np.ndarray
    """``cv2.connectedComponentsWithStats`` statistics (x, y, w, h, area) per label, in the rectangle."""
    centroids: np.ndarray
    """Centroid (x, y) per label, in the rectangle."""
    kept: np.ndarray
    """The labels of the regions in the blobs' mask (those at least ``min_area``), ascending."""


@dataclass(frozen=True, slots=True)
class Blobs:
    """The regions kept from a change mask."""

    mask: np.ndarray
    """uint8 mask (0/255) of the kept regions only."""
    area_fraction: float
    """Area of the kept regions over the counted area of the frame."""
    raw_fraction: float
    """Changed pixels before cleaning, over the counted area."""
    largest_box: tuple[int, int, int, int] | None
    """(x, y, w, h) of the largest kept region, analysis pixels."""
    count: int
    opened: np.ndarray | None = None
    """The despeckled mask before the persistence test: pass it back as ``previous`` next frame."""
    components: Components | None = None
    """The regions of ``mask`` as labelled (None where no labelling was needed: no ``min_area``)."""


def find_blobs(
    mask: np.ndarray,
    *,
    open_size: int,
    close_size: int,
    min_area: float,
    valid_pixels: int | None = None,
    previous: np.ndarray | None = None,
    reach: int = 0,
) -> Blobs:
    """Clean ``mask`` (uint8, non-zero = changed) and keep regions of at least ``min_area`` pixels (of the
    mask; see :func:`min_area_pixels`).

    Opening removes specks; with ``previous`` (last frame's opened mask) and ``reach`` > 0, only
    changes near last frame's changes are kept, since an object persists or travels while rain and
    sparkle land somewhere new each frame; closing then joins the fragments a moving object leaves
    in a difference mask (its edges change, its flat inside does not), so the object is measured as
    one region.
    """
    total = valid_pixels if valid_pixels else mask.size
    raw = cv2.countNonZero(mask)
    if raw == 0:
        return Blobs(mask, 0.0, 0.0, None, 0, mask)
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, disc(open_size)) if open_size > 1 else mask
    cleaned = opened
    if reach > 0 and previous is not None and previous.shape == mask.shape:
        cleaned = cv2.bitwise_and(opened, cv2.dilate(previous, disc(2 * reach + 1)))
    if close_size > 1:
        cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, disc(close_size))
    if min_area <= 0:
        area = cv2.countNonZero(cleaned)
        box = cv2.boundingRect(cleaned) if area else None
        return Blobs(cleaned, area / total, raw / total, box, 1 if area else 0, opened)
    # label only the rectangle that holds changes: labelling with statistics costs per pixel
    # scanned, and changes rarely fill the frame (an empty mask costs nothing at all)
    left, top, width, height = cv2.boundingRect(cleaned)
    if width == 0:
        return Blobs(cleaned, 0.0, raw / total, None, 0, opened)
    region = cleaned[top:top + height, left:left + width]
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(region, connectivity=8,
                                                                        ltype=label_type(region))
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= min_area) + 1
    components = Components(labels, (left, top), stats, centroids, keep)
    if keep.size == 0:
        return Blobs(np.zeros_like(mask), 0.0, raw / total, None, 0, opened, components)
    if keep.size == count - 1:
        kept = cleaned
    else:
        lut = np.zeros(count, dtype=np.uint8)
        lut[keep] = 255
        kept = np.zeros_like(mask)
        kept[top:top + height, left:left + width] = lut[labels]
    largest = keep[np.argmax(stats[keep, cv2.CC_STAT_AREA])]
    x, y, w, h = (int(v) for v in stats[largest, :4])
    area = float(stats[keep, cv2.CC_STAT_AREA].sum()) / total
    return Blobs(kept, area, raw / total, (x + left, y + top, w, h), int(keep.size), opened, components)
