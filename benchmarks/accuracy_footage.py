"""The real footage the accuracy clips are built from: background plate, pedestrians, foliage, cut-to scenes.

Why: clips built from real footage keep the benchmark honest about texture, compression and gait,
which synthetic shapes get wrong. Everything comes from OpenCV's sample data (Debian ``opencv-doc``):

- the **plate** is ``vtest.avi`` with its people removed (per-pixel temporal median of every 6th frame);
- the **walkers** are real pedestrians of ``vtest.avi`` cut out frame by frame (frame minus plate,
  thresholded, cleaned, followed over a few dozen frames, so the gait is real). The development and
  the test split use *different* tracks (different people or the same person at another time), so a
  detector fitted to the development walkers has not seen the test walkers;
- the **foliage** is ``tree.avi`` (a real tree swaying in the wind at 15 fps; only its first 68 frames
  decode, and a hand comes into view from frame ~52, so frames 0-50 are used, played back and forth),
  used as a crown pasted into the scene and as the mask of a dappled shadow; the still crop of its
  first frame is kept for the original swaying-foliage clip;
- the **cut-to scenes** are ``building.jpg`` and frames of ``Megamind.avi``.

When the files are missing, synthetic stand-ins are drawn instead and ``kind`` says ``"synthetic"``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger("accuracy_clips")

DATA_DIRS = (
    "/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data",
    "/usr/share/doc/opencv-doc/examples/data",
)
"""Where OpenCV's sample data is looked for (after $VIDWATCH_OPENCV_DATA)."""

# vtest.avi tracks: (first frame, frames) of pedestrians that stay isolated; found once with _track()
# below and kept fixed so the sprites never change. The test tracks are other stretches of the video;
# the fresh suites' (accuracy_fresh_clips.py) are stretches neither split uses.
VTEST_TRACKS = {
    "dev": ((54, 41), (183, 21), (630, 35)),
    "test": ((684, 41), (255, 20), (204, 14)),
    "fresh": ((282, 18), (519, 21), (738, 14)),
}
MEGAMIND_FRAMES = (60, 120, 170)
"""Frames of Megamind.avi used as cut-to scenes (one per shot: woman at table, man, woman reverse)."""

Image = np.ndarray  # float32 HxWx3 BGR, 0..255
_K5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


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
class TreeVideo:
    """The frames of ``tree.avi`` (uint8 BGR), decoded on first use: only some clips need them."""

    loader: Callable[[], list[np.ndarray]]
    fps: float = 15.0
    _frames: list[np.ndarray] = field(default_factory=list)

    @property
    def frames(self) -> list[np.ndarray]:
        if not self._frames:
            self._frames.extend(self.loader())
        return self._frames

    def at(self, seconds: float, first: int, last: int, rate: float = 1.0) -> np.ndarray:
        """The frame shown ``seconds`` into a clip that plays frames first..last back and forth."""
        if last >= len(self.frames):
            raise ValueError(f"tree.avi has {len(self.frames)} decodable frames; frame {last} asked for")
        span = last - first
        k = int(seconds * self.fps * rate) % (2 * span) if span > 0 else 0
        return self.frames[first + (k if k <= span else 2 * span - k)]


@dataclass
class Footage:
    plate: Image
    walks: dict[str, list[Walk]]
    """Split name -> the pedestrians of that split."""
    foliage: Image
    """A still crop of the tree (the original swaying-foliage clip warps it)."""
    scenes: dict[str, Image]
    """Cut-to scenes by name: ``building`` and ``megamind_<frame>``."""
    tree: TreeVideo
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


