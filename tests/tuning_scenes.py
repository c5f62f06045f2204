"""Small outdoor-like clips with known truth for the tuning tests: walkers, rain, camera jitter.

Each scene is a list of grey frames drawn from a textured ground; what is drawn is what the truth
says (a walker's frames are the frames in which any of it is in the picture). Clips are written as
MP4 with a plain truth file beside them (``{"events": [[start, end], ...]}``: motion), as a user
would label their own footage.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 320, 240
FPS = 10.0


def ground(seed: int) -> np.ndarray:
    """Grass-like fine texture with paving slabs (float32, 0..255)."""
    rng = np.random.default_rng(seed)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 1.0)
    image = 115 + 18 * fine / fine.std()
    for _ in range(25):
        x, y = int(rng.integers(0, WIDTH - 40)), int(rng.integers(0, HEIGHT - 30))
        w, h = (int(v) for v in rng.integers(12, 60, size=2))
        image[y:y + h, x:x + w] += float(rng.uniform(-35, 35))
    return np.clip(image, 0, 255).astype(np.float32)


def person(width: int, height: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A dark person-like figure (head, coat, legs): (image, alpha)."""
    rng = np.random.default_rng(seed)
    alpha = np.zeros((height, width), np.float32)
    head = max(width // 3, 1)
    cv2.ellipse(alpha, (width // 2, head), (head, head), 0, 0, 360, 1.0, -1)
    cv2.rectangle(alpha, (width // 6, 2 * head), (width - 1 - width // 6, int(height * 0.6)), 1.0, -1)
    cv2.rectangle(alpha, (width // 6, int(height * 0.6)), (width // 2 - 1, height - 1), 1.0, -1)
    cv2.rectangle(alpha, (width // 2 + 1, int(height * 0.6)), (width - 1 - width // 6, height - 1), 1.0, -1)
    image = np.full((height, width), 50.0, np.float32) + rng.normal(0, 6, (height, width)).astype(np.float32)
    image[: int(height * 0.6)] += 30
    return image, cv2.GaussianBlur(alpha, (3, 3), 0)


def paste(frame: np.ndarray, sprite: tuple[np.ndarray, np.ndarray], x: float, y: float) -> bool:
    """Alpha-blend ``sprite`` with its top-left corner at (x, y); whether any of it is in the picture."""
    image, alpha = sprite
    h, w = alpha.shape
    ix, iy = int(round(x)), int(round(y))
    x0, y0, x1, y1 = max(ix, 0), max(iy, 0), min(ix + w, frame.shape[1]), min(iy + h, frame.shape[0])
    if x0 >= x1 or y0 >= y1:
        return False
    a = alpha[y0 - iy:y1 - iy, x0 - ix:x1 - ix]
    frame[y0:y1, x0:x1] = frame[y0:y1, x0:x1] * (1 - a) + image[y0 - iy:y1 - iy, x0 - ix:x1 - ix] * a
    return bool((a > 0.5).any())


def rain(frame: np.ndarray, rng: np.random.Generator, drops: int) -> None:
    """Thin bright streaks at new random places every frame."""
    for _ in range(drops):
        x, y = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT - 8))
        length = int(rng.integers(4, 9))
        cv2.line(frame, (x, y), (x + 1, y + length), float(rng.uniform(190, 240)), 1)


def branch(frame: np.ndarray, i: int, amplitude: float, period: float) -> None:
    """A dark round clump of leaves swinging left and right about the top middle: ``amplitude`` px each
    way, ``period`` seconds a swing there and back. Half a swing is a straight run of its own size or
    more, as far as a tracker looking a few seconds back can tell."""
    x = WIDTH / 2 + amplitude * np.sin(2 * np.pi * i / (period * FPS))
    cv2.ellipse(frame, (int(round(x)), 60), (12, 12), 0, 0, 360, 40.0, -1)


def scene(n: int, *, seed: int, walkers: list[tuple[int, float, float, tuple[int, int]]] = (),
          drops: int = 0, jitter: float = 0.0, noise: float = 3.0,
          sway: tuple[float, float] | None = None) -> tuple[list[np.ndarray], list[list[int]]]:
    """``n`` grey frames and the truth: each walker (first frame, speed px/frame, top y, (w, h)) enters at
    the left edge; ``drops`` rain streaks per frame; the camera shaken by up to ``jitter`` px; ``sway``
    (amplitude px, period s) a swinging branch (not in the truth: a nuisance)."""
    base = ground(seed)
    rng = np.random.default_rng(seed + 1000)
    sprites = [person(*size, seed=seed + k) for k, (_, _, _, size) in enumerate(walkers)]
    seen: list[list[int]] = [[] for _ in walkers]
    frames = []
    for i in range(n):
        frame = base.copy()
        if sway is not None:
            branch(frame, i, *sway)
        for k, ((first, speed, y, size), sprite) in enumerate(zip(walkers, sprites, strict=True)):
            if i >= first and paste(frame, sprite, -size[0] + speed * (i - first), y):
                seen[k].append(i)
        if jitter:
            dx, dy = rng.uniform(-jitter, jitter, 2)
            frame = cv2.warpAffine(frame, np.float32([[1, 0, dx], [0, 1, dy]]), (WIDTH, HEIGHT),
                                   borderMode=cv2.BORDER_REFLECT)
        if drops:
            rain(frame, rng, drops)
        frames.append(np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8))
    truth = [[s[0], s[-1]] for s in seen if s]
    return frames, truth


def write_clip(path: Path, frames: list[np.ndarray], truth: list[list[int]] | None = None) -> Path:
    """An MP4 of the frames, and (with ``truth``) a plain truth file beside it."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    finally:
        writer.release()
    if truth is not None:
        path.with_suffix(".json").write_text(json.dumps({"events": truth}))
    return path
