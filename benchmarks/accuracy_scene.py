"""What an accuracy clip contains: people, the camera, the light and the weather, as plain data.

Why: a clip is described once, here, and both the renderer and the truth are derived from that one
description, so the truth can never drift from what is drawn. The clip lists
(``accuracy_dev_clips.py``, ``accuracy_test_clips.py``) are written in these terms.

Coordinates: walker paths are the feet's positions in units of the world image's *width* (the world
is ``margin`` times the picture; at 4:3 and the default margin the picture shows u 0.08..0.92,
v 0.06..0.69). Boxes of foliage are fractions of the world's width and height; picture-space effects
(shadows, headlights, flyers) use fractions of the picture's width and height.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

MARGIN = 1.2
"""The world image is this much larger than the picture, so the camera can shake and be knocked."""

LightFn = Callable[[float], tuple[float, float]]
"""Seconds -> (gain, gamma) of the whole picture."""
ShakeFn = Callable[[np.random.Generator, int, float], np.ndarray]
"""(rng, frames, fps) -> per-frame camera offsets in picture pixels, shape (frames, 2)."""


@dataclass
class Walker:
    """One pedestrian following a polyline path at a fixed speed, optionally standing still a while."""

    walk: int  # index into the split's pedestrians (Footage.walks[split])
    enter: int  # frame at which it first comes into the (unshaken) picture
    path: Sequence[tuple[float, float]]
    speed: float  # picture pixels per frame
    area: float  # target mask area as a fraction of the picture
    stand: tuple[int, int] | None = None
    """(frame, frames): stands still from this frame for this many frames (a loiterer), then walks on."""


@dataclass
class Foliage:
    """A still crop of leaves (world-fraction box) warped to sway about its base, with leaf flutter."""

    box: tuple[float, float, float, float]  # u0, v0, u1, v1
    amplitude: float  # picture pixels at the top of the crown
    period: float  # seconds per sway


@dataclass
class TreeFoliage:
    """Real swaying foliage: a crop of tree.avi played back and forth, pasted as a crown into the world."""

    box: tuple[float, float, float, float]  # u0, v0, u1, v1 of the world (fractions of width, height)
    crop: tuple[int, int, int, int]  # x0, y0, x1, y1 in tree.avi pixels
    frames: tuple[int, int]  # first, last tree.avi frame played
    rate: float = 1.0  # playback speed (1 = real time)


@dataclass
class Knock:
    frame: int
    frames: int  # the move takes this many frames
    shift: tuple[float, float]  # fraction of the picture size
    angle: float  # degrees


@dataclass
class Pan:
    """The camera pans smoothly (eased in and out) by ``shift`` of the picture size between two times."""

    start: float  # seconds
    end: float
    shift: tuple[float, float]


@dataclass
class RainStyle:
    """Rain whose look can differ between splits (the original clips use the fixed style of ``rain: int``)."""

    drops: int  # streaks per frame per 480x360 of picture
    slant: float = 0.18  # horizontal run per unit of fall
    length: tuple[float, float] = (6.0, 14.0)  # streak length range, pixels per 480 of width
    brightness: tuple[float, float] = (40.0, 100.0)
    big: tuple[int, int] = (1, 4)  # large blurred drops near the lens per frame


@dataclass
class Snow:
    """Flakes that persist and drift down, and a few large defocused flakes close to the lens."""

    flakes: int  # per 768x576 of picture
    size: tuple[float, float] = (0.7, 2.2)  # radius, pixels
    fall: tuple[float, float] = (0.6, 2.2)  # pixels per frame at 10 fps (scaled with the frame rate)
    drift: float = 1.5  # amplitude of the side-to-side wander, pixels
    wind: float = 0.3  # steady sideways drift, pixels per frame at 10 fps
    near: int = 3  # defocused flakes near the lens in view at a time
    near_size: tuple[float, float] = (14.0, 34.0)  # their radius, pixels
    near_speed: tuple[float, float] = (6.0, 14.0)  # pixels per frame at 10 fps
    haze: float = 0.08  # share of the picture lost to falling snow


@dataclass
class CloudShadows:
    """Soft, large cloud shadows drifting across the ground: the light multiplied by 1 - depth * cover."""

    scale: float  # typical size of a cloud, pixels
    depth: float  # how much light a full shadow takes away
    velocity: tuple[float, float]  # pixels per frame
    coverage: float = 0.45  # share of the sky covered
    softness: float = 0.35  # width of the shadow's edge, as a share of the cloud size


@dataclass
class DappledShadow:
    """A tree's dappled shadow at the edge of the picture: tree.avi's leaves as a moving shadow mask."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1 of the picture (fractions)
    crop: tuple[int, int, int, int]  # x0, y0, x1, y1 in tree.avi pixels
    frames: tuple[int, int]  # tree.avi frames played back and forth
    depth: float = 0.45
    sway: float = 6.0  # extra side-to-side movement of the whole shadow, pixels
    period: float = 5.0  # seconds per sway
    fade: str = "left"  # the side it is cast from (dark there, fading toward the picture's inside)


@dataclass
class Sweep:
    """A car's headlight cone sweeping the ground from a point at (or beyond) the picture's edge."""

    start: float  # seconds
    duration: float
    apex: tuple[float, float]  # fractions of the picture (may lie outside it)
    angles: tuple[float, float]  # degrees (image axes: 0 = right, 90 = down) at start and end
    spread: float = 12.0  # half-width of the cone, degrees
    reach: float = 0.6  # distance over which the light falls off, fraction of the picture width
    strength: float = 2.0  # peak added light, times the scene's own


