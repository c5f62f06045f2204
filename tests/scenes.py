"""Outdoor-like synthetic scenes with known truth, for the object stage's tests.

Each builder returns grey frames (uint8) of a textured ground (paving, grass-like noise texture, a few
flat areas) with one nuisance or target drawn on it, so a test knows exactly what is there and when.
Sizes are those of a real camera (640x480), so small targets are small in source pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

WIDTH, HEIGHT = 640, 480
FPS = 10.0


def ground(seed: int = 0, *, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A textured ground: grass-like fine texture, paving slabs, a few flat areas (float32, 0..255)."""
    rng = np.random.default_rng(seed)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.2)
    image = 110 + 25 * fine / fine.std()
    for _ in range(40):  # slabs and kerbs: edges to track and to keep under shadows
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 40))
        w, h = (int(v) for v in rng.integers(20, 90, size=2))
        image[y:y + h, x:x + w] += float(rng.uniform(-40, 40))
    for _ in range(3):  # flat areas (a wall, a smooth road)
        x, y = int(rng.integers(0, width - 120)), int(rng.integers(0, height - 80))
        image[y:y + 80, x:x + 120] = float(rng.uniform(70, 170))
    return np.clip(image, 0, 255).astype(np.float32)


def person(width: int, height: int, *, shade: float = 45.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A person-like figure (head, body, legs) of ``width`` x ``height`` px: (image, alpha)."""
    rng = np.random.default_rng(seed)
    alpha = np.zeros((height, width), np.float32)
    head = max(width // 3, 1)
    cv2.ellipse(alpha, (width // 2, head), (head, head), 0, 0, 360, 1.0, -1)
    cv2.rectangle(alpha, (width // 6, 2 * head), (width - 1 - width // 6, int(height * 0.6)), 1.0, -1)
    cv2.rectangle(alpha, (width // 6, int(height * 0.6)), (width // 2 - 1, height - 1), 1.0, -1)
    cv2.rectangle(alpha, (width // 2 + 1, int(height * 0.6)), (width - 1 - width // 6, height - 1), 1.0, -1)
    image = np.full((height, width), shade, np.float32) + rng.normal(0, 6, (height, width)).astype(np.float32)
    image[: int(height * 0.6)] += 25  # a lighter coat over dark trousers
    return image, cv2.GaussianBlur(alpha, (3, 3), 0)


def paste(frame: np.ndarray, sprite: tuple[np.ndarray, np.ndarray], x: float, y: float) -> None:
    """Alpha-blend a sprite with its top-left corner at (x, y), clipped at the borders."""
    image, alpha = sprite
    h, w = alpha.shape
    ix, iy = int(round(x)), int(round(y))
    x0, y0, x1, y1 = max(ix, 0), max(iy, 0), min(ix + w, frame.shape[1]), min(iy + h, frame.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    a = alpha[y0 - iy:y1 - iy, x0 - ix:x1 - ix]
    frame[y0:y1, x0:x1] = frame[y0:y1, x0:x1] * (1 - a) + image[y0 - iy:y1 - iy, x0 - ix:x1 - ix] * a


def finish(frame: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    return np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)


def walker(n: int, *, size: tuple[int, int], speed: float, start: int, y: float, seed: int = 1,
           noise: float = 3.0, gain: float = 1.0, stand: tuple[int, int] | None = None) -> list[np.ndarray]:
    """A person of ``size`` walking left to right at ``speed`` px/frame from frame ``start``; with
    ``stand`` = (frame, frames) it stops there for that long (a loiterer)."""
    base = ground(seed)
    sprite = person(*size, seed=seed)
    rng = np.random.default_rng(seed + 50)
    frames = []
    for i in range(n):
        frame = base.copy()
        steps = i - start
        if stand is not None and steps > stand[0] - start:
            steps = max(stand[0] - start, steps - stand[1])
        if i >= start:
            paste(frame, sprite, -size[0] + speed * steps, y)
        frames.append(finish(frame * gain, rng, noise))
    return frames


def visible_frames(n: int, *, size: tuple[int, int], speed: float, start: int,
                   stand: tuple[int, int] | None = None) -> tuple[int, int]:
    """First and last frame in which the :func:`walker` figure is at least partly in view."""
    seen = []
    for i in range(start, n):
        steps = i - start
        if stand is not None and steps > stand[0] - start:
            steps = max(stand[0] - start, steps - stand[1])
        x = -size[0] + speed * steps
        if x + size[0] > 0 and x < WIDTH:
            seen.append(i)
    return seen[0], seen[-1]


def walkers_in_turn(gap: int, *, size: tuple[int, int] = (14, 34), speed: float = 6.0, seed: int = 4,
                    after: int = 20) -> tuple[list[np.ndarray], tuple[int, int], tuple[int, int]]:
    """Two people crossing the picture one after the other, left to right, the second coming into
    view ``gap`` frames after the first has left: (frames, first's visible frames, second's)."""
    base = ground(seed)
    first, second = person(*size, seed=seed), person(*size, shade=70.0, seed=seed + 1)
    crossing = int((WIDTH + size[0]) / speed) + 1
    start, start_second = 10, 10 + crossing + gap
    rng = np.random.default_rng(seed + 50)
    frames = []
    for i in range(start_second + crossing + after):
        frame = base.copy()
        if i >= start:
            paste(frame, first, -size[0] + speed * (i - start), 300)
        if i >= start_second:
            paste(frame, second, -size[0] + speed * (i - start_second), 200)
        frames.append(finish(frame, rng, 3.0))
    return frames, (start, start + crossing), (start_second, start_second + crossing)


def behind_railing(*, size: tuple[int, int] = (14, 34), speed: float = 1.5, start: int = 20, y: float = 300,
                   span: tuple[int, int] = (220, 420), pitch: int = 10, bar: int = 4, shade: float = 40.0,
                   seed: int = 7, after: int = 20) -> tuple[list[np.ndarray], tuple[int, int]]:
    """A person walking left to right behind a railing (upright bars of ``shade`` every ``pitch`` px
    over ``span``, in front of them): (frames, the person's visible frames). Behind it, their region
    keeps the railing's strong edges, as light on the ground would keep the ground's."""
    base = ground(seed)
    sprite = person(*size, seed=seed)
    rng = np.random.default_rng(seed + 50)
    crossing = int((WIDTH + size[0]) / speed) + 1
    top, bottom = int(y) - 30, int(y) + size[1] + 20
    frames = []
    for i in range(start + crossing + after):
        frame = base.copy()
        if i >= start:
            paste(frame, sprite, -size[0] + speed * (i - start), y)
        for x in range(span[0], span[1], pitch):
            frame[top:bottom, x:x + bar] = shade
        frames.append(finish(frame, rng, 3.0))
    return frames, visible_frames(len(frames), size=size, speed=speed, start=start)


def swaying_foliage(n: int, *, seed: int = 2, amplitude: float = 5.0, period: float = 2.0) -> list[np.ndarray]:
    """A leafy crown (bright and dark blobs) swaying about its base, with leaf flutter."""
    rng = np.random.default_rng(seed)
    base = ground(seed)
    w, h = 200, 160
    leaves = np.full((h, w), 60.0, np.float32)
    for _ in range(700):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.ellipse(leaves, c, (int(rng.integers(2, 7)), int(rng.integers(1, 4))), float(rng.uniform(0, 180)),
                    0, 360, float(rng.uniform(70, 200)), -1)
    crown = np.zeros((h, w), np.float32)
    cv2.ellipse(crown, (w // 2, h // 2), (w // 2 - 4, h // 2 - 4), 0, 0, 360, 1.0, -1)
    crown = cv2.GaussianBlur(crown, (0, 0), 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bend = ((h - yy) / h) ** 1.5
    phase = cv2.GaussianBlur(rng.uniform(0, 2 * math.pi, (h, w)).astype(np.float32), (0, 0), 4) * 12
    frames = []
    for i in range(n):
        t = i / FPS
        sway = amplitude * math.sin(2 * math.pi * t / period) * (0.8 + 0.3 * math.sin(t / 1.7))
        flutter = 0.8 * np.sin(2 * math.pi * t / 0.9 + phase)
        mx, my = xx - sway * bend - flutter, yy - 0.3 * flutter
        tex = cv2.remap(leaves, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        a = cv2.remap(crown, mx, my, cv2.INTER_LINEAR)
        frame = base.copy()
        roi = frame[200:200 + h, 80:80 + w]
        roi[:] = roi * (1 - a) + tex * a
        frames.append(finish(frame, rng, 3.0))
    return frames


def drifting_shadow(n: int, *, seed: int = 3, depth: float = 0.45, radius: float = 90.0,
                    speed: float = 2.5) -> list[np.ndarray]:
    """A soft cloud shadow (multiplicative, Gaussian edge) drifting across the ground."""
    rng = np.random.default_rng(seed)
    base = ground(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    frames = []
    for i in range(n):
        cx, cy = -radius + speed * i, HEIGHT * 0.5 + 0.3 * i
        shade = 1.0 - depth * np.exp(-(((xx - cx) / radius) ** 2 + ((yy - cy) / (0.7 * radius)) ** 2))
        frames.append(finish(base * shade, rng, 3.0))
    return frames


def headlight_sweeps(n: int, *, seed: int = 4, sweeps: tuple[float, ...] = (3.0, 12.0),
                     seconds: float = 3.0) -> list[np.ndarray]:
    """Night (30 % light, noisy): a car's headlight cone sweeps across the ground."""
    rng = np.random.default_rng(seed)
    base = ground(seed) * 0.3
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    ax, ay = WIDTH * 0.5, HEIGHT * 1.05
    theta = np.arctan2(xx - ax, -(yy - ay))
    reach = np.clip(1 - np.hypot(xx - ax, yy - ay) / (HEIGHT * 0.95), 0, 1)
    frames = []
    for i in range(n):
        t = i / FPS
        frame = base.copy()
        for start in sweeps:
            if start <= t <= start + seconds:
                angle = math.radians(-60 + 120 * (t - start) / seconds)
                cone = cv2.GaussianBlur((np.exp(-((theta - angle) / 0.22) ** 2) * reach).astype(np.float32),
                                        (0, 0), 6)
                frame = frame * (1 + 2.0 * cone) + 20 * cone
        frames.append(finish(frame, rng, 6.0))
    return frames


def snow(n: int, *, seed: int = 5, flakes: int = 300, near_lens_every: float = 2.0,
         walker_size: tuple[int, int] | None = None, walker_start: int = 0) -> list[np.ndarray]:
    """Flakes 1-3 px across drifting down, a large defocused flake near the lens now and then, and
    optionally a person walking through."""
    rng = np.random.default_rng(seed)
    base = ground(seed)
    state = np.column_stack([rng.uniform(0, WIDTH, flakes), rng.uniform(0, HEIGHT, flakes),
                             rng.uniform(0.5, 1.5, flakes), rng.uniform(1.0, 3.0, flakes),
                             rng.uniform(0, 2 * math.pi, flakes)])
    sprite = person(*walker_size, seed=seed) if walker_size else None
    near: list[list[float]] = []
    frames = []
    for i in range(n):
        t = i / FPS
        frame = base.copy()
        if sprite is not None and i >= walker_start:
            paste(frame, sprite, -walker_size[0] + 3.0 * (i - walker_start), HEIGHT * 0.55)
        state[:, 1] += state[:, 3]
        state[:, 0] += 0.6 * np.sin(1.3 * t + state[:, 4])
        wrapped = state[:, 1] > HEIGHT
        state[wrapped, 1] = 0
        state[wrapped, 0] = rng.uniform(0, WIDTH, int(wrapped.sum()))
        layer = np.zeros((HEIGHT, WIDTH), np.float32)
        for x, y, r, _, _ in state:
            cv2.circle(layer, (int(x), int(y)), int(round(r)), 1.0, -1, cv2.LINE_AA)
        if rng.random() < 1.0 / (near_lens_every * FPS):
            near.append([rng.uniform(0, WIDTH), -60.0, rng.uniform(30, 50)])
        blur = np.zeros((HEIGHT, WIDTH), np.float32)
        for flake in near:
            flake[1] += 1.2 * flake[2]  # near the lens: a flake crosses more than its size each frame
            cv2.circle(blur, (int(flake[0]), int(flake[1])), int(flake[2]), 1.0, -1)
        near[:] = [f for f in near if f[1] < HEIGHT + 80]
        layer = np.maximum(cv2.GaussianBlur(layer, (0, 0), 0.8), 0.7 * cv2.GaussianBlur(blur, (0, 0), 12))
        frames.append(finish(frame * (1 - layer) + 235 * layer, rng, 3.0))
    return frames


def heavy_snow(n: int, *, seed: int = 31, flakes: int = 900, walker_size: tuple[int, int] | None = None,
               walker_start: int = 0, walker_velocity: tuple[float, float] = (3.0, 0.0),
               walker_from: tuple[float, float] = (0.0, 0.55)) -> list[np.ndarray]:
    """Heavy snow: flakes 1-4 px across, the larger falling faster (0.6-3 px/frame) and wandering from
    side to side, so the mask joins neighbours into clumps that fall steadily for seconds; optionally a
    person walking at ``walker_velocity`` (px/frame) from ``walker_from`` (shares of the picture)."""
    rng = np.random.default_rng(seed)
    base = ground(seed)
    radius = 1.0 + 3.0 * rng.uniform(0, 1, flakes) ** 2
    state = np.column_stack([rng.uniform(0, WIDTH, flakes), rng.uniform(0, HEIGHT, flakes), radius,
                             (0.6 + 0.6 * radius) * rng.uniform(0.7, 1.0, flakes),
                             rng.uniform(0, 2 * math.pi, flakes)])
    sprite = person(*walker_size, seed=seed) if walker_size else None
    frames = []
    for i in range(n):
        t = i / FPS
        frame = base.copy()
        if sprite is not None and i >= walker_start:
            steps = i - walker_start
            paste(frame, sprite, walker_from[0] * WIDTH + walker_velocity[0] * steps - (
                walker_size[0] if walker_velocity[0] > 0 else 0), walker_from[1] * HEIGHT + walker_velocity[1] * steps)
        state[:, 1] += state[:, 3]
        state[:, 0] += 0.3 * np.sin(0.9 * t + state[:, 4])
        wrapped = state[:, 1] > HEIGHT + 4
        state[wrapped, 1] = -4
        state[wrapped, 0] = rng.uniform(0, WIDTH, int(wrapped.sum()))
        layer = np.zeros((HEIGHT, WIDTH), np.float32)
        for x, y, r, _, _ in state:
            cv2.circle(layer, (int(x), int(y)), int(round(r)), 1.0, -1, cv2.LINE_AA)
        layer = cv2.GaussianBlur(layer, (0, 0), 0.8)
        frames.append(finish(frame * (1 - layer) + 235 * layer, rng, 3.0))
    return frames


def flake_clump(n: int, *, seed: int = 57, flakes: int = 16, spread: tuple[float, float] = (26.0, 18.0),
                velocity: tuple[float, float] = (1.5, 0.3), start: int = 20) -> list[np.ndarray]:
    """A loose clump of small flakes (1-2 px across) drifting across the picture together from frame
    ``start``, each flake wandering inside it and now and then replaced by another: at the analysis
    copy's scale the mask makes one region of them that travels like a small thing."""
    rng = np.random.default_rng(seed)
    base = ground(seed)
    offsets = np.column_stack([rng.uniform(-spread[0] / 2, spread[0] / 2, flakes),
                               rng.uniform(-spread[1] / 2, spread[1] / 2, flakes)])
    radius = rng.uniform(0.8, 1.6, flakes)
    frames = []
    for i in range(n):
        frame = base.copy()
        if i >= start:
            steps = i - start
            centre = (0.3 * WIDTH + velocity[0] * steps, 0.5 * HEIGHT + velocity[1] * steps)
            offsets += rng.normal(0, 0.6, offsets.shape)
            np.clip(offsets, [-spread[0] / 2, -spread[1] / 2], [spread[0] / 2, spread[1] / 2], out=offsets)
            renew = rng.random(flakes) < 0.05
            offsets[renew] = np.column_stack([rng.uniform(-spread[0] / 2, spread[0] / 2, int(renew.sum())),
                                              rng.uniform(-spread[1] / 2, spread[1] / 2, int(renew.sum()))])
            layer = np.zeros((HEIGHT, WIDTH), np.float32)
            for (ox, oy), r in zip(offsets, radius, strict=True):
                cv2.circle(layer, (int(centre[0] + ox), int(centre[1] + oy)), int(round(r)), 1.0, -1, cv2.LINE_AA)
            layer = cv2.GaussianBlur(layer, (0, 0), 0.7)
            frame = frame * (1 - layer) + 235 * layer
        frames.append(finish(frame, rng, 3.0))
    return frames


def birds_and_insects(n: int, *, seed: int = 6, every: int = 40) -> list[np.ndarray]:
    """A small dark bird crossing the picture in 3 frames, and a large blurred insect near the lens
    crossing in 3 frames, over and over."""
    rng = np.random.default_rng(seed)
    base = ground(seed)
    frames = []
    for i in range(n):
        frame = base.copy()
        k = i % every
        if k < 3:
            cv2.ellipse(frame, (int(WIDTH * (0.15 + 0.35 * k)), int(HEIGHT * 0.3) + 8 * k), (9, 4), 0, 0, 360,
                        35.0, -1)
        if every // 2 <= k < every // 2 + 3:
            blob = np.zeros((HEIGHT, WIDTH), np.float32)
            cv2.circle(blob, (int(WIDTH * (0.85 - 0.35 * (k - every // 2))), int(HEIGHT * 0.6)), 45, 1.0, -1)
            frame = frame * (1 - 0.7 * cv2.GaussianBlur(blob, (0, 0), 12))
        frames.append(finish(frame, rng, 3.0))
    return frames


ON_SCREEN_TEXT = 0.035
"""Height of a camera's burnt-in digits as a share of the picture's height (17 px at 480 lines, 38 at 1080)."""


def burn_text(frame: np.ndarray, lines: Sequence[tuple[str, str]], *, outline: int | None = None) -> np.ndarray:
    """``frame`` (grey or BGR) with each (text, corner) burnt in as cameras draw their date and name:
    white glyphs ``ON_SCREEN_TEXT`` of its height with a dark outline ``outline`` px wide (default: the
    strokes' width), at the top left (``"tl"``) or bottom right (``"br"``)."""
    height, width = frame.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = ON_SCREEN_TEXT * height / cv2.getTextSize("0", font, 1.0, 1)[0][1]
    thickness = max(1, round(scale))
    margin = round(0.025 * height)
    glyphs = np.zeros((height, width), np.uint8)
    for text, corner in lines:
        (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
        origin = (margin, margin + h) if corner == "tl" else (width - margin - w, height - margin)
        cv2.putText(glyphs, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    width_of_rim = thickness if outline is None else outline
    rim = np.ones((2 * width_of_rim + 1, 2 * width_of_rim + 1), np.uint8)
    text_alpha = glyphs.astype(np.float32) / 255
    rim_alpha = cv2.dilate(glyphs, rim).astype(np.float32) / 255
    if frame.ndim == 3:
        text_alpha, rim_alpha = text_alpha[..., None], rim_alpha[..., None]
    shown = frame * (1 - rim_alpha) + 20 * rim_alpha
    return (shown * (1 - text_alpha) + 240 * text_alpha).astype(np.uint8)


def on_screen_display(frames: Sequence[np.ndarray], *, clock: str = "2026-01-05 23:59:52",
                      name: str = "CAM 03 GATE", outline: int = 2) -> list[np.ndarray]:
    """``frames`` with what a camera burns into its picture (:func:`burn_text`, a bold outline): the date
    and time at the top left, ticking every second (from ``clock``, so the whole line changes at once at
    midnight), and its name at the bottom right."""
    from datetime import datetime, timedelta

    start = datetime.strptime(clock, "%Y-%m-%d %H:%M:%S")
    return [burn_text(frame, [((start + timedelta(seconds=int(i / FPS))).strftime("%Y-%m-%d %H:%M:%S"), "tl"),
                              (name, "br")], outline=outline)
            for i, frame in enumerate(frames)]


def still(n: int, *, seed: int = 9, noise: float = 3.0) -> list[np.ndarray]:
    """The textured ground and its sensor noise, nothing else."""
    base = ground(seed)
    rng = np.random.default_rng(seed + 50)
    return [finish(base, rng, noise) for _ in range(n)]


def exposure_hunting(n: int, *, seed: int = 11, walker_size: tuple[int, int] = (14, 34),
                     walker_speed: float = 0.8, walker_start: int = 20, every: float = 2.0,
                     ease: float = 0.5) -> list[np.ndarray]:
    """Auto-exposure hunting: every ``every`` s the camera's gain and gamma jump to a new level, eased
    by ``ease`` a frame (0.5: over three frames, a light change each time; 0.05: drifting over
    seconds), while a small person walks slowly across."""
    rng = np.random.default_rng(seed)
    base = ground(seed)
    sprite = person(*walker_size, seed=seed)
    levels = [(float(rng.uniform(0.65, 1.3)), float(rng.uniform(0.8, 1.25))) for _ in range(n)]
    step = int(every * FPS)
    frames = []
    gain, gamma = 1.0, 1.0
    for i in range(n):
        frame = base.copy()
        if i >= walker_start:
            paste(frame, sprite, -walker_size[0] + walker_speed * (i - walker_start), HEIGHT * 0.55)
        target_gain, target_gamma = levels[i // step] if i >= step else (1.0, 1.0)
        gain += (target_gain - gain) * ease  # eased, as a camera's exposure loop does
        gamma += (target_gamma - gamma) * ease
        lit = 255.0 * (np.clip(frame * gain, 0, 255) / 255.0) ** gamma
        frames.append(finish(lit, rng, 3.0))
    return frames


def dappled_edge(n: int, *, seed: int = 12, pieces: int = 14, walker_size: tuple[int, int] | None = None,
                 walker_start: int = 0, sway: float = 8.0, period: float = 3.0) -> list[np.ndarray]:
    """A tree's dappled shadow along the bottom edge: dark leaf-shaped pieces (multiplicative, sharp)
    that swing with the branches (``sway`` px each way every ``period`` s, each with its own flutter)
    and come and go as leaves move in and out of the sun (1-2 s each), all the time, in the same
    strip; optionally a person walking through the strip."""
    rng = np.random.default_rng(seed)
    base = ground(seed)
    sprite = person(*walker_size, seed=seed) if walker_size else None
    live: list[list[float]] = []  # x, y, rx, ry, phase, age, life (frames)
    frames = []
    for i in range(n):
        t = i / FPS
        while len(live) < pieces:
            life = float(rng.uniform(1.0, 2.2)) * FPS
            live.append([rng.uniform(0, WIDTH), rng.uniform(HEIGHT - 70, HEIGHT - 10), rng.uniform(8, 18),
                         rng.uniform(4, 9), rng.uniform(0, 2 * math.pi), 0.0, life])
        frame = base.copy()
        if sprite is not None and i >= walker_start:
            paste(frame, sprite, -walker_size[0] + 2.0 * (i - walker_start), HEIGHT - 60 - walker_size[1] * 0.5)
        shade = np.zeros((HEIGHT, WIDTH), np.float32)
        branch = sway * math.sin(2 * math.pi * t / period)
        for x, y, rx, ry, phase, age, life in live:
            flutter = 2.0 * math.sin(2 * math.pi * t / 0.8 + phase)
            fade = min(1.0, age / 3, (life - age) / 3)
            cv2.ellipse(shade, (int(x + branch + flutter), int(y + 0.3 * flutter)), (int(rx), int(ry)), 0, 0, 360,
                        max(fade, 0.0), -1, cv2.LINE_AA)
        for piece in live:
            piece[5] += 1
        live[:] = [p for p in live if p[5] < p[6]]
        shade = cv2.GaussianBlur(shade, (0, 0), 1.0)
        frames.append(finish(frame * (1 - 0.5 * np.minimum(shade, 1.0)), rng, 3.0))
    return frames


LARGE = (1920, 1080)
"""A large picture (width, height): analysed at the default width, min_size is under 2 px wide there."""


class LargeScene(Sequence):
    """Frames of a large picture made on demand (a list of 1080p frames would hold hundreds of MB).

    ``draw(index, frame)`` paints what moves onto a copy of the textured ground (float32); sensor noise
    comes from a small bank of fields, rolled at random, so each frame costs little to make.
    """

    def __init__(self, n: int, draw: Callable[[int, np.ndarray], None], *, seed: int, noise: float = 3.0,
                 gain: float = 1.0) -> None:
        width, height = LARGE
        self.n, self.draw, self.seed, self.noise, self.gain = n, draw, seed, noise, gain
        self.base = ground(seed, width=width, height=height)
        rng = np.random.default_rng(seed + 70)
        self.bank = rng.normal(0, noise, (4, height, width)).astype(np.float32)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.n))]
        if not 0 <= index < self.n:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, index])
        frame = self.base.copy()
        self.draw(index, frame)
        grain = np.roll(self.bank[index % len(self.bank)], (int(rng.integers(LARGE[1])), int(rng.integers(LARGE[0]))),
                        axis=(0, 1))
        return np.clip(frame * self.gain + grain, 0, 255).astype(np.uint8)


def distant_walker_large(n: int, *, size: tuple[int, int], speed: float, start: int, y: float, seed: int = 21,
                         noise: float = 3.0, gain: float = 1.0, shade: float = 45.0, optics: float = 0.0) -> LargeScene:
    """A person of ``size`` source px (and ``shade``) walking left to right across a large picture from
    frame ``start`` (entering at x = 300); ``optics`` > 0 softens their outline by a lens's blur of that
    σ (px), as a real camera's picture of a distant person is."""
    image, alpha = person(*size, shade=shade, seed=seed)
    if optics > 0:
        pad = int(math.ceil(3 * optics))
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        alpha = cv2.GaussianBlur(cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0),
                                 (0, 0), optics)
    sprite = image, alpha

    def draw(index: int, frame: np.ndarray) -> None:
        if index >= start:
            paste(frame, sprite, 300 + speed * (index - start), y)

    return LargeScene(n, draw, seed=seed, noise=noise, gain=gain)


def fine_snow_large(n: int, *, seed: int = 23, flakes: int = 1500, noise: float = 5.0) -> LargeScene:
    """Small flakes (1-3 px) falling and drifting over a large picture, in grainy light: many small,
    short-lived changes for a finer look to see, none of them a thing."""
    width, height = LARGE
    rng = np.random.default_rng(seed)
    start = np.column_stack([rng.uniform(0, width, flakes), rng.uniform(0, height, flakes),
                             rng.uniform(0.7, 1.6, flakes), rng.uniform(1.5, 4.0, flakes),
                             rng.uniform(0, 2 * math.pi, flakes)])

    def draw(index: int, frame: np.ndarray) -> None:
        t = index / FPS
        x = (start[:, 0] + 0.8 * np.sin(1.1 * t + start[:, 4]) * 3) % width
        y = (start[:, 1] + start[:, 3] * index) % height
        layer = np.zeros((height, width), np.float32)
        for fx, fy, r in zip(x, y, start[:, 2], strict=True):
            cv2.circle(layer, (int(fx), int(fy)), int(round(r)), 1.0, -1, cv2.LINE_AA)
        frame[:] = frame * (1 - layer) + 230 * layer

    return LargeScene(n, draw, seed=seed, noise=noise)


def near_lens_flakes_in_snow_large(n: int, *, seed: int = 43, flakes: int = 8000, radius: float = 20.0,
                                   speed: float = 4.0, every: int = 60, solid: bool = False) -> LargeScene:
    """Large defocused flakes near the lens (blurred over a third of their radius, translucent) drifting
    down a large picture of flat grass, through dense small sharp flakes falling everywhere, some across
    their borders: there the flakes lend the soft disc their edges, and even the fine pictures see it as
    sharp. ``solid``: opaque dark discs with sharp outlines on the same paths instead (things)."""
    width, height = LARGE
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.5)
    grass = 105 + 3 * texture / texture.std()
    small = np.column_stack([rng.uniform(0, width, flakes), rng.uniform(0, height, flakes),
                             rng.uniform(0.7, 1.8, flakes), rng.uniform(1.5, 4.0, flakes),
                             rng.uniform(0, 2 * math.pi, flakes)])
    size = int(6 * radius)
    disc_ = np.zeros((size, size), np.float32)
    cv2.circle(disc_, (size // 2, size // 2), int(radius), 1.0, -1, cv2.LINE_AA)
    sprite = (np.full((size, size), 60.0, np.float32), 0.9 * disc_) if solid else \
        (np.full((size, size), 245.0, np.float32), 0.4 * cv2.GaussianBlur(disc_, (0, 0), 0.35 * radius))
    columns = [float(rng.uniform(0.2, 0.8) * width) for _ in range(n // every + 1)]

    def draw(index: int, frame: np.ndarray) -> None:
        frame[:] = grass
        for k, x in enumerate(columns):
            age = index - k * every
            if age >= 0:
                paste(frame, sprite, x - size / 2, speed * age - size / 2)
        x = (small[:, 0] + 2.4 * np.sin(0.11 * index + small[:, 4])) % width
        y = (small[:, 1] + small[:, 3] * index) % height
        layer = np.zeros((height, width), np.float32)
        for fx, fy, r in zip(x, y, small[:, 2], strict=True):
            cv2.circle(layer, (int(fx), int(fy)), int(round(r)), 1.0, -1, cv2.LINE_AA)
        frame[:] = frame * (1 - layer) + 230 * layer

    return LargeScene(n, draw, seed=seed)


def near_lens_flakes_large(n: int, *, seed: int = 27, every: int = 40, radius: float = 18.0,
                           speed: float = 6.0) -> LargeScene:
    """Large defocused flakes (blurred over a third of their radius, translucent) drifting steadily down
    across a large picture near the lens, one every ``every`` frames: coarsely analysed, their edges look
    as sharp as a person's."""
    width, height = LARGE
    rng = np.random.default_rng(seed)
    size = int(6 * radius)
    disc_ = np.zeros((size, size), np.float32)
    cv2.circle(disc_, (size // 2, size // 2), int(radius), 1.0, -1, cv2.LINE_AA)
    sprite = cv2.GaussianBlur(disc_, (0, 0), 0.35 * radius) * 0.4
    starts = [(float(rng.uniform(0.1, 0.9) * width), float(rng.uniform(-0.5, 0.5))) for _ in range(n // every + 1)]

    def draw(index: int, frame: np.ndarray) -> None:
        for k, (x0, drift) in enumerate(starts):
            age = index - k * every
            if 0 <= age < 3 * every:
                x, y = x0 + drift * speed * age, -size + speed * age
                bright = np.full((size, size), 245.0, np.float32)
                paste(frame, (bright, sprite), x - size / 2, y)

    return LargeScene(n, draw, seed=seed)
