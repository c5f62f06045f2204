"""Weather, local light and flyers drawn over an accuracy clip's picture (never part of its truth).

Why: these are the nuisances that make motion detectors raise false alarms outdoors: rain and
snow, cloud shadows drifting over the ground, a tree's dappled shadow, a car's headlights sweeping
the ground at night, birds and insects flashing past. Each is a small state object built from its
description in ``accuracy_scene.py`` and its own random generator, so adding one to a clip never
changes how the rest of the clip is drawn.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from accuracy_footage import TreeVideo
from accuracy_scene import CloudShadows, DappledShadow, Flyer, RainStyle, Snow, Sweep


def rain(rng: np.random.Generator, w: int, h: int, drops: int) -> np.ndarray:
    """One frame of falling rain (the original style): thin bright slanted streaks, a few big blurred ones."""
    layer = np.zeros((h, w), np.float32)
    s = w / 480.0
    n = int(drops * (w * h) / (480 * 360))
    xs = rng.uniform(-10, w + 10, n)
    ys = rng.uniform(-10, h, n)
    lengths = rng.uniform(6, 14, n) * s
    values = rng.uniform(40, 100, n)
    for x, y, length, v in zip(xs, ys, lengths, values, strict=True):
        cv2.line(layer, (int(x), int(y)), (int(x + 0.18 * length), int(y + length)), float(v), 1, cv2.LINE_AA)
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        length = rng.uniform(25, 45) * s
        cv2.line(layer, (int(x), int(y)), (int(x + 0.18 * length), int(y + length)), 50.0, 3, cv2.LINE_AA)
    return cv2.GaussianBlur(layer, (3, 3), 0)


def styled_rain(rng: np.random.Generator, w: int, h: int, style: RainStyle) -> np.ndarray:
    """One frame of rain in a given style (density, slant, streak length and brightness)."""
    layer = np.zeros((h, w), np.float32)
    s = w / 480.0
    n = int(style.drops * (w * h) / (480 * 360))
    xs = rng.uniform(-20, w + 20, n)
    ys = rng.uniform(-20, h, n)
    lengths = rng.uniform(*style.length, n) * s
    values = rng.uniform(*style.brightness, n)
    for x, y, length, v in zip(xs, ys, lengths, values, strict=True):
        cv2.line(layer, (int(x), int(y)), (int(x + style.slant * length), int(y + length)), float(v), 1,
                 cv2.LINE_AA)
    for _ in range(int(rng.integers(style.big[0], style.big[1] + 1))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        length = rng.uniform(25, 45) * s
        cv2.line(layer, (int(x), int(y)), (int(x + style.slant * length), int(y + length)), 45.0, 3, cv2.LINE_AA)
    return cv2.GaussianBlur(layer, (3, 3), 0)


def _blurred_disc(radius: float, sigma: float) -> np.ndarray:
    """A soft disc (0..1) on a square just large enough to hold its blur."""
    half = int(math.ceil(radius + 3 * sigma)) + 1
    disc = np.zeros((2 * half + 1, 2 * half + 1), np.float32)
    cv2.circle(disc, (half, half), max(1, int(round(radius))), 1.0, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(disc, (0, 0), sigma) if sigma > 0 else disc


def _blend(picture: np.ndarray, sprite: np.ndarray, x: float, y: float, alpha: float, value: float) -> None:
    """Blend a 0..1 ``sprite`` centred at (x, y) into ``picture`` toward a grey ``value``."""
    h, w = picture.shape[:2]
    sh, sw = sprite.shape
    x0, y0 = int(round(x)) - sw // 2, int(round(y)) - sh // 2
    a0, b0, a1, b1 = max(x0, 0), max(y0, 0), min(x0 + sw, w), min(y0 + sh, h)
    if a0 >= a1 or b0 >= b1:
        return
    a = alpha * sprite[b0 - y0:b1 - y0, a0 - x0:a1 - x0, None]
    region = picture[b0:b1, a0:a1]
    region[:] = region * (1 - a) + value * a


class SnowFall:
    """Persistent flakes falling and wandering across the picture, and large defocused ones near the lens."""

    def __init__(self, snow: Snow, w: int, h: int, fps: float, rng: np.random.Generator) -> None:
        self.snow, self.w, self.h, self.rng = snow, w, h, rng
        self.per_frame = 10.0 / fps  # the speeds are given per frame at 10 fps
        n = int(snow.flakes * w * h / (768 * 576))
        u = rng.uniform(0, 1, n)
        self.r = snow.size[0] + (snow.size[1] - snow.size[0]) * u * u  # mostly small flakes
        self.x = rng.uniform(0, w, n)
        self.y = rng.uniform(0, h, n)
        self.vy = rng.uniform(*snow.fall, n) * (0.6 + 0.4 * self.r / snow.size[1]) * self.per_frame
        self.phase = rng.uniform(0, 2 * math.pi, n)
        self.freq = rng.uniform(0.2, 0.7, n)
        self.value = rng.uniform(0.55, 0.95, n)
        self.near: list[dict] = []
        self.fps = fps

    def _spawn_near(self) -> dict:
        rng, s = self.rng, self.snow
        r = float(rng.uniform(*s.near_size))
        speed = float(rng.uniform(*s.near_speed)) * self.per_frame
        angle = math.radians(float(rng.uniform(60, 120)))  # mostly downward
        return {"x": float(rng.uniform(0, self.w)), "y": -r * 1.5, "vx": speed * math.cos(angle),
                "vy": speed * math.sin(angle), "r": r, "alpha": float(rng.uniform(0.25, 0.45)),
                "sprite": _blurred_disc(r, r * 0.35)}

    def draw(self, picture: np.ndarray, frame: int) -> None:
        s, t = self.snow, frame / self.fps
        self.y += self.vy
        wrapped = self.y > self.h + 4
        self.y[wrapped] -= self.h + 8
        x = (self.x + s.wind * self.per_frame * frame + s.drift * np.sin(2 * math.pi * self.freq * t + self.phase))
        x %= self.w
        layer = np.zeros((self.h, self.w), np.float32)
        for xi, yi, ri, vi in zip(x, self.y, self.r, self.value, strict=True):
            cv2.circle(layer, (int(xi * 16), int(yi * 16)), int(ri * 16), float(vi), -1, cv2.LINE_AA, 4)
        layer = cv2.GaussianBlur(layer, (0, 0), 0.7)
        if s.haze:
            picture *= 1 - s.haze
            picture += s.haze * 200.0
        a = layer[..., None]
        picture *= 1 - a
        picture += 240.0 * a
        while len(self.near) < s.near:
            self.near.append(self._spawn_near())
        for flake in self.near:
            flake["x"] += flake["vx"]
            flake["y"] += flake["vy"]
            _blend(picture, flake["sprite"], flake["x"], flake["y"], flake["alpha"], 245.0)
        margin = max(s.near_size) * 2
        self.near = [f for f in self.near if -margin < f["x"] < self.w + margin and f["y"] < self.h + margin]


class CloudField:
    """A smooth random cloud cover, larger than the picture, slid across it at a constant velocity."""

    def __init__(self, clouds: CloudShadows, w: int, h: int, frames: int, rng: np.random.Generator) -> None:
        self.clouds, self.w, self.h = clouds, w, h
        vx, vy = clouds.velocity
        pad = int(clouds.scale)
        fw = int(w + abs(vx) * frames + 2 * pad)
        fh = int(h + abs(vy) * frames + 2 * pad)
        cell = max(4.0, clouds.scale / 2.5)
        coarse = rng.standard_normal((int(fh / cell) + 4, int(fw / cell) + 4)).astype(np.float32)
        field = cv2.resize(coarse, (fw, fh), interpolation=cv2.INTER_CUBIC)
        field = cv2.GaussianBlur(field, (0, 0), clouds.scale * 0.15)
        field = (field - field.mean()) / (field.std() + 1e-6)
        threshold = float(np.quantile(field, 1 - clouds.coverage))
        k = np.clip((field - threshold) / (2 * clouds.softness) + 0.5, 0, 1)
        self.cover = (k * k * (3 - 2 * k)).astype(np.float32)
        # start where the drift keeps the window inside the field for the whole clip
        self.x0 = pad + (abs(vx) * frames if vx < 0 else 0)
        self.y0 = pad + (abs(vy) * frames if vy < 0 else 0)

    def multiplier(self, frame: int) -> np.ndarray:
        vx, vy = self.clouds.velocity
        cx = self.x0 + vx * frame + self.w / 2
        cy = self.y0 + vy * frame + self.h / 2
        window = cv2.getRectSubPix(self.cover, (self.w, self.h), (cx, cy))
        return 1.0 - self.clouds.depth * window


class DappleShadow:
    """A shadow cast by a tree outside the picture: tree.avi's leaves, blurred, multiplied onto one edge."""

    def __init__(self, dapple: DappledShadow, tree: TreeVideo, w: int, h: int, fps: float) -> None:
        self.d, self.tree, self.fps = dapple, tree, fps
        x0, y0, x1, y1 = dapple.box
        self.box = (int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h))
        bw, bh = self.box[2] - self.box[0], self.box[3] - self.box[1]
        yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        along = {"left": 1 - xx / bw, "right": xx / bw, "top": 1 - yy / bh, "bottom": yy / bh}[dapple.fade]
        across = yy / bh if dapple.fade in ("left", "right") else xx / bw
        ends = np.clip(np.minimum(across, 1 - across) / 0.12, 0, 1)  # soft ends along the edge
        fade = np.clip(along * 1.6, 0, 1) * ends
        self.fade = (fade * fade * (3 - 2 * fade)).astype(np.float32)
        self.size = (bw, bh)

    def apply(self, picture: np.ndarray, frame: int) -> None:
        d, t = self.d, frame / self.fps
        x0, y0, x1, y1 = d.crop
        leaves = self.tree.at(t, *d.frames)[y0:y1, x0:x1]
        grey = cv2.cvtColor(leaves, cv2.COLOR_BGR2GRAY).astype(np.float32)
        # the darker half of the crown (leaves in depth) blocks the sun, the rest lets flecks through
        mask = np.clip((float(np.median(grey)) + 20.0 - grey) / 40.0, 0, 1)
        mask = cv2.resize(mask, self.size, interpolation=cv2.INTER_LINEAR)
        offset = d.sway * math.sin(2 * math.pi * t / d.period)
        dx, dy = (offset, 0.0) if d.fade in ("left", "right") else (0.0, offset)
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        mask = cv2.warpAffine(mask, shift, self.size, borderMode=cv2.BORDER_REFLECT)
        mask = cv2.GaussianBlur(mask, (0, 0), 1.5)  # the penumbra of a sun shadow
        bx0, by0, bx1, by1 = self.box
        region = picture[by0:by1, bx0:bx1]
        region *= (1.0 - d.depth * mask * self.fade)[..., None]


