"""Sparse optical flow (pyramidal Lucas–Kanade) on good features to track.

Measures how far trackable points actually travel between frames, so it ignores changes that do
not move anything (noise, flicker, a light level that drifts) and, with the camera's own global
shift subtracted, a shaking camera. Use it where pixel-change detectors raise false alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidwatch.detectors.base import QUIET, Score
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class FlowParams:
    threshold: float = param(1.5, "speed (analysis pixels per frame) of the rank-th fastest track above "
                             "which it fires", min=0.0)
    rank: int = param(3, "the score is the speed of the rank-th fastest track, so one bad track cannot fire",
                      min=1, max=100)
    moving_speed: float = param(0.75, "speed (analysis px/frame) at which a track counts as moving",
                                min=0.0)
    max_corners: int = param(300, "features tracked at most", min=10, max=5000)
    min_tracks: int = param(60, "re-seed features when fewer tracks survive", min=1, max=5000)
    reseed_every: int = param(10, "re-seed features every this many frames, to pick up new objects",
                              min=1, max=1000)
    quality: float = param(0.01, "goodFeaturesToTrack quality level", min=0.0001, max=1.0)
    min_distance: float = param(6.0, "minimum distance between features (analysis pixels)", min=1.0)
    window: int = param(15, "LK window size (analysis pixels)", min=5, max=63)
    levels: int = param(2, "LK pyramid levels above the base image", min=0, max=6)
    max_fb_error: float = param(1.0, "tracks whose forward-backward error exceeds this (pixels) are dropped",
                                min=0.0)
    subtract_global: bool = param(True, "subtract the median displacement (camera shake / pan) first")


class FlowDetector:
    """Tracks features frame to frame and scores their speed."""

    name: ClassVar[str] = "flow"
    kind: ClassVar[str] = "motion"
    summary: ClassVar[str] = (
        "Lucas–Kanade sparse optical flow; scores how far features travel, ignoring flicker, noise and "
        "(with global subtraction) camera shake; best for outdoor cameras on poles")
    Params: ClassVar[type] = FlowParams

    def __init__(self, params: FlowParams) -> None:
        self.params = params
        self._lk = dict(winSize=(params.window, params.window), maxLevel=params.levels,
                        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None
        self._points: np.ndarray | None = None
        self._since_seed = 0

    def _seed(self, grey: np.ndarray, valid: np.ndarray | None) -> np.ndarray | None:
        p = self.params
        self._since_seed = 0
        return cv2.goodFeaturesToTrack(grey, maxCorners=p.max_corners, qualityLevel=p.quality,
                                       minDistance=p.min_distance, mask=valid, blockSize=5)

    def update(self, frame: AnalysisFrame) -> Score:
        p = self.params
        grey = frame.grey
        previous, points = self._previous, self._points
        self._previous = grey
        self._since_seed += 1
        if previous is None or previous.shape != grey.shape or points is None or len(points) == 0:
            self._points = self._seed(grey, frame.valid)
            return QUIET

        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, grey, points, None, **self._lk)
        ok = status.ravel() == 1
        if p.max_fb_error > 0 and ok.any():
            back, back_status, _ = cv2.calcOpticalFlowPyrLK(grey, previous, moved, None, **self._lk)
            fb_error = np.linalg.norm((back - points).reshape(-1, 2), axis=1)
            ok &= (back_status.ravel() == 1) & (fb_error <= p.max_fb_error)
        start = points.reshape(-1, 2)[ok]
        end = moved.reshape(-1, 2)[ok]

        if len(end) < p.min_tracks or self._since_seed >= p.reseed_every:
            self._points = self._seed(grey, frame.valid)
        else:
            self._points = end.reshape(-1, 1, 2)

        if len(end) == 0:
            return Score(0.0, {"tracks": 0.0, "moving": 0.0, "speed_p95": 0.0})
        shift = end - start
        global_shift = np.median(shift, axis=0) if p.subtract_global else np.zeros(2, np.float32)
        speed = np.linalg.norm(shift - global_shift, axis=1)
        moving = speed > p.moving_speed
        rank = min(p.rank, len(speed))
        value = float(np.partition(speed, len(speed) - rank)[len(speed) - rank])
        box = None
        if moving.any():
            x, y, w, h = cv2.boundingRect(end[moving].astype(np.float32))
            box = (int(x), int(y), int(w), int(h))
        metrics = {
            "tracks": float(len(speed)),
            "moving": float(moving.mean()),
            "speed_p95": float(np.percentile(speed, 95)),
            "global_dx": float(global_shift[0]),
            "global_dy": float(global_shift[1]),
        }
        return Score(value, metrics, None, box)
