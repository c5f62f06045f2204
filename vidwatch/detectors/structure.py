"""A cut between two shots of much the same colours: the picture's structure changed, not its histogram.

The histogram detector compares colour distributions only, so a cut from one shot to its reverse
shot, or between two views of one street, can leave the histogram nearly where it was. What such a
cut cannot keep is the picture's pattern: this detector divides the picture into a grid of cells
and counts, among the cells with texture, those whose normalised correlation with the same cell of
the previous frame fell below ``min_correlation``. A cut replaces the pattern nearly everywhere; a
light change keeps it (the correlation ignores brightness and contrast); a pan moves it by a few
pixels a frame; a passing thing changes the cells it covers. The score is the changed share of the
textured cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidwatch.detectors.base import QUIET, Detector, DetectorParams, Score
from vidwatch.events import SCENE_CHANGE
from vidwatch.frames import AnalysisFrame
from vidwatch.params import param

NOISE_TEXTURES = 3.0
"""A cell has texture when its spread exceeds this many noise sigmas too: noise alone never correlates."""
MIN_VALID = 0.9
"""Share of a cell's pixels that must count (zones, alignment borders) for the cell to be compared."""


@dataclass(frozen=True, slots=True)
class StructureParams(DetectorParams):
    threshold: float = param(0.7, "share of the textured cells whose pattern changed since the previous frame "
                             "above which it fires", min=0.0, max=1.0)
    rows: int = param(6, "grid rows", min=1, max=64)
    columns: int = param(8, "grid columns", min=1, max=64)
    min_correlation: float = param(0.5, "a cell whose correlation with the previous frame's is below this "
                                   "has changed", min=-1.0, max=1.0)
    min_texture: float = param(4.0, "grey-level spread below which a cell is flat and not compared "
                               "(raised to 3 noise sigmas on a noisy picture)", min=0.0)
    min_textured: float = param(0.25, "share of the cells that must have texture for the picture to be "
                                "judged (a flat picture is left to the histogram)", min=0.0, max=1.0)


@dataclass(frozen=True, slots=True)
class _Cells:
    """One frame's picture cut to whole cells, and each cell's mean and spread."""

    pixels: np.ndarray
    """(rows x cell height, columns x cell width) float32."""
    mean: np.ndarray
    """(rows, columns) mean of each cell."""
    spread: np.ndarray
    """(rows, columns) standard deviation of each cell."""
    counted: np.ndarray
    """(rows, columns) bool: enough of the cell's pixels count."""


def cell_means(image: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Each cell's mean (the picture holds whole cells: an area resize to one pixel a cell is exact)."""
    return cv2.resize(image, (columns, rows), interpolation=cv2.INTER_AREA)


def cells_of(grey: np.ndarray, valid: np.ndarray | None, rows: int, columns: int) -> _Cells:
    """Split ``grey``, at half its size, into a rows x columns grid (the few pixels beyond a whole cell
    are left out). A cell's pattern is in its coarse shapes: half the size costs a quarter and keeps
    them (the analysis picture is blurred already)."""
    height, width = grey.shape
    if min(height, width) >= 4 * max(rows, columns):
        height, width = height // 2, width // 2
        grey = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
        if valid is not None:
            valid = cv2.resize(valid, (width, height), interpolation=cv2.INTER_AREA)
    cell_h, cell_w = max(height // rows, 1), max(width // columns, 1)
    pixels = grey[:rows * cell_h, :columns * cell_w].astype(np.float32)
    mean = cell_means(pixels, rows, columns)
    spread = np.sqrt(np.maximum(cell_means(pixels * pixels, rows, columns) - mean * mean, 0.0))
    if valid is None:
        counted = np.ones((rows, columns), bool)
    else:
        counted = cell_means(valid[:rows * cell_h, :columns * cell_w].astype(np.float32), rows, columns) \
            >= MIN_VALID * 255
    return _Cells(pixels, mean, spread, counted)


class StructureDetector(Detector):
    """Share of the textured cells whose pattern changed since the previous frame."""

    name: ClassVar[str] = "structure"
    kind: ClassVar[str] = SCENE_CHANGE
    summary: ClassVar[str] = (
        "share of the picture's textured cells whose pattern changed since the previous frame; finds cuts "
        "between shots of similar colours that the histogram misses, blind to light changes")
    Params: ClassVar[type[DetectorParams]] = StructureParams
    metric_names: ClassVar[tuple[str, ...]] = ("changed", "textured")
    runs_by_default: ClassVar[bool] = True

    def reset(self) -> None:
        self._previous: _Cells | None = None

    def update(self, frame: AnalysisFrame) -> Score:
        p = self.params
        current = cells_of(frame.grey, frame.valid, p.rows, p.columns)
        previous, self._previous = self._previous, current
        if previous is None or previous.pixels.shape != current.pixels.shape:
            return QUIET
        floor = max(p.min_texture, NOISE_TEXTURES * frame.noise)
        compared = previous.counted & current.counted & (np.maximum(previous.spread, current.spread) >= floor)
        textured = int(compared.sum())
        share = textured / compared.size
        if textured == 0 or share < p.min_textured:
            return Score(0.0, {"changed": 0.0, "textured": share})
        covariance = cell_means(previous.pixels * current.pixels, p.rows, p.columns) - previous.mean * current.mean
        correlation = covariance / np.maximum(previous.spread * current.spread, 1e-6)
        changed = float(np.count_nonzero(compared & (correlation < p.min_correlation))) / textured
        return Score(changed, {"changed": changed, "textured": share})
