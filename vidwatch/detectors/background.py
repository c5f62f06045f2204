"""Per-pixel background model: running mean μ and deviation σ, foreground where |x − μ| > k·σ.

Unlike frame differencing it keeps seeing an object that stops, and because σ is learnt per pixel,
places that always flicker (leaves, water, a screen) need a larger change before they count. The
model learns slowly where it sees foreground, so a person standing still is not swallowed at once.

Before comparing, the model is mapped to the frame's current light by a robust gain-and-offset fit
(x ≈ a·μ + b over the whole picture, outliers dropped), so dimming, clouds and auto-exposure move
the fit, not the foreground.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidwatch.blobs import (
    close_size_param,
    disc,
    find_blobs,
    min_area_param,
    min_area_pixels,
    open_size_param,
    reach_param,
)
from vidwatch.detectors.base import QUIET, Detector, DetectorParams, LearningHints, Score
from vidwatch.events import MOTION
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class BackgroundParams(DetectorParams):
    threshold: float = param(0.002, "foreground area (fraction of the frame, in blobs) above which it fires",
                             min=0.0, max=1.0)
    sustained: float = param(2.0, "seconds of foreground on its own that open an event without the other "
                             "detectors' agreement: a slow or distant person keeps the background model "
                             "over for long, nuisances only in bursts (0 = never alone)", min=0.0, max=3600.0)
    k: float = param(2.0, "a pixel is foreground when |x − μ| > k·σ", min=0.5, max=20.0)
    sigma_floor: float = param(4.0, "lowest σ in grey levels, so flat regions do not flag every flicker",
                               min=0.1, max=64.0)
    learning_rate: float = param(0.02, "how fast μ and σ follow the scene per frame (1/time constant)",
                                 min=0.0001, max=1.0)
    foreground_rate: float = param(0.1, "learning rate multiplier on foreground pixels; small = objects "
                                   "that stop stay foreground longer", min=0.0, max=1.0)
    compensate_light: bool = param(True, "fit the model to the frame's global brightness and contrast before "
                                   "comparing, so global light changes are not foreground")
    warmup: float = param(1.5, "seconds learnt (at least 2 frames) before the detector scores: no events "
                          "while it learns, after a start, a scene change or a reconnect", min=0.0, max=600.0)
    min_area: float = min_area_param(60.0)  # a quarter of objects.min_size's default box
    open_size: int = open_size_param()
    close_size: int = close_size_param()
    reach: int = reach_param(2)


class BackgroundDetector(Detector):
    """Running Gaussian per pixel with selective update."""

    name: ClassVar[str] = "background"
    kind: ClassVar[str] = MOTION
    summary: ClassVar[str] = (
        "per-pixel background model μ±kσ; sees objects that stop, tolerates flickering areas; "
        "best for outdoor and busy scenes")
    Params: ClassVar[type[DetectorParams]] = BackgroundParams
    metric_names: ClassVar[tuple[str, ...]] = ("foreground", "raw_foreground", "gain", "offset")
    runs_by_default: ClassVar[bool] = True
    foreground: ClassVar[bool] = True

    def reset(self) -> None:
        self._mean: np.ndarray | None = None
        self._var: np.ndarray | None = None
        self._seen = 0
        self._started = 0.0
        self._opened: np.ndarray | None = None
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._last: tuple[np.ndarray, np.ndarray, int] | None = None
        """(picture, foreground mask, blur) of the last frame learnt: what :meth:`relight` fits to."""
        self._light_since: np.ndarray | None = None
        """μ when the held ground last followed the light (see :meth:`_keep_up_with_light`)."""
        self._light_frames = 0

    def ready_at(self, time: float) -> bool:
        """Whether the warm-up is over by ``time``."""
        return self._seen >= 2 and time - self._started >= self.params.warmup - 1e-9

    def _learn_initial(self, x: np.ndarray, time: float) -> None:
        """Welford's running mean/variance over the warm-up frames."""
        self._seen += 1
        if self._mean is None or self._mean.shape != x.shape:
            self._mean = x.copy()
            self._var = np.zeros_like(x)
            self._seen = 1
            self._started = time
            return
        delta = x - self._mean
        self._mean += delta / self._seen
        self._var += (delta * (x - self._mean) - self._var) / self._seen

    def update(self, frame: AnalysisFrame) -> Score:
        p = self.params
        self.guide(None)  # a frame nobody gave hints for still teaches the model
        # the model is kept of the picture before the blur, and the blur is applied to the difference
        # instead (blurring is linear: the same foreground), so what it says it was compared with is
        # exact to the pixel: a small bright flake's change stays small
        x = frame.detail.astype(np.float32)
        if not self.ready_at(frame.time) or self._mean is None or self._mean.shape != x.shape:
            self._learn_initial(x, frame.time)
            return QUIET
        mean, var = self._mean, self._var
        gain, offset = light_fit(x, mean) if p.compensate_light else (1.0, 0.0)
        # OpenCV's fused array operations rather than numpy expressions: each numpy step allocates
        # a fresh frame-sized array, and together they cost several times the arithmetic
        change = cv2.addWeighted(x, 1.0, mean, -gain, -offset)  # x - (gain·μ + offset)
        residual = cv2.GaussianBlur(change, (frame.blur, frame.blur), 0) if frame.blur > 1 else change
        squared = cv2.multiply(residual, residual)
        floor = float(max(p.sigma_floor, frame.noise))
        limit = k_sigma_bar(var, floor, p.k)
        foreground = cv2.compare(squared, limit, cv2.CMP_GT)  # |residual| > k·max(σ, floor), 0/255
        mask = foreground if frame.valid is None else cv2.bitwise_and(foreground, frame.valid)
        blobs = find_blobs(mask, open_size=p.open_size, close_size=p.close_size,
                           min_area=min_area_pixels(p.min_area, frame.scale), valid_pixels=frame.valid_pixels,
                           previous=self._opened, reach=p.reach)
        self._opened = blobs.opened
        self._pending = (x, squared, foreground)  # learnt in guide(), once the object stage has spoken
        self._last = (x, foreground, frame.blur)
        metrics = {"foreground": blobs.area_fraction, "raw_foreground": blobs.raw_fraction, "gain": gain,
                   "offset": offset}
        reference = cv2.subtract(x, change) if blobs.count else None  # gain·μ + offset, before the blur
        valid = frame.valid

        def faint() -> np.ndarray:
            """Changes under the threshold or dropped as specks, away from what was kept: where a thing too
            small for this picture may be (see vidwatch.objects.fine), at a lower bar. Made on request:
            only a large picture's fine pass asks."""
            changed = cv2.compare(squared, cv2.multiply(limit, FAINT * FAINT), cv2.CMP_GT)
            if valid is not None:
                changed = cv2.bitwise_and(changed, valid)
            if blobs.count:
                changed = cv2.bitwise_and(changed, cv2.bitwise_not(cv2.dilate(blobs.mask, disc(9))))
            return changed

        return Score(blobs.area_fraction, metrics, blobs.mask, blobs.largest_box, reference=reference, faint=faint,
                     components=blobs.components)

    def guide(self, hints: LearningHints | None) -> None:  # type: ignore[override]
        """Learn from the last scored frame: μ += r·(x − μ) and σ² += r·(residual² − σ²).

        r is the learning rate on background pixels, slower on foreground (a thing that stops stays
        visible for a while), zero on pixels of tracked things (``hints.hold``), and the background's
        own rate on foreground the object stage found to be no thing (``hints.free``: light, clutter
        that never travels). There only μ follows at that rate; σ keeps the slow one, so a passing
        shadow does not make the model less sensitive where it fell.
        """
        if self._pending is None or self._mean is None or self._var is None:
            return
        p = self.params
        x, squared, foreground = self._pending
        self._pending = None
        mean, var = self._mean, self._var
        background = cv2.bitwise_not(foreground)
        slow = p.learning_rate * p.foreground_rate
        hold = hints.hold if hints is not None else None
        if hold is not None:
            background = cv2.bitwise_and(background, cv2.bitwise_not(hold))
            foreground = cv2.bitwise_and(foreground, cv2.bitwise_not(hold))
        if hints is not None and hints.free is not None:
            cv2.accumulateWeighted(x, mean, p.learning_rate, mask=hints.free)
            cv2.accumulateWeighted(squared, var, slow, mask=hints.free)
            keep = cv2.bitwise_not(hints.free)
            background = cv2.bitwise_and(background, keep)
            foreground = cv2.bitwise_and(foreground, keep)
        cv2.accumulateWeighted(x, mean, p.learning_rate, mask=background)
        cv2.accumulateWeighted(x, mean, slow, mask=foreground)
        cv2.accumulateWeighted(squared, var, p.learning_rate, mask=background)
        cv2.accumulateWeighted(squared, var, slow, mask=foreground)
        self._keep_up_with_light(hold, background)

    def _keep_up_with_light(self, hold: np.ndarray | None, background: np.ndarray) -> None:
        """Every :data:`LIGHT_EVERY` frames learnt, move the held pixels' μ as the background around them
        moved since the last time (:func:`_follow_light`), and start counting again."""
        mean = self._mean
        assert mean is not None
        since = self._light_since
        self._light_frames += 1
        if since is not None and since.shape == mean.shape:
            if self._light_frames < LIGHT_EVERY:
                return
            if hold is not None:
                _follow_light(mean, since, hold, background)
            np.copyto(since, mean)
        else:
            self._light_since = mean.copy()
        self._light_frames = 0

    def relight(self) -> bool:
        """Map μ through the tone curve that takes it to the last frame, and σ by the curve's slope.

        Auto-exposure, a dimmer or a cloud remaps every grey level of the same scene. A curve fitted
        level by level (not only a gain and an offset, so a gamma change fits too) keeps what was
        learnt, including the things held out of the model. A frame the curve does not explain (more
        than :data:`UNEXPLAINED` of the picture off by more than k·σ: the scene itself changed) is
        left to a reset.
        """
        if self._last is None or self._mean is None or self._var is None:
            return False
        p = self.params
        x, foreground, blur = self._last
        levels, mapped = tone_curve(x, self._mean, foreground)
        mean = np.interp(self._mean, levels, mapped).astype(np.float32)
        slopes = np.clip(np.gradient(mapped, levels), 0.2, 5.0) if levels.size > 1 else np.ones(1)
        slope = np.interp(self._mean, levels, slopes).astype(np.float32)
        var = cv2.multiply(self._var, cv2.multiply(slope, slope))
        residual = cv2.subtract(x, mean)
        if blur > 1:
            residual = cv2.GaussianBlur(residual, (blur, blur), 0)
        floor = float(p.sigma_floor)
        off = cv2.compare(cv2.multiply(residual, residual), k_sigma_bar(var, floor, p.k), cv2.CMP_GT)
        if cv2.countNonZero(off) > UNEXPLAINED * off.size:  # things in view are a few per cent at most
            return False
        self._mean, self._var = mean, var
        self._light_since = None  # μ moved as a whole: what the background learns is counted afresh
        return True


