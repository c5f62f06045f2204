"""Include / exclude zones: the parts of the picture that count.

A tree at the edge of the yard, a road behind the fence or a timestamp overlay can be excluded once
in YAML instead of fighting every detector's threshold. Polygons are given relative to the frame
(0..1, so they survive a change of resolution) or in full-resolution pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from vidwatch.params import param

Polygon = tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class ZoneParams:
    """YAML section ``zones``."""

    include: tuple[Polygon, ...] = param((), "polygons ([[x, y], ...]) where change counts; empty = everywhere")
    exclude: tuple[Polygon, ...] = param((), "polygons where change never counts (applied after include)")
    units: Literal["relative", "pixels"] = param(
        "relative", "'relative': coordinates are fractions of width/height (0..1); 'pixels': full-resolution")
    burnt_in: bool = param(True, "find what the camera burns into its picture and changes in place (the "
                           "clock's digits, a blinking mark) and leave it out as if excluded: it changes in "
                           "steps, again and again, perfectly still in between")

    def __post_init__(self) -> None:
        for name in ("include", "exclude"):
            for i, polygon in enumerate(getattr(self, name)):
                if len(polygon) < 3 or any(len(point) != 2 for point in polygon):
                    raise ValueError(f"zones.{name}[{i}] must be a list of at least 3 [x, y] points")
                if self.units == "relative" and any(not 0.0 <= v <= 1.0 for point in polygon for v in point):
                    raise ValueError(f"zones.{name}[{i}] has coordinates outside 0..1; "
                                     f"use units: pixels for pixel coordinates")

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude)


def zone_mask(zones: ZoneParams, analysis_size: tuple[int, int], full_size: tuple[int, int]) -> np.ndarray | None:
    """uint8 mask at analysis size (255 = counts), or None when every pixel counts."""
    if not zones.active:
        return None
    width, height = analysis_size
    if zones.units == "relative":
        sx, sy = float(width), float(height)
    else:
        sx, sy = width / full_size[0], height / full_size[1]

    def scaled(polygon: Polygon) -> np.ndarray:
        return np.array([[round(x * sx), round(y * sy)] for x, y in polygon], dtype=np.int32)

    mask = np.zeros((height, width), np.uint8) if zones.include else np.full((height, width), 255, np.uint8)
    if zones.include:
        cv2.fillPoly(mask, [scaled(p) for p in zones.include], 255)
    if zones.exclude:
        cv2.fillPoly(mask, [scaled(p) for p in zones.exclude], 0)
    if not mask.any():
        raise ValueError("zones leave nothing of the frame to watch; check include/exclude")
    return mask
