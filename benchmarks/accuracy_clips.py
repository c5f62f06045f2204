"""Deterministic generator of the accuracy-benchmark clips, each with exact ground truth.

Why: the nuisances that cause false alarms (slow dimming, a light switched on, a shaking camera,
rain, swaying foliage, a grainy night picture) and the targets that get missed (a small, slow or
distant person) must be measured on clips whose truth is known to the frame. Every clip is
rendered here from fixed seeds, and its truth is computed from the same geometry that draws it.

Real footage where possible: the static scene is an empty background plate built from OpenCV's
``vtest.avi`` (a temporal median over its frames), the walkers are real pedestrians cut out of
``vtest.avi`` (frame minus plate, masked, tracked over a few dozen frames so the gait is real) and
moved along known paths, the foliage is a crop of ``tree.avi`` and the cut-to scene is
``building.jpg``, all from the Debian ``opencv-doc`` package. When those files are missing the
generator falls back to synthetic scenes and sprites and says so (``"footage": "synthetic"`` in
every truth file).

Each clip ``<name>.mp4`` (H.264 through ffmpeg when available, else OpenCV ``mp4v``) is written
beside ``<name>.json``::

    {"events": [[start, end], ...], "kinds": ["motion" | "scene_change", ...],
     "lighting": [frame, ...], "fps": 20.0, "frames": N, "width": W, "height": H,
     "description": "...", "footage": "vtest" | "synthetic", "walkers": [...]}

Frames are 0-based and inclusive. A ``motion`` event spans the frames in which a walker is at
least partly in view (one or more pixels of its mask inside the picture) and moving; walkers
always move while drawn. ``scene_change`` events are cuts and a knocked camera. ``lighting`` lists
sudden global light changes (their own future event kind; they are not motion).

Usage::

    python benchmarks/accuracy_clips.py [--out DIR] [--force] [--clips NAME ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger("accuracy_clips")

GENERATOR_VERSION = 1
"""Bump when any clip changes, so cached clips are rebuilt."""
HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache" / "accuracy"
DATA_DIRS = (
    "/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data",
    "/usr/share/doc/opencv-doc/examples/data",
)
"""Where OpenCV's sample data is looked for (after $VIDWATCH_OPENCV_DATA)."""
MARGIN = 1.2
"""The world image is this much larger than the picture, so the camera can shake and be knocked."""
NOISE_BANK = 48
"""Pre-drawn noise fields per size, picked and rolled at random: fresh-looking noise at low cost."""

Image = np.ndarray  # float32 HxWx3 BGR, 0..255


# --------------------------------------------------------------------------------------------
# Footage: background plate, walker sprites, foliage texture, second scene
# --------------------------------------------------------------------------------------------


@dataclass
class Walk:
    """A pedestrian cut-out sequence: colour frames, soft masks, and its stride in source pixels."""

    images: list[Image]
    alphas: list[np.ndarray]
    stride: float
    """Mean displacement per source frame: the gait advances one sprite frame per this distance."""
    faces_right: bool

    @property
    def mean_area(self) -> float:
        return float(np.mean([(a > 0.5).sum() for a in self.alphas]))


@dataclass
class Footage:
    plate: Image
    walks: list[Walk]
    foliage: Image
    second_scene: Image
    kind: str  # "vtest" or "synthetic"


def find_data_dir() -> Path | None:
    """The folder holding OpenCV's sample data (vtest.avi, tree.avi, building.jpg), if present.

    $VIDWATCH_OPENCV_DATA, when set, is the only place looked at (set it to a missing folder to force
    the synthetic fallback).
    """
    override = os.environ.get("VIDWATCH_OPENCV_DATA")
    candidates = [override] if override is not None else list(DATA_DIRS)
    for text in candidates:
        if text and (Path(text) / "vtest.avi").is_file():
            return Path(text)
    return None


# vtest.avi tracks: (first frame, frames) of pedestrians that stay isolated; found once with
# _track() below and kept fixed so the sprites never change.
VTEST_TRACKS = ((54, 41), (183, 21), (630, 35))
_K5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


def _components(frame: np.ndarray, plate: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """Person-shaped foreground regions of one vtest frame (frame minus plate)."""
    diff = np.abs(frame.astype(np.int16) - plate.astype(np.int16)).max(axis=2)
    mask = (diff > 35).astype(np.uint8)
    mask = cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, _K5), cv2.MORPH_CLOSE, _K5)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask)
    found = []
    for j in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[j])
        if 1300 < area < 4500 and 2.0 < h / w < 4.2 and x > 5 and y > 5 and x + w < 763 and y + h < 571:
            colour = frame[labels == j].mean(axis=0)
            found.append({"j": j, "box": (x, y, w, h), "area": area, "c": centroids[j], "colour": colour})
    return labels, found


