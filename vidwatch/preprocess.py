"""Turn each decoded frame into the small analysis frame, once, for all detectors.

Detectors never touch full-resolution pixels: downscaling first makes every later step cheap and
averages away sensor noise, and doing it in one place means one resize per frame however many
detectors run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from vidwatch.align import Aligner, border_mask
from vidwatch.burnt_in import BurntInFinder
from vidwatch.errors import ConfigError
from vidwatch.frames import AnalysisFrame, SourceFrame
from vidwatch.noise import NoiseEstimator
from vidwatch.params import param
from vidwatch.zones import ZoneParams, zone_mask


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """How frames are reduced before detection (YAML section ``analysis``)."""

    width: int = param(320, "analysis width in pixels (height keeps the aspect ratio); 0 keeps full size",
                       min=0, max=4096)
    blur: int = param(5, "Gaussian blur kernel size in analysis pixels against sensor noise; 0 turns it off",
                      min=0, max=31)
    normalize: Literal["none", "percentile"] = param(
        "none", "exposure normalisation: 'percentile' stretches the 1st..99th percentile to 0..255 "
        "(robust to a few hot pixels)")
    colour: bool = param(False, "also keep a colour analysis copy (for colour histograms)")
    align: bool = param(True, "measure how the whole picture moved (tracked corners, rotation and shift) and "
                        "undo it, so a shaking camera is not motion and a knocked one is a scene change")

    def __post_init__(self) -> None:
        if self.blur not in (0, 1) and self.blur % 2 == 0:
            raise ValueError(f"analysis.blur must be odd or 0, got {self.blur}")


log = logging.getLogger(__name__)

VIDEO_TO_FULL_RANGE = np.clip(np.round((np.arange(256) - 16) * (255.0 / 219.0)), 0, 255).astype(np.uint8)
"""Video-range luma (16..235) to the 0..255 grey a BGR -> grey conversion of the same frame gives."""


class Preprocessor:
    """Downscale, grey, blur, normalise, align and measure noise; sizes are fixed on the first frame."""

    def __init__(self, params: AnalysisParams, zones: ZoneParams | None = None) -> None:
        self.params = params
        self.zones = zones or ZoneParams()
        self._full: tuple[int, int] | None = None
        self._size: tuple[int, int] = (0, 0)
        self._scale = 1.0
        self._zone_mask: np.ndarray | None = None
        self.aligner = Aligner() if params.align else None
        self.noise = NoiseEstimator()
        self.burnt_in = BurntInFinder() if self.zones.burnt_in else None
        self._burnt_in_told = False

    def reset(self) -> None:
        """Re-baseline: the next frame becomes the alignment reference."""
        if self.aligner is not None:
            self.aligner.reset()
        self.noise.reset()

    def _analysis_size(self, width: int, height: int) -> tuple[int, int]:
        target = self.params.width
        if target <= 0 or target >= width:
            return width, height
        return target, max(1, round(height * target / width))

    def reduce(self, frame: SourceFrame) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The small grey (blurred, normalised), the same before the blur (None without a blur), and the
        colour copy of ``frame``.

        Depends on nothing but the frame and the parameters. (Running it on the decode-ahead
        thread instead was measured slower on two cores: that thread feeds the decoder, and every
        moment it spends elsewhere leaves the decoder's threads waiting.)
        """
        image = frame.image
        height, width = image.shape[:2]
        size = self._analysis_size(width, height)
        small = downscale(image, size) if size != (width, height) else image
        colour = None
        grey = grey_levels(small, frame.limited_range)
        if self.params.colour:
            if small.ndim == 3:
                colour = small
            else:  # a luma-only reader still has the colour, converted on request
                bgr = frame.bgr()
                colour = downscale(bgr, size) if bgr.shape[:2] != size[::-1] else bgr
        if self.params.normalize == "percentile":
            grey = normalize_exposure(grey)
        sharp = None
        if self.params.blur > 1:
            sharp, grey = grey, cv2.GaussianBlur(grey, (self.params.blur, self.params.blur), 0)
        return grey, sharp, colour

    def __call__(self, frame: SourceFrame) -> AnalysisFrame:
        height, width = frame.image.shape[:2]
        if self._full != (width, height):
            self._full = (width, height)
            self._size = self._analysis_size(width, height)
            self._scale = width / self._size[0]
            try:
                self._zone_mask = zone_mask(self.zones, self._size, self._full)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        grey, sharp, colour = self.reduce(frame)
        valid = self._zone_mask
        burnt_in = None
        if self.burnt_in is not None:  # found before alignment: the camera's marks do not move with the scene
            burnt_in = self.burnt_in.update(grey if sharp is None else sharp, frame.time, self.noise.sigma)
            if burnt_in is not None and not self._burnt_in_told:
                self._burnt_in_told = True
                s = self._scale
                log.info("burnt into the picture (a clock's digits?), left out as if excluded: %s (x, y, width, "
                         "height in source pixels); zones.burnt_in: false keeps it",
                         [[round(v * s) for v in box] for box in self.burnt_in.boxes])
        alignment = None
        if self.aligner is not None:
            grey, alignment = self.aligner.align(grey)
            if sharp is not None:
                sharp = self.aligner.warp(sharp, alignment)
            border = border_mask(grey.shape, alignment)
            if border is not None:
                valid = border if valid is None else cv2.bitwise_and(valid, border)
            if burnt_in is not None:
                burnt_in = self.aligner.warp(burnt_in, alignment)
        if burnt_in is not None:
            kept = cv2.bitwise_not(burnt_in)
            valid = kept if valid is None else cv2.bitwise_and(valid, kept)
        noise = self.noise.update(grey, valid)
        analysis = AnalysisFrame(frame.index, frame.time, grey, self._scale, frame, colour=colour, valid=valid,
                                 noise=noise, sharp=sharp, blur=self.params.blur if self.params.blur > 1 else 0)
        if alignment is not None:
            analysis.offset = alignment.offset
            analysis.displacement = alignment.displacement
        return analysis


