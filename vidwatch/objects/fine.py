"""A second, finer look where the analysis copy is too coarse for the smallest object.

A 1080p picture analysed 320 px wide makes a distant person (``objects.min_size`` 10x24 source px)
under two analysis pixels wide: the background model still sees a faint change there, but its mask's
opening removes it, and the blur halves its contrast. Analysing the whole picture finer (576 px)
makes a 1080p run take about 1.7 times as long. This pass keeps its own background model at the scale
``min_size`` needs (its narrow side 3 px wide), learns it a strip of rows at a time, and compares
with it only around the places where the coarse model saw such a faint change persist over a few
frames — usually nowhere, so a quiet or busy scene of large things costs a strip every other frame.

The regions it finds are judged (light or thing, core size) on its own finer pictures and handed to
the tracker in analysis pixels, as if the coarse mask had found them. The object stage also asks it
to judge coarse regions too small to judge at their own scale, and coarse tracks about to become
things (see :meth:`FinePass.judge`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from vidwatch.blobs import disc, label_type
from vidwatch.detectors.background import BackgroundParams, k_sigma_bar
from vidwatch.frames import AnalysisFrame
from vidwatch.objects.focus import SourceLook, source_look
from vidwatch.objects.regions import RING, Appearance, Region, appearance, find_regions
from vidwatch.preprocess import downscale, grey_levels

NARROWEST = 3
"""Pixels the narrow side of the smallest object needs at the scale it is analysed at, to survive the
masks' opening (3 px)."""
STRIP = 16
"""Rows of the fine picture learnt at a time (all of them in turn)."""
LEARN_EVERY = 2
"""Frames between two strips learnt: a 1080p picture's fine model is refreshed every 46 frames, the
learning making up for the frames in between (a fraction of the cost of one call per frame)."""
STREAK = 3
"""Frames in a row the coarse model must see a faint change at (or next to) a pixel before the fine
pass looks there: sensor noise rarely lasts that long, a slow small thing does."""
MARGIN = 6
"""Fine pixels looked at around what the coarse pass saw (the finer silhouette is larger than its
faint trace, and the region's surroundings are needed to judge it)."""
WARMUP = 4
"""Frames learnt over the whole fine picture before it is compared with (then a strip at a time)."""
BLUR = 3
"""Gaussian kernel of the fine residual, against the noise that a finer picture averages less."""
RIM = 5
"""Kernel (fine pixels) a change is grown by before a strip is learnt: its soft rim belongs to it."""
MIN_GAIN = 1.25
"""How much finer than the analysis copy the fine pass must be to be worth running."""
BUSY_MEMORY = 60.0
"""Seconds over which the fine pass remembers where the coarse mask was and where it looked."""
BUSY_LIMIT = 3.0
"""Seconds, lately, after which a place is busy: faint changes there are not looked at, and what the fine
pass followed there is not followed on (a person crosses a place in a second or two; a flapping tape,
a swaying branch or a flickering lamp stays)."""
BUSY_REACH = 9
"""Analysis pixels around the coarse mask and around a place looked at that count as busy too."""
LARGEST = 3
"""Times ``min_size`` (each side) beyond which a region of the fine pass is not reported: anything that
large the coarse pass sees; in the fine picture it is many small changes joined (dense snow)."""
EDGE_MARGIN = 3
"""Fine pixels of surroundings around a region looked at at the source's resolution."""
MAX_LOOKS = 3
"""Places looked at per frame at most (those followed from the last frame first, then the largest new
ones): a busy scene costs no more than this."""


@dataclass(frozen=True, slots=True)
class FineModel:
    """How the fine background model learns and compares: the background detector's own settings."""

    k: float
    sigma_floor: float
    learning_rate: float
    foreground_rate: float

    @classmethod
    def like(cls, params: object) -> FineModel:
        """The fine model of a background detector with these ``params`` (its defaults for a detector
        that has no such setting)."""
        default = BackgroundParams()
        return cls(*(float(getattr(params, name, getattr(default, name)))
                     for name in ("k", "sigma_floor", "learning_rate", "foreground_rate")))


@dataclass(frozen=True, slots=True)
class FineRegions:
    """What the fine pass found on one frame: regions in fine pixels, and how each looks."""

    regions: list[Region]
    looks: list[Appearance]
    """How each region relates to the fine background behind it (judged on the fine pictures)."""
    ratio: float
    """Fine pixels per analysis pixel."""
    factor: int
    """Source pixels per fine pixel."""


