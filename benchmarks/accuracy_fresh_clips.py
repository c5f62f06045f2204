"""Fresh suites of the accuracy benchmark: every clip drawn at random from a seed, seen by nobody.

Why: the test split is fixed. Each time its figures are read and something is changed, it is a
little less held out; a camera nobody tuned on is what users have. A fresh suite is drawn from a
seed: one clip of every kind the test split has (the same categories, 768x576 and 1080p), with the
pedestrians of neither split (other vtest.avi tracks), and paths, speeds, sizes, timings, light,
weather, foliage crops and every nuisance parameter drawn from ranges that span the dev and test
splits' values. A new seed is a new suite, so "footage nobody tuned it on" can be had again at will:

    python benchmarks/accuracy.py --fresh 1 2 3 --jobs 2

Use a seed to measure, not to tune: a change made because of what one of its clips does makes that
seed a development suite; draw new seeds to judge the change.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
from accuracy_scene import (
    Clip,
    CloudShadows,
    DappledShadow,
    Flyer,
    Knock,
    Pan,
    RainStyle,
    Snow,
    Sweep,
    TreeFoliage,
    Walker,
    constant,
    jitter,
    pumping,
    ramp,
    shake_bursts,
    steps,
    sway,
)

PREFIX = "fresh"
"""A fresh suite's split name is this and its seed: ``fresh7``."""
SPLIT = "fresh"
"""The pedestrians of every fresh suite (``Footage.walks["fresh"]``): tracks neither split uses."""
WALKS = 3
TINT_DUSK = (1.1, 0.93, 0.8)
CUT_SCENES = ("megamind_60", "megamind_120", "megamind_170", "building", "plate")
T = TypeVar("T")


def is_fresh(split: str) -> bool:
    return split.startswith(PREFIX) and split[len(PREFIX):].isdigit()


def seed_of(split: str) -> int:
    if not is_fresh(split):
        raise ValueError(f"not a fresh suite: {split!r} (write fresh<seed>, e.g. fresh1)")
    return int(split[len(PREFIX):])


class _Draw:
    """The random choices of one clip: its own generator, so a kind's clip never depends on another's."""

    def __init__(self, seed: int, kind: str) -> None:
        self.rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
        self.seed = int(self.rng.integers(1, 2**31))

    def u(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def i(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return int(self.rng.integers(low, high + 1))

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.rng.integers(len(options)))]

    def sign(self) -> float:
        return 1.0 if self.rng.random() < 0.5 else -1.0

    def fps(self, options: tuple[float, ...] = (10.0, 12.0, 12.5, 15.0)) -> float:
        return float(self.pick(options))


# --------------------------------------------------------------------------------------------
# Paths: drawn in picture fractions, converted to the world units of accuracy_scene.Walker
# --------------------------------------------------------------------------------------------


def _sprite_height(area: float, width: int, height: int) -> float:
    """A pedestrian's box height as a fraction of the picture height (box about 2.7 high per wide,
    the figure filling about 45 % of it)."""
    return math.sqrt(6.0 * area * width / height)


def _edge_point(d: _Draw, side: str, area: float, width: int, height: int) -> tuple[float, float]:
    """Where the feet are when a walker is just out of the picture on ``side`` (picture fractions)."""
    if side == "left":
        return -0.09, d.u(0.25, 0.95)
    if side == "right":
        return 1.09, d.u(0.25, 0.95)
    if side == "top":
        return d.u(0.15, 0.85), -0.03
    return d.u(0.15, 0.85), 1.04 + 1.3 * _sprite_height(area, width, height)


def _picture_path(d: _Draw, area: float, width: int, height: int,
                  sides: tuple[str, ...] = ("left", "right", "top", "bottom")) -> list[tuple[float, float]]:
    """In at one side, through one or two points of the picture, out at another side."""
    entry = d.pick(sides)
    leave = d.pick([s for s in ("left", "right", "top", "bottom") if s != entry])
    inside = [(d.u(0.15, 0.85), d.u(0.25, 0.9)) for _ in range(d.i(1, 2))]
    return [_edge_point(d, entry, area, width, height), *inside, _edge_point(d, leave, area, width, height)]


