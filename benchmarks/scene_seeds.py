"""The object stage's test scenes drawn from many seeds: does what a test shows on one seed hold on others?

Each test in ``tests/test_objects.py`` runs its synthetic scene (``tests/scenes.py``) on one seed or a
few, and passes there; a rule fitted to those seeds can fail on the next. This benchmark draws every
kind of scene below from a range of seeds and counts, per kind, the scenes where vidwatch (the
default config, from this checkout) does what the test asks:

- ``nuisance`` kinds (no one in the scene): no motion event at all;
- ``target`` kinds (one person): an event on them (its box at its peak on theirs: a clump of snow
  confirmed elsewhere while they are in view is a false event, not a find) that opens in time, and no
  other event.

Two ranges are kept apart, as with the accuracy benchmark's splits: ``--seeds dev`` (100-119) may be
looked at and tuned on; ``--seeds test`` (300-319) is read for its totals only.

    python benchmarks/scene_seeds.py --seeds dev --jobs 2
    python benchmarks/scene_seeds.py --seeds test --jobs 2
    python benchmarks/scene_seeds.py --seeds 40-59 --kinds heavy_snow heavy_snow_small_walker
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import scenes  # noqa: E402
from tests.synthetic import run_events  # noqa: E402
from vidwatch.events import MOTION  # noqa: E402

RANGES = {"dev": range(100, 120), "test": range(300, 320)}
"""Seeds that may be tuned on, and seeds read for their totals only."""
FPS = scenes.FPS


@dataclass(frozen=True)
class Kind:
    """A scene drawn from a seed, and what vidwatch must do on it."""

    name: str
    what: str
    make: Callable[[int], list[np.ndarray]]
    truth: tuple[int, int] | None
    """Frames the person is in view (None: a nuisance, no event wanted)."""
    where: Callable[[int], Box] | None = None
    """The person's box (x, y, w, h, source pixels) on a frame: an event counts as theirs only where its
    box at its peak is on them (a clump of snow confirmed beside them is a false event, not a find)."""
    late: int = 3 * int(FPS)
    """Frames after the person comes into view by which the event must have opened."""


Box = tuple[float, float, float, float]
NEAR = 10.0
"""Source pixels by which an event's box may miss the person's and still be on them (blur, the mask's
opening, the analysis scale)."""


def _walker_truth(n: int, size: tuple[int, int], speed: float, start: int) -> tuple[int, int]:
    return scenes.visible_frames(n, size=size, speed=speed, start=start)


def _walking(size: tuple[int, int], start: int, origin: tuple[float, float],
             velocity: tuple[float, float]) -> Callable[[int], Box]:
    """The box of a person pasted with their top-left at ``origin`` + ``velocity`` x frames since ``start``."""
    def where(index: int) -> Box:
        steps = max(index - start, 0)
        return (origin[0] + velocity[0] * steps, origin[1] + velocity[1] * steps, float(size[0]), float(size[1]))
    return where


def _on(box: tuple[int, int, int, int] | None, person: Box) -> bool:
    if box is None:
        return False
    x, y, w, h = box
    px, py, pw, ph = person
    return x - NEAR <= px + pw and px - NEAR <= x + w and y - NEAR <= py + ph and py - NEAR <= y + h


KINDS = (
    Kind("heavy_snow", "900 flakes of 1-4 px, joined by the mask into clumps", lambda s: scenes.heavy_snow(200, seed=s),
         None),
    Kind("heavy_snow_small_walker", "a 12x30 px person crossing heavy snow at 2.5 px/frame",
         lambda s: scenes.heavy_snow(200, walker_size=(12, 30), walker_start=20, walker_velocity=(2.5, 0.0),
                                     walker_from=(0.0, 0.5), seed=s), (20, 150),
         _walking((12, 30), 20, (-12.0, 240.0), (2.5, 0.0))),
    Kind("heavy_snow_walker_down", "a 30x75 px person walking down the picture with heavy snow",
         lambda s: scenes.heavy_snow(200, walker_size=(30, 75), walker_start=20, walker_velocity=(0.0, 1.5),
                                     walker_from=(0.45, 0.05), seed=s), (20, 195),
         _walking((30, 75), 20, (288.0, 24.0), (0.0, 1.5)), late=2 * int(FPS)),
    Kind("snow", "300 flakes and a defocused flake near the lens every 2 s", lambda s: scenes.snow(200, seed=s),
         None),
    Kind("snow_walker", "a 24x60 px person crossing snow", lambda s: scenes.snow(260, walker_size=(24, 60),
                                                                                   walker_start=30, seed=s),
         _walker_truth(260, (24, 60), 3.0, 30), _walking((24, 60), 30, (-24.0, 264.0), (3.0, 0.0))),
    Kind("small_slow_walker", "a 10x25 px person at 1 px/frame",
         lambda s: scenes.walker(260, size=(10, 25), speed=1.0, start=20, y=300, seed=s),
         _walker_truth(260, (10, 25), 1.0, 20), _walking((10, 25), 20, (-10.0, 300.0), (1.0, 0.0)),
         late=6 * int(FPS)),
    Kind("night_walker", "a 12x30 px person at night (35 % light, noise 7)",
         lambda s: scenes.walker(240, size=(12, 30), speed=1.2, start=20, y=300, gain=0.35, noise=7.0, seed=s),
         _walker_truth(240, (12, 30), 1.2, 20), _walking((12, 30), 20, (-12.0, 300.0), (1.2, 0.0)),
         late=6 * int(FPS)),
    Kind("foliage", "a leafy crown swaying in place", lambda s: scenes.swaying_foliage(300, seed=s), None),
    Kind("cloud_shadow", "a soft cloud shadow drifting over texture", lambda s: scenes.drifting_shadow(300, seed=s),
         None),
    Kind("headlights", "headlight cones sweeping the ground at night", lambda s: scenes.headlight_sweeps(200, seed=s),
         None),
    Kind("dappled_edge", "a dappled shadow coming and going along the bottom edge",
         lambda s: scenes.dappled_edge(300, seed=s), None),
    Kind("dappled_walker", "a 14x34 px person crossing a dappled shadow",
         lambda s: scenes.dappled_edge(300, walker_size=(14, 34), walker_start=40, seed=s),
         _walker_truth(300, (14, 34), 2.0, 40), _walking((14, 34), 40, (-14.0, 403.0), (2.0, 0.0))),
)


def judge(name: str, seed: int) -> tuple[str, int, bool, str]:
    """(kind, seed, whether vidwatch did what the kind named asks, what it did)."""
    kind = next(k for k in KINDS if k.name == name)
    found = [e for e in run_events(kind.make(seed), fps=FPS) if e.kind == MOTION]
    events = [(e.start_frame, e.end_frame) for e in found]
    if kind.truth is None:
        return kind.name, seed, not events, f"{len(events)} false" if events else "quiet"
    first, last = kind.truth
    hits = [(e.start_frame, e.end_frame) for e in found if e.start_frame <= last and e.end_frame >= first
            and (kind.where is None or _on(e.box, kind.where(e.peak_frame)))]
    if not hits:
        return kind.name, seed, False, f"missed ({len(events)} other events)" if events else "missed"
    if len(events) > 1:
        return kind.name, seed, False, f"{len(events)} events {events}"
    opened = hits[0][0]
    if opened > first + kind.late:
        return kind.name, seed, False, f"late: opened at {opened}, in view from {first}"
    return kind.name, seed, True, "found"


def _failure(what: str) -> str:
    """The kind of failure a judgement names: false, missed, split or late."""
    if what.endswith(" false"):
        return "false"
    return "split" if " events " in what else what.split(":")[0].split(" ")[0]


def seeds_of(text: str) -> list[int]:
    if text in RANGES:
        return list(RANGES[text])
    lo, _, hi = text.partition("-")
    try:
        return list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: choose dev, test or a range such as 40-59") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=seeds_of, default=seeds_of("dev"),
                        help="dev (100-119, may be tuned on), test (300-319, read the totals) or LO-HI")
    parser.add_argument("--kinds", nargs="+", choices=[k.name for k in KINDS], help="only these kinds")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument("--details", action="store_true", help="also print every scene that failed")
    args = parser.parse_args()
    kinds = [k for k in KINDS if not args.kinds or k.name in args.kinds]
    started = time.perf_counter()
    work = [(kind.name, seed) for kind in kinds for seed in args.seeds]
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        results = list(pool.map(judge, *zip(*work, strict=True)))
    print(f"object-stage scenes, seeds {args.seeds[0]}-{args.seeds[-1]} ({len(args.seeds)} each); vidwatch from "
          f"{ROOT / 'vidwatch'}; {time.perf_counter() - started:.0f} s")
    print(f"{'kind':<26}{'passed':>8}  what fails")
    total = passed = 0
    for kind in kinds:
        mine = [r for r in results if r[0] == kind.name]
        ok = sum(r[2] for r in mine)
        total, passed = total + len(mine), passed + ok
        fails = sorted({_failure(r[3]) for r in mine if not r[2]})
        print(f"{kind.name:<26}{ok:>4}/{len(mine):<3}  {', '.join(fails)}")
        if args.details:
            for _, seed, good, what in mine:
                if not good:
                    print(f"    seed {seed}: {what}")
    print(f"{'all':<26}{passed:>4}/{total:<3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
