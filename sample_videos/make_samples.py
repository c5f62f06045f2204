"""Deterministic generator of small synthetic test clips with ground truth.

Why this exists: vidwatch's tests and README demo need short videos whose
events (an object moving through, a hard scene cut) are known exactly, without
committing opaque footage of unknown provenance.  Every clip is built here
from fixed numpy seeds using only numpy + OpenCV, and its ground truth is
derived from the same geometry that draws it (never typed by hand), so the
clips can be regenerated and audited at any time.

Each clip ``<name>.mp4`` (320x240, 15 fps, fourcc ``mp4v``) is written next to
``<name>.json``::

    {"events": [[start_frame, end_frame], ...],   # inclusive, 0-based
     "kind" | "kinds": ..., "fps": 15.0, "frames": N, "description": "..."}

Usage::

    python sample_videos/make_samples.py [--out DIR]

or, from a test::

    CLIPS["object_enters"](tmp_path)   # -> tmp_path / "object_enters.mp4"

The truth JSON is byte-identical across runs and machines.  The .mp4 bytes are
identical across runs with the same OpenCV/FFmpeg build, but may differ between
builds (encoder version, container metadata).
"""

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

WIDTH = 320
HEIGHT = 240
FPS = 15.0
FOURCC = "mp4v"
# Per-pixel, per-channel Gaussian sensor noise (grey levels), fresh each frame.
NOISE_SIGMA = 3.5
# Soft size budget per file; exceeding it only prints a warning.
MAX_BYTES = 400 * 1024

Frame = np.ndarray  # float32, HxWx3, BGR, nominal range 0..255


# --------------------------------------------------------------------------
# Scenes and sprites
# --------------------------------------------------------------------------


def _checkerboard(h: int, w: int, cell: int, lo: float, hi: float) -> np.ndarray:
    """Return an h x w grey checkerboard (float32) with square cells."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.where(((yy // cell) + (xx // cell)) % 2 == 0, lo, hi).astype(np.float32)


def _scatter_rects(img: Frame, rng: np.random.Generator, n: int,
                   lo: float, hi: float) -> None:
    """Draw n small random filled rectangles (texture for optical flow)."""
    for _ in range(n):
        w, h = (int(v) for v in rng.integers(4, 18, size=2))
        x = int(rng.integers(0, WIDTH - w))
        y = int(rng.integers(0, HEIGHT - h))
        level = rng.uniform(lo, hi)
        tint = rng.uniform(-25.0, 25.0, size=3)
        img[y:y + h, x:x + w] = np.clip(level + tint, 0, 255)


def scene_a(seed: int = 101) -> Frame:
    """Bright-ish indoor-like scene: smooth gradient, panels, checkerboard."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    img = np.empty((HEIGHT, WIDTH, 3), np.float32)
    img[..., 0] = 110 + 0.15 * xx + 0.10 * yy   # B
    img[..., 1] = 120 + 0.20 * xx + 0.05 * yy   # G
    img[..., 2] = 130 + 0.10 * xx + 0.15 * yy   # R
    img[20:90, 20:110] = (205, 210, 215)                       # light panel
    img[30:100, 200:290] = (60, 55, 50)                        # dark cabinet
    img[30:78, 130:178] = _checkerboard(48, 48, 8, 70, 200)[..., None]
    cv2.circle(img, (250, 170), 28, (60, 150, 70), -1)         # green disc
    cv2.rectangle(img, (40, 150), (110, 200), (170, 90, 60), -1)  # blue box
    img[135:140, :] = (80, 85, 90)                             # floor line
    _scatter_rects(img, rng, n=30, lo=60, hi=220)
    return cv2.GaussianBlur(img, (0, 0), 0.8)