def _to_world(path: list[tuple[float, float]], width: int, height: int, margin: float) -> list[tuple[float, float]]:
    """Picture fractions -> the feet's world coordinates (units of the world's width)."""
    aspect = height / width
    return [(0.5 + (x - 0.5) / margin, aspect * (0.5 + (y - 0.5) / margin)) for x, y in path]


def _length_px(path: list[tuple[float, float]], width: int, height: int) -> float:
    return sum(math.hypot((x1 - x0) * width, (y1 - y0) * height)
               for (x0, y0), (x1, y1) in zip(path, path[1:], strict=False))


class _Scene:
    """Builds a clip's walkers, keeping the frames each one needs to cross the picture."""

    def __init__(self, d: _Draw, width: int, height: int, margin: float = 1.2) -> None:
        self.d, self.width, self.height, self.margin = d, width, height, margin

    def walker(self, enter: int, speed: float, area: float, stand_seconds: float = 0.0,
               fps: float = 10.0) -> tuple[Walker, int]:
        """A walker entering at frame ``enter``; also the frame by which it has certainly left."""
        path = _picture_path(self.d, area, self.width, self.height)
        crossing = _length_px(path, self.width, self.height) / speed
        stand = None
        if stand_seconds:
            to_stop = _length_px(path[:2], self.width, self.height) - 0.09 * self.width
            stand = (enter + int(max(0.0, to_stop) / speed), int(round(stand_seconds * fps)))
            crossing += stand[1]
        world = _to_world(path, self.width, self.height, self.margin)
        return Walker(self.d.i(0, WALKS - 1), enter, world, speed, area, stand), enter + int(math.ceil(crossing))


# --------------------------------------------------------------------------------------------
# Nuisances
# --------------------------------------------------------------------------------------------


def _rain(d: _Draw, drops: tuple[int, int] = (250, 550)) -> RainStyle:
    return RainStyle(d.i(*drops), slant=d.u(-0.35, 0.35), length=(d.u(6, 10), d.u(14, 20)),
                     brightness=(d.u(30, 45), d.u(80, 110)), big=(d.i(0, 2), d.i(2, 5)))


def _snow(d: _Draw, flakes: tuple[int, int] = (600, 1400), fine: bool = False, slow_near: bool = False) -> Snow:
    size = (d.u(0.5, 0.7), d.u(1.5, 1.8)) if fine else (d.u(0.6, 0.8), d.u(2.0, 2.8))
    near_speed = (d.u(3.0, 4.5), d.u(7.0, 9.0)) if slow_near else (d.u(5.0, 7.0), d.u(11.0, 14.0))
    return Snow(d.i(*flakes), size=size, fall=(d.u(0.5, 0.8), d.u(1.8, 2.8)), wind=d.u(-0.6, 0.6),
                near=d.i(2, 5), near_size=(d.u(14, 20), d.u(30, 40)), near_speed=near_speed)


def _tree(d: _Draw) -> TreeFoliage:
    """A crown of real foliage (tree.avi) at one side of the world, another crop and time each draw."""
    w, h = d.u(0.22, 0.32), d.u(0.42, 0.55)
    u0 = d.u(0.03, 0.10) if d.sign() > 0 else d.u(0.62, 0.97 - w)
    v0 = d.u(0.05, 0.12) if d.sign() > 0 else d.u(0.40, 0.97 - h)
    cw, ch = d.i(150, 200), d.i(150, 200)
    x0, y0 = d.i(0, 320 - cw), d.i(0, 240 - ch)
    first = d.i(0, 18)
    return TreeFoliage((u0, v0, u0 + w, v0 + h), (x0, y0, x0 + cw, y0 + ch), (first, min(50, first + d.i(28, 34))))


