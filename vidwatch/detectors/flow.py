"""Sparse optical flow (pyramidal Lucas–Kanade) on good features to track.

Measures how far trackable points actually travel, so it ignores changes that move nothing (noise,
flicker, light). Each track keeps a short history and is scored by its *net* displacement over a
window, weighed by how straight its path was, rather than by its frame-to-frame speed: a person
walking keeps going one way, while a swaying branch, rippling water or a track jittering on sensor
noise goes back and forth and nets out near zero. The camera's own shift (the
median displacement of all tracks) is subtracted first, so shake is not motion either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidwatch.blobs import disc
from vidwatch.detectors.base import QUIET, Detector, DetectorParams, Score
from vidwatch.events import MOTION
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param

NOISE_EIGEN_PER_VARIANCE = 2.5e-4
"""99th percentile of LK's minimum eigenvalue on pure noise, per unit of noise variance (measured on
Gaussian noise at the default window), to compare features against what noise alone produces."""


FB_MIN_STEP = 0.1
"""Tracks that moved less than this (analysis pixels) in a frame skip the forward-backward check."""


@dataclass(frozen=True, slots=True)
class FlowParams(DetectorParams):
    threshold: float = param(0.6, "net speed (analysis pixels per frame, averaged over the window) of the "
                             "rank-th fastest track above which it fires", min=0.0)
    window: int = param(10, "frames over which a track's net displacement is measured; longer = steadier "
                        "against back-and-forth motion, slower to react", min=2, max=300)
    min_age: int = param(4, "frames a track must have lived before it is scored", min=2, max=300)
    rank: int = param(3, "the score is the rank-th fastest track, so one bad track cannot fire", min=1, max=100)
    moving_speed: float = param(0.5, "net speed (analysis px/frame) at which a track counts as moving",
                                min=0.0)
    max_corners: int = param(200, "features tracked at most", min=10, max=5000)
    reseed_every: int = param(5, "look for new features every this many frames, to pick up new objects",
                              min=1, max=1000)
    quality: float = param(0.01, "goodFeaturesToTrack quality level", min=0.0001, max=1.0)
    min_distance: float = param(6.0, "minimum distance between features (analysis pixels)", min=1.0)
    lk_window: int = param(9, "LK window size (analysis pixels)", min=5, max=63)
    levels: int = param(2, "LK pyramid levels above the base image", min=0, max=6)
    min_contrast: float = param(8.0, "keep only features this many times stronger (LK minimum eigenvalue) "
                                "than the corners sensor noise alone makes, measured from the footage",
                                min=0.0)
    max_fb_error: float = param(1.0, "tracks whose forward-backward error exceeds this (pixels) are dropped",
                                min=0.0)
    subtract_global: bool = param(True, "subtract the median displacement (camera shake or pan) first")


def _near(points: np.ndarray, existing: np.ndarray, distance: float, shape: tuple[int, ...]) -> np.ndarray:
    """Which ``points`` lie within about ``distance`` of an ``existing`` one (to the nearest pixel).

    Marks the existing points on an image and grows each into a disc: one dilation, however many
    points there are, instead of every pairwise distance.
    """
    height, width = shape[:2]
    taken = np.zeros((height, width), np.uint8)
    xy = np.rint(existing).astype(np.intp)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
    taken[xy[inside, 1], xy[inside, 0]] = 255
    radius = max(int(np.ceil(distance)) - 1, 0)
    if radius:
        taken = cv2.dilate(taken, disc(2 * radius + 1))
    at = np.clip(np.rint(points).astype(np.intp), 0, [width - 1, height - 1])
    return taken[at[:, 1], at[:, 0]] > 0


class FlowDetector(Detector):
    """Tracks features frame to frame and scores their net speed over a window."""

    name: ClassVar[str] = "flow"
    kind: ClassVar[str] = MOTION
    summary: ClassVar[str] = (
        "Lucas–Kanade sparse optical flow scored by net displacement over a window; ignores flicker, noise, "
        "camera shake and back-and-forth motion (foliage, water); best for outdoor cameras")
    Params: ClassVar[type[DetectorParams]] = FlowParams
    metric_names: ClassVar[tuple[str, ...]] = ("tracks", "moving")
    runs_by_default: ClassVar[bool] = False  # motion is decided on tracked objects (vidwatch.objects)

    def __init__(self, params: FlowParams) -> None:
        super().__init__(params)
        self._lk = dict(winSize=(params.lk_window, params.lk_window), maxLevel=params.levels,
                        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))

    def reset(self) -> None:
        self._previous: np.ndarray | None = None
        window = self.params.window + 1
        self._points = np.empty((0, 1, 2), np.float32)  # current image positions
        self._history = np.empty((0, window, 2), np.float32)  # globally compensated positions, ring
        self._path = np.empty((0, window), np.float32)  # cumulative path length, same ring
        self._age = np.empty(0, np.int32)
        self._frame = 0

    def _add_features(self, grey: np.ndarray, valid: np.ndarray | None) -> None:
        """Seed new features away from existing tracks, up to ``max_corners`` in all.

        Corners are ranked against the whole frame's best corner (not only the untracked part), so
        re-seeding never settles for weak corners on flat areas that drift with the noise.
        """
        p = self.params
        room = p.max_corners - len(self._points)
        if room <= 0:
            return
        found = cv2.goodFeaturesToTrack(grey, maxCorners=p.max_corners, qualityLevel=p.quality,
                                        minDistance=p.min_distance, mask=valid, blockSize=5)
        if found is None:
            return
        found = found.reshape(-1, 2).astype(np.float32)
        if len(self._points):
            found = found[~_near(found, self._points.reshape(-1, 2), p.min_distance, grey.shape)]
        found = found[:room]
        if not len(found):
            return
        history = np.repeat(found[:, None, :], self._history.shape[1], axis=1)
        self._points = np.concatenate([self._points, found.reshape(-1, 1, 2)])
        self._history = np.concatenate([self._history, history])
        self._path = np.concatenate([self._path, np.zeros((len(found), self._path.shape[1]), np.float32)])
        self._age = np.concatenate([self._age, np.zeros(len(found), np.int32)])

    def update(self, frame: AnalysisFrame) -> Score:
        p = self.params
        grey = frame.grey
        previous, self._previous = self._previous, grey
        self._frame += 1
        if previous is None or previous.shape != grey.shape:
            self.reset()
            self._previous = grey
            self._add_features(grey, frame.valid)
            return QUIET
        if len(self._points):
            self._track(previous, grey, frame.noise)
        if self._frame % p.reseed_every == 0 or len(self._points) < p.max_corners // 4:
            self._add_features(grey, frame.valid)
        return self._score()

    def _track(self, previous: np.ndarray, grey: np.ndarray, noise: float) -> None:
        p = self.params
        points = self._points
        moved, status, eigen = cv2.calcOpticalFlowPyrLK(previous, grey, points, None,
                                                        flags=cv2.OPTFLOW_LK_GET_MIN_EIGENVALS, **self._lk)
        # a corner no stronger than noise makes slides along with the noise: drop it
        floor = max(1e-4, p.min_contrast * NOISE_EIGEN_PER_VARIANCE * noise ** 2)
        ok = (status.ravel() == 1) & (eigen.ravel() >= floor)
        step = (moved - points).reshape(-1, 2)
        if p.max_fb_error > 0:
            # check back only the tracks that moved: a still track adds nothing to the score, and
            # most tracks are still, so this halves the cost of tracking
            moving = ok & (np.abs(step).max(axis=1) >= FB_MIN_STEP)
            if moving.any():
                back, back_status, _ = cv2.calcOpticalFlowPyrLK(grey, previous, moved[moving], None, **self._lk)
                fb_error = np.linalg.norm((back - points[moving]).reshape(-1, 2), axis=1)
                ok[moving] &= (back_status.ravel() == 1) & (fb_error <= p.max_fb_error)
        h, w = grey.shape
        xy = moved.reshape(-1, 2)
        ok &= (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
        if p.subtract_global and ok.sum() >= 5:
            step = step - np.median(step[ok], axis=0)
        slot = self._frame % self._history.shape[1]
        last = (self._frame - 1) % self._history.shape[1]
        self._history[:, slot] = self._history[:, last] + step
        self._path[:, slot] = self._path[:, last] + np.linalg.norm(step, axis=1)
        self._points, self._history, self._path = moved[ok], self._history[ok], self._path[ok]
        self._age = self._age[ok] + 1

    def _score(self) -> Score:
        p = self.params
        mature = self._age >= p.min_age
        if not mature.any():
            return Score(0.0, {"tracks": float(len(self._age)), "moving": 0.0})
        span = np.minimum(self._age[mature], p.window)
        slots = self._history.shape[1]
        now = self._history[mature, self._frame % slots]
        then = self._history[mature, (self._frame - span) % slots]
        net = np.linalg.norm(now - then, axis=1)
        path = self._path[mature, self._frame % slots] - self._path[mature, (self._frame - span) % slots]
        # weigh by straightness (net / path): a walk keeps its direction, noise jitter and swaying do not
        speed = net * (net / np.maximum(path, 1e-6)) / span
        moving = speed > p.moving_speed
        rank = min(p.rank, len(speed))
        value = float(np.partition(speed, len(speed) - rank)[len(speed) - rank])
        box = None
        if moving.any():
            x, y, w, h = cv2.boundingRect(self._points.reshape(-1, 2)[mature][moving])
            box = (int(x), int(y), int(w), int(h))
        metrics = {"tracks": float(len(speed)), "moving": float(moving.mean())}
        return Score(value, metrics, None, box)
