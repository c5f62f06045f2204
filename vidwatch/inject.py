"""What a config can still see: synthetic people walked through the user's own footage.

Raising thresholds until quiet footage stays silent always costs sensitivity; this module measures how
much, on the footage itself. A short segment of it is decoded once (the busiest stretch, where the
raised thresholds bite), person-like figures of several sizes are pasted into copies of it along
straight paths at several speeds, in source pixels, and the real pipeline runs on each copy. A figure
is *found* when a motion event overlaps the frames it is visible in and that event is not one the
footage makes without it, on each of two paths (through the busiest point, and a body height below
it the other way): a size found on one lucky path only is not promised. Per speed, the sizes found
are taken to form one range (too small is lost in noise; too big for its speed may be lost where
motion is judged in the object's own sizes): after a first size found, bisections find the smallest
and the largest, so the number of runs stays small, about 2 x (1 + 2 log2(len(heights))) per speed
and config (more when nothing is found: every size is tried once).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from vidwatch.config import Config
from vidwatch.errors import UserError
from vidwatch.events import MOTION, Event
from vidwatch.frames import SourceFrame
from vidwatch.params import param
from vidwatch.pipeline import open_for_run, run_source
from vidwatch.sources.base import Source

log = logging.getLogger(__name__)

SUPERSAMPLE = 4
"""Figures are drawn this many times larger and shrunk, so their edges are anti-aliased."""
SUBPIXEL = 8
"""Horizontal positions are kept to 1/SUBPIXEL px, so a figure at 0.5 px/frame moves every frame."""
STILL = 128.0
"""Grey level above which a figure is drawn darker than what is behind it, else lighter."""
BORDER = 0.15
"""Share of the picture at each edge left out when looking for the busiest point (a path must fit)."""
EVEN = 1.25
"""Busiest point / median change below which change counts as spread evenly over the picture."""


@dataclass(frozen=True, slots=True)
class InjectParams:
    """What is injected and how long each run is (``tune``'s sensitivity report)."""

    heights: tuple[int, ...] = param((10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 160),
                                     "heights of the figures tried, source pixels (ascending)")
    aspect: float = param(0.4, "width / height of a figure (a person standing)", min=0.1, max=2.0)
    speeds: tuple[float, ...] = param((0.5, 1.0, 3.0), "speeds tried, source pixels per frame")
    segment: float = param(12.0, "seconds of footage each run covers (the figure enters after the warm-up)",
                           min=2.0, max=600.0)
    lead: float = param(3.0, "seconds of footage before the figure appears: the models' warm-up", min=0.0, max=60.0)
    contrast: float = param(40.0, "grey levels between a figure and the picture behind it", min=1.0, max=255.0)
    memory_mb: float = param(256.0, "memory the decoded segment may take; a longer segment is cut", min=8.0,
                             max=65536.0)
    tolerance: int = param(3, "frames an event may miss the figure's visible frames by and still find it",
                           min=0, max=1000)


@dataclass(frozen=True, slots=True)
class Segment:
    """Decoded frames of a stretch of footage (images as the source gave them: grey or BGR)."""

    name: str
    start: int
    """Index of the first frame in the footage."""
    images: tuple[np.ndarray, ...]
    times: tuple[float, ...]
    """Seconds from the segment's first frame."""
    fps: float
    limited_range: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in source pixels."""
        h, w = self.images[0].shape[:2]
        return w, h

    def describe(self) -> str:
        return f"{self.name}, frames {self.start}-{self.start + len(self.images) - 1}"


class SegmentSource(Source):
    """A segment (possibly with figures pasted in) as a source for the real pipeline."""

    def __init__(self, segment: Segment, images: Sequence[np.ndarray] | None = None, name: str | None = None) -> None:
        self.segment = segment
        self.images = images if images is not None else segment.images
        self.name = name or segment.name
        self.fps = segment.fps
        self.frame_count = len(self.images)

    def __iter__(self) -> Iterator[SourceFrame]:
        for i, (image, t) in enumerate(zip(self.images, self.segment.times, strict=True)):
            yield SourceFrame(i, t, image, limited_range=self.segment.limited_range)


def busiest_start(scores: Mapping[str, np.ndarray], thresholds: Mapping[str, float], frames: int,
                  lead: int, avoid: np.ndarray | None = None) -> int:
    """The first frame of the ``frames``-long window whose part after ``lead`` frames has the scores
    highest relative to their thresholds (capped at 4x, so one spike does not decide); windows with a
    frame marked in ``avoid`` only when every window has one."""
    columns = [np.minimum(np.asarray(v, float) / thresholds[n], 4.0) for n, v in scores.items()
               if thresholds.get(n, 0) > 0 and len(v)]
    if not columns:
        return 0
    ratio = np.nan_to_num(np.max(np.vstack(columns), axis=0))
    n = len(ratio)
    if n <= frames:
        return 0
    body = frames - lead
    sums = np.convolve(ratio, np.ones(body), mode="valid")  # sums[i] = ratio[i:i+body]
    starts = np.arange(0, n - frames + 1)
    value = sums[starts + lead]
    if avoid is not None and avoid.any():
        blocked = np.convolve(avoid.astype(float), np.ones(frames), mode="valid")[starts] > 0
        if not blocked.all():
            value = np.where(blocked, -np.inf, value)
    return int(starts[np.argmax(value)])


def load_segment(spec: str, config: Config, start: int, frames: int, *, max_bytes: int | None = None) -> Segment:
    """Decode ``frames`` frames of ``spec`` from frame ``start`` on (decoding from the beginning), fewer
    when they would take more than ``max_bytes``."""
    source = open_for_run(spec, config)
    source.fast_decode = True  # as a run without picture outputs decodes it
    images: list[np.ndarray] = []
    times: list[float] = []
    limited = False
    with source:
        for frame in source:
            if not isinstance(frame, SourceFrame) or frame.index < start:
                continue
            images.append(np.array(frame.image, copy=True))
            times.append(frame.time)
            limited = frame.limited_range
            if len(images) == frames:
                break
            if max_bytes is not None and (len(images) + 1) * images[0].nbytes > max_bytes:
                log.info("%s: segment cut to %d frames to stay within %.0f MB", spec, len(images), max_bytes / 1e6)
                break
    if not images:
        raise UserError(f"{spec}: no frames from frame {start} on to inject objects into")
    fps = source.fps
    if not fps and len(times) > 1 and times[-1] > times[0]:
        fps = (len(times) - 1) / (times[-1] - times[0])
    t0 = times[0]
    return Segment(source.name or spec, start, tuple(images), tuple(t - t0 for t in times), float(fps or 25.0), limited)


def busiest_point(segment: Segment) -> tuple[float, float]:
    """Where the picture changes most over the segment (source pixels): the centre of the nuisance."""
    small = []
    step = max(1, min(segment.size) // 120)
    for image in segment.images[:: max(1, len(segment.images) // 60)]:
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        small.append(grey[::step, ::step].astype(np.float32))
    if len(small) < 2:
        w, h = segment.size
        return w / 2, h / 2
    spread = np.std(np.stack(small), axis=0)
    sigma = max(spread.shape) / 16
    spread = cv2.GaussianBlur(spread, (0, 0), sigma)
    h, w = spread.shape
    inner = spread[round(h * BORDER):h - round(h * BORDER), round(w * BORDER):w - round(w * BORDER)]
    if inner.size == 0 or float(inner.max()) < EVEN * float(np.median(spread)):
        fw, fh = segment.size  # change is spread evenly (rain, noise): the middle is as busy as anywhere
        return fw / 2, fh / 2
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return (x + round(w * BORDER) + 0.5) * step, (y + round(h * BORDER) + 0.5) * step


# -- figures -----------------------------------------------------------------------------------------


def figure(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """A person-like figure: head, a coat, two legs. Returns (shade, alpha) float32 arrays of
    ``height`` x ``width``: shade is -1..1 relative structure (coat lighter than trousers), alpha 0..1."""
    s = SUPERSAMPLE
    w, h = width * s, height * s
    alpha = np.zeros((h, w), np.float32)
    shade = np.zeros((h, w), np.float32)
    head = max(w // 6, 1)
    neck = 2 * head + max(h // 40, 0)
    hip = int(h * 0.58)
    cv2.ellipse(alpha, (w // 2, head), (head, head), 0, 0, 360, 1.0, -1)
    cv2.rectangle(alpha, (w // 8, neck), (w - 1 - w // 8, hip), 1.0, -1)  # coat and arms
    cv2.rectangle(alpha, (w // 5, hip), (w // 2 - max(w // 16, 1), h - 1), 1.0, -1)  # legs
    cv2.rectangle(alpha, (w // 2 + max(w // 16, 1), hip), (w - 1 - w // 5, h - 1), 1.0, -1)
    shade[:hip] = 0.25
    shade[hip:] = -0.25
    shade[: 2 * head] = 0.0
    alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)
    shade = cv2.resize(shade, (width, height), interpolation=cv2.INTER_AREA)
    return shade, alpha


@dataclass(frozen=True, slots=True)
class Walk:
    """One figure crossing the segment on a straight line at constant speed."""

    width: int
    height: int
    speed: float
    """Source pixels per frame (positive: left to right)."""
    first: int
    """Segment frame at which it appears."""
    frames: int
    """Frames it is visible."""
    x0: float
    """Left edge at ``first``."""
    y: float
    """Top edge (constant)."""

    def left(self, frame: int) -> float:
        return self.x0 + self.speed * (frame - self.first)

    def visible(self, frame: int) -> bool:
        return self.first <= frame < self.first + self.frames


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a walk put its figure: the truth of an injected segment."""

    span: tuple[int, int]
    """First and last segment frame with the figure in the picture (inclusive)."""
    boxes: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    """Per frame of the span, the (x, y, w, h) of every pixel the figure touches, source pixels."""


def plan_walk(segment: Segment, width: int, height: int, speed: float, *, lead: int,
              centre: tuple[float, float], tail: int = 0) -> Walk:
    """A horizontal walk through ``centre`` (left to right for a positive speed, else right to left), from
    frame ``lead`` to the end of the segment (less ``tail``), kept inside the picture: a longer path than
    the picture allows is shortened."""
    fw, fh = segment.size
    pace = abs(speed)
    frames = max(len(segment.images) - lead - tail, 1)
    room = max(fw - width - 2, 1)
    if pace * (frames - 1) > room:
        frames = max(int(room / pace) + 1, 1)
    travel = pace * (frames - 1)
    left = min(max(centre[0] - travel / 2 - width / 2, 1.0), fw - 1 - width - travel)
    left = max(left, 1.0)
    y = max(min(max(centre[1] - height / 2, 1.0), fh - 1 - height), 1.0)
    return Walk(width, height, speed, lead, frames, left if speed >= 0 else left + travel, y)


def plan_walks(segment: Segment, width: int, height: int, speed: float, *, lead: int,
               centre: tuple[float, float]) -> list[Walk]:
    """Two walks past ``centre``: through it left to right, and a body height below it (above, near the
    bottom) right to left. A figure is found only when both are: one lucky path is no promise."""
    fh = segment.size[1]
    below = centre[1] + 1.5 * height
    other = below if below + height / 2 <= fh - 1 else centre[1] - 1.5 * height
    return [plan_walk(segment, width, height, speed, lead=lead, centre=centre),
            plan_walk(segment, width, height, -speed, lead=lead, centre=(centre[0], other))]


def inject(segment: Segment, walk: Walk, *, contrast: float) -> tuple[list[np.ndarray], Placement]:
    """Copies of the segment's frames with the figure pasted in, and where it went."""
    shade, alpha = figure(walk.width, walk.height)
    shifted: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    out: list[np.ndarray] = []
    boxes: dict[int, tuple[int, int, int, int]] = {}
    for i, image in enumerate(segment.images):
        if not walk.visible(i):
            out.append(image)
            continue
        left = walk.left(i)
        ix = math.floor(left)
        frac = round((left - ix) * SUBPIXEL)
        if frac == SUBPIXEL:
            ix, frac = ix + 1, 0
        if frac not in shifted:
            shifted[frac] = _shift(shade, alpha, frac / SUBPIXEL)
        s, a = shifted[frac]
        iy = round(walk.y)
        frame = image.copy()
        box = _paste(frame, s, a, ix, iy, contrast, segment.limited_range)
        if box is not None:
            boxes[i] = box
        out.append(frame)
    span = (min(boxes), max(boxes)) if boxes else (walk.first, walk.first)
    return out, Placement(span, boxes)


def _shift(shade: np.ndarray, alpha: np.ndarray, dx: float) -> tuple[np.ndarray, np.ndarray]:
    """The figure moved right by a fraction of a pixel (one column wider)."""
    h, w = alpha.shape
    matrix = np.float32([[1, 0, dx], [0, 1, 0]])
    size = (w + 1, h)
    return (cv2.warpAffine(shade, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0),
            cv2.warpAffine(alpha, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0))


def _paste(frame: np.ndarray, shade: np.ndarray, alpha: np.ndarray, x: int, y: int, contrast: float,
           limited: bool) -> tuple[int, int, int, int] | None:
    """Blend the figure in at (x, y), darker than a light background and lighter than a dark one; returns
    the box of the pixels it changed."""
    h, w = alpha.shape
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, fw), min(y + h, fh)
    if x0 >= x1 or y0 >= y1:
        return None
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x]
    s = shade[y0 - y:y1 - y, x0 - x:x1 - x]
    patch = frame[y0:y1, x0:x1].astype(np.float32)
    grey = patch if patch.ndim == 2 else patch.mean(axis=2)
    behind = float(np.median(grey))
    top = 235.0 if limited else 255.0
    bottom = 16.0 if limited else 0.0
    sign = -1.0 if behind > STILL else 1.0
    level = np.clip(behind + sign * contrast + contrast * s, bottom, top)
    if patch.ndim == 3:
        level = level[..., None]
        weight = a[..., None]
    else:
        weight = a
    blended = patch * (1.0 - weight) + level * weight
    new = np.clip(np.rint(blended), 0, 255).astype(frame.dtype)
    changed = np.any(new != frame[y0:y1, x0:x1], axis=2) if new.ndim == 3 else new != frame[y0:y1, x0:x1]
    frame[y0:y1, x0:x1] = new
    ys, xs = np.nonzero(changed)
    if ys.size == 0:
        return None
    return (x0 + int(xs.min()), y0 + int(ys.min()), int(xs.max() - xs.min()) + 1, int(ys.max() - ys.min()) + 1)


