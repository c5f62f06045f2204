"""Finding what a camera burns into its picture: the clock's changing digits are found and left out,
and nothing a scene does is taken for them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidwatch.burnt_in import BurntInFinder
from vidwatch.frames import SourceFrame
from vidwatch.preprocess import AnalysisParams, Preprocessor
from vidwatch.zones import ZoneParams

from . import scenes

FPS = scenes.FPS
SMALL = (320, 240)  # the analysis copy of the scenes' 640x480 pictures


def masks(images, fps: float = FPS) -> list[np.ndarray | None]:
    """The finder's mask after each picture, fed as the analysis copy is made."""
    finder = BurntInFinder()
    found = []
    for index, image in enumerate(images):
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        found.append(finder.update(cv2.resize(grey, SMALL, interpolation=cv2.INTER_AREA), index / fps, 1.0))
    return found


def changed(images, index: int) -> np.ndarray:
    """Analysis pixels the burnt-in text changed by more than a quarter of its contrast at ``index``."""
    before, after = (cv2.resize(images[i], SMALL, interpolation=cv2.INTER_AREA) for i in (index - 1, index))
    return cv2.absdiff(before, after) > 60


def test_a_clocks_ticking_seconds_are_found_within_seconds_and_nothing_else() -> None:
    images = scenes.on_screen_display(scenes.still(60, noise=3.0), clock="2026-01-05 10:00:00")
    found = masks(images)
    assert all(m is None for m in found[:20]), "taken for burnt-in before it could have stepped twice"
    mask = found[-1]
    assert mask is not None
    ys, xs = np.nonzero(mask)
    # the seconds at the end of the date line, top left: a box a few digits wide, one line high
    assert ys.max() < 0.12 * SMALL[1] and xs.max() - xs.min() < 0.12 * SMALL[0], (xs.min(), xs.max(), ys.max())
    ticks = [i for i in range(1, 60) if i % FPS == 0]
    covered = [float(mask[changed(images, i)].mean() / 255) for i in ticks[-2:]]
    assert min(covered) == 1.0, covered


def test_at_midnight_the_whole_changing_line_is_taken_in_on_the_frame_it_changes() -> None:
    # the seconds tick from 23:59:52; at midnight (frame 80) the date, hours, minutes and seconds all change
    images = scenes.on_screen_display(scenes.still(100, noise=3.0))
    found = masks(images)
    midnight = 8 * int(FPS)
    rolled = changed(images, midnight)
    assert rolled.sum() > 60
    before, after = found[midnight - 1], found[midnight]
    assert before is not None and after is not None
    assert (before[rolled] > 0).mean() < 0.5  # only the seconds were known before
    assert (after[rolled] > 0).mean() > 0.9
    assert not (after[:, : SMALL[0] // 2][SMALL[1] // 5:]).any()  # still nothing below the line


@pytest.mark.parametrize("scene", [
    "walker", "loiterer", "heavy_snow", "headlight_sweeps", "behind_railing",
    "exposure_jumps", "foliage_in_wind", "dappled_shadow_in_wind"])
def test_nothing_a_scene_does_is_taken_for_burnt_in(scene: str) -> None:
    make = {
        "walker": lambda: scenes.walker(300, size=(14, 34), speed=2.0, start=10, y=200),
        "loiterer": lambda: scenes.walker(300, size=(20, 50), speed=2.0, start=10, y=250, stand=(100, 150)),
        "heavy_snow": lambda: scenes.heavy_snow(300),
        "headlight_sweeps": lambda: scenes.headlight_sweeps(300),
        "behind_railing": lambda: scenes.behind_railing()[0],
        # the whole picture steps in one frame every second or two: not a mark
        "exposure_jumps": lambda: scenes.exposure_hunting(300, ease=1.0, every=1.0),
        # leaves and their shadows that rest for a moment and jump, but sway in between: the scene
        "foliage_in_wind": lambda: scenes.swaying_foliage(300, amplitude=12.0, period=1.0),
        "dappled_shadow_in_wind": lambda: scenes.dappled_edge(300, sway=12.0, period=1.5),
    }[scene]
    assert all(m is None for m in masks(make()))


def test_a_blinking_light_is_found_and_a_lamp_switched_on_once_is_not() -> None:
    base = scenes.still(120)
    blinking = [frame.copy() for frame in base]
    for i, frame in enumerate(blinking):
        if (i // 5) % 2:  # on half a second, off half a second
            cv2.circle(frame, (500, 100), 6, 255, -1)
    assert masks(blinking)[-1] is not None
    switched = [frame.copy() for frame in base]
    for frame in switched[30:]:
        cv2.rectangle(frame, (400, 300), (440, 340), 230, -1)
    assert masks(switched)[-1] is None


def test_the_burnt_in_clock_is_left_out_of_the_pixels_that_count() -> None:
    images = scenes.on_screen_display(scenes.still(60, noise=3.0), clock="2026-01-05 10:00:00")
    preprocess = Preprocessor(AnalysisParams())
    for index, image in enumerate(images):
        frame = preprocess(SourceFrame(index, index / FPS, image))
    assert frame.valid is not None
    assert (frame.valid[changed(images, 50)] == 0).all()
    assert (frame.valid == 0).mean() < 0.01
    off = Preprocessor(AnalysisParams(), ZoneParams(burnt_in=False))
    for index, image in enumerate(images):
        plain = off(SourceFrame(index, index / FPS, image))
    assert plain.valid is None