def _dapple(d: _Draw) -> DappledShadow:
    """A tree's dappled shadow along one edge of the picture."""
    side = d.pick(("left", "right", "top", "bottom"))
    box = {"left": (0.0, d.u(0.0, 0.3), d.u(0.28, 0.38), 1.0),
           "right": (d.u(0.6, 0.72), 0.0, 1.0, d.u(0.8, 1.0)),
           "top": (d.u(0.0, 0.2), 0.0, d.u(0.75, 1.0), d.u(0.25, 0.35)),
           "bottom": (0.0, d.u(0.65, 0.78), d.u(0.8, 1.0), 1.0)}[side]
    cw, ch = d.i(180, 220), d.i(170, 210)
    x0, y0 = d.i(0, 320 - cw), d.i(0, 240 - ch)
    first = d.i(0, 20)
    return DappledShadow(box, (x0, y0, x0 + cw, y0 + ch), (first, min(50, first + d.i(28, 35))), depth=d.u(0.45, 0.65),
                         sway=d.u(5.0, 9.0), period=d.u(4.0, 7.0), fade=side)


def _sweep(d: _Draw, start: float) -> Sweep:
    """A headlight cone from a point beyond one edge, turning across the picture."""
    side = d.pick(("left", "right", "top", "bottom"))
    apex = {"left": (d.u(-0.1, -0.03), d.u(0.2, 0.9)), "right": (d.u(1.03, 1.1), d.u(0.2, 0.9)),
            "top": (d.u(0.1, 0.9), d.u(-0.12, -0.05)), "bottom": (d.u(0.1, 0.9), d.u(1.05, 1.15))}[side]
    toward = math.degrees(math.atan2((0.5 - apex[1]) * 3, (0.5 - apex[0]) * 4))
    turn = d.sign() * d.u(40, 70)
    return Sweep(start, d.u(2.5, 4.0), apex, (toward - turn / 2, toward + turn / 2), spread=d.u(9, 14),
                 reach=d.u(0.5, 0.8), strength=d.u(1.6, 2.4))


def _clouds(d: _Draw) -> CloudShadows:
    angle, speed = d.u(0, 2 * math.pi), d.u(0.7, 1.3)
    return CloudShadows(d.u(250, 360), d.u(0.3, 0.45), (speed * math.cos(angle), speed * math.sin(angle)),
                        coverage=d.u(0.4, 0.55), softness=d.u(0.35, 0.55))


def _pumping(d: _Draw, seconds: float) -> Callable[[float], tuple[float, float]]:
    every = d.u(1.2, 3.0)
    return pumping(d.seed, seconds, d.u(0.6, 0.72), d.u(1.2, 1.35), (every, every + d.u(1.2, 2.0)), d.u(0.3, 1.2))


def _flyers(d: _Draw, frames: int) -> list[Flyer]:
    out = []
    birds = d.i(3, 5)
    slots = np.sort(d.rng.choice(np.arange(10, frames - 10, 8), birds + d.i(1, 2), replace=False))
    for k, frame in enumerate(slots):
        if k < birds:
            y0, y1 = d.u(0.05, 0.9), d.u(0.05, 0.9)
            start, end = ((-0.05, y0), (1.05, y1)) if d.sign() > 0 else ((1.05, y0), (-0.05, y1))
            out.append(Flyer(int(frame), d.i(2, 3), start, end, d.u(10, 16)))
        else:
            out.append(Flyer(int(frame), 2, (d.u(0.1, 0.9), -0.05), (d.u(0.1, 0.9), 1.05), d.u(90, 120), "insect"))
    return out


# --------------------------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------------------------


def _vt(name: str, description: str, category: str, d: _Draw, **kw) -> Clip:
    return Clip(name, description, category, split=SPLIT, width=768, height=576, noise_bank=16, seed=d.seed, **kw)


def _large(name: str, description: str, category: str, d: _Draw, **kw) -> Clip:
    return Clip(name, description, category, split=SPLIT, width=1920, height=1080, noise_bank=4, seed=d.seed, **kw)


