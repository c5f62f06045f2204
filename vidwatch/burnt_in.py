"""Finding what a camera burns into its picture: a clock's changing digits, a blinking light.

Most surveillance cameras write the date and time into every frame. Its digits change in place,
once a second, from one frame to the next, and are otherwise perfectly still: drawn after the
camera's noise, they do not even flicker with it. Nothing in a scene changes like that over and over
at the same pixel: a person passing changes it for many frames, foliage and water never rest, noise
never steps. Each analysis pixel counts its *isolated steps* (a large change in one frame, with the
pixel quiet for a while before and after), the count fading over a minute; where pixels step again
and again, their place, boxed and padded, is left out of the picture like a drawn exclude zone.
The rest of a clock's line changes with its seconds now and then (the minutes, at midnight the date):
what steps in the same frame as a found mark, along its line, is taken in at once.
Users of other tools draw that zone by hand; ``zones.exclude`` still does, and this finder spares it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

STEP = 24
"""Grey levels a pixel must change by in one frame for it to be a step (text is white on a dark
outline: its strokes change an analysis pixel by far more, even shrunk)."""
QUIET = 6
"""Grey levels under which a pixel's change from one frame to the next is quiet (raised with the
measured noise, see :meth:`BurntInFinder.update`)."""
ISOLATION = 0.3
"""Seconds a pixel must be quiet before a step and after it for the step to count."""
STEPS = 2.0
"""Counted steps (fading, see ``MEMORY``) at which a pixel is taken for burnt-in."""
MEMORY = 60.0
"""Half-life, seconds, of a pixel's count of steps: a clock's seconds keep theirs high, a pixel
that stepped a few times a while ago loses it."""
PAD = 1
"""Analysis pixels the box of burnt-in pixels is grown by on each side (a glyph's blurred edge)."""
EVERY = 1.0
"""Seconds between recounts of the boxes (the counts themselves are kept every frame)."""
TICKED = 0.3
"""Share of a mark's pixels that step together when it ticks (a digit turning to the next)."""
LINE = 12
"""How far along its line, in its heights, other marks of a found one may lie: a clock's date and
time are about nineteen characters, each about half as wide as high."""
RESTLESS = 2.0
"""Changes a pixel may show per step counted for it to be burnt-in: a clock's pixel changes only when
it steps (a frame or two each time), a leaf that stepped now and then sways in between."""
MIN_MARKED = 4
"""Burnt-in pixels a group needs to be boxed: a digit's strokes give a dozen and more even in a small
font; a leaf or a glint that happened to step alone a few times gives one or two."""
WHOLE_STEP = 0.02
"""Share of the picture stepping in one frame above which the frame's steps do not count: a cut, an
exposure jump or a light switched on steps everything at once, a clock a few digits."""


class BurntInFinder:
    """Per-pixel counts of isolated steps at analysis size -> a mask of burnt-in, changing marks."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new picture size)."""
        self._previous: np.ndarray | None = None
        self._quiet: np.ndarray | None = None
        """Frames since each pixel last changed by more than the quiet level (saturating at 255)."""
        self._pending: np.ndarray | None = None
        """Pixels whose last change was a step after a quiet while, awaiting the quiet after it."""
        self._count: np.ndarray | None = None
        """Isolated steps counted per pixel, fading."""
        self._changes: np.ndarray | None = None
        """Frames each pixel changed on at all (steps included), fading like the steps."""
        self._recent: np.ndarray | None = None
        """The same since the last recount, whole frames (added to ``_changes`` then: cheaper per frame)."""
        self._since_recount = math.inf
        self._last_time: float | None = None
        self._interval = 0.0
        self.mask: np.ndarray | None = None
        """255 where burnt-in marks were found (None: none so far)."""
        self._found: list[tuple[int, int, int, int]] = []
        """The boxes of ``mask`` (x, y, width, height; analysis pixels)."""
        self._marked: np.ndarray | None = None
        """The pixels found burnt-in at the last recount."""

    def update(self, grey: np.ndarray, time: float, noise: float = 0.0) -> np.ndarray | None:
        """Take one frame (analysis size, before any blur or alignment) shown at ``time`` seconds, with
        the picture's measured noise (grey levels); the mask of burnt-in marks (None: none)."""
        if self._previous is None or self._previous.shape != grey.shape:
            self.reset()
            self._previous = grey.copy()
            self._quiet = np.zeros(grey.shape, np.uint8)
            self._pending = np.zeros(grey.shape, np.uint8)
            self._count = np.zeros(grey.shape, np.float32)
            self._changes = np.zeros(grey.shape, np.float32)
            self._recent = np.zeros(grey.shape, np.uint8)
            self._last_time = time
            self._interval = 0.0
            return None
        assert self._quiet is not None and self._pending is not None and self._count is not None
        assert self._changes is not None and self._recent is not None
        elapsed = max(time - (self._last_time if self._last_time is not None else time), 0.0)
        self._last_time = time
        # the frame interval, smoothed: a live source's timestamps jitter
        self._interval = elapsed if not self._interval else 0.9 * self._interval + 0.1 * elapsed
        isolation = max(2, min(round(ISOLATION / self._interval), 254)) if self._interval > 0 else 2
        change = cv2.absdiff(grey, self._previous)
        self._previous = grey.copy()
        quiet_level = max(QUIET, 3.0 * noise)
        active = change > quiet_level
        step = change > max(STEP, 4.0 * quiet_level)
        if cv2.countNonZero(step.view(np.uint8)) > WHOLE_STEP * grey.size:
            step[:] = False  # the whole picture stepped (a cut, an exposure jump): not a burnt-in mark
        rested = self._quiet >= isolation
        # a step after a quiet while is pending; any other change cancels what was pending
        np.copyto(self._pending, (step & rested).view(np.uint8), where=active)
        cv2.add(self._recent, active.view(np.uint8), dst=self._recent)  # saturates at 255
        self._quiet += (self._quiet < 255).view(np.uint8)
        self._quiet[active] = 0
        confirmed = (self._pending != 0) & (self._quiet == isolation)
        if confirmed.any():
            self._count[confirmed] += 1.0
            self._pending[confirmed] = 0
        self._since_recount += elapsed
        if self._found and self._joins_line(step):
            self._since_recount = max(self._since_recount, EVERY)  # boxed now, before anything learns it
        if self._since_recount >= EVERY:
            fade = np.float32(0.5 ** (min(self._since_recount, 3600.0) / MEMORY))
            self._count *= fade
            self._changes *= fade
            self._changes += self._recent
            self._recent[:] = 0
            self._since_recount = 0.0
            # a mark changes only in steps; a pixel that changes in other ways too is part of the scene
            self._marked = (self._count >= STEPS) & (self._changes <= RESTLESS * self._count)
            self.mask, self._found = self._boxes(self._marked)
        return self.mask

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        """The boxes of ``mask``: (x, y, width, height), analysis pixels."""
        return list(self._found)

    def lines(self) -> list[tuple[float, float, float, float]]:
        """Each found mark's box stretched ``LINE`` of its heights along its line each way, as shares
        of the picture (x0, y0, x1, y1): where the rest of its line (the minutes, the date) will
        change in time, for a look that cannot wait to see it change (keyframes seconds apart)."""
        if self._previous is None:
            return []
        height, width = self._previous.shape
        return [(max(x - LINE * h, 0) / width, y / height, min(x + w + LINE * h, width) / width, (y + h) / height)
                for x, y, w, h in self._found]

    def _joins_line(self, step: np.ndarray) -> bool:
        """Whether, as a found mark ticked, other marks of its line changed with it, now taken in.

        A clock's line changes more than its seconds now and then: the tens every ten seconds, the
        minutes, at midnight the whole line, all in the same frame as the seconds. Groups of pixels
        that step in that frame, no taller than the mark's line and within ``LINE`` heights of it
        along the line, are marks too, counted as stepping ``STEPS + 1`` times (a while of fading)."""
        assert self._marked is not None and self._count is not None
        ticked = cv2.countNonZero((step & self._marked).view(np.uint8))
        if ticked < max(2, TICKED * cv2.countNonZero(self._marked.view(np.uint8))):
            return False
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            cv2.dilate(step.view(np.uint8), np.ones((3, 3), np.uint8)), connectivity=8)
        sizes = np.bincount(labels[step], minlength=count)
        joined = False
        for label in range(1, count):
            x, y, w, h, _ = stats[label]
            if sizes[label] < MIN_MARKED:
                continue
            for bx, by, bw, bh in self._found:
                reach = LINE * bh
                if by - 1 <= y and y + h <= by + bh + 1 and bx - reach <= x and x + w <= bx + bw + reach:
                    part = step & (labels == label)
                    np.maximum(self._count, np.where(part, np.float32(STEPS + 1), 0), out=self._count)
                    joined = True
                    break
        return joined

    @staticmethod
    def _boxes(marked: np.ndarray) -> tuple[np.ndarray | None, list[tuple[int, int, int, int]]]:
        """The padded boxes of groups of marked pixels (glyph strokes a pixel or two apart are one),
        as a mask and a list."""
        if not marked.any():
            return None, []
        joined = cv2.dilate(marked.view(np.uint8), np.ones((3, 3), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        sizes = np.bincount(labels[marked], minlength=count)
        height, width = marked.shape
        mask = np.zeros(marked.shape, np.uint8)
        found = []
        for label in range(1, count):
            if sizes[label] < MIN_MARKED:
                continue
            x, y, w, h, _ = stats[label]
            x0, y0 = max(x - PAD, 0), max(y - PAD, 0)
            x1, y1 = min(x + w + PAD, width), min(y + h + PAD, height)
            mask[y0:y1, x0:x1] = 255
            found.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
        return (mask, found) if found else (None, [])