# -- measuring ---------------------------------------------------------------------------------------


def found(events: Sequence[Event], placement: Placement, clean: Sequence[Event], tolerance: int) -> bool:
    """A motion event overlaps the figure's visible frames and is not one the footage makes without it."""
    start, end = placement.span
    for e in events:
        if e.kind != MOTION or e.end_frame < start - tolerance or e.start_frame > end + tolerance:
            continue
        if any(c.kind == MOTION and c.start_frame <= e.end_frame and c.end_frame >= e.start_frame for c in clean):
            continue
        return True
    return False


@dataclass(slots=True)
class SpeedResult:
    """At one speed: the range of sizes found, and the sizes next to it that were not.

    Found sizes are taken to form one range: too small is lost in the noise; too big for its speed can
    be lost too where motion is judged in the object's own sizes (a big thing crawling barely moves).
    """

    speed: float
    smallest_found: tuple[int, int] | None = None
    largest_missed: tuple[int, int] | None = None
    """The next size below the smallest found (None: the smallest tried was found)."""
    largest_found: tuple[int, int] | None = None
    smallest_missed_above: tuple[int, int] | None = None
    """The next size above the largest found (None: the largest tried was found)."""
    tried: dict[tuple[int, int], bool] = field(default_factory=dict)

    def describe(self) -> str:
        if self.smallest_found is None:
            return f"none found ({_size(min(self.tried))} to {_size(max(self.tried))})" if self.tried else "-"
        text = _size(self.smallest_found)
        if self.smallest_missed_above is not None:
            text = f"only {text}" if self.largest_found == self.smallest_found else \
                f"{text} to {_size(self.largest_found)}"
        missed = [_size(m) for m in (self.largest_missed, self.smallest_missed_above) if m is not None]
        return text + (f" ({', '.join(missed)} missed)" if missed else " (all tried)")

    def sentence(self) -> str:
        v = f"{self.speed:g} px/frame"
        if self.smallest_found is None:
            return f"no object from {_size(min(self.tried))} to {_size(max(self.tried))} px at {v} is found"
        width = self.smallest_found[0]
        article = "an" if width in (11, 18) or str(width).startswith("8") else "a"  # an 8x20, an 11x28
        text = f"{article} {_size(self.smallest_found)} px object at {v} is found"
        above = self.smallest_missed_above
        if self.largest_missed is None:
            text += " (the smallest tried)"
            if above is not None:
                text += f"; {_size(above)} px and larger are not (too slow for their size)"
        else:
            text += f"; {_size(self.largest_missed)} px is not"
            if above is not None:
                text += f", nor {_size(above)} px and larger (too slow for their size)"
        return text