def _one_walker(name: str, category: str, seed: int, what: str, speed: tuple[float, float],
                area: tuple[float, float], min_seconds: float, large: bool = False, stand: float = 0.0,
                fps: tuple[float, ...] = (10.0, 12.0, 12.5), **kw: object) -> Clip:
    """A clip with one person; ``kw`` may hold callables of the draw (for light, weather, shake)."""
    d = _Draw(seed, name)
    f = d.fps(fps)
    w, h = (1920, 1080) if large else (768, 576)
    scene = _Scene(d, w, h)
    enter = int(d.u(0.0, 4.0) * f)
    sp, ar = d.u(*speed), d.u(*area)
    walker, gone = scene.walker(enter, sp, ar, stand, f)
    seconds = round(max(min_seconds, min(gone / f + d.u(2, 4), 60.0)), 1)
    extras = {k: v(d, seconds) if callable(v) else v for k, v in kw.items()}
    text = f"{what}; a person (~{100 * ar:.3g}%) at {sp:.2g} px/frame" + (f", standing {stand:.0f} s" if stand else "")
    make = _large if large else _vt
    return make(name, text + ".", category, d, fps=f, seconds=seconds, walkers=[walker], **extras)


def clips(seed: int) -> list[Clip]:
    """The fresh suite of ``seed``, in a fixed order of kinds."""
    out: list[Clip] = []

    def quiet(name: str, category: str, what: str, large: bool = False,
              fps: tuple[float, ...] = (10.0, 12.5, 15.0, 20.0), seconds: tuple[float, float] = (14, 24),
              **kw: object) -> None:
        d = _Draw(seed, name)
        length = round(d.u(*seconds), 1)
        extras = {k: v(d, length) if callable(v) else v for k, v in kw.items()}
        out.append((_large if large else _vt)(name, what + " No events.", category, d, fps=d.fps(fps),
                                              seconds=length, **extras))

    quiet("quiet_noise", "noise", "Empty scene, sensor noise.", noise=lambda d, s: d.u(2.5, 6.0))
    quiet("low_light_noise", "noise", "Very dark scene, strong noise.", noise=lambda d, s: d.u(7.0, 11.0),
          light=lambda d, s: constant(d.u(0.15, 0.3), d.u(1.0, 1.3)))
    quiet("slow_light", "dimming", "Brightness changes slowly (dusk or dawn).",
          light=lambda d, s: ramp(d.u(0, 2), s - d.u(1, 3), *((d.u(0.3, 0.45), d.u(0.9, 1.0))[::int(d.sign())])))
    out.append(_one_walker("walker_slow_light", "dimming", seed, "Brightness changes slowly", (0.9, 1.8),
                           (0.003, 0.006), 20, light=lambda d, s: ramp(0, s, *((d.u(0.35, 0.5), d.u(0.85, 1.0))
                                                                                [::int(d.sign())]), d.u(1.0, 1.15))))
    out.append(_light_switch(seed))
    out.append(_ir_switch(seed))
    quiet("shake_gusts", "shake", "The camera jumps in gusts.",
          shake=lambda d, s: shake_bursts(_bursts(d, s), d.u(3.0, 6.0)))
    quiet("pole_sway", "shake", "The camera's pole sways.",
          shake=lambda d, s: sway(d.u(1.5, 3.0), d.u(1.2, 2.5), d.u(0.0, 0.6)))
    out.append(_one_walker("walker_jitter", "shake", seed, "Jitter every frame", (1.2, 2.2), (0.004, 0.007), 16,
                           shake=lambda d, s: jitter(d.u(1.0, 2.0))))
    quiet("rain", "rain", "Rain, with large drops near the lens.", rain=lambda d, s: _rain(d))
    out.append(_one_walker("walker_rain", "rain", seed, "Rain", (1.2, 2.4), (0.004, 0.007), 16,
                           rain=lambda d, s: _rain(d)))
    out.append(_two_walkers("storm_two_walkers", "storm", seed, storm=True))
    quiet("tree_foliage", "foliage", "A real tree swaying in the wind.", seconds=(30, 34), tree=lambda d, s: _tree(d))
    out.append(_one_walker("tree_foliage_walker", "foliage", seed, "A real tree swaying", (1.2, 1.8), (0.003, 0.005),
                           30, tree=lambda d, s: _tree(d)))
    out.append(_one_walker("slow_walker", "walker", seed, "A slow walker", (0.5, 0.7), (0.004, 0.006), 20))
    out.append(_one_walker("distant_walker", "walker", seed, "A distant walker", (0.9, 1.3), (0.0015, 0.003), 20))
    out.append(_one_walker("small_person_day", "small_day", seed, "By day", (0.9, 1.2), (0.0006, 0.001), 36))
    out.append(_one_walker("small_person_dusk", "small_dusk", seed, "Dusk, bluish, noisy", (0.8, 1.1),
                           (0.0005, 0.0008), 36, light=lambda d, s: constant(d.u(0.4, 0.5), 1.2), tint=TINT_DUSK,
                           noise=lambda d, s: d.u(5.0, 6.0)))
    out.append(_one_walker("small_person_night", "small_night", seed, "Night, noisy", (0.9, 1.2), (0.0006, 0.001),
                           36, light=lambda d, s: constant(d.u(0.28, 0.32)), noise=lambda d, s: d.u(7.0, 8.5)))
    quiet("cloud_shadows", "cloud_shadows", "Soft cloud shadows drift across the scene.", seconds=(26, 32),
          clouds=lambda d, s: _clouds(d))
    quiet("edge_shadow", "edge_shadow", "A tree's dappled shadow moves along an edge.", seconds=(26, 32),
          dapple=lambda d, s: _dapple(d))
    quiet("headlights", "headlights", "Night; headlight cones sweep the ground.", seconds=(26, 32),
          noise=lambda d, s: d.u(6.0, 8.0), light=lambda d, s: constant(d.u(0.25, 0.35)),
          headlights=lambda d, s: [_sweep(d, t) for t in np.arange(d.u(2, 4), s - 4, d.u(5.5, 7.5))])
    quiet("snow", "snow", "Snow, with large defocused flakes near the lens.", seconds=(18, 25),
          light=lambda d, s: constant(d.u(0.85, 0.95)), snow=lambda d, s: _snow(d))
    out.append(_one_walker("snow_walker", "snow", seed, "Snow", (1.1, 1.6), (0.004, 0.006), 20,
                           light=lambda d, s: constant(d.u(0.85, 0.95)), snow=lambda d, s: _snow(d, (600, 1100))))
    quiet("snow_near_slow", "snow", "Snow whose defocused flakes near the lens drift slowly.", seconds=(20, 26),
          light=lambda d, s: constant(d.u(0.85, 0.95)), snow=lambda d, s: _snow(d, (700, 1000), slow_near=True))
    out.append(_one_walker("exposure_walker", "exposure", seed, "Auto-exposure hunting", (0.9, 1.5), (0.003, 0.005),
                           24, light=_pumping))
    out.append(_one_walker("exposure_small_walker", "exposure", seed, "Auto-exposure hunting", (0.9, 1.2),
                           (0.0015, 0.0025), 26, light=_pumping))
    out.append(_one_walker("loiterer", "loiterer", seed, "A loiterer", (1.6, 2.4), (0.004, 0.006), 40,
                           stand=float(_Draw(seed, "loiterer stand").u(15, 22))))
    quiet("birds", "birds", "Birds cross in 2-3 frames; an insect flashes past the lens.", seconds=(14, 18),
          fps=(10.0, 12.5, 15.0), flyers=lambda d, s: _flyers(d, int(s * 10)))
    out.append(_slow_pan(seed))
    out.append(_hard_cuts(seed))
    out.append(_knocked(seed))
    out.append(_two_walkers("two_walkers", "two_walkers", seed))
    out.append(_crowd(seed))
    out.append(_one_walker("edge_shadow_walker", "edge_shadow", seed, "A dappled shadow along an edge", (1.1, 1.5),
                           (0.003, 0.005), 26, dapple=lambda d, s: _dapple(d)))
    out.append(_one_walker("large_person_day", "small_1080p", seed, "1080p", (1.4, 1.8), (0.0001, 0.00015), 30,
                           large=True))
    out.append(_one_walker("large_person_night", "small_1080p", seed, "1080p at night", (1.4, 1.9),
                           (0.00012, 0.00016), 30, large=True, light=lambda d, s: constant(d.u(0.28, 0.32)),
                           noise=lambda d, s: d.u(6.0, 8.0)))
    out.append(_one_walker("large_person_dusk", "small_1080p", seed, "1080p at dusk", (1.3, 1.7), (0.0001, 0.00013),
                           30, large=True, light=lambda d, s: constant(d.u(0.4, 0.5), 1.2), tint=TINT_DUSK,
                           noise=lambda d, s: d.u(5.0, 6.0)))
    quiet("large_snow", "snow", "1080p; fine snow and defocused flakes near the lens.", large=True, fps=(10.0,),
          seconds=(20, 26), light=lambda d, s: constant(d.u(0.85, 0.95)),
          snow=lambda d, s: _snow(d, (1200, 2000), fine=True))
    quiet("large_night_noise", "noise", "1080p at night, nobody there.", large=True, fps=(10.0,), seconds=(20, 26),
          noise=lambda d, s: d.u(7.0, 9.5), light=lambda d, s: constant(d.u(0.22, 0.3)))
    quiet("large_tree", "foliage", "1080p; real swaying foliage.", large=True, fps=(10.0,), seconds=(26, 32),
          tree=lambda d, s: _tree(d))
    return out