class Headlight:
    """A headlight cone sweeping the ground: added light, falling off with angle and distance."""

    SCALE = 4  # computed at a quarter of the resolution: the cone is smooth

    def __init__(self, sweep: Sweep, w: int, h: int) -> None:
        self.s, self.w, self.h = sweep, w, h
        sw, sh = w // self.SCALE, h // self.SCALE
        yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32) * self.SCALE
        ax, ay = sweep.apex[0] * w, sweep.apex[1] * h
        self.theta = np.degrees(np.arctan2(yy - ay, xx - ax))
        r = np.hypot(xx - ax, yy - ay) / w
        self.radial = (np.exp(-r / sweep.reach) * (1 - np.exp(-(r / 0.04) ** 2))).astype(np.float32)

    def light(self, seconds: float) -> np.ndarray | None:
        s = self.s
        k = (seconds - s.start) / s.duration
        if not 0.0 <= k <= 1.0:
            return None
        angle = s.angles[0] + k * (s.angles[1] - s.angles[0])
        fade = math.sin(math.pi * k) ** 0.5  # the car turns toward and then away from the scene
        d = (self.theta - angle + 180.0) % 360.0 - 180.0
        small = s.strength * fade * np.exp(-((d / s.spread) ** 2)) * self.radial
        return cv2.resize(small.astype(np.float32), (self.w, self.h), interpolation=cv2.INTER_LINEAR)