def _size(size: tuple[int, int] | None) -> str:
    return "-" if size is None else f"{size[0]}x{size[1]}"


@dataclass(slots=True)
class Sensitivity:
    """The smallest figures one config finds in a segment, per speed."""

    label: str
    speeds: list[SpeedResult]
    clean_events: int
    """Motion events the config makes on the segment without any figure."""
    fires_anyway: bool = False
    """One of those events lies where the figures walk: nothing there can be told apart from it."""

    def cell(self, k: int) -> str:
        return "fires anyway" if self.fires_anyway else self.speeds[k].describe()


@dataclass(slots=True)
class SensitivityReport:
    segment: Segment
    centre: tuple[float, float]
    results: list[Sensitivity]
    runs: int
    seconds: float
    speeds: tuple[float, ...] = ()

    def format(self) -> str:
        w, h = self.segment.size
        lines = [f"smallest object found: person-like figures walked through {self.segment.describe()} ({w}x{h} px, "
                 f"{len(self.segment.images) / self.segment.fps:.1f} s) past its busiest part, around "
                 f"({self.centre[0]:.0f}, {self.centre[1]:.0f}), on two paths, the pipeline run on each:"]
        rows = [["speed", *(r.label for r in self.results)]]
        for k, speed in enumerate(self.speeds):
            rows.append([f"{speed:g} px/frame", *(r.cell(k) for r in self.results)])
        widths = [max(len(row[c]) for row in rows) + 2 for c in range(len(rows[0]))]
        for row in rows:
            lines.append("  " + "".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip())
        for r in self.results:
            if r.fires_anyway:
                lines.append(f"  {r.label}: makes {r.clean_events} motion event(s) in this stretch without any object, "
                             f"so what it would find here cannot be told")
        last = self.results[-1]
        if not last.fires_anyway:
            lines.extend(f"  {last.label}: {s.sentence()}" for s in last.speeds)
        lines.append(f"  ({self.runs} runs of the pipeline on {len(self.segment.images)} frames, "
                     f"{self.seconds:.1f} s)")
        return "\n".join(lines)