def _bursts(d: _Draw, seconds: float) -> list[tuple[float, float]]:
    out, t = [], d.u(1.0, 3.0)
    while t < seconds - 2:
        length = d.u(1.0, 2.5)
        out.append((t, min(seconds - 1, t + length)))
        t += length + d.u(2.0, 4.0)
    return out


def _light_switch(seed: int) -> Clip:
    """A lamp switched on (with or without a flicker) and off again: two lighting truths. A flicker is an
    odd number of toggles, on-off-on, so the lamp is on until it is switched off."""
    d = _Draw(seed, "light_switch")
    fps = d.fps((10.0, 12.5, 15.0, 20.0))
    low = d.u(0.4, 0.55)
    on = int(d.u(2.5, 5.0) * fps)
    toggles = [on] + ([on + 2, on + 4] if d.sign() > 0 else [])
    off = on + int(d.u(4.0, 8.0) * fps)
    changes = [(f / fps, 1.0 if k % 2 == 0 else low, 1.0) for k, f in enumerate(toggles)] + [(off / fps, low, 1.0)]
    seconds = round(off / fps + d.u(3.0, 5.0), 1)
    flicker = " (flickering)" if len(toggles) > 1 else ""
    return _vt("light_switch", f"A lamp lit at {100 * low:.0f}% switches on{flicker} and off. No motion.",
               "light_switch", d, fps=fps, seconds=seconds, light=steps(changes, low),
               lighting=[(on, toggles[-1]) if flicker else on, off])