def _isolated(comp: dict, others: list[dict], gap: int = 25) -> bool:
    x, y, w, h = comp["box"]
    for o in others:
        if o is comp:
            continue
        ox, oy, ow, oh = o["box"]
        if ox < x + w + gap and ox + ow > x - gap and oy < y + h + gap and oy + oh > y - gap:
            return False
    return True


def _track(frames: dict[int, np.ndarray], plate: np.ndarray, start: int, length: int) -> Walk:
    """Follow an isolated pedestrian from ``start`` for ``length`` frames and cut it out each frame."""
    per_frame = {i: _components(frames[i], plate) for i in range(start, start + length)}
    best: list[dict] = []
    for first in per_frame[start][1]:
        if not _isolated(first, per_frame[start][1]):
            continue
        chain = [first]
        for i in range(start + 1, start + length):
            cur = chain[-1]
            pred = cur["c"] + (cur["c"] - chain[-2]["c"] if len(chain) > 1 else 0)
            comps = per_frame[i][1]
            cands = [o for o in comps if _isolated(o, comps) and np.hypot(*(o["c"] - pred)) < 8
                     and 0.75 < o["area"] / cur["area"] < 1.33 and np.abs(o["colour"] - cur["colour"]).max() < 18]
            if len(cands) != 1:
                break
            chain.append(cands[0])
        if len(chain) > len(best):
            best = chain
    if len(best) < 12:
        raise RuntimeError(f"vtest.avi: no pedestrian track of 12+ frames from frame {start}")
    chain = best
    images, alphas = [], []
    for i, comp in zip(range(start, start + len(chain)), chain, strict=True):
        labels = per_frame[i][0]
        x, y, w, h = comp["box"]
        x0, y0, x1, y1 = x - 3, y - 3, x + w + 3, y + h + 3
        alpha = (labels[y0:y1, x0:x1] == comp["j"]).astype(np.float32)
        alpha = cv2.GaussianBlur(alpha, (3, 3), 0)  # feather the cut-out edge
        images.append(frames[i][y0:y1, x0:x1].astype(np.float32))
        alphas.append(alpha)
    centres = np.array([c["c"] for c in chain])
    stride = float(np.hypot(*np.diff(centres, axis=0).T).mean())
    return Walk(images, alphas, stride, faces_right=bool(centres[-1, 0] > centres[0, 0]))


def load_vtest_footage(data: Path) -> Footage:
    """Plate, pedestrians, foliage and second scene from OpenCV's sample data."""
    capture = cv2.VideoCapture(str(data / "vtest.avi"))
    wanted = {i for s, n in VTEST_TRACKS for i in range(s, s + n)}
    samples, kept = [], {}
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % 6 == 0:
                samples.append(frame)
            if index in wanted:
                kept[index] = frame
            index += 1
    finally:
        capture.release()
    if len(samples) < 50:
        raise RuntimeError(f"{data / 'vtest.avi'}: only {index} frames decoded")
    plate = np.median(np.stack(samples), axis=0).astype(np.uint8)
    walks = [_track(kept, plate, s, n) for s, n in VTEST_TRACKS]
    tree = cv2.VideoCapture(str(data / "tree.avi"))
    ok, tree_frame = tree.read()
    tree.release()
    foliage = tree_frame[30:230, 50:250] if ok else _synthetic_foliage(np.random.default_rng(5))
    building = cv2.imread(str(data / "building.jpg"))
    if building is None:
        building = _synthetic_scene(np.random.default_rng(9), 768, 576, dark=True)
    return Footage(plate.astype(np.float32), walks, foliage.astype(np.float32), building.astype(np.float32), "vtest")