@dataclass
class Flyer:
    """A bird or an insect crossing the picture in a few frames (never an event)."""

    frame: int
    frames: int
    start: tuple[float, float]  # fractions of the picture (may lie outside it)
    end: tuple[float, float]
    size: float  # pixels
    kind: str = "bird"  # "bird": small, dark, sharp; "insect": near the lens, large, blurred


@dataclass
class Clip:
    """Everything needed to render one clip and state its truth."""

    name: str
    description: str
    category: str = ""
    """The nuisance or target this clip measures (the benchmark reports per category)."""
    split: str = "dev"
    width: int = 480
    height: int = 360
    fps: float = 20.0
    seconds: float = 12.0
    seed: int = 0
    noise: float = 2.5
    noise_bank: int = 48
    """Pre-drawn noise fields, picked and rolled at random: fresh-looking noise at low cost."""
    light: LightFn | None = None
    lighting: list[int | tuple[int, int]] = field(default_factory=list)
    """Truth frames (or spans) of sudden global light changes."""
    mono: list[tuple[float, float]] = field(default_factory=list)
    """Seconds during which the camera is in its grey infrared mode."""
    tint: tuple[float, float, float] | None = None  # B, G, R gains (dusk light)
    shake: ShakeFn | None = None
    knock: Knock | None = None
    pan: Pan | None = None
    margin: float = MARGIN
    cuts: list[int] = field(default_factory=list)
    cut_scenes: list[str] = field(default_factory=list)
    """The scene shown after each cut ("plate" or a Footage.scenes name); empty: plate/building alternate."""
    walkers: list[Walker] = field(default_factory=list)
    foliage: Foliage | None = None
    tree: TreeFoliage | None = None
    rain: int | RainStyle = 0  # an int: drops per frame per 480x360 picture, in the original style
    snow: Snow | None = None
    clouds: CloudShadows | None = None
    dapple: DappledShadow | None = None
    headlights: list[Sweep] = field(default_factory=list)
    flyers: list[Flyer] = field(default_factory=list)
    allow_scene_change: list[tuple[int, int]] = field(default_factory=list)
    """Frames where a scene_change may be reported but need not be (truth "ignore" for that kind)."""

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))


# --------------------------------------------------------------------------------------------
# Camera motion and light over time
# --------------------------------------------------------------------------------------------


def shake_bursts(bursts: Sequence[tuple[float, float]], amplitude: float) -> ShakeFn:
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


def jitter(amplitude: float) -> ShakeFn:
    """Sustained jitter: a fresh random offset of up to ``amplitude`` px every frame."""
    def make(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
        return rng.uniform(-amplitude, amplitude, (n, 2)).astype(np.float32)
    return make


def sway(amplitude: float, period: float, noise: float = 0.0) -> ShakeFn:
    """A pole swaying in the wind: a smooth oscillation of ``amplitude`` px, plus optional jitter."""
    def make(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
        t = np.arange(n, dtype=np.float32) / fps
        phase = float(rng.uniform(0, 2 * math.pi))
        x = amplitude * np.sin(2 * math.pi * t / period + phase)
        y = 0.4 * amplitude * np.sin(2 * math.pi * t / (period * 1.37) + 2 * phase)
        out = np.stack([x, y], axis=1).astype(np.float32)
        return out + rng.uniform(-noise, noise, (n, 2)).astype(np.float32) if noise else out
    return make


def ramp(t0: float, t1: float, g0: float, g1: float, gamma: float = 1.0) -> LightFn:
    """Brightness gain going linearly from g0 to g1 between t0 and t1 seconds."""
    def light(t: float) -> tuple[float, float]:
        k = min(1.0, max(0.0, (t - t0) / (t1 - t0)))
        return g0 + k * (g1 - g0), gamma
    return light


def steps(changes: Sequence[tuple[float, float, float]], g0: float, gamma0: float = 1.0) -> LightFn:
    """Sudden light changes: at each (seconds, gain, gamma) the light jumps to that setting."""
    def light(t: float) -> tuple[float, float]:
        gain, gamma = g0, gamma0
        for at, g, gm in changes:
            if t >= at - 1e-9:
                gain, gamma = g, gm
        return gain, gamma
    return light


def constant(gain: float, gamma: float = 1.0) -> LightFn:
    def light(t: float) -> tuple[float, float]:
        return gain, gamma
    return light


def pumping(seed: int, seconds: float, low: float, high: float, every: tuple[float, float],
            settle: float, base: float = 1.0) -> LightFn:
    """Auto-exposure hunting: the gain moves to a new random level every few seconds, eased over ``settle`` s."""
    rng = np.random.default_rng(seed)
    times, levels = [0.0], [1.0]
    while times[-1] < seconds:
        times.append(times[-1] + float(rng.uniform(*every)))
        levels.append(float(rng.uniform(low, high)))

    def light(t: float) -> tuple[float, float]:
        i = max(0, int(np.searchsorted(times, t, side="right")) - 1)
        k = min(1.0, (t - times[i]) / settle) if i > 0 else 1.0
        k = k * k * (3 - 2 * k)
        previous = levels[i - 1] if i > 0 else levels[0]
        return base * (previous + k * (levels[i] - previous)), 1.0
    return light