def sizes(params: InjectParams, segment: Segment) -> list[tuple[int, int]]:
    """The ladder of figure sizes that fit the picture (at most half its height)."""
    fw, fh = segment.size
    out = []
    for h in sorted(set(params.heights)):
        w = max(2, round(h * params.aspect))
        if h <= fh // 2 and w <= fw // 3:
            out.append((w, h))
    return out


class _Runs:
    """Pipeline runs on the segment, with or without a figure, counted."""

    def __init__(self, segment: Segment, params: InjectParams) -> None:
        self.segment = segment
        self.params = params
        self.lead = min(round(params.lead * segment.fps), max(len(segment.images) - 2, 0))
        self.centre = busiest_point(segment)
        self.count = 0

    def events(self, config: Config, images: Sequence[np.ndarray] | None = None) -> list[Event]:
        self.count += 1
        return run_source(SegmentSource(self.segment, images), config, []).events

    def finds(self, config: Config, clean: Sequence[Event], size: tuple[int, int], speed: float) -> bool:
        """Found on every path (the second is not walked when the first already missed)."""
        for walk in plan_walks(self.segment, size[0], size[1], speed, lead=self.lead, centre=self.centre):
            images, placement = inject(self.segment, walk, contrast=self.params.contrast)
            if not found(self.events(config, images), placement, clean, self.params.tolerance):
                return False
        return True