def _read_video(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    if not frames:
        raise RuntimeError(f"{path}: no frames decoded")
    return frames


def _megamind_scenes(data: Path) -> dict[str, Image]:
    path = data / "Megamind.avi"
    if not path.is_file():
        return {}
    frames = _read_video(path)
    return {f"megamind_{i}": frames[i].astype(np.float32) for i in MEGAMIND_FRAMES if i < len(frames)}


def load_vtest_footage(data: Path) -> Footage:
    """Plate, pedestrians, foliage and cut-to scenes from OpenCV's sample data."""
    capture = cv2.VideoCapture(str(data / "vtest.avi"))
    wanted = {i for tracks in VTEST_TRACKS.values() for s, n in tracks for i in range(s, s + n)}
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
    walks = {split: [_track(kept, plate, s, n) for s, n in tracks] for split, tracks in VTEST_TRACKS.items()}
    tree_path = data / "tree.avi"
    tree = TreeVideo(lambda: _read_video(tree_path)) if tree_path.is_file() else _synthetic_tree()
    tree_frame = tree.frames[0] if tree_path.is_file() else None
    foliage = tree_frame[30:230, 50:250] if tree_frame is not None else _synthetic_foliage(np.random.default_rng(5))
    building = cv2.imread(str(data / "building.jpg"))
    if building is None:
        building = _synthetic_scene(np.random.default_rng(9), 768, 576, dark=True)
    scenes = {"building": building.astype(np.float32), **_megamind_scenes(data)}
    for i in MEGAMIND_FRAMES:  # Megamind.avi missing: dark synthetic scenes in their place
        scenes.setdefault(f"megamind_{i}", _synthetic_scene(np.random.default_rng(i), 720, 528, dark=True))
    return Footage(plate.astype(np.float32), walks, foliage.astype(np.float32), scenes, tree, "vtest")


# --------------------------------------------------------------------------------------------
# Synthetic stand-ins (when OpenCV's sample data is missing)
# --------------------------------------------------------------------------------------------


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


def _synthetic_foliage(rng: np.random.Generator, size: tuple[int, int] = (200, 200)) -> Image:
    """Leaf-like texture: many small overlapping green ellipses on a dark green ground."""
    w, h = size
    img = np.zeros((h, w, 3), np.float32)
    img[:] = (30, 70, 40)
    for _ in range(int(900 * w * h / 40000)):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(2, 7)), int(rng.integers(1, 4)))
        g = float(rng.uniform(80, 220))
        cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360, (g * 0.4, g, g * 0.55), -1)
    return img


def _synthetic_tree() -> TreeVideo:
    """A leafy texture against a bright sky, swaying: a stand-in for tree.avi."""
    def frames() -> list[np.ndarray]:
        rng = np.random.default_rng(77)
        leaves = _synthetic_foliage(rng, (320, 240))
        yy, xx = np.mgrid[0:240, 0:320].astype(np.float32)
        sky = cv2.GaussianBlur((rng.uniform(0, 1, (240, 320)) > 0.75).astype(np.float32), (0, 0), 6) > 0.3
        leaves[sky] = 235.0
        phase = cv2.GaussianBlur(rng.uniform(0, 2 * math.pi, (240, 320)).astype(np.float32), (0, 0), 5) * 10
        out = []
        for i in range(68):
            t = i / 15.0
            sway = 4.0 * math.sin(2 * math.pi * t / 2.7) * (240 - yy) / 240
            flutter = 0.9 * np.sin(2 * math.pi * t / 0.8 + phase)
            frame = cv2.remap(leaves, xx - sway - flutter, yy - 0.3 * flutter, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)
            out.append(np.clip(frame, 0, 255).astype(np.uint8))
        return out
    return TreeVideo(frames)


def load_synthetic_footage() -> Footage:
    rng = np.random.default_rng(1234)
    plate = _synthetic_scene(rng, 768, 576)
    dev = [_synthetic_walk(rng, s) for s in (35.0, 60.0, 45.0)]
    foliage = _synthetic_foliage(rng)
    building = _synthetic_scene(rng, 768, 576, dark=True)
    other = np.random.default_rng(4321)
    test = [_synthetic_walk(other, s) for s in (50.0, 30.0, 70.0)]
    fresh = [_synthetic_walk(np.random.default_rng(2468), s) for s in (40.0, 65.0, 25.0)]
    scenes = {"building": building,
              **{f"megamind_{i}": _synthetic_scene(other, 720, 528, dark=True) for i in MEGAMIND_FRAMES}}
    return Footage(plate, {"dev": dev, "test": test, "fresh": fresh}, foliage, scenes, _synthetic_tree(), "synthetic")


def load_footage() -> Footage:
    data = find_data_dir()
    if data is None:
        log.warning("OpenCV sample data (vtest.avi) not found: using SYNTHETIC scenes and walkers. For the real "
                    "footage: apt-get download opencv-doc && dpkg -x opencv-doc_*.deb /tmp/ocvdoc "
                    "(or set VIDWATCH_OPENCV_DATA to the folder holding vtest.avi)")
        return load_synthetic_footage()
    return load_vtest_footage(data)