LIGHT_REACH = 12
"""Analysis pixels beyond a held area whose background's learning its pixels follow (see
:func:`_follow_light`); the window grows by half the held area's width, so its middle reaches out too."""
LIGHT_SUPPORT = 0.1
"""Share of a held pixel's window that must be background for it to follow."""
LIGHT_CELL = 4
"""Analysis pixels per side of the cells the background's change is averaged over first."""
LIGHT_FLAT = 10.0
"""Spread of grey levels (σ) in a window's background at which the light's change is taken half as a
gain, half as an offset; a flatter background cannot tell them apart and gives an offset."""
LIGHT_EVERY = 4
"""Frames learnt between the held ground's steps after the light. Between two steps a held pixel lags
the background by what the background learnt meanwhile (``LIGHT_EVERY`` · learning rate of the
background's own lag behind the light: 8 % of it at the defaults); a step costs as much as the rest
of the model's learning, and every frame with a thing in view would pay it."""


def _follow_light(mean: np.ndarray, since: np.ndarray, hold: np.ndarray, background: np.ndarray) -> None:
    """Move each held pixel's μ by as much as the background around it moved since ``since`` (μ then).

    A thing held out of the model must not be learnt, but the light on the ground under it changes
    all the same (auto-exposure, a cloud, dusk). Held still, those pixels keep the old light, and once
    the thing moves on they show as a patch of foreground the shape of where it stood, held again as
    part of it: a slow walker drags a trail, and their track may stay with the trail. The background
    pixels around learn at the model's own rate; how they changed, fitted as a gain and an offset of
    their level, is the light's, and is given to the held pixels at their own level (light scales
    what the ground reflects: a bright patch under a thing darkens by more grey levels than the dark
    ground around it). Nothing of the thing is learnt: under steady light that change is noise,
    averaged out.
    """
    x, y, w, h = cv2.boundingRect(hold)
    if w == 0:
        return
    reach = LIGHT_REACH + min(w, h) // 2
    x0, y0 = max(x - reach, 0), max(y - reach, 0)
    x1, y1 = min(x + w + reach, hold.shape[1]), min(y + h + reach, hold.shape[0])
    patch = mean[y0:y1, x0:x1]
    height, width = patch.shape
    # light changes smoothly across the ground: the background is summed over cells of LIGHT_CELL
    # pixels first, and the fit is made per cell over its window of cells, then brought back to the
    # pixels; it costs a fraction of full-resolution filters
    small = (max(width // LIGHT_CELL, 1), max(height // LIGHT_CELL, 1))
    learning = background[y0:y1, x0:x1]
    then = since[y0:y1, x0:x1]
    learnt = cv2.multiply(learning, 1.0 / 255.0, dtype=cv2.CV_32F)  # 0/255 -> 0/1
    level = cv2.multiply(then, learnt)
    moved = cv2.subtract(cv2.multiply(patch, learnt), level)
    share, level, moved = (cv2.resize(image, small, interpolation=cv2.INTER_AREA) for image in (learnt, level, moved))
    cells = (2 * (reach // LIGHT_CELL) + 1,) * 2

    def over_window(image: np.ndarray) -> np.ndarray:
        return cv2.blur(image, cells, borderType=cv2.BORDER_CONSTANT)

    # weighted least squares of change on level over the window: change = slope·level + offset
    per_pixel = cv2.max(share, 1e-6)
    support = over_window(share)
    weight = cv2.max(support, 1e-6)
    mean_level = over_window(level) / weight
    mean_change = over_window(moved) / weight
    spread = over_window(level * level / per_pixel) / weight - mean_level * mean_level
    together = over_window(level * moved / per_pixel) / weight - mean_level * mean_change
    slope = together / (cv2.max(spread, 0.0) + LIGHT_FLAT * LIGHT_FLAT)
    offset = mean_change - slope * mean_level
    lost = support < LIGHT_SUPPORT  # a cell with too little background around follows nothing
    slope[lost] = 0.0
    offset[lost] = 0.0
    slope, offset = (cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR) for image in (slope, offset))
    relit = cv2.add(patch, cv2.add(cv2.multiply(patch, slope), offset))
    cv2.copyTo(relit, hold[y0:y1, x0:x1], patch)


def k_sigma_bar(var: np.ndarray, floor: float, k: float) -> np.ndarray:
    """(k·max(σ, floor))² per pixel, σ² being ``var``: what a pixel's squared residual must exceed to be
    foreground. The one home of the background model's test (the fine pass keeps the same model)."""
    return cv2.multiply(cv2.max(var, floor * floor), k * k)


FAINT = 0.6
"""Share of the k·σ bar a change must pass to be worth a finer look (the fine pass asks it to last)."""
UNEXPLAINED = 0.15
"""Share of the background a light change may leave unexplained after :meth:`BackgroundDetector.relight`
(a scene that changed leaves most of it)."""
TONE_LEVELS = 32
"""Grey-level bins of the tone curve (8 levels each)."""
TONE_SAMPLES = 24
"""Subsampled pixels a bin needs for its own point on the curve."""


def tone_curve(x: np.ndarray, mean: np.ndarray, foreground: np.ndarray, *,
               step: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(levels, mapped): a monotonic curve with x ≈ curve(mean) on the background, for ``np.interp``.

    Each bin of model levels maps to the median of what those pixels show now (robust to the few
    that really changed); bins with too few pixels, and the ends of the range, follow the robust
    gain-and-offset fit.
    """
    gain, offset = light_fit(x, mean)
    keep = foreground[::step, ::step].ravel() == 0
    xs = x[::step, ::step].ravel()[keep]
    ms = mean[::step, ::step].ravel()[keep]
    bins = np.clip((ms * (TONE_LEVELS / 256.0)).astype(np.int32), 0, TONE_LEVELS - 1)
    order = np.argsort(bins, kind="stable")
    bounds = np.searchsorted(bins[order], np.arange(TONE_LEVELS + 1))
    levels, mapped = [0.0], [offset]
    for b in range(TONE_LEVELS):
        chosen = order[bounds[b]:bounds[b + 1]]
        if chosen.size >= TONE_SAMPLES:
            levels.append(_median(ms[chosen]))
            mapped.append(_median(xs[chosen]))
    levels.append(255.0)
    mapped.append(gain * 255.0 + offset)
    points = sorted(zip(levels, mapped, strict=True))
    kept = [points[0]]
    for level, value in points[1:]:
        if level >= kept[-1][0] + 1.0:  # one point per grey level: slopes stay finite
            kept.append((level, value))
    level_array = np.array([level for level, _ in kept], np.float64)
    curve = np.maximum.accumulate(np.array([value for _, value in kept], np.float64))
    return level_array, curve


def light_fit(x: np.ndarray, mean: np.ndarray, *, step: int = 6) -> tuple[float, float]:
    """Robust (gain, offset) with x ≈ gain·mean + offset, from a subsample of pixels.

    A least-squares fit, then a second fit without the pixels it explains worst (anything that
    really changed), so a person walking through does not bend the estimate. Written with sums and
    dot products rather than ``np.cov``/``np.median``: it runs on every frame, and their overhead
    was most of its cost.
    """
    xs = x[::step, ::step].ravel().astype(np.float64)
    ms = mean[::step, ::step].ravel().astype(np.float64)
    xk, mk = xs, ms
    gain, offset = 1.0, 0.0
    for _ in range(2):
        n = mk.size
        m_mean = float(mk.sum()) / n if n else 0.0
        m_var = float(mk @ mk) / n - m_mean * m_mean if n else 0.0
        if n < 16 or m_var < 16.0:  # flat picture (spread under 4 levels): only an offset can be told
            gain, offset = 1.0, _median(xs - ms)
        else:
            x_mean = float(xk.sum()) / n
            gain = (float(mk @ xk) / n - m_mean * x_mean) / m_var
            offset = x_mean - gain * m_mean
        residual = np.abs(xs - (gain * ms + offset))
        keep = residual <= max(3.0 * _median(residual), 2.0)
        xk, mk = xs[keep], ms[keep]
    if not 0.2 <= gain <= 5.0:  # nonsense fit (a cut): leave the frame to the scene-change detectors
        return 1.0, 0.0
    return gain, offset


def _median(values: np.ndarray) -> float:
    """The upper median, by partition (no sort, no NaN checks)."""
    middle = values.size // 2
    return float(np.partition(values, middle)[middle])