def scene_b(seed: int = 202) -> Frame:
    """Dark night-like scene with a bright window: different layout AND
    brightness distribution from :func:`scene_a`."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    img = np.empty((HEIGHT, WIDTH, 3), np.float32)
    img[..., 0] = 70 - 0.10 * xx + 0.05 * yy
    img[..., 1] = 45 - 0.05 * xx + 0.08 * yy
    img[..., 2] = 35 + 0.05 * xx + 0.02 * yy
    img[40:115, 215:300] = (190, 235, 245)                      # lit window
    img[40:115, 255:259] = (40, 40, 40)                         # window frame
    img[75:79, 215:300] = (40, 40, 40)
    for i in range(6):                                          # vertical bars
        x = 20 + 22 * i
        img[20:130, x:x + 8] = (110 + 12 * i, 100, 90)
    cv2.circle(img, (160, 60), 18, (30, 170, 230), -1)         # orange lamp
    cv2.line(img, (0, 239), (319, 150), (150, 150, 150), 3)    # diagonal road edge
    _scatter_rects(img, rng, n=30, lo=10, hi=120)
    return cv2.GaussianBlur(img, (0, 0), 0.8)


def dark_sprite(w: int = 40, h: int = 60, seed: int = 7) -> Frame:
    """Dark, internally patterned 'person-sized' block (for bright scenes)."""
    rng = np.random.default_rng(seed)
    spr = np.full((h, w, 3), (45, 40, 35), np.float32)
    spr[0:14, 10:30] = (120, 150, 190)                 # 'head'
    spr[18::8, :] = (95, 90, 85)                       # horizontal stripes
    spr[20:h, w // 2 - 1:w // 2 + 1] = (15, 15, 15)    # centre seam
    for _ in range(12):                                # random buttons/dots
        y, x = int(rng.integers(16, h - 3)), int(rng.integers(2, w - 3))
        spr[y:y + 3, x:x + 3] = rng.uniform(120, 200)
    return spr


def light_sprite(w: int = 40, h: int = 60, seed: int = 8) -> Frame:
    """Light, internally patterned block (for the dark scene B)."""
    rng = np.random.default_rng(seed)
    spr = np.full((h, w, 3), (185, 200, 210), np.float32)
    spr[0:14, 10:30] = (90, 120, 160)
    spr[:, 6::10] = (110, 110, 120)                    # vertical stripes
    for _ in range(12):
        y, x = int(rng.integers(16, h - 3)), int(rng.integers(2, w - 3))
        spr[y:y + 3, x:x + 3] = rng.uniform(20, 80)
    return spr


# --------------------------------------------------------------------------
# Motion geometry (the single source of truth for drawing AND ground truth)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Track:
    """A sprite moving horizontally at a constant integer speed.

    The top-left x at frame f is ``x_start + vx * (f - start_frame)``.
    """

    sprite: Frame
    start_frame: int
    x_start: int
    y: int
    vx: int

    @property
    def w(self) -> int:
        return int(self.sprite.shape[1])

    @property
    def h(self) -> int:
        return int(self.sprite.shape[0])

    def x_at(self, frame: int) -> int:
        """Top-left x of the sprite at ``frame``."""
        return self.x_start + self.vx * (frame - self.start_frame)

    def visible(self, frame: int) -> bool:
        """True if any pixel of the sprite lies inside the frame."""
        x = self.x_at(frame)
        return (x < WIDTH and x + self.w > 0
                and self.y < HEIGHT and self.y + self.h > 0)

    def span(self, n_frames: int) -> tuple[int, int]:
        """Inclusive [first, last] frame in which any part is visible."""
        frames = [f for f in range(n_frames) if self.visible(f)]
        if not frames:
            raise ValueError("track is never visible")
        return frames[0], frames[-1]


def enter_from_left(sprite: Frame, frame: int, y: int, speed: int) -> Track:
    """Track whose first ``speed`` columns appear at the left edge at ``frame``."""
    return Track(sprite, frame, speed - sprite.shape[1], y, speed)


def enter_from_right(sprite: Frame, frame: int, y: int, speed: int) -> Track:
    """Track whose first ``speed`` columns appear at the right edge at ``frame``."""
    return Track(sprite, frame, WIDTH - speed, y, -speed)


def _paste(img: Frame, spr: Frame, x: int, y: int) -> None:
    """Copy ``spr`` into ``img`` with top-left (x, y), clipped to the frame."""
    h, w = spr.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, WIDTH), min(y + h, HEIGHT)
    if x0 < x1 and y0 < y1:
        img[y0:y1, x0:x1] = spr[y0 - y:y1 - y, x0 - x:x1 - x]


# --------------------------------------------------------------------------
# Rendering, truth and verification
# --------------------------------------------------------------------------


def render(path: Path, n_frames: int, background: Callable[[int], Frame],
           tracks: list[Track], seed: int) -> Path:
    """Write ``n_frames`` of background + moving sprites + fresh sensor noise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC),
                             FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError(f"cv2.VideoWriter could not open {path}")
    rng = np.random.default_rng(seed)
    try:
        for f in range(n_frames):
            img = background(f).copy()
            for t in tracks:
                if t.visible(f):
                    _paste(img, t.sprite, t.x_at(f), t.y)
            img += rng.normal(0.0, NOISE_SIGMA, img.shape).astype(np.float32)
            writer.write(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    finally:
        writer.release()
    return path


def write_truth(video: Path, truth: dict) -> Path:
    """Write ``truth`` as ``<video stem>.json`` (stable formatting)."""
    out = video.with_suffix(".json")
    out.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return out


def verify_clip(path: Path, expected_frames: int) -> int:
    """Read the clip back with cv2.VideoCapture; raise unless the decoded
    frame count and frame size match. Returns the frame count."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise RuntimeError(f"cv2.VideoCapture could not open {path}")
    n = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if frame.shape != (HEIGHT, WIDTH, 3):
                raise RuntimeError(f"{path}: frame {n} has shape {frame.shape}")
            n += 1
    finally:
        cap.release()
    if n != expected_frames:
        raise RuntimeError(f"{path}: decoded {n} frames, expected {expected_frames}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        print(f"warning: {path.name} is {size} bytes (> {MAX_BYTES})",
              file=sys.stderr)
    return n


def _finish(video: Path, n_frames: int, truth: dict) -> Path:
    """Verify the written clip and add the common truth keys."""
    verify_clip(video, n_frames)
    write_truth(video, {**truth, "fps": FPS, "frames": n_frames})
    return video


# --------------------------------------------------------------------------
# Clips
# --------------------------------------------------------------------------


def make_quiet_noise(out_dir: Path) -> Path:
    """150 frames of the static scene A plus sensor noise; no events."""
    n = 150
    bg = scene_a()
    video = render(Path(out_dir) / "quiet_noise.mp4", n, lambda f: bg, [], seed=1)
    return _finish(video, n, {
        "events": [],
        "description": "Static textured scene with per-frame Gaussian sensor "
                       "noise only; any detection is a false positive.",
    })


def make_object_enters(out_dir: Path) -> Path:
    """180 frames: a dark 40x60 block crosses scene A left->right at 4 px/frame
    starting at frame 40."""
    n = 180
    bg = scene_a()
    track = enter_from_left(dark_sprite(), frame=40, y=150, speed=4)
    video = render(Path(out_dir) / "object_enters.mp4", n, lambda f: bg,
                   [track], seed=2)
    s, e = track.span(n)
    assert n - 1 - e >= 30, "need >= 30 quiet frames after the object leaves"
    return _finish(video, n, {
        "events": [[s, e]],
        "kind": "motion",
        "description": f"Dark 40x60 patterned block enters from the left edge at "
                       f"frame {s}, moves right at 4 px/frame and is last "
                       f"visible at frame {e}; static noisy scene otherwise.",
    })


def make_hard_cut(out_dir: Path) -> Path:
    """150 frames: static scene A for 0..74, hard cut to scene B at 75."""
    n, cut = 150, 75
    a, b = scene_a(), scene_b()
    video = render(Path(out_dir) / "hard_cut.mp4", n,
                   lambda f: a if f < cut else b, [], seed=3)
    return _finish(video, n, {
        "events": [[cut, cut]],
        "kind": "scene_change",
        "description": f"Static scene A (bright) for frames 0..{cut - 1}, then a "
                       f"hard cut at frame {cut} to static scene B (dark, "
                       f"different layout); sensor noise throughout.",
    })


def make_walk_and_cut(out_dir: Path) -> Path:
    """300 frames: object crosses scene A, hard cut to scene B at 150,
    another object crosses scene B right->left (README demo clip)."""
    n, cut = 300, 150
    a, b = scene_a(), scene_b()
    t1 = enter_from_left(dark_sprite(), frame=30, y=150, speed=4)
    t2 = enter_from_right(light_sprite(), frame=185, y=160, speed=5)
    s1, e1 = t1.span(n)
    s2, e2 = t2.span(n)
    # Each object must stay within its own scene.
    assert e1 < cut and all(not t1.visible(f) for f in range(cut, n))
    assert s2 > cut and all(not t2.visible(f) for f in range(cut))
    video = render(Path(out_dir) / "walk_and_cut.mp4", n,
                   lambda f: a if f < cut else b, [t1, t2], seed=4)
    return _finish(video, n, {
        "events": [[s1, e1], [cut, cut], [s2, e2]],
        "kinds": ["motion", "scene_change", "motion"],
        "description": f"Dark block walks left->right across scene A "
                       f"(frames {s1}..{e1}); hard cut to scene B at frame "
                       f"{cut}; light block crosses scene B right->left "
                       f"(frames {s2}..{e2}).",
    })


CLIPS: dict[str, Callable[[Path], Path]] = {
    "quiet_noise": make_quiet_noise,
    "object_enters": make_object_enters,
    "hard_cut": make_hard_cut,
    "walk_and_cut": make_walk_and_cut,
}


def make_all(out_dir: Path) -> list[Path]:
    """Generate every clip in ``CLIPS`` into ``out_dir``; return the .mp4 paths
    (each truth file is ``path.with_suffix('.json')``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [make(out_dir) for make in CLIPS.values()]


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="output directory (default: this script's folder)")
    args = parser.parse_args(argv)
    for video in make_all(args.out):
        truth = json.loads(video.with_suffix(".json").read_text(encoding="utf-8"))
        print(f"{video}  {video.stat().st_size / 1024:.0f} KB  "
              f"{truth['frames']} frames  events={truth['events']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