def measure(segment: Segment, configs: Mapping[str, Config], params: InjectParams | None = None) -> SensitivityReport:
    """The smallest figure each config finds in ``segment``, per speed (see the module doc)."""
    params = params or InjectParams()
    started = time.perf_counter()
    ladder = sizes(params, segment)
    if not ladder:
        raise UserError(f"{segment.name}: the picture is too small to walk figures through it")
    runs = _Runs(segment, params)
    results: list[Sensitivity] = []
    done: list[tuple[Config, Sensitivity]] = []
    for label, config in configs.items():
        same = next((r for c, r in done if c == config), None)
        if same is not None:  # an identical config sees the same: no need to run it again
            results.append(Sensitivity(label, same.speeds, same.clean_events, same.fires_anyway))
            continue
        clean = runs.events(config)
        anyway = any(e.kind == MOTION and e.end_frame >= runs.lead - params.tolerance for e in clean)
        speeds = []
        for speed in params.speeds if not anyway else ():
            result = SpeedResult(speed)
            _found_range(ladder, lambda size, c=config, k=clean, v=speed: runs.finds(c, k, size, v), result)
            log.debug("%s at %g px/frame: %s", label, speed, result.tried)
            speeds.append(result)
        sens = Sensitivity(label, speeds or [SpeedResult(v) for v in params.speeds],
                           sum(1 for e in clean if e.kind == MOTION), anyway)
        done.append((config, sens))
        results.append(sens)
    return SensitivityReport(segment, runs.centre, results, runs.count, time.perf_counter() - started,
                             tuple(params.speeds))


