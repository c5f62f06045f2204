"""`vidwatch timelapse`: keeps exactly the frames that differ from the last kept one."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidwatch.cli import main
from vidwatch.errors import UserError
from vidwatch.timelapse import parse_interval

H, W = 240, 320


def scene(seed: int = 5) -> np.ndarray:
    """A textured still scene (features for flow, structure for the histogram)."""
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 120, np.float32)
    for _ in range(40):
        x, y = int(rng.integers(0, W - 20)), int(rng.integers(0, H - 20))
        img[y:y + int(rng.integers(4, 20)), x:x + int(rng.integers(4, 20))] = rng.uniform(40, 220)
    return cv2.GaussianBlur(img, (0, 0), 0.8)


def write_folder(folder: Path, frames: list[np.ndarray], seed: int = 9) -> list[str]:
    """Save frames as PNG with light sensor noise; returns the file names in order."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    names = []
    for i, img in enumerate(frames):
        noisy = np.clip(np.rint(img + rng.normal(0, 2.0, img.shape)), 0, 255).astype(np.uint8)
        name = f"cam-{i + 1}.png"  # natural order: cam-2 before cam-10
        cv2.imwrite(str(folder / name), noisy)
        names.append(name)
    return names


def test_keeps_frames_where_an_object_appears_and_leaves(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    base = scene()
    with_object = base.copy()
    with_object[120:180, 140:190] = (30, 40, 200)
    frames = [base] * 4 + [with_object] * 3 + [base] * 4  # object in 4..6, gone from 7
    names = write_folder(tmp_path / "in", frames)
    out = tmp_path / "out"
    assert main(["-q", "timelapse", str(tmp_path / "in"), str(out)]) == 0
    kept = sorted(p.name for p in out.iterdir())
    assert kept == sorted([names[0], names[4], names[7]])
    # image-folder frames are copied under their own names, byte for byte
    assert (out / names[4]).read_bytes() == (tmp_path / "in" / names[4]).read_bytes()
    assert capsys.readouterr().out.strip().startswith(f"kept 3 of {len(frames)} frames")


def test_compares_with_the_last_kept_frame_not_the_previous_one(tmp_path: Path) -> None:
    """A slow brightening (7 grey levels per image, noise_level 12) is kept every second step."""
    base = scene()
    frames = []
    for step in range(7):
        img = base.copy()
        img[60:180, 80:240] += 7 * step
        frames.append(img)
    names = write_folder(tmp_path / "in", frames)
    config = tmp_path / "diff.yaml"
    config.write_text("detectors:\n  diff: {threshold: 0.01}\n")
    out = tmp_path / "out"
    assert main(["-q", "timelapse", str(tmp_path / "in"), str(out), "-c", str(config)]) == 0
    # consecutive images differ by 7 < 12 (a previous-frame comparison keeps nothing after the
    # first); against the last kept frame the difference reaches 14 every second image
    assert sorted(p.name for p in out.iterdir()) == sorted([names[0], names[2], names[4], names[6]])


def test_video_sampled_every_second(samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["-q", "timelapse", str(samples / "walk_and_cut.mp4"), str(out), "--every", "1s"]) == 0
    kept = sorted(out.iterdir())
    indices = [int(p.name.split("_")[1]) for p in kept]
    # 20 samples (frames 0, 15, ..., 285); quiet samples while nothing changes are dropped:
    # 15 (empty scene A, same as 0), 135 (after the object left), 165/180 (scene B, before the second object)
    assert 0 in indices and 150 in indices
    assert not {15, 135, 165, 180} & set(indices)
    assert all(i % 15 == 0 for i in indices)
    assert cv2.imread(str(kept[0])).shape == (240, 320, 3)
    assert capsys.readouterr().out.startswith(f"kept {len(kept)} of 20 frames")


def test_parse_interval() -> None:
    assert parse_interval("10s") == 10.0
    assert parse_interval("500ms") == 0.5
    assert parse_interval("2m") == 120.0
    assert parse_interval("1.5") == 1.5
    with pytest.raises(UserError):
        parse_interval("soon")
    with pytest.raises(UserError):
        parse_interval("0s")