def _synthetic_scene(rng: np.random.Generator, w: int, h: int, dark: bool = False) -> Image:
    """A textured stand-in for the real plate: gradient, panels, a pavement band, small objects."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 60.0 if dark else 115.0
    img = np.stack([base + 0.05 * xx, base + 25 + 0.04 * yy, base - 10 + 0.03 * xx], axis=2)
    for _ in range(60):
        x, y = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        cw, ch = (int(v) for v in rng.integers(8, 60, size=2))
        img[y:y + ch, x:x + cw] = np.clip(rng.uniform(30, 220) + rng.uniform(-30, 30, size=3), 0, 255)
    band = (yy > 0.35 * h + 0.25 * xx * h / w) & (yy < 0.5 * h + 0.35 * xx * h / w)
    img[band] = img[band] * 0.3 + 120
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(cv2.GaussianBlur(img, (3, 3), 0), 0, 255).astype(np.float32)


def _synthetic_walk(rng: np.random.Generator, shade: float) -> Walk:
    """A person-shaped dark figure with swinging legs (for when vtest.avi is missing)."""
    images, alphas = [], []
    for k in range(12):
        a = np.zeros((100, 40), np.float32)
        cv2.circle(a, (20, 10), 8, 1.0, -1)
        cv2.rectangle(a, (10, 18), (30, 60), 1.0, -1)
        swing = int(10 * math.sin(2 * math.pi * k / 12))
        cv2.line(a, (16, 58), (16 + swing, 97), 1.0, 6)
        cv2.line(a, (24, 58), (24 - swing, 97), 1.0, 6)
        img = np.empty((100, 40, 3), np.float32)
        img[:] = shade + rng.normal(0, 8, (100, 40, 3))
        images.append(img)
        alphas.append(cv2.GaussianBlur(a, (3, 3), 0))
    return Walk(images, alphas, stride=4.0, faces_right=True)


def _synthetic_foliage(rng: np.random.Generator) -> Image:
    """Leaf-like texture: many small overlapping green ellipses on a dark green ground."""
    img = np.zeros((200, 200, 3), np.float32)
    img[:] = (30, 70, 40)
    for _ in range(900):
        c = (int(rng.integers(0, 200)), int(rng.integers(0, 200)))
        axes = (int(rng.integers(2, 7)), int(rng.integers(1, 4)))
        g = float(rng.uniform(80, 220))
        cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360, (g * 0.4, g, g * 0.55), -1)
    return img


def load_synthetic_footage() -> Footage:
    rng = np.random.default_rng(1234)
    return Footage(_synthetic_scene(rng, 768, 576), [_synthetic_walk(rng, s) for s in (35.0, 60.0, 45.0)],
                   _synthetic_foliage(rng), _synthetic_scene(rng, 768, 576, dark=True), "synthetic")


def load_footage() -> Footage:
    data = find_data_dir()
    if data is None:
        log.warning("OpenCV sample data (vtest.avi) not found: using SYNTHETIC scenes and walkers. For the real "
                    "footage: apt-get download opencv-doc && dpkg -x opencv-doc_*.deb /tmp/ocvdoc "
                    "(or set VIDWATCH_OPENCV_DATA to the folder holding vtest.avi)")
        return load_synthetic_footage()
    return load_vtest_footage(data)


# --------------------------------------------------------------------------------------------
# Scene description and renderer
# --------------------------------------------------------------------------------------------


@dataclass
class Walker:
    """One pedestrian following a polyline path (plate-relative coordinates of the feet) at a fixed speed."""

    walk: int  # index into Footage.walks
    enter: int  # frame at which it first comes into the (unshaken) picture
    path: Sequence[tuple[float, float]]
    speed: float  # picture pixels per frame
    area: float  # target mask area as a fraction of the picture


@dataclass
class Foliage:
    """A crown of leaves (plate-relative box) swaying about its base, with leaf flutter."""

    box: tuple[float, float, float, float]  # u0, v0, u1, v1
    amplitude: float  # picture pixels at the top of the crown
    period: float  # seconds per sway


@dataclass
class Knock:
    frame: int
    frames: int  # the move takes this many frames
    shift: tuple[float, float]  # fraction of the picture size
    angle: float  # degrees


@dataclass
class Clip:
    """Everything needed to render one clip and state its truth."""

    name: str
    description: str
    width: int = 480
    height: int = 360
    fps: float = 20.0
    seconds: float = 12.0
    seed: int = 0
    noise: float = 2.5
    light: Callable[[float], tuple[float, float]] | None = None  # seconds -> (gain, gamma)
    lighting: list[int] = field(default_factory=list)  # truth frames of sudden light changes
    shake: Callable[[np.random.Generator, int, float], np.ndarray] | None = None
    knock: Knock | None = None
    cuts: list[int] = field(default_factory=list)  # the scene alternates plate/second at these frames
    walkers: list[Walker] = field(default_factory=list)
    foliage: Foliage | None = None
    rain: int = 0  # drops per frame per 480x360 picture

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))


def _polyline_at(points: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Point and unit direction at ``distance`` along a polyline, or None past its end."""
    for a, b in zip(points[:-1], points[1:], strict=True):
        seg = float(np.hypot(*(b - a)))
        if distance <= seg:
            d = (b - a) / seg
            return a + d * distance, d
        distance -= seg
    return None


