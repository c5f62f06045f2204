"""Camera shake compensation: find how the whole picture moved and undo it.

A camera on a pole moves a few pixels with every gust, and a knock can also turn it a little;
without alignment every edge in the picture shows up as change. Corners found once on a reference
frame are tracked into each new frame with pyramidal Lucas–Kanade, and a rotation + translation +
scale transform is fitted to them with RANSAC, so the minority of corners on things that really
move are outvoted. Measuring against a reference rather than the previous frame keeps the error
from accumulating into drift. (Phase correlation, the textbook choice for translation, proved
fragile on noisy, compressed footage with large flat areas and cannot see rotation.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_LK = dict(winSize=(9, 9), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
"""Tracking runs at half the analysis size (a quarter of the work); with three pyramid levels above
it, shifts of 80 analysis pixels (a quarter of the width) are followed, and the fit is still good
to a few hundredths of a pixel. 9-pixel windows follow them as well as 11-pixel ones, at two
thirds of the cost; fewer than ~120 corners would not (after a big shift too few stay in view)."""
_IDENTITY = np.float32([[1, 0, 0], [0, 1, 0]])
WARP_FROM = 0.25
"""Displacement (analysis pixels) from which a frame is warped back; below it the pose is noise."""
_ERODE = np.ones((3, 3), np.uint8)


@dataclass(frozen=True, slots=True)
class Alignment:
    """Where the camera points now, relative to the reference frame."""

    transform: np.ndarray
    """2x3 matrix mapping reference pixels to current pixels."""
    offset: tuple[float, float]
    """Shift of the picture's centre (dx, dy), pixels."""
    displacement: float
    """Mean distance the picture's four corners moved, pixels: shift and turn in one number."""
    agreement: float
    """Fraction of tracked corners that fit the transform (0..1); low = unreliable."""


_STILL = Alignment(_IDENTITY, (0.0, 0.0), 0.0, 1.0)


def _describe(transform: np.ndarray, shape: tuple[int, int], agreement: float) -> Alignment:
    h, w = shape
    corners = np.float32([[0, 0], [w, 0], [0, h], [w, h], [w / 2, h / 2]])
    moved = corners @ transform[:, :2].T + transform[:, 2]
    shifts = moved - corners
    return Alignment(transform, (float(shifts[4, 0]), float(shifts[4, 1])),
                     float(np.linalg.norm(shifts[:4], axis=1).mean()), agreement)


class Aligner:
    """Tracks the camera's pose relative to a reference frame and warps frames back onto it."""

    def __init__(self, *, points: int = 120, refresh_every: int = 50, min_agreement: float = 0.35) -> None:
        self.points = points
        self.refresh_every = refresh_every
        self.min_agreement = min_agreement
        self.reset()

    def reset(self) -> None:
        """Take the next frame as the new reference (after a scene change or reconnect)."""
        self._reference: np.ndarray | None = None
        self._corners: np.ndarray | None = None
        self._shape: tuple[int, int] | None = None
        self._last = _STILL
        self._since_refresh = 0

    def _set_reference(self, grey: np.ndarray) -> None:
        self._shape = grey.shape[:2]
        self._reference = _tracking_image(grey)
        self._corners = cv2.goodFeaturesToTrack(self._reference, self.points, 0.01, 3, blockSize=5)
        self._since_refresh = 0

    def measure(self, grey: np.ndarray) -> Alignment | None:
        """The camera's pose for ``grey``, or None when it cannot be told (a cut, a covered lens)."""
        reference, corners = self._reference, self._corners
        if reference is None or corners is None or len(corners) < 8:
            return None
        moved, status, _ = cv2.calcOpticalFlowPyrLK(reference, _tracking_image(grey), corners, None, **_LK)
        ok = status.ravel() == 1
        if ok.sum() < max(8, 0.3 * len(ok)):
            return None
        transform, inliers = cv2.estimateAffinePartial2D(corners[ok], moved[ok], method=cv2.RANSAC,
                                                         ransacReprojThreshold=0.5, maxIters=100)
        if transform is None or int(inliers.sum()) < 10:
            return None
        transform[:, 2] *= 2.0  # half-size pixels -> analysis pixels (rotation and scale are unchanged)
        # corners that left the picture after a big shift are not disagreement: count the tracked ones
        return _describe(transform.astype(np.float32), grey.shape, float(inliers.mean()))

    @staticmethod
    def warp(image: np.ndarray, pose: Alignment) -> np.ndarray:
        """Another image of the same frame (e.g. before the blur) moved as :meth:`align` moved it."""
        return _warp(image, pose)

    def align(self, grey: np.ndarray) -> tuple[np.ndarray, Alignment]:
        """Returns (frame warped onto the reference, the camera's alignment)."""
        if self._reference is None or self._shape != grey.shape[:2]:
            self._set_reference(grey)
            self._last = _STILL
            return grey, _STILL
        measured = self.measure(grey)
        if measured is not None and measured.agreement >= self.min_agreement:
            self._last = measured
        # else: keep the last reliable pose (a frame that cannot be measured is not a camera move)
        pose = self._last
        aligned = self.warp(grey, pose)
        self._since_refresh += 1
        if (self._since_refresh >= self.refresh_every and measured is not None
                and measured.agreement >= max(0.6, self.min_agreement)):
            # follow slow changes (light, shadows): the aligned frame is in the reference's
            # coordinates, so the pose keeps its meaning
            self._set_reference(aligned)
        return aligned, pose


def _warp(image: np.ndarray, pose: Alignment) -> np.ndarray:
    """``image`` moved back onto the reference view, or as it is when the pose is within noise."""
    if pose.displacement < WARP_FROM:
        return image
    return cv2.warpAffine(image, pose.transform, (image.shape[1], image.shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def _tracking_image(grey: np.ndarray) -> np.ndarray:
    """Half size, with brightness and contrast set to a fixed mean and spread, so dimming does not
    break tracking (Lucas–Kanade assumes a point keeps its brightness)."""
    small = cv2.pyrDown(grey)
    mean, std = cv2.meanStdDev(small)
    scale = 48.0 / max(float(std[0, 0]), 1.0)
    return cv2.convertScaleAbs(small, alpha=scale, beta=128.0 - scale * float(mean[0, 0]))


def border_mask(shape: tuple[int, int], alignment: Alignment) -> np.ndarray | None:
    """Mask (255 = valid) without the border a warp had to invent, or None when nothing was warped."""
    if alignment.displacement < WARP_FROM:
        return None
    h, w = shape
    full = np.full((h, w), 255, np.uint8)
    mask = cv2.warpAffine(full, alignment.transform, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.erode(mask, _ERODE)