def _ir_switch(seed: int) -> Clip:
    d = _Draw(seed, "ir_switch")
    fps = d.fps((10.0, 12.5, 15.0))
    start = round(d.u(3.0, 6.0) * fps)
    end = start + round(d.u(4.0, 7.0) * fps)
    return _vt("ir_switch", "The camera switches to its grey infrared mode and back. No motion.", "light_switch", d,
               fps=fps, seconds=round(end / fps + d.u(3.0, 5.0), 1),
               light=steps([(start / fps, d.u(0.7, 0.8), d.u(0.8, 0.9)), (end / fps, 1.0, 1.0)], 1.0),
               mono=[(start / fps, end / fps)], lighting=[start, end])


def _two_walkers(name: str, category: str, seed: int, storm: bool = False) -> Clip:
    """Two people, the second coming in seconds after the first has gone: two events."""
    d = _Draw(seed, name)
    fps = d.fps((10.0, 12.5))
    scene = _Scene(d, 768, 576)
    first, gone = scene.walker(int(d.u(0, 3) * fps), d.u(1.4, 2.6), d.u(0.004, 0.006))
    second, gone = scene.walker(gone + int(d.u(3, 6) * fps), d.u(1.4, 2.6), d.u(0.004, 0.006))
    seconds = round(gone / fps + d.u(2, 4), 1)
    extras = {}
    if storm:
        extras = {"rain": _rain(d, (250, 350)), "shake": sway(d.u(0.8, 1.5), d.u(1.6, 2.4), d.u(0.3, 0.6)),
                  "light": ramp(0, seconds, *((d.u(0.5, 0.6), d.u(0.85, 0.95))[::int(d.sign())]))}
    what = "Rain, a swaying pole and changing light; two" if storm else "Two"
    return _vt(name, f"{what} people cross, one after the other. Two events.", category, d, fps=fps,
               seconds=seconds, walkers=[first, second], **extras)


