"""Score one frame with every detector, split over two cores where that pays.

Detectors are independent of each other: each reads the same analysis frame and updates only its
own model. Their work is almost all inside OpenCV and numpy calls that release the GIL, so the
detectors can be split into two groups of about equal running cost, one scored on a helper thread
while the other runs on the caller's: the frame is scored in about half the time, and the scores
are exactly those of running them one after the other.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2

from vidwatch import cores
from vidwatch.detectors.base import Score
from vidwatch.frames import AnalysisFrame

COST_SMOOTHING = 0.05
"""Weight of the newest timing in each detector's running cost."""


def use_one_opencv_thread() -> None:
    """Keep OpenCV from splitting each call over its own thread pool.

    Every call here works on a small analysis image, where handing pieces to the pool and waking
    its threads costs more than it saves: analysis took about 40 % more CPU with the pool than
    without (1080p, default config). The cores are kept busy the other way: the decoder's threads,
    decode-ahead and the detector split. (OpenCV's video reader keeps its own decoding threads.)
    """
    cv2.setNumThreads(1)


def score_in_parallel(paced: bool) -> bool:
    """Whether splitting the detectors over two threads pays for a source.

    For a camera or a paced file it cuts each frame's latency. A file read as fast as possible on
    two cores is different: the decoder's own threads already keep both busy, so the split only
    adds hand-offs (measured: about 8 % fewer frames a second); with more cores there is room again.
    """
    return paced or cores.usable_cores() > 2


class DetectorRunner:
    """Calls ``update`` of every detector on a frame; returns their scores in configuration order."""

    def __init__(self, detectors: Mapping[str, Any], *, parallel: bool) -> None:
        self.detectors = dict(detectors)
        self._cost = dict.fromkeys(self.detectors, 0.0)
        self._pool = (ThreadPoolExecutor(1, thread_name_prefix="detector")
                      if parallel and len(self.detectors) > 1 else None)

    def _timed(self, name: str, frame: AnalysisFrame) -> Score:
        started = time.perf_counter()
        score = self.detectors[name].update(frame)
        self._cost[name] += COST_SMOOTHING * (time.perf_counter() - started - self._cost[name])
        return score

    def _split(self) -> tuple[list[str], list[str]]:
        """Two groups of detectors with about equal running cost (largest first, to the lighter side)."""
        helper: list[str] = []
        caller: list[str] = []
        loads = [0.0, 0.0]
        for name in sorted(self._cost, key=self._cost.__getitem__, reverse=True):
            side = 0 if loads[0] <= loads[1] else 1
            (helper if side == 0 else caller).append(name)
            loads[side] += self._cost[name]
        return helper, caller

    def _run_all(self, names: list[str], frame: AnalysisFrame) -> dict[str, Score]:
        return {name: self._timed(name, frame) for name in names}

    def __call__(self, frame: AnalysisFrame) -> dict[str, Score]:
        if self._pool is None:
            return {name: detector.update(frame) for name, detector in self.detectors.items()}
        helper, caller = self._split()
        future = self._pool.submit(self._run_all, helper, frame)
        scores = self._run_all(caller, frame)
        scores.update(future.result())
        return {name: scores[name] for name in self.detectors}

    def close(self) -> None:
        """Stop the helper thread; safe to call twice."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