class Flyers:
    """Birds (small, dark, sharp) and insects near the lens (large, blurred) crossing in a few frames."""

    def __init__(self, flyers: list[Flyer]) -> None:
        self.flyers = flyers
        self.sprites = {}
        for f in flyers:
            if f.kind == "insect":
                self.sprites[id(f)] = _blurred_disc(f.size / 2, f.size / 5)
            else:
                self.sprites[id(f)] = self._bird(f.size)

    @staticmethod
    def _bird(size: float) -> np.ndarray:
        half = int(size) + 2
        img = np.zeros((2 * half + 1, 2 * half + 1), np.float32)
        c = (half, half)
        cv2.ellipse(img, c, (max(1, int(size / 2)), max(1, int(size / 6))), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
        cv2.line(img, c, (half - int(size / 3), half - int(size / 2.5)), 1.0, max(1, int(size / 8)), cv2.LINE_AA)
        cv2.line(img, c, (half + int(size / 4), half - int(size / 2.5)), 1.0, max(1, int(size / 8)), cv2.LINE_AA)
        return cv2.GaussianBlur(img, (3, 3), 0)

    def draw(self, picture: np.ndarray, frame: int) -> None:
        h, w = picture.shape[:2]
        for f in self.flyers:
            if not f.frame <= frame < f.frame + f.frames:
                continue
            sprite = self.sprites[id(f)]
            # seven positions over a third of the frame interval: the motion blur of a fast crossing
            for sub in np.linspace(0.35, 0.65, 7):
                k = (frame - f.frame + sub) / f.frames
                x = (f.start[0] + k * (f.end[0] - f.start[0])) * w
                y = (f.start[1] + k * (f.end[1] - f.start[1])) * h
                _blend(picture, sprite, x, y, 0.09 if f.kind == "insect" else 0.2, 35.0)