class _WalkerState:
    """Pre-scaled sprites and the path in world pixels for one walker."""

    def __init__(self, walker: Walker, walk: Walk, world_scale: float, view: tuple[float, float, float, float]):
        self.walker = walker
        x0, y0, x1, y1 = view  # the unshaken picture in world pixels
        picture_area = (x1 - x0) * (y1 - y0)
        scale = math.sqrt(walker.area * picture_area / walk.mean_area)
        self.images = [cv2.resize(im, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for im in walk.images]
        self.alphas = [cv2.resize(a, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for a in walk.alphas]
        # ping-pong through the gait so it never jumps back to the first frame
        order = list(range(len(walk.images))) + list(range(len(walk.images) - 2, 0, -1))
        self.order = order
        self.stride = max(0.3, walk.stride * scale)
        self.faces_right = walk.faces_right
        self.path = np.array(walker.path, np.float32) * world_scale
        # distance along the path at which the sprite's box first overlaps the picture
        h, w = self.alphas[0].shape
        self.lead = 0.0
        while True:
            at = _polyline_at(self.path, self.lead)
            if at is None:
                raise ValueError(f"walker path {walker.path} never enters the picture")
            fx, fy = at[0]
            if fx + w / 2 > x0 and fx - w / 2 < x1 and fy > y0 and fy - h < y1:
                break
            self.lead += 0.5

    def sprite(self, frame: int) -> tuple[Image, np.ndarray, float, float] | None:
        """(image, alpha, x, y) of the sprite's top-left corner in world pixels at ``frame``, or None."""
        distance = self.lead + (frame - self.walker.enter) * self.walker.speed
        if distance < 0:
            return None
        at = _polyline_at(self.path, distance)
        if at is None:
            return None
        (fx, fy), direction = at
        k = self.order[int(distance / self.stride) % len(self.order)]
        image, alpha = self.images[k], self.alphas[k]
        if (direction[0] >= 0) != self.faces_right:
            image, alpha = image[:, ::-1], alpha[:, ::-1]
        h, w = alpha.shape
        return image, alpha, float(fx - w / 2), float(fy - h)


def _paste(world: Image, layer: np.ndarray, image: Image, alpha: np.ndarray, x: float, y: float) -> None:
    """Alpha-blend a sprite at a sub-pixel position; also add its alpha to ``layer`` (for truth)."""
    ix, iy = int(math.floor(x)), int(math.floor(y))
    h, w = alpha.shape
    shift = np.float32([[1, 0, x - ix], [0, 1, y - iy]])
    size = (w + 2, h + 2)
    img = cv2.warpAffine(np.ascontiguousarray(image), shift, size, flags=cv2.INTER_LINEAR)
    alp = cv2.warpAffine(np.ascontiguousarray(alpha), shift, size, flags=cv2.INTER_LINEAR)
    H, W = layer.shape
    x0, y0, x1, y1 = max(ix, 0), max(iy, 0), min(ix + size[0], W), min(iy + size[1], H)
    if x0 >= x1 or y0 >= y1:
        return
    a = alp[y0 - iy:y1 - iy, x0 - ix:x1 - ix]
    a3 = a[..., None]
    world[y0:y1, x0:x1] = world[y0:y1, x0:x1] * (1 - a3) + img[y0 - iy:y1 - iy, x0 - ix:x1 - ix] * a3
    layer[y0:y1, x0:x1] = np.maximum(layer[y0:y1, x0:x1], a)


class _FoliageState:
    """The foliage crop scaled to its box, with a soft crown-shaped mask and a smooth flutter field."""

    def __init__(self, foliage: Foliage, texture: Image, world_w: int, world_h: int, rng: np.random.Generator):
        u0, v0, u1, v1 = foliage.box
        self.x0, self.y0 = int(u0 * world_w), int(v0 * world_h)
        w, h = int((u1 - u0) * world_w), int((v1 - v0) * world_h)
        self.texture = cv2.resize(texture, (w, h), interpolation=cv2.INTER_AREA)
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (w // 2, int(h * 0.45)), (int(w * 0.46), int(h * 0.44)), 0, 0, 360, 1.0, -1)
        # sky seen through the leaves (near-white in the tree footage) is a hole in the crown
        leaves = np.clip((250.0 - self.texture.min(axis=2)) / 60.0, 0.0, 1.0)
        self.mask = cv2.GaussianBlur(mask, (0, 0), 3) * cv2.GaussianBlur(leaves, (3, 3), 0)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.xx, self.yy = xx, yy
        self.bend = ((h - yy) / h) ** 1.5  # the base is rooted, the top sways most
        phase = cv2.GaussianBlur(rng.uniform(0, 2 * math.pi, (h, w)).astype(np.float32), (0, 0), 4)
        self.phase = (phase - phase.mean()) * 12.0
        self.foliage = foliage

    def paste(self, world: Image, seconds: float) -> None:
        f = self.foliage
        gust = 0.75 + 0.35 * math.sin(2 * math.pi * seconds / 7.3)
        sway = f.amplitude * gust * math.sin(2 * math.pi * seconds / f.period)
        flutter = 0.8 * np.sin(2 * math.pi * seconds / 0.9 + self.phase)
        map_x = self.xx - sway * self.bend - flutter
        map_y = self.yy - 0.3 * flutter
        tex = cv2.remap(self.texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.remap(self.mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        h, w = self.mask.shape
        roi = world[self.y0:self.y0 + h, self.x0:self.x0 + w]
        roi[:] = roi * (1 - alpha) + tex * alpha


def _rain(rng: np.random.Generator, w: int, h: int, drops: int) -> np.ndarray:
    """One frame of falling rain: thin bright slanted streaks, a few big blurred ones near the lens."""
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


def _noise_bank(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    return rng.standard_normal((NOISE_BANK, h, w, 3), dtype=np.float32)


def render(clip: Clip, footage: Footage, emit: Callable[[np.ndarray], None]) -> list[dict]:
    """Render every frame of ``clip`` into ``emit``; return per-walker visibility (frame -> pixels in view)."""
    rng = np.random.default_rng(clip.seed)
    W, H = clip.width, clip.height
    ww, wh = int(round(W * MARGIN)), int(round(H * MARGIN))
    plate = cv2.resize(footage.plate, (ww, wh), interpolation=cv2.INTER_AREA)
    sh, sw = footage.second_scene.shape[:2]
    crop = min(sw / ww, sh / wh)
    cw, ch = int(ww * crop), int(wh * crop)
    second = footage.second_scene[(sh - ch) // 2:(sh - ch) // 2 + ch, (sw - cw) // 2:(sw - cw) // 2 + cw]
    second = cv2.resize(second, (ww, wh), interpolation=cv2.INTER_AREA)
    view = ((ww - W) / 2, (wh - H) / 2, (ww + W) / 2, (wh + H) / 2)
    walkers = [_WalkerState(w, footage.walks[w.walk % len(footage.walks)], ww, view) for w in clip.walkers]
    foliage = _FoliageState(clip.foliage, footage.foliage, ww, wh, rng) if clip.foliage else None
    n = clip.frames
    shake = clip.shake(rng, n, clip.fps) if clip.shake else np.zeros((n, 2), np.float32)
    noise = _noise_bank(rng, W, H) if clip.noise > 0 else None
    visible = [{} for _ in walkers]
    base = np.array([(ww - W) / 2, (wh - H) / 2], np.float32)
    for i in range(n):
        t = i / clip.fps
        use_second = sum(1 for c in clip.cuts if i >= c) % 2 == 1
        world = (second if use_second else plate).copy()
        if foliage is not None:
            foliage.paste(world, t)
        layers = []
        for state in walkers:
            layer = np.zeros((wh, ww), np.float32)
            sprite = state.sprite(i)
            if sprite is not None:
                _paste(world, layer, *sprite)
            layers.append(layer if sprite is not None else None)
        ox, oy = base + shake[i]
        angle = 0.0
        if clip.knock and i >= clip.knock.frame:
            k = min(1.0, (i - clip.knock.frame + 1) / clip.knock.frames)
            ox += k * clip.knock.shift[0] * W
            oy += k * clip.knock.shift[1] * H
            angle = k * clip.knock.angle
        # picture pixel p shows world point R (p - c) + c + offset: a rotation about the picture centre
        camera = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
        camera[:, 2] += (ox, oy)
        inverse = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        picture = cv2.warpAffine(world, camera, (W, H), flags=inverse, borderMode=cv2.BORDER_REFLECT)
        for k, layer in enumerate(layers):
            if layer is not None:
                seen = cv2.warpAffine(layer, camera, (W, H), flags=inverse)
                pixels = int((seen > 0.5).sum())
                if pixels:
                    visible[k][i] = pixels
        if clip.light is not None:
            gain, gamma = clip.light(t)
            if gamma != 1.0:
                picture = 255.0 * np.power(picture / 255.0, gamma)
            picture = picture * gain
        if clip.rain:
            picture += _rain(rng, W, H, clip.rain)[..., None] * 0.8
        if noise is not None:
            field_ = noise[int(rng.integers(NOISE_BANK))]
            field_ = np.roll(field_, (int(rng.integers(H)), int(rng.integers(W))), axis=(0, 1))
            picture += clip.noise * field_
        emit(np.clip(picture, 0, 255).astype(np.uint8))
    return visible


# --------------------------------------------------------------------------------------------
# Writing clips
# --------------------------------------------------------------------------------------------


class _Writer:
    """H.264 through ffmpeg (single-threaded, deterministic) when present, else OpenCV mp4v."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        self.proc: subprocess.Popen | None = None
        self.cv: cv2.VideoWriter | None = None
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg:
            self.codec = "h264"
            cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s",
                   f"{width}x{height}", "-r", f"{fps:g}", "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
                   "-crf", "23", "-g", str(int(2 * fps)), "-pix_fmt", "yuv420p", "-threads", "1",
                   "-x264-params", "threads=1", "-movflags", "+faststart", str(path)]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        else:
            self.codec = "mp4v"
            self.cv = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
            if not self.cv.isOpened():
                raise RuntimeError(f"cannot write {path}")

    def write(self, frame: np.ndarray) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(frame.tobytes())
        else:
            assert self.cv is not None
            self.cv.write(frame)

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            if self.proc.wait() != 0:
                raise RuntimeError(f"ffmpeg failed writing {self.path}")
        if self.cv is not None:
            self.cv.release()


def _intervals(frames: Sequence[int]) -> list[list[int]]:
    """Sorted frame numbers -> inclusive [start, end] runs."""
    runs: list[list[int]] = []
    for f in sorted(frames):
        if runs and f == runs[-1][1] + 1:
            runs[-1][1] = f
        else:
            runs.append([f, f])
    return runs


def truth_for(clip: Clip, visible: list[dict], footage: Footage) -> dict:
    """Ground truth from what was drawn: walker visibility (motion) and cuts / knocks (scene_change)."""
    events: list[tuple[list[int], str]] = []
    # a walker moves all the time it is drawn, so its event runs from first to last frame in view
    # (jitter can hide it for a frame at the picture's edge; that is not a gap in the truth)
    spans = [set(range(min(v), max(v) + 1)) for v in visible if v]
    for run in _intervals(sorted(set().union(*spans)) if spans else []):
        events.append((run, "motion"))
    for cut in clip.cuts:
        events.append(([cut, cut], "scene_change"))
    if clip.knock:
        events.append(([clip.knock.frame, clip.knock.frame + clip.knock.frames - 1], "scene_change"))
    events.sort(key=lambda e: e[0][0])
    walkers = []
    for w, v in zip(clip.walkers, visible, strict=True):
        if v:
            walkers.append({"first_visible": min(v), "last_visible": max(v), "speed": w.speed,
                            "area_fraction": round(float(np.median(list(v.values()))) / (clip.width * clip.height), 5)})
    return {
        "events": [e for e, _ in events],
        "kinds": [k for _, k in events],
        "lighting": list(clip.lighting),
        "fps": clip.fps,
        "frames": clip.frames,
        "width": clip.width,
        "height": clip.height,
        "description": clip.description,
        "footage": footage.kind,
        "walkers": walkers,
        "generator_version": GENERATOR_VERSION,
    }


def write_clip(clip: Clip, footage: Footage, out: Path) -> Path:
    """Render, encode and verify one clip; write its truth JSON last (its presence marks a complete clip)."""
    out.mkdir(parents=True, exist_ok=True)
    video = out / f"{clip.name}.mp4"
    truth_path = out / f"{clip.name}.json"
    truth_path.unlink(missing_ok=True)
    writer = _Writer(video, clip.width, clip.height, clip.fps)
    try:
        visible = render(clip, footage, writer.write)
    finally:
        writer.close()
    capture = cv2.VideoCapture(str(video))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    if count != clip.frames:
        raise RuntimeError(f"{video}: decoded {count} frames, wrote {clip.frames}")
    truth = truth_for(clip, visible, footage)
    truth["codec"] = writer.codec
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
    return video


# --------------------------------------------------------------------------------------------
# The clips
# --------------------------------------------------------------------------------------------


def shake_bursts(bursts: Sequence[tuple[float, float]], amplitude: float):
    """Camera still except in gusts, when it jumps randomly by up to ``amplitude`` px every frame."""
    def make(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        prev = np.zeros(2, np.float32)
        for i in range(n):
            t = i / fps
            if any(a <= t < b for a, b in bursts):
                prev = 0.4 * prev + 0.6 * rng.uniform(-amplitude, amplitude, 2)
            else:
                prev = 0.5 * prev  # settles back within a few frames
            out[i] = prev
        return out
    return make


def jitter(amplitude: float):
    """Sustained jitter: a fresh random offset of up to ``amplitude`` px every frame."""
    def make(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
        return rng.uniform(-amplitude, amplitude, (n, 2)).astype(np.float32)
    return make


def ramp(t0: float, t1: float, g0: float, g1: float, gamma: float = 1.0):
    """Brightness gain going linearly from g0 to g1 between t0 and t1 seconds."""
    def light(t: float) -> tuple[float, float]:
        k = min(1.0, max(0.0, (t - t0) / (t1 - t0)))
        return g0 + k * (g1 - g0), gamma
    return light


def steps(changes: Sequence[tuple[float, float, float]], g0: float, gamma0: float = 1.0):
    """Sudden light changes: at each (seconds, gain, gamma) the light jumps to that setting."""
    def light(t: float) -> tuple[float, float]:
        gain, gamma = g0, gamma0
        for at, g, gm in changes:
            if t >= at - 1e-9:
                gain, gamma = g, gm
        return gain, gamma
    return light


# Paths (feet, in plate-relative coordinates; the picture shows about u 0.08..0.92, v 0.08..0.92)
PAVEMENT_LR = [(-0.04, 0.39), (0.45, 0.47), (0.75, 0.62), (1.05, 0.80)]
PAVEMENT_RL = [(1.05, 0.55), (0.62, 0.47), (0.30, 0.42), (-0.05, 0.38)]
CORNER_LB = [(-0.04, 0.40), (0.18, 0.55), (0.26, 1.20)]
CORNER_RT = [(1.05, 0.60), (0.80, 0.45), (0.78, 0.20), (0.82, 0.02)]
FAR_ROAD = [(1.04, 0.24), (0.80, 0.26), (0.45, 0.25), (0.10, 0.22)]


def clips() -> list[Clip]:
    """The benchmark suite, in a fixed order."""
    return [
        Clip("quiet_noise", "Empty scene, sensor noise only (sigma 3). Any event is false.",
             fps=20, seconds=12, seed=1, noise=3.0),
        Clip("slow_dimming", "Empty scene; global brightness falls from 100% to 35% between 2 s and 14 s "
             "(clouds, dusk). No events.", fps=20, seconds=16, seed=2, light=ramp(2, 14, 1.0, 0.35)),
        Clip("light_switch", "Empty scene lit at 45%; a light switches on at frame 75 (gain 0.45 -> 1.0) and off "
             "at frame 150. No motion; the switches are listed under 'lighting'.", fps=15, seconds=14, seed=3,
             light=steps([(5.0, 1.0, 1.0), (10.0, 0.45, 1.0)], 0.45), lighting=[75, 150]),
        Clip("light_switch_gamma", "Empty scene; at frame 100 exposure jumps down with a gamma change (gain 1.0 -> "
             "0.6, gamma 1.0 -> 1.3, as auto-exposure or an IR switch does) and back at frame 200. No motion.",
             fps=25, seconds=12, seed=4, light=steps([(4.0, 0.6, 1.3), (8.0, 1.0, 1.0)], 1.0),
             lighting=[100, 200]),
        Clip("shake_bursts", "Empty scene; the camera shakes on its pole in three gusts (random jumps of up to "
             "4 px every frame at 3-5 s, 8-9 s and 12-13.5 s). No events.", fps=20, seconds=15, seed=5,
             shake=shake_bursts([(3, 5), (8, 9), (12, 13.5)], 4.0)),
        Clip("shake_jitter", "Empty scene; sustained camera jitter of up to 1.5 px in x and y every frame. "
             "No events.", fps=25, seconds=12, seed=6, shake=jitter(1.5)),
        Clip("rain", "Empty scene in heavy rain: ~350 thin bright streaks per frame and a few large blurred "
             "drops near the lens. No events.", fps=20, seconds=12, seed=7, rain=350),
        Clip("swaying_foliage", "Empty scene with a leafy crown (real tree texture) on the grass, about 8% of the "
             "picture, swaying up to ~4 px with a 2.2 s period plus leaf flutter. No events.", fps=15, seconds=16,
             seed=8, foliage=Foliage((0.06, 0.50, 0.34, 0.92), 3.5, 2.2)),
        Clip("low_light_noise", "Dark scene (gain 0.22, gamma 1.2) with heavy sensor noise (sigma 13) and H.264 "
             "compression. No events.", fps=15, seconds=12, seed=9, noise=13.0,
             light=lambda t: (0.22, 1.2)),
        Clip("slow_walker", "A small person (~0.5% of the picture) enters from the left at 3 s, walks at 0.6 px/frame "
             "and is still walking slowly when the clip ends.", fps=20, seconds=18, seed=10,
             walkers=[Walker(0, 60, PAVEMENT_LR, 0.6, 0.006)]),
        Clip("distant_walker", "A distant person (~0.3% of a 640x480 picture) walks in from the right along the "
             "far road at 2 s, walks at 1 px/frame and is still walking at the end.", width=640, height=480, fps=20,
             seconds=16, seed=11, walkers=[Walker(1, 40, FAR_ROAD, 1.0, 0.003)]),
        Clip("walker_shake", "Sustained camera jitter (up to 1.5 px) throughout; a person (~0.7%) enters from the "
             "left at 3 s, walks at 2 px/frame and leaves at the bottom; then jitter only.", fps=15, seconds=20,
             seed=12, shake=jitter(1.5), walkers=[Walker(0, 45, CORNER_LB, 2.0, 0.007)]),
        Clip("walker_rain", "Heavy rain throughout; a person (~0.6%) enters from the right at 3 s, walks at "
             "2 px/frame and leaves at the top of the picture.", fps=15, seconds=20, seed=13, rain=350,
             walkers=[Walker(2, 45, CORNER_RT, 2.0, 0.007)]),
        Clip("walker_dimming", "Brightness falls from 100% to 35% over 2-18 s; a small person (~0.5%) enters from "
             "the left at 0.9 px/frame at 4 s and is still walking at the end.", fps=15, seconds=20, seed=14,
             light=ramp(2, 18, 1.0, 0.35), walkers=[Walker(0, 60, PAVEMENT_LR, 0.9, 0.005)]),
        Clip("storm_two_walkers", "Rain, camera jitter (1 px) and dimming (100% -> 60%) together; two people "
             "(~0.7%) cross one after the other.", fps=15, seconds=24, seed=15, rain=250, shake=jitter(1.0),
             light=ramp(0, 24, 1.0, 0.6),
             walkers=[Walker(2, 20, CORNER_LB, 2.2, 0.007), Walker(0, 200, CORNER_RT, 2.2, 0.007)]),
        Clip("hard_cut", "Hard cut from the empty plaza to another scene (building.jpg) at frame 100 and back at "
             "frame 180. Truth: two scene_change events.", fps=20, seconds=12, seed=16, cuts=[100, 180]),
        Clip("camera_knocked", "The camera is knocked at frame 110: over 3 frames it moves by 8% x 6% of the "
             "picture and tilts 2 degrees, and stays there. Truth: one scene_change, no motion.", fps=20,
             seconds=12, seed=17, knock=Knock(110, 3, (0.08, -0.06), 2.0)),
    ]


def clip_names() -> list[str]:
    return [c.name for c in clips()]


def _manifest_ok(out: Path, footage_kind: str | None) -> bool:
    path = out / "manifest.json"
    if not path.is_file():
        return False
    data = json.loads(path.read_text())
    return data.get("version") == GENERATOR_VERSION and (footage_kind is None or data.get("footage") == footage_kind)


def ensure_clips(out: Path = DEFAULT_CACHE, names: Sequence[str] | None = None, force: bool = False) -> list[Path]:
    """Return the clip paths, generating any that are missing, stale or forced. Footage is loaded only if needed."""
    wanted = [c for c in clips() if names is None or c.name in names]
    unknown = set(names or ()) - {c.name for c in clips()}
    if unknown:
        raise SystemExit(f"unknown clip(s): {', '.join(sorted(unknown))}; known: {', '.join(clip_names())}")
    available = "vtest" if find_data_dir() else "synthetic"
    stale = force or not _manifest_ok(out, available)
    todo = [c for c in wanted
            if stale or not (out / f"{c.name}.json").is_file() or not (out / f"{c.name}.mp4").is_file()]
    if todo:
        if stale and out.is_dir():
            for old in out.glob("*.json"):
                old.unlink()
        started = time.perf_counter()
        footage = load_footage()
        log.info("footage: %s (%.1f s to load)", footage.kind, time.perf_counter() - started)
        for clip in todo:
            t0 = time.perf_counter()
            write_clip(clip, footage, out)
            log.info("wrote %s (%d frames, %.1f s)", clip.name, clip.frames, time.perf_counter() - t0)
        (out / "manifest.json").write_text(json.dumps({"version": GENERATOR_VERSION, "footage": footage.kind}) + "\n")
        log.info("generated %d clip(s) in %.1f s into %s", len(todo), time.perf_counter() - started, out)
    return [out / f"{c.name}.mp4" for c in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_CACHE, help="output folder (default: %(default)s)")
    parser.add_argument("--clips", nargs="+", metavar="NAME", help=f"only these: {', '.join(clip_names())}")
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in ensure_clips(args.out, args.clips, args.force):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
