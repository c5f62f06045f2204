"""Quantify the difference between two images, the classic way.

Manhattan norm (sum of absolute differences) and zero norm (count of differing pixels), in total and
per pixel, plus the KL divergence of their intensity histograms, after optional exposure
normalisation so a brighter copy of the same picture does not count as different.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidwatch.detectors.histogram import histogram, kl_divergence
from vidwatch.errors import UserError
from vidwatch.preprocess import normalize_exposure


@dataclass(frozen=True, slots=True)
class Comparison:
    manhattan: float
    manhattan_per_pixel: float
    zero: int
    zero_per_pixel: float
    histogram_kl: float
    pixels: int


def read_image(path: str | Path, *, colour: bool) -> np.ndarray:
    """Read an image or fail with a line that names the file."""
    if not Path(path).is_file():
        raise UserError(f"no such image: {path}; check the path")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise UserError(f"cannot read image {path}: not a format OpenCV decodes (try PNG or JPEG)")
    return image


def compare_images(a: np.ndarray, b: np.ndarray, *, normalize: bool = False, noise_level: int = 0,
                   bins: int = 32) -> Comparison:
    """Compare two images of the same size (grey (H, W) or colour (H, W, 3))."""
    if a.shape != b.shape:
        raise UserError(f"images differ in size ({a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}); "
                        f"compare images of the same size")
    if normalize:
        a = _normalize(a)
        b = _normalize(b)
    diff = cv2.absdiff(a, b)
    pixels = a.shape[0] * a.shape[1]
    manhattan = float(diff.sum(dtype=np.float64))
    changed = diff > noise_level
    if changed.ndim == 3:
        changed = changed.any(axis=2)
    zero = int(np.count_nonzero(changed))
    planes = cv2.split(a) if a.ndim == 3 else [a]
    planes_b = cv2.split(b) if b.ndim == 3 else [b]
    kl = float(np.mean([kl_divergence(histogram(pa, bins, 1.0), histogram(pb, bins, 1.0))
                        for pa, pb in zip(planes, planes_b, strict=False)]))
    return Comparison(manhattan, manhattan / pixels, zero, zero / pixels, kl, pixels)


def _normalize(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return normalize_exposure(image)
    return cv2.merge([normalize_exposure(plane) for plane in cv2.split(image)])