def _found_range(ladder: Sequence[tuple[int, int]], finds: Callable[[tuple[int, int]], bool],
                 result: SpeedResult) -> None:
    """The range of sizes found: a first size found (probing the middle of the ladder, its ends, then
    outwards), then bisections down to the smallest found and up to the largest, taking the sizes found to
    be one range."""

    def attempt(i: int) -> bool:
        if ladder[i] not in result.tried:
            result.tried[ladder[i]] = finds(ladder[i])
        return result.tried[ladder[i]]

    n = len(ladder)
    middle = (n - 1) // 2
    # the middle, then both ends (a range found often reaches one), then outwards from the middle
    order = list(dict.fromkeys([middle, 0, n - 1, *sorted(range(n), key=lambda i: (abs(i - middle), i))]))
    first = next((i for i in order if attempt(i)), None)
    if first is None:
        return
    lo, hi = -1, first  # the smallest found lies in (lo, hi]
    if attempt(0):
        hi = 0
    else:
        lo = 0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if attempt(mid) else (mid, hi)
    result.smallest_found, result.largest_missed = ladder[hi], (ladder[lo] if lo >= 0 else None)
    lo, hi = first, n  # the largest found lies in [lo, hi)
    if attempt(n - 1):
        lo = n - 1
    else:
        hi = n - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if attempt(mid) else (lo, mid)
    result.largest_found, result.smallest_missed_above = ladder[lo], (ladder[hi] if hi < n else None)
