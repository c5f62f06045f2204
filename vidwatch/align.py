"""Camera shake compensation: find the global shift of each frame and undo it.

A camera on a pole moves a few pixels with every gust; without alignment every edge in the picture
shows up as change. Corners found once on a reference frame are tracked into each new frame with
pyramidal Lucas–Kanade; the median of their displacements is the camera's shift, unmoved by the
minority of corners on things that really move. Measuring against a reference rather than the
previous frame keeps the error from accumulating into drift. (Phase correlation, the textbook
choice, proved fragile on noisy, compressed footage with large flat areas; tracked corners are
accurate to a hundredth of a pixel there.)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_LK = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))


class Aligner:
    """Tracks the camera's offset from a reference frame and warps frames back onto it."""

    def __init__(self, *, points: int = 80, refresh_every: int = 100, min_agreement: float = 0.5) -> None:
        self.points = points
        self.refresh_every = refresh_every
        self.min_agreement = min_agreement
        self.reset()

    def reset(self) -> None:
        """Take the next frame as the new reference (after a scene change or reconnect)."""
        self._reference: np.ndarray | None = None
        self._corners: np.ndarray | None = None
        self._offset = (0.0, 0.0)
        self._since_refresh = 0

    def _set_reference(self, grey: np.ndarray) -> None:
        self._reference = grey
        self._corners = cv2.goodFeaturesToTrack(grey, self.points, 0.01, 8, blockSize=5)
        self._since_refresh = 0

    def measure(self, grey: np.ndarray) -> tuple[tuple[float, float], float]:
        """(dx, dy) of ``grey`` relative to the reference, and the fraction of corners that agree."""
        reference, corners = self._reference, self._corners
        if reference is None or corners is None or len(corners) < 8:
            return self._offset, 0.0
        moved, status, _ = cv2.calcOpticalFlowPyrLK(reference, grey, corners, None, **_LK)
        ok = status.ravel() == 1
        if ok.sum() < max(8, 0.3 * len(ok)):
            return self._offset, 0.0
        shifts = (moved - corners).reshape(-1, 2)[ok]
        median = np.median(shifts, axis=0)
        # corners that left the picture after a big shift are not disagreement: count the tracked ones
        agreement = float(np.mean(np.linalg.norm(shifts - median, axis=1) < 1.0))
        return (float(median[0]), float(median[1])), agreement

    def align(self, grey: np.ndarray) -> tuple[np.ndarray, tuple[float, float], float]:
        """Returns (aligned frame, camera offset (dx, dy) in pixels, agreement 0..1 of the measurement)."""
        if self._reference is None or self._reference.shape != grey.shape:
            self._set_reference(grey)
            self._offset = (0.0, 0.0)
            return grey, self._offset, 1.0
        offset, agreement = self.measure(grey)
        if agreement >= self.min_agreement:
            self._offset = offset
        # else: the measurement is unreliable (a cut, a covered lens, a flat frame): keep the last offset
        dx, dy = self._offset
        aligned = grey
        if abs(dx) >= 0.25 or abs(dy) >= 0.25:
            matrix = np.float32([[1, 0, -dx], [0, 1, -dy]])
            aligned = cv2.warpAffine(grey, matrix, (grey.shape[1], grey.shape[0]), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
        self._since_refresh += 1
        if self._since_refresh >= self.refresh_every and agreement >= 0.8:
            # follow slow changes (light, shadows) without losing the coordinate frame: the aligned
            # frame is in the reference's coordinates, so the offset keeps its meaning
            self._set_reference(aligned)
        return aligned, self._offset, agreement


def border_mask(shape: tuple[int, int], offset: tuple[float, float]) -> np.ndarray | None:
    """Mask (255 = valid) without the border strips a warp by ``offset`` had to invent, or None if none."""
    dx, dy = offset
    mx, my = math.ceil(abs(dx) - 0.25), math.ceil(abs(dy) - 0.25)
    if mx <= 0 and my <= 0:
        return None
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    # aligned(x) = frame(x + offset): pixels whose source lies outside the frame are invented
    mx, my = max(mx, 0) + 1, max(my, 0) + 1
    x0, x1 = (0, w - mx) if dx > 0 else (mx, w)
    y0, y1 = (0, h - my) if dy > 0 else (my, h)
    mask[y0:y1, x0:x1] = 255
    return mask
