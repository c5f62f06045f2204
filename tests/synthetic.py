"""Synthetic frames with known truth: a textured still scene, sensor noise, a moving square, a cut."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source

WIDTH, HEIGHT = 320, 240


def scene(seed: int = 0, *, width: int = WIDTH, height: int = HEIGHT, brightness: float = 0.0) -> np.ndarray:
    """A textured grey scene: a gradient plus random rectangles, so there are corners to track."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = 60 + 80 * x / width + 40 * y / height + brightness
    for _ in range(25):
        x0, y0 = rng.integers(0, width - 30), rng.integers(0, height - 30)
        w, h = rng.integers(8, 30, size=2)
        image[y0:y0 + h, x0:x0 + w] = rng.integers(20, 235)
    return np.clip(image, 0, 255).astype(np.float32)


def square_at(base: np.ndarray, x: int, y: int, size: int = 24, level: int = 15) -> np.ndarray:
    """``base`` with a dark textured square whose top-left corner is at (x, y); clipped at the borders."""
    out = base.copy()
    h, w = out.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + size, w), min(y + size, h)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = level
        out[y0:y1:6, x0:x1] = 230  # stripes give the square trackable corners
    return out


def noisy(image: np.ndarray, rng: np.random.Generator, sigma: float = 4.0) -> np.ndarray:
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def frames(images: Iterator[np.ndarray], fps: float = 15.0) -> Iterator[SourceFrame]:
    """Wrap grey images as source frames with timestamps index/fps."""
    for i, image in enumerate(images):
        yield SourceFrame(i, i / fps, image)


def quiet_scene(n: int, *, seed: int = 1, sigma: float = 4.0) -> Iterator[np.ndarray]:
    base = scene(seed)
    rng = np.random.default_rng(seed + 100)
    for _ in range(n):
        yield noisy(base, rng, sigma)


def moving_square(n: int, *, start: int, end: int, speed: int = 4, seed: int = 2,
                  y: int = 100) -> Iterator[np.ndarray]:
    """Frames [start, end] show a square crossing left to right at ``speed`` px/frame; others are quiet."""
    base = scene(seed)
    rng = np.random.default_rng(seed + 100)
    for i in range(n):
        image = base
        if start <= i <= end:
            image = square_at(base, 10 + (i - start) * speed, y)
        yield noisy(image, rng)


def cut_at(n: int, cut: int, *, seed_a: int = 3, seed_b: int = 4) -> Iterator[np.ndarray]:
    """Scene A before frame ``cut``, a different and darker scene B from ``cut`` on."""
    a, b = scene(seed_a), scene(seed_b, brightness=-50) * 0.7
    rng = np.random.default_rng(7)
    for i in range(n):
        yield noisy(a if i < cut else b, rng)


class ArraySource(Source):
    """An in-memory source of grey frames for pipeline tests (no encoding in between)."""

    def __init__(self, images, fps: float = 15.0, name: str = "synthetic") -> None:
        # a sequence that makes its frames on demand (large pictures) is kept as it is
        self._images = images if isinstance(images, Sequence) else list(images)
        self.fps = fps
        self.name = name
        self.frame_count = len(self._images)

    def __iter__(self):
        yield from frames(iter(self._images), self.fps)


def run_events(images, *overrides: str, config=None, fps: float = 15.0):
    """Run the full pipeline (default config + overrides) on images; returns the events."""
    from vidwatch.config import apply_overrides, load_config
    from vidwatch.pipeline import run_source

    config = apply_overrides(config or load_config(None), list(overrides))
    return run_source(ArraySource(images, fps=fps), config, []).events