def grey_levels(image: np.ndarray, limited_range: bool) -> np.ndarray:
    """0..255 grey of a decoded picture (or part of one): BGR converted, video-range luma stretched."""
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return cv2.LUT(image, VIDEO_TO_FULL_RANGE) if limited_range else image


def downscale(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``image`` down to ``size``: halve first while at least a factor 4 remains.

    OpenCV's area resize is fast only for a factor of 2, so the bulk is done by halving. A whole
    factor left over (1080p -> 320 leaves 3) is a box filter sampled every k pixels, the same
    average at a fraction of the general resize's cost; anything else goes to the general resize.
    """
    height, width = image.shape[:2]
    while width >= 4 * size[0] and height >= 4 * size[1] and width % 2 == 0 and height % 2 == 0:
        width, height = width // 2, height // 2
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    factor = width // size[0]
    if 2 < factor <= 8 and width == factor * size[0] and height == factor * size[1]:
        # box[y, x] is the mean of the k x k block whose corner is k//2 above and left of (x, y),
        # so sampling from k//2 in steps of k gives the means of the adjacent k x k blocks
        box = cv2.blur(image, (factor, factor))
        return np.ascontiguousarray(box[factor // 2::factor, factor // 2::factor])
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def normalize_exposure(grey: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0) -> np.ndarray:
    """Stretch the [low, high] percentile range to 0..255.

    Percentiles rather than min/max, so one hot pixel on a dark frame cannot wreck the stretch.
    """
    hist = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel()
    cdf = np.cumsum(hist)
    total = cdf[-1]
    lo = int(np.searchsorted(cdf, total * low_pct / 100.0))
    hi = int(np.searchsorted(cdf, total * high_pct / 100.0))
    if hi - lo < 8:  # flat frame: stretching would only amplify noise
        return grey
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    return cv2.LUT(grey, lut)
