"""Each detector on synthetic input with known truth."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from vidwatch.detectors import REGISTRY, detector_class
from vidwatch.preprocess import AnalysisParams, Preprocessor

from .synthetic import cut_at, frames, moving_square, quiet_scene

MOTION_DETECTORS = ["diff", "background", "flow"]


def scores_of(name: str, images, **params) -> np.ndarray:
    cls = detector_class(name)
    detector = cls(cls.Params(**params))
    pre = Preprocessor(AnalysisParams())
    return np.array([detector.update(pre(f)).value for f in frames(images)])


def threshold(name: str) -> float:
    return detector_class(name).Params().threshold


@pytest.mark.parametrize("name", list(REGISTRY))
def test_static_noisy_scene_stays_below_threshold(name: str) -> None:
    values = scores_of(name, quiet_scene(80))
    assert values.max() <= threshold(name), f"{name} fired on noise: max {values.max():.4g}"


@pytest.mark.parametrize("name", MOTION_DETECTORS)
def test_moving_square_is_found_while_it_moves(name: str) -> None:
    start, end = 40, 70
    values = scores_of(name, moving_square(100, start=start, end=end))
    over = values > threshold(name)
    lag = 8 if name == "flow" else 2  # flow scores a track only once it has a few frames of history
    missed = np.flatnonzero(~over[start + lag : end]) + start + lag
    assert not missed.size, f"{name} missed the square at frames {missed}"
    assert not over[: start - 1].any(), f"{name} fired before the square appeared"


def test_flow_ignores_global_camera_shift() -> None:
    """A scene translated as a whole (camera shake) moves no feature relative to the others."""
    from .synthetic import noisy, scene

    base = scene(5)
    rng = np.random.default_rng(0)
    shifts = [(0, 0), (3, 1), (-2, 2), (1, -3), (0, 0)] * 6
    images = [noisy(np.roll(base, s, axis=(1, 0)), rng) for s in shifts]
    values = scores_of("flow", iter(images))
    assert values.max() <= threshold("flow")


def test_background_keeps_seeing_an_object_that_stops() -> None:
    """Frame differencing forgets a still object at once; the background model does not."""
    from .synthetic import noisy, scene, square_at

    base = scene(6)
    rng = np.random.default_rng(1)
    images = [noisy(base, rng) for _ in range(30)]
    images += [noisy(square_at(base, 150, 100, size=30), rng) for _ in range(20)]
    bg = scores_of("background", iter(images))
    diff = scores_of("diff", iter(images))
    assert (bg[31:50] > threshold("background")).all()
    assert (diff[32:50] <= threshold("diff")).all()


def test_diff_norms_report_manhattan_and_zero() -> None:
    cls = detector_class("diff")
    detector = cls(cls.Params(norm="manhattan", min_area=0.0, open_size=0))
    pre = Preprocessor(AnalysisParams(blur=0))
    a = np.full((240, 320), 100, np.uint8)
    b = a.copy()
    b[:, :160] = 140  # half the frame brighter by 40
    from vidwatch.frames import SourceFrame

    detector.update(pre(SourceFrame(0, 0.0, a)))
    score = detector.update(pre(SourceFrame(1, 0.1, b)))
    assert score.value == pytest.approx(20.0, abs=0.5)
    assert score.metrics["zero"] == pytest.approx(0.5, abs=0.01)


def test_histogram_finds_the_cut_at_the_right_frame() -> None:
    values = scores_of("histogram", cut_at(60, 33))
    over = np.flatnonzero(values > threshold("histogram"))
    assert over.tolist() == [33]


def test_histogram_divergence_is_finite_with_empty_bins() -> None:
    black = np.zeros((240, 320), np.uint8)
    white = np.full((240, 320), 255, np.uint8)
    values = scores_of("histogram", iter([black, white, black]))
    assert np.isfinite(values).all() and values[1] > 1.0


def test_reset_forgets_the_model() -> None:
    from vidwatch.frames import SourceFrame

    from .synthetic import noisy, scene, square_at

    cls = detector_class("background")
    detector = cls(cls.Params(warmup=0.5))
    pre = Preprocessor(AnalysisParams())
    stream = list(frames(quiet_scene(20)))  # 1.3 s at 15 fps: well past the warm-up
    for f in stream:
        detector.update(pre(f))
    assert detector.ready_at(stream[-1].time)
    rng = np.random.default_rng(3)
    intruder = [SourceFrame(i, i / 15, noisy(square_at(scene(1), 150, 100, size=40), rng)) for i in range(20, 24)]
    detector.update(pre(intruder[0]))
    assert detector.update(pre(intruder[1])).value > threshold("background")  # the learnt model sees it
    detector.reset()
    assert not detector.ready_at(intruder[2].time)
    assert [detector.update(pre(f)).value for f in intruder[2:]] == [0.0, 0.0]  # learning again: quiet


def test_kl_divergence_by_hand() -> None:
    from vidwatch.detectors.histogram import kl_divergence

    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert kl_divergence(p, q) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), rel=1e-12)
    assert kl_divergence(q, p) == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5), rel=1e-12)
    assert kl_divergence(p, p) == 0.0


def test_histogram_detector_scores_the_kl_divergence_of_two_known_frames() -> None:
    """Four pixels, four bins of 64 levels, one count added to each bin (8 in all).

    (0, 0, 0, 255) -> (4, 1, 1, 2)/8; (0, 100, 150, 255) -> (2, 2, 2, 2)/8; (0, 100, 255, 255) -> (2, 2, 1, 3)/8.
    First pair: KL both ways is ln 2 / 4. Second pair, the later frame against the earlier:
    KL = (2 ln 2/4 + 2 ln 2/1 + ln 1/1 + 3 ln 3/2) / 8 = 3 ln 1.5 / 8, and the other way
    (4 ln 4/2 + ln 1/2 + ln 1/1 + 2 ln 2/3) / 8 = (3 ln 2 + 2 ln 2/3) / 8; symmetric is their mean.
    """
    from vidwatch.frames import AnalysisFrame, SourceFrame

    cls = detector_class("histogram")

    def score(first: list[int], second: list[int], **params: object) -> float:
        detector = cls(cls.Params(bins=4, smoothing=1.0, **params))
        value = 0.0
        for i, values in enumerate((first, second)):
            grey = np.array(values, np.uint8).reshape(2, 2)
            value = detector.update(AnalysisFrame(i, i / 10, grey, 1.0, SourceFrame(i, i / 10, grey))).value
        return value

    assert score([0, 0, 0, 255], [0, 100, 150, 255]) == pytest.approx(math.log(2) / 4, rel=1e-12)
    forward = 3 * math.log(1.5) / 8
    backward = (3 * math.log(2) + 2 * math.log(2 / 3)) / 8
    assert score([0, 0, 0, 255], [0, 100, 255, 255], symmetric=False) == pytest.approx(forward, rel=1e-12)
    assert score([0, 0, 0, 255], [0, 100, 255, 255]) == pytest.approx((forward + backward) / 2, rel=1e-12)


def test_busy_pixel_suppression_keeps_swaying_texture_quiet_and_still_finds_an_object_crossing_it() -> None:
    """Leaves swaying in one part of the picture, then a dark square crossing the whole frame through them."""
    from .synthetic import noisy, scene, square_at

    rng = np.random.default_rng(8)
    base = scene(4)
    leaves = rng.integers(30, 230, (80, 100)).astype(np.float32)  # a high-contrast texture
    sway = (0, 4, 8, 4)  # pixels it moves sideways, frame by frame
    images = []
    for i in range(110):
        image = base.copy()
        image[60:140, 110:210] = np.roll(leaves, sway[i % 4], axis=1)
        if 70 <= i <= 105:  # crossing left to right, through the leaves (x 110..210)
            image = square_at(image, 10 + (i - 70) * 8, 90, size=28)
        images.append(noisy(image, rng))
    values = scores_of("diff", iter(images))
    over = values > threshold("diff")
    assert not over[40:70].any(), f"swaying fired at {np.flatnonzero(over[40:70]) + 40}"
    # the square is found where it crosses outside the leaves (left of x=110 and right of x=210)
    outside = [i for i in range(72, 106) if 10 + (i - 70) * 8 + 28 < 110 or 10 + (i - 70) * 8 > 210]
    assert len(outside) >= 15 and over[outside].all(), f"missed at {[i for i in outside if not over[i]]}"
    # without the suppression the same leaves fire all the time: the test is about the suppression
    always = scores_of("diff", iter(images[:70]), max_activity=1.0) > threshold("diff")
    assert always[40:70].all()


def test_light_fit_recovers_gain_and_offset_despite_a_changed_region() -> None:
    from vidwatch.detectors.background import light_fit

    rng = np.random.default_rng(5)
    mean = cv2.GaussianBlur(rng.uniform(20, 230, (180, 320)).astype(np.float32), (0, 0), 3)
    mean = cv2.normalize(mean, None, 20, 230, cv2.NORM_MINMAX)
    frame = mean * 0.7 + 15 + rng.normal(0, 1.5, mean.shape).astype(np.float32)
    frame[40:110, 100:160] = 250  # something bright walked in: the fit must not follow it
    gain, offset = light_fit(frame, mean)
    assert gain == pytest.approx(0.7, abs=0.02) and offset == pytest.approx(15, abs=2.0)


def test_background_follows_a_light_change_instead_of_relearning() -> None:
    """After a gain and gamma change (auto-exposure) the model maps itself to the new light and keeps
    what it learnt, including a thing that walked in; a new scene is refused (it must re-learn)."""
    from vidwatch.detectors.background import BackgroundDetector, BackgroundParams

    from .synthetic import noisy, scene, square_at

    def relit(image: np.ndarray) -> np.ndarray:
        return (255.0 * (np.clip(image * 1.25, 0, 255) / 255.0) ** 1.3).astype(np.uint8)

    base = scene(7)
    with_thing = square_at(base, 150, 100, size=30, level=60)
    rng = np.random.default_rng(2)
    images = [noisy(base, rng) for _ in range(40)] + [relit(noisy(with_thing, rng)) for _ in range(3)]
    images += [noisy(scene(8), rng)]
    stream = frames(iter(images))
    pre = Preprocessor(AnalysisParams())
    detector = BackgroundDetector(BackgroundParams())
    for _ in range(42):
        detector.update(pre(next(stream)))
    assert detector.relight()
    after = detector.update(pre(next(stream)))
    assert after.box is not None
    x, y, w, h = after.box
    scale = base.shape[1] / after.mask.shape[1]
    assert abs(x * scale - 150) < 10 and abs(w * scale - 30) < 10  # the thing, and only the thing
    assert after.value < 2 * 30 * 30 / base.size  # little more than the thing
    detector.update(pre(next(stream)))  # another scene altogether
    assert not detector.relight()


def _hold_a_thing_while_the_light_changes(base: np.ndarray, light: list[float], *, relight_at: int | None = None,
                                          x: int = 150, y: int = 100, size: int = 40) -> float:
    """Learn ``base``, then hold a square standing at (x, y) for one frame per entry of ``light`` (the
    gain on the picture, from the second frame on), then take it away: the foreground left where it
    stood, as a share of the frame. ``relight_at``: the frame after which the model is mapped to the
    new light, as the pipeline does on a lighting event."""
    from vidwatch.detectors.background import BackgroundDetector, BackgroundParams
    from vidwatch.detectors.base import LearningHints

    from .synthetic import noisy, square_at

    with_thing = square_at(base, x, y, size=size, level=60)
    rng = np.random.default_rng(4)
    images = ([noisy(base, rng) for _ in range(30)] + [noisy(with_thing * gain, rng) for gain in light]
              + [noisy(base * light[-1], rng)])
    stream = frames(iter(images))
    pre = Preprocessor(AnalysisParams())
    detector = BackgroundDetector(BackgroundParams())
    hold: np.ndarray | None = None
    for i in range(30 + len(light)):
        frame = pre(next(stream))
        detector.update(frame)
        if hold is None:
            s = frame.grey.shape[1] / base.shape[1]
            hold = np.zeros(frame.grey.shape, np.uint8)
            hold[round((y - 4) * s):round((y + size + 4) * s), round((x - 4) * s):round((x + size + 4) * s)] = 255
        detector.guide(LearningHints(hold if i >= 30 else None, None))
        if i == relight_at:
            assert detector.relight()
    return detector.update(pre(next(stream))).value


def test_ground_under_a_held_thing_is_relit_once() -> None:
    """A thing held out of the model stands while a lamp goes off and the light then keeps easing down;
    the model is mapped to the new light at the jump (as the pipeline does on a lighting event): its
    ground is mapped once, by the tone curve, and not moved again by the background's change across
    the jump, and keeps following the light afterwards, so once the thing has gone its ground is
    background at once."""
    from .synthetic import scene

    light = [1.0] * 10 + [0.7 - 0.1 * i / 60 for i in range(60)]
    left = _hold_a_thing_while_the_light_changes(scene(7), light, relight_at=40)
    assert left < 0.1 * 40 * 40 / scene(7).size, left


@pytest.mark.parametrize(("ground", "gain"), [(200, 0.6), (40, 1.5)])
def test_ground_brighter_or_darker_than_around_a_held_thing_follows_the_light_in_proportion(
        ground: float, gain: float) -> None:
    """A thing stands on a bright (or dark) patch of ground while the exposure eases down (or up) by
    40-50 % over 16 s: its ground changes in proportion to its own brightness, not by the grey levels
    the darker (or brighter) ground around it moved."""
    from .synthetic import scene

    x, y, size = 150, 100, 40
    base = scene(7) * 0.6
    around = base[y - 10:y + size + 10, x - 10:x + size + 10]
    base[y - 10:y + size + 10, x - 10:x + size + 10] = ground + 0.3 * (around - base.mean())  # some texture kept
    light = [1 + (gain - 1) * i / 240 for i in range(240)]
    left = _hold_a_thing_while_the_light_changes(base, light, x=x, y=y, size=size)
    assert left < 0.1 * size * size / base.size, left


def test_light_fit_on_a_flat_picture_is_an_offset_only() -> None:
    from vidwatch.detectors.background import light_fit

    mean = np.full((180, 320), 100, np.float32)
    gain, offset = light_fit(mean + 12, mean)
    assert (gain, offset) == (1.0, pytest.approx(12.0))


def test_new_features_too_close_to_tracked_ones_are_recognised() -> None:
    from vidwatch.detectors.flow import _near

    existing = np.float32([[50, 50], [200.4, 100.6]])
    candidates = np.float32([[53, 50], [50, 58], [201, 104], [300, 10], [-5, 400]])
    assert _near(candidates, existing, 6.0, (180, 320)).tolist() == [True, False, True, False, False]


def _same_colours_cut(n: int, cut: int) -> list[np.ndarray]:
    """A cut to the same picture turned upside down: the histogram is exactly the same, the pattern is not."""
    from .synthetic import noisy, scene

    a = scene(3)
    b = np.ascontiguousarray(np.rot90(a, 2))
    rng = np.random.default_rng(5)
    return [noisy(a if i < cut else b, rng) for i in range(n)]


def test_structure_finds_a_cut_the_histogram_cannot_see() -> None:
    images = _same_colours_cut(60, 33)
    assert scores_of("histogram", iter(images)).max() <= threshold("histogram")
    values = scores_of("structure", iter(images))
    assert np.flatnonzero(values > threshold("structure")).tolist() == [33]


def test_structure_ignores_light_a_pan_and_a_passing_thing() -> None:
    """Light keeps the pattern (correlation ignores gain and offset); a pan of 2 px a frame and a
    walking square change only a little of it."""
    from .synthetic import noisy, scene

    base = scene(6)
    rng = np.random.default_rng(2)
    light = [noisy(base if i < 20 else base * 0.2 + 10, rng) for i in range(40)]  # down to a fifth
    assert scores_of("structure", iter(light)).max() <= threshold("structure")
    pan = [noisy(np.roll(base, 2 * i, axis=1), rng) for i in range(40)]
    cls = detector_class("structure")
    detector = cls(cls.Params())
    unaligned = Preprocessor(AnalysisParams(align=False))
    panned = [detector.update(unaligned(f)).value for f in frames(iter(pan))]
    assert max(panned) <= threshold("structure")
    assert scores_of("structure", moving_square(60, start=10, end=50, speed=6)).max() <= threshold("structure")


def test_structure_does_not_take_noise_on_a_plain_wall_for_a_pattern() -> None:
    """Grain on a flat picture never correlates from frame to frame: flat cells are not compared."""
    from .synthetic import noisy

    rng = np.random.default_rng(4)
    wall = np.full((240, 320), 120.0, np.float32)
    values = scores_of("structure", iter([noisy(wall, rng, sigma=10.0) for _ in range(30)]))
    assert values.max() <= threshold("structure")


def test_ground_under_a_held_thing_follows_the_light() -> None:
    """A thing held out of the model stands while the camera's exposure drifts (gamma, which no gain and
    offset fit explains); once it has gone, the ground where it stood is background at once, not a
    patch of the old light, and while it stands it is not learnt."""
    from vidwatch.detectors.background import BackgroundDetector, BackgroundParams
    from vidwatch.detectors.base import LearningHints

    from .synthetic import noisy, scene, square_at

    def lit(image: np.ndarray, gamma: float) -> np.ndarray:
        return 255.0 * (image / 255.0) ** gamma

    base = scene(7)
    x, y, size = 150, 100, 40
    with_thing = square_at(base, x, y, size=size, level=60)
    rng = np.random.default_rng(3)
    pre = Preprocessor(AnalysisParams())
    detector = BackgroundDetector(BackgroundParams())
    stream = frames(iter([noisy(base, rng) for _ in range(30)]
                         + [noisy(lit(with_thing, 1.0 + 0.35 * i / 240), rng) for i in range(240)]
                         + [noisy(lit(base, 1.35), rng) for _ in range(2)]))
    hold: np.ndarray | None = None
    for i in range(270):
        frame = pre(next(stream))
        score = detector.update(frame)
        if hold is None:
            s = frame.grey.shape[1] / base.shape[1]
            hold = np.zeros(frame.grey.shape, np.uint8)
            hold[round((y - 4) * s):round((y + size + 4) * s), round((x - 4) * s):round((x + size + 4) * s)] = 255
        detector.guide(LearningHints(hold if i >= 30 else None, None))
    assert score.box is not None and score.value > 0.5 * size * size / base.size  # held: still in view
    detector.guide(None)
    gone = detector.update(pre(next(stream)))
    assert gone.value < 0.1 * size * size / base.size, (gone.value, gone.box)  # no patch of the old light
