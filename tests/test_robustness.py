"""Nuisances that must not raise motion, and the events they should raise instead."""

from __future__ import annotations

import numpy as np
import pytest

from vidwatch.events import LIGHTING, MOTION, SCENE_CHANGE

from .synthetic import noisy, run_events, scene, square_at

N = 120


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_quiet_scene_with_heavy_noise_stays_silent() -> None:
    base = scene(11) * 0.4  # a dark night scene
    rng = np.random.default_rng(0)
    images = [noisy(base, rng, sigma=14.0) for _ in range(N)]
    assert run_events(images) == []


def test_slow_dimming_is_absorbed() -> None:
    base = scene(12)
    rng = np.random.default_rng(1)
    images = [noisy(base * (1.0 - 0.5 * i / N), rng) for i in range(N)]  # half the light over 8 s
    assert run_events(images) == []


def test_light_switch_is_a_lighting_event_not_motion() -> None:
    base = scene(13)
    rng = np.random.default_rng(2)
    images = [noisy(base * (0.5 if i < 60 else 1.0) + (0 if i < 60 else 20), rng) for i in range(N)]
    events = run_events(images)
    assert kinds(events) == [LIGHTING]
    assert events[0].start_frame == 60


def test_camera_shake_is_not_motion() -> None:
    base = scene(14, width=360, height=280)
    rng = np.random.default_rng(3)
    images = []
    for _ in range(N):
        dx, dy = rng.integers(-4, 5, size=2)
        images.append(noisy(base[20 + dy:260 + dy, 20 + dx:340 + dx], rng))
    assert run_events(images) == []


def test_walker_is_found_under_camera_shake() -> None:
    base = scene(15, width=360, height=280)
    rng = np.random.default_rng(4)
    images = []
    for i in range(N):
        dx, dy = rng.integers(-3, 4, size=2)
        frame = base if not 40 <= i <= 90 else square_at(base, 40 + 4 * (i - 40), 120, size=20)
        images.append(noisy(frame[20 + dy:260 + dy, 20 + dx:340 + dx], rng))
    events = run_events(images)
    assert kinds(events) == [MOTION]
    assert 40 <= events[0].start_frame <= 45 and events[0].end_frame >= 90


def test_camera_knocked_to_a_new_position_is_a_scene_change() -> None:
    base = scene(16, width=400, height=300)
    rng = np.random.default_rng(5)
    images = [noisy(base[30:270, 40:360] if i < 60 else base[5:245, 70:390], rng) for i in range(N)]
    events = run_events(images)
    assert SCENE_CHANGE in kinds(events) and MOTION not in kinds(events)
    change = next(e for e in events if e.kind == SCENE_CHANGE)
    assert 60 <= change.start_frame <= 70


def test_rain_is_ignored_and_a_walker_in_rain_is_not() -> None:
    base = scene(17)
    rng = np.random.default_rng(6)

    def rainy(image: np.ndarray) -> np.ndarray:
        out = image.copy()
        ys, xs = rng.integers(0, 236, 150), rng.integers(0, 319, 150)
        for y, x in zip(ys, xs, strict=True):
            out[y:y + 4, x] = 250  # short bright streaks
        return out

    quiet = [noisy(rainy(base), rng) for _ in range(N)]
    assert run_events(quiet) == []
    walker = [noisy(rainy(square_at(base, 20 + 4 * (i - 30), 100, size=22) if 30 <= i <= 90 else base), rng)
              for i in range(N)]
    assert kinds(run_events(walker)) == [MOTION]


def test_swaying_texture_is_ignored() -> None:
    base = scene(18)
    rng = np.random.default_rng(7)
    leaves = rng.integers(40, 200, (70, 90)).astype(np.float32)
    images = []
    for i in range(N * 2):
        frame = base.copy()
        shift = int(round(3 * np.sin(2 * np.pi * i / 20)))  # back and forth every 1.3 s
        frame[30:100, 200 + shift:290 + shift] = leaves
        images.append(noisy(frame, rng))
    events = run_events(images)
    assert MOTION not in kinds(events[1:]) or not [e for e in events if e.kind == MOTION and e.start_frame > 40]


def test_excluded_zone_never_counts() -> None:
    base = scene(19)
    rng = np.random.default_rng(8)
    images = [noisy(square_at(base, 20 + 3 * (i - 30), 30, size=24) if 30 <= i <= 90 else base, rng)
              for i in range(N)]
    assert kinds(run_events(images)) == [MOTION]
    # exclude the top third of the frame, where the square moves
    excluded = run_events(images, "zones.exclude=[[[0, 0], [1, 0], [1, 0.4], [0, 0.4]]]")
    assert excluded == []


def test_alignment_follows_a_shift_of_a_quarter_of_the_picture() -> None:
    import cv2

    from vidwatch.align import Aligner

    rng = np.random.default_rng(0)
    world = cv2.GaussianBlur(rng.integers(0, 255, (600, 800), dtype=np.uint8), (0, 0), 3)
    world = cv2.normalize(world, None, 0, 255, cv2.NORM_MINMAX)
    aligner = Aligner()
    aligner.align(world[200:380, 200:520].copy())
    for shift in (20, 50, 80):  # analysis pixels of a 320-wide picture
        measured = aligner.measure(world[200:380, 200 - shift:520 - shift].copy())
        assert measured is not None and measured.offset[0] == pytest.approx(shift, abs=0.1)