def _crowd(seed: int) -> Clip:
    d = _Draw(seed, "crowd")
    scene = _Scene(d, 768, 576)
    people = d.i(6, 8)
    walkers, gone, enter = [], 0, int(d.u(0, 2) * 5)
    for _ in range(people):
        walker, left = scene.walker(enter, d.u(8.0, 12.0), d.u(0.003, 0.006), fps=5.0)
        walkers.append(walker)
        gone = max(gone, left)
        enter += int(d.u(1.5, 3.0) * 5)
    return _vt("crowd", f"A crowd at 5 fps: {people} people on different paths, overlapping in time.", "crowd", d,
               fps=5.0, seconds=round(gone / 5 + d.u(2, 4), 1), walkers=walkers)


def _slow_pan(seed: int) -> Clip:
    d = _Draw(seed, "slow_pan")
    fps = d.fps((10.0, 12.5))
    start = d.u(3.0, 5.0)
    end = start + d.u(13.0, 16.0)
    seconds = round(end + d.u(3.0, 5.0), 1)
    return _vt("slow_pan", "The camera pans slowly and stops. No motion; a scene_change may be reported while it "
               "pans, but need not be.", "slow_pan", d, fps=fps, seconds=seconds, margin=1.45,
               pan=Pan(start, end, (d.sign() * d.u(0.18, 0.25), d.u(-0.05, 0.05))),
               allow_scene_change=[(int(start * fps), int(round(seconds * fps)) - 1)])


def _hard_cuts(seed: int) -> Clip:
    d = _Draw(seed, "hard_cuts")
    fps = d.fps((12.5, 15.0, 20.0))
    cuts, t = [], d.u(3.0, 5.0)
    for _ in range(3):
        cuts.append(int(t * fps))
        t += d.u(2.5, 4.0)
    scenes, shown = [], "plate"
    for _ in cuts:
        shown = d.pick([s for s in CUT_SCENES if s != shown])
        scenes.append(shown)
    return _vt("hard_cuts", "Three hard cuts to other scenes. Three scene_change events.", "cut", d, fps=fps,
               seconds=round(t, 1), cuts=cuts, cut_scenes=scenes)


def _knocked(seed: int) -> Clip:
    d = _Draw(seed, "camera_knocked")
    fps = d.fps((12.5, 15.0, 20.0))
    seconds = round(d.u(11.0, 14.0), 1)
    frame = int(seconds * fps * d.u(0.4, 0.65))
    return _vt("camera_knocked", "The camera is knocked and stays moved. One scene_change.", "knocked", d, fps=fps,
               seconds=seconds, knock=Knock(frame, d.i(3, 5), (d.sign() * d.u(0.05, 0.08), d.sign() * d.u(0.04, 0.06)),
                                            d.sign() * d.u(1.0, 2.0)))
