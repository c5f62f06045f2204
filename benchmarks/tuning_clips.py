"""Harder labelled clips for tuning experiments: flickering light, heavier noise, small slow objects.

The bundled sample clips are easy enough that the default config is already perfect on them, so they
cannot show what tuning buys. These clips vary the conditions that make a fixed threshold wrong and
keep exact truth: it comes from the same track geometry that draws the objects (see
``sample_videos/make_samples.py``, whose scenes, sprites and tracks are reused).

    python benchmarks/tuning_clips.py --out /tmp/tuning_clips     # writes NAME.mp4 + NAME.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sample_videos"))
import make_samples as ms  # noqa: E402


@dataclass(frozen=True)
class Conditions:
    """What makes one clip hard."""

    seed: int
    noise: float = 3.5
    """Gaussian sensor noise sigma (grey levels)."""
    flicker: float = 0.0
    """Size of sudden global brightness steps (a fraction of the brightness), every 8 to 20 frames."""
    contrast: float = 1.0
    """How much of the object shows over the scene (1 = opaque, 0.2 = faint)."""
    scale: float = 1.0
    """Sprite size relative to the 40x60 sample sprite."""
    speed: int = 4
    frames: int = 240


def _sprite(seed: int, scale: float) -> np.ndarray:
    spr = ms.dark_sprite(seed=seed)
    w, h = max(8, round(40 * scale)), max(12, round(60 * scale))
    return cv2.resize(spr, (w, h), interpolation=cv2.INTER_AREA)


def make_clip(out_dir: Path, name: str, c: Conditions) -> Path:
    """Scene A, two objects crossing it at known frames, under the given noise and flicker."""
    rng = np.random.default_rng(c.seed)
    bg = ms.scene_a(seed=100 + c.seed)
    spr = _sprite(c.seed, c.scale)
    first = int(rng.integers(20, 40))
    t1 = ms.enter_from_left(spr, frame=first, y=int(rng.integers(120, 170)), speed=c.speed)
    s1, e1 = t1.span(c.frames)
    second = e1 + int(rng.integers(30, 50))
    t2 = ms.enter_from_right(spr, frame=second, y=int(rng.integers(40, 100)), speed=c.speed)
    tracks = [t1, t2]

    h, w = spr.shape[:2]  # both tracks carry this sprite
    padded = cv2.copyMakeBorder(bg, h, h, w, w, cv2.BORDER_REPLICATE)

    def bg_at(t: ms.Track, f: int) -> np.ndarray:
        """The scene under the sprite, padded where the sprite hangs over the edge."""
        x, y = t.x_at(f) + t.w, t.y + t.h
        return padded[y:y + t.h, x:x + t.w]

    spans = [t.span(c.frames) for t in tracks if any(t.visible(f) for f in range(c.frames))]
    gains, gain, next_step = [], 1.0, 0
    for f in range(c.frames):
        if f >= next_step:
            gain = 1.0 + c.flicker * rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.0)
            next_step = f + int(rng.integers(8, 21))
        gains.append(gain)
    path = Path(out_dir) / f"{name}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*ms.FOURCC), ms.FPS, (ms.WIDTH, ms.HEIGHT))
    try:
        for f in range(c.frames):
            img = bg.copy()
            for t in tracks:
                if t.visible(f):
                    ms._paste(img, c.contrast * t.sprite + (1 - c.contrast) * bg_at(t, f), t.x_at(f), t.y)
            img *= gains[f]
            img += rng.normal(0.0, c.noise, img.shape).astype(np.float32)
            writer.write(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    finally:
        writer.release()
    return ms._finish(path, c.frames, {
        "events": [list(s) for s in spans], "kind": "motion", "labelled_kinds": ["motion", "scene_change"],
        "description": f"two {spr.shape[1]}x{spr.shape[0]} objects cross scene A at {c.speed} px/frame; "
                       f"noise sigma {c.noise}, flicker {c.flicker:.0%}"})


CLIPS: dict[str, Conditions] = {
    # flickering light: pixel-change detectors at their default thresholds fire on the steps
    "flicker_a": Conditions(seed=1, flicker=0.08),
    "flicker_b": Conditions(seed=2, flicker=0.10, speed=3),
    "flicker_c": Conditions(seed=3, flicker=0.09, scale=0.8),
    # faint, small objects in noisier footage
    "faint_a": Conditions(seed=4, noise=5.0, scale=0.6, contrast=0.25, speed=3),
    "faint_b": Conditions(seed=5, noise=5.5, scale=0.5, contrast=0.2, speed=3),
    "faint_c": Conditions(seed=6, noise=5.0, scale=0.55, contrast=0.22, speed=3),
}


def make_all(out_dir: Path, names: list[str] | None = None) -> list[Path]:
    return [make_clip(out_dir, n, CLIPS[n]) for n in (names or list(CLIPS))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/tuning_clips"))
    args = parser.parse_args(argv)
    for path in make_all(args.out):
        print(path, json.loads(path.with_suffix(".json").read_text())["events"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