def fine_factor(min_size: tuple[int, ...], scale: float) -> int:
    """Source pixels per fine pixel for ``min_size`` at this analysis ``scale``, or 0 when the analysis
    copy is already fine enough (or too little would be gained)."""
    factor = max(1, math.floor(min(min_size) / NARROWEST))
    return factor if scale / factor >= MIN_GAIN else 0


class FinePass:
    """A background model at the fine scale, learnt strip by strip, compared only where asked."""

    def __init__(self, factor: int, model: FineModel, min_size: tuple[int, ...] = (10, 24)) -> None:
        self.factor = factor
        self.model = model
        self._shape: tuple[int, int] = (0, 0)
        """(height, width) of the fine picture."""
        width, height = min_size
        self._largest = (LARGEST * width // factor, LARGEST * height // factor)
        """The largest region the fine pass reports (fine pixels): :data:`LARGEST` times ``min_size``."""
        self._join = cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (max(round(width / factor / 2), 1) | 1, max(round(0.75 * height / factor), 1) | 1))
        """Closing kernel that joins the pieces of one small thing (a person's legs apart from their coat,
        their head apart from their shoulders, at night): at the fine scale, half as wide as ``min_size``
        and three quarters as tall (taller, it joins the flakes of a snowfall into person-sized streaks)."""
        self._ratio = 1.0
        """Fine pixels per analysis pixel."""
        self.reset()

    def reset(self) -> None:
        self._mean: np.ndarray | None = None
        self._var: np.ndarray | None = None
        self._learnt: np.ndarray | None = None
        """Per strip: the frame index it was last learnt at."""
        self._seen = 0
        self._next_strip = 0
        self._streak: np.ndarray | None = None
        self._busy: np.ndarray | None = None
        """Seconds each analysis pixel was in the coarse mask or looked at, lately (fading over
        :data:`BUSY_MEMORY`)."""
        self._busy_time = 0.0
        """When :attr:`_busy` was last faded."""
        self._time: float | None = None
        """The last frame's time."""
        self._following: list[tuple[float, float, float, float]] = []
        """Fine rectangles (x0, y0, x1, y1) of small things found, looked at again on the next frame."""
        self._held: list[tuple[float, float, float, float]] = []
        """Fine rectangles of things being tracked, kept out of the model."""

    def _fine(self, frame: AnalysisFrame, rows: slice, cols: slice) -> np.ndarray:
        """Fine rows/columns of the source frame (aligned like the analysis copy), float32 grey."""
        crop = self._source(frame, rows, cols)
        if self.factor > 1:  # the crop is whole blocks of f x f: each fine pixel is one block's mean
            crop = downscale(crop, (crop.shape[1] // self.factor, crop.shape[0] // self.factor))
        return crop.astype(np.float32)

    def _source(self, frame: AnalysisFrame, rows: slice, cols: slice) -> np.ndarray:
        """The source pixels (grey levels, aligned like the analysis copy) under fine rows/columns."""
        f = self.factor
        source = frame.source
        image = source.image
        dx, dy = (round(v * frame.scale) for v in frame.offset)
        y0, y1 = rows.start * f + dy, rows.stop * f + dy
        x0, x1 = cols.start * f + dx, cols.stop * f + dx
        height, width = image.shape[:2]
        crop = grey_levels(image[max(y0, 0):max(min(y1, height), 0), max(x0, 0):max(min(x1, width), 0)],
                           source.limited_range)
        pads = (max(-y0, 0), max(y1 - height, 0), max(-x0, 0), max(x1 - width, 0))
        if any(pads) and crop.size:
            crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_REPLICATE)
        if crop.shape[:2] != (y1 - y0, x1 - x0):  # wholly outside (a huge shift): nothing to compare
            return np.zeros((y1 - y0, x1 - x0), np.float32)
        return crop

    def _residual(self, x: np.ndarray, mean: np.ndarray, light: tuple[float, float]) -> np.ndarray:
        gain, offset = light
        change = cv2.addWeighted(x, 1.0, mean, -gain, -offset)
        return cv2.GaussianBlur(change, (BLUR, BLUR), 0)

    def _foreground(self, squared: np.ndarray, var: np.ndarray) -> np.ndarray:
        """Where the squared residual is beyond k·σ (σ at least the floor)."""
        return cv2.compare(squared, k_sigma_bar(var, self.model.sigma_floor, self.model.k), cv2.CMP_GT)

    def _learn(self, frame: AnalysisFrame, light: tuple[float, float]) -> None:
        """Warm-up: the whole picture, a running mean; then a strip every :data:`LEARN_EVERY` frames, at the
        rate its frames add up to."""
        height, width = self._shape
        if self._mean is None or self._seen < WARMUP:
            x = self._fine(frame, slice(0, height), slice(0, width))
            self._seen += 1
            if self._mean is None or self._var is None:
                self._mean, self._var = x, np.zeros_like(x)
                self._learnt = np.full(-(-height // STRIP), frame.index, np.int64)
                return
            delta = x - self._mean
            self._mean += delta / self._seen
            self._var += (cv2.GaussianBlur(delta, (BLUR, BLUR), 0) ** 2 - self._var) / self._seen
            assert self._learnt is not None
            self._learnt[:] = frame.index
            return
        assert self._var is not None and self._learnt is not None
        if frame.index - int(self._learnt.max()) < LEARN_EVERY:  # a strip was learnt a moment ago
            return
        strip = self._next_strip
        self._next_strip = (strip + 1) % self._learnt.size
        rows = slice(strip * STRIP, min((strip + 1) * STRIP, height))
        frames = max(frame.index - int(self._learnt[strip]), 1)
        self._learnt[strip] = frame.index
        m = self.model
        rate = 1.0 - (1.0 - m.learning_rate) ** frames
        slow = 1.0 - (1.0 - m.learning_rate * m.foreground_rate) ** frames
        x = self._fine(frame, rows, slice(0, width))
        mean, var = self._mean[rows], self._var[rows]
        residual = self._residual(x, mean, light)
        squared = cv2.multiply(residual, residual)
        # the soft rim of a change belongs to it: learnt at the rate of a whole strip's wait, a small
        # thing's rim would be half in the model at once, and the thing would look like light on it
        foreground = cv2.dilate(self._foreground(squared, var), disc(RIM))
        background = cv2.bitwise_not(foreground)
        for x0, y0, x1, y1 in self._held:  # things being tracked are not learnt at all
            top, bottom = max(int(y0) - MARGIN - rows.start, 0), min(math.ceil(y1) + MARGIN, rows.stop) - rows.start
            left, right = max(int(x0) - MARGIN, 0), math.ceil(x1) + MARGIN
            if bottom > top:
                foreground[top:bottom, left:right] = 0
                background[top:bottom, left:right] = 0
        cv2.accumulateWeighted(x, mean, rate, mask=background)
        cv2.accumulateWeighted(x, mean, slow, mask=foreground)
        cv2.accumulateWeighted(squared, var, rate, mask=background)
        cv2.accumulateWeighted(squared, var, slow, mask=foreground)

    def update(self, frame: AnalysisFrame, faint: np.ndarray | None, known: np.ndarray | None,
               ignored: Callable[[], np.ndarray | None], light: tuple[float, float], min_area: float, *,
               explore: bool = True) -> FineRegions | None:
        """Learn one strip; where ``faint`` (the coarse model's unresolved change) has lasted, outside
        ``ignored()`` (analysis pixels the coarse pass accounts for, asked for only when there is
        something to look at) and places kept busy lately (by the coarse mask, ``known``, or by looking
        there), and where it was asked to :meth:`follow`, compare with the fine model and return the
        regions of at least ``min_area`` source pixels² found there (None: nothing looked at). Without
        ``explore`` it only follows."""
        source_height, source_width = frame.source.image.shape[:2]
        self._shape = (source_height // self.factor, source_width // self.factor)
        if self._mean is not None and self._mean.shape != self._shape:
            self.reset()
        warming = self._mean is None or self._seen < WARMUP
        self._learn(frame, light)
        ratio = self._ratio = frame.scale / self.factor
        step = frame.time - self._time if self._time is not None and frame.time > self._time else 0.0
        self._time = frame.time
        self._extend_streaks(faint)
        busy = self._fade_busy(known, frame.time, step)
        rects, self._following = self._following, []
        if busy is not None:  # a small thing followed into a place the coarse mask keeps busy is clutter
            rects = [r for r in rects if not busy[min(int((r[1] + r[3]) / 2 / ratio), busy.shape[0] - 1),
                                                   min(int((r[0] + r[2]) / 2 / ratio), busy.shape[1] - 1)]]
        if warming:
            return None
        lasting = cv2.compare(self._streak, STREAK, cv2.CMP_GE) if explore and self._streak is not None else None
        if lasting is not None and not cv2.countNonZero(lasting):
            lasting = None
        if lasting is None and not rects:  # nothing to look at: the usual case, at the cost of a strip
            return None
        ignore = ignored()
        places = self._places(lasting, ignore, busy, step) if lasting is not None else None
        if places is not None:
            count, _, stats, _ = cv2.connectedComponentsWithStats(places, connectivity=8,
                                                                    ltype=label_type(places))
            order = np.argsort(-stats[1:count, cv2.CC_STAT_AREA], kind="stable") + 1
            rects += [(x * ratio, y * ratio, (x + w) * ratio, (y + h) * ratio)
                      for x, y, w, h, _ in stats[order[:max(MAX_LOOKS - len(rects), 0)]]]
        if not rects:
            return None
        found = FineRegions([], [], ratio, self.factor)
        for rows, cols in _merged(rects, self._shape):
            self._look_at(frame, rows, cols, ignore, light, min_area / (self.factor * self.factor), found,
                          self._largest)
        return found

    def judge(self, frame: AnalysisFrame, box: tuple[int, int, int, int],
              light: tuple[float, float]) -> Appearance | None:
        """How the largest change inside an analysis-pixel ``box`` (a region of the coarse mask too small
        to be judged at its scale) looks on the fine pictures; None before the model has learnt."""
        if self._mean is None or self._seen < WARMUP:
            return None
        r = self._ratio
        x, y, w, h = box
        found = FineRegions([], [], r, self.factor)
        for rows, cols in _merged([(x * r, y * r, (x + w) * r, (y + h) * r)], self._shape):
            self._look_at(frame, rows, cols, None, light, 1.0, found, most=1)
        if not found.regions:
            return None
        return max(zip(found.regions, found.looks, strict=True), key=lambda pair: pair[0].area)[1]

    def source_look(self, frame: AnalysisFrame, box: tuple[int, int, int, int],
                    light: tuple[float, float]) -> SourceLook | None:
        """How the change inside an analysis-pixel ``box`` looks at the source's own resolution, against
        the fine model (see :mod:`vidwatch.objects.focus`); None before the model has learnt or where
        there is nothing to look at."""
        if self._mean is None or self._seen < WARMUP:
            return None
        r, f = self._ratio, self.factor
        x, y, w, h = box
        pad = EDGE_MARGIN
        rows = slice(max(math.floor(y * r) - pad, 0), min(math.ceil((y + h) * r) + pad, self._shape[0]))
        cols = slice(max(math.floor(x * r) - pad, 0), min(math.ceil((x + w) * r) + pad, self._shape[1]))
        if rows.stop - rows.start < 2 or cols.stop - cols.start < 2:
            return None
        picture = self._source(frame, rows, cols).astype(np.float32)
        gain, offset = light
        reference = cv2.resize(self._mean[rows, cols] * gain + offset, (picture.shape[1], picture.shape[0]),
                               interpolation=cv2.INTER_LINEAR)
        s = frame.scale
        inside = (round(x * s) - cols.start * f, round(y * s) - rows.start * f, round(w * s), round(h * s))
        return source_look(picture, reference, inside, frame.noise)

    def _look_at(self, frame: AnalysisFrame, rows: slice, cols: slice, ignore: np.ndarray | None,
                 light: tuple[float, float], min_area: float, found: FineRegions,
                 largest: tuple[int, int] | None = None, *, most: int = MAX_LOOKS) -> None:
        """Compare one rectangle of the fine picture with the model; add its ``most`` largest regions (no
        wider or taller than ``largest``, fine pixels) to ``found``."""
        assert self._mean is not None and self._var is not None
        picture = self._fine(frame, rows, cols)
        mean = self._mean[rows, cols]
        residual = self._residual(picture, mean, light)
        mask = self._foreground(cv2.multiply(residual, residual), self._var[rows, cols])
        if ignore is not None:  # the ignored analysis pixels over this rectangle, at the fine scale
            r = found.ratio
            top, left = int(rows.start / r), int(cols.start / r)
            part = ignore[top:math.ceil(rows.stop / r), left:math.ceil(cols.stop / r)]
            if part.size and cv2.countNonZero(part):
                grown = cv2.resize(part, (round(part.shape[1] * r), round(part.shape[0] * r)),
                                   interpolation=cv2.INTER_NEAREST)
                dy, dx = round(rows.start - top * r), round(cols.start - left * r)
                part = grown[dy:dy + mask.shape[0], dx:dx + mask.shape[1]]
                mask[:part.shape[0], :part.shape[1]][part > 0] = 0
        # specks out; the pieces of one silhouette (its legs apart from its coat) joined
        mask = cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, disc(2)), cv2.MORPH_CLOSE, self._join)
        regions = find_regions(mask, min_area=min_area, max_regions=most)
        if not regions.regions:
            return
        gain, offset = light
        reference = mean * gain + offset
        for region in regions.regions:
            if largest is not None and (region.box[2] > largest[0] or region.box[3] > largest[1]):
                continue  # what is that large the coarse pass sees; here it is many small changes joined
            found.looks.append(appearance(*regions.patch(region, RING + 1, mask.shape), picture, reference,
                                          frame.noise))
            x, y, w, h = region.box
            cx, cy = region.centre
            found.regions.append(Region((x + cols.start, y + rows.start, w, h), region.area,
                                        (cx + cols.start, cy + rows.start), -1))

    def follow(self, boxes: list[tuple[int, int, int, int]], held: list[tuple[int, int, int, int]]) -> None:
        """Look at these analysis-pixel boxes (x, y, w, h) again next frame, whatever the coarse model sees
        there (a small thing's faint trace comes and goes), and keep the ``held`` ones (things being
        tracked) out of the model until then."""
        r = self._ratio
        self._following = [(x * r, y * r, (x + w) * r, (y + h) * r) for x, y, w, h in boxes]
        self._held = [(x * r, y * r, (x + w) * r, (y + h) * r) for x, y, w, h in held]

    def _extend_streaks(self, faint: np.ndarray | None) -> None:
        """Count, per analysis pixel, the frames in a row with a faint change at or next to it (so a thing
        moving a pixel keeps its streak)."""
        if faint is None or not cv2.countNonZero(faint):  # every streak ends
            self._streak = None
            return
        if self._streak is None or self._streak.shape != faint.shape:
            self._streak = np.zeros(faint.shape, np.uint8)
        grown = cv2.dilate(self._streak, disc(3))
        streak = np.zeros_like(self._streak)
        cv2.add(grown, 1, dst=streak, mask=faint)
        self._streak = streak

    def _fade_busy(self, known: np.ndarray | None, time: float, step: float) -> np.ndarray | None:
        """Fade the busy map to ``time`` and add ``step`` seconds where the coarse mask is (grown a little);
        return the mask of busy places (None: none, or no ``known`` mask this frame)."""
        if known is None:
            return None
        if self._busy is None or self._busy.shape != known.shape:
            self._busy, self._busy_time = np.zeros(known.shape, np.float32), time
        cv2.multiply(self._busy, math.exp(-max(time - self._busy_time, 0.0) / BUSY_MEMORY), dst=self._busy)
        self._busy_time = time
        if cv2.countNonZero(known):
            cv2.add(self._busy, step, dst=self._busy, mask=cv2.dilate(known, disc(BUSY_REACH)))
        busy = cv2.compare(self._busy, BUSY_LIMIT, cv2.CMP_GE)
        return busy if cv2.countNonZero(busy) else None

    def _places(self, lasting: np.ndarray, ignore: np.ndarray | None, busy: np.ndarray | None,
                step: float) -> np.ndarray | None:
        """Analysis pixels to look at: where a faint change has lasted (``lasting``), outside ``ignore`` and
        the ``busy`` places (grown a little), or None. Looking makes a place busier: places looked at
        again and again with nothing to follow (a flapping tape, a flickering lamp) are left alone for
        a while, where a small thing crosses a place in a few seconds."""
        places = lasting if ignore is None else cv2.bitwise_and(lasting, cv2.bitwise_not(ignore))
        if busy is not None:
            places = cv2.bitwise_and(places, cv2.bitwise_not(busy))
        if not cv2.countNonZero(places):
            return None
        places = cv2.dilate(places, disc(3))
        if self._busy is None or self._busy.shape != places.shape:
            self._busy = np.zeros(places.shape, np.float32)
        cv2.add(self._busy, step, dst=self._busy, mask=cv2.dilate(places, disc(BUSY_REACH)))
        return places


def _merged(rects: list[tuple[float, float, float, float]], shape: tuple[int, int]) -> list[tuple[slice, slice]]:
    """Rectangles (x0, y0, x1, y1) grown by :data:`MARGIN`, clipped to ``shape``, overlapping ones merged
    (a place is looked at once), as (rows, columns) slices."""
    height, width = shape
    boxes = [[max(int(x0) - MARGIN, 0), max(int(y0) - MARGIN, 0), min(math.ceil(x1) + MARGIN, width),
              min(math.ceil(y1) + MARGIN, height)] for x0, y0, x1, y1 in rects]
    boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return [(slice(y0, y1), slice(x0, x1)) for x0, y0, x1, y1 in boxes]
