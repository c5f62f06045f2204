"""The two frame types that flow through the pipeline: what a source decoded, and what detectors see."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np


@dataclass(slots=True)
class SourceFrame:
    """A decoded frame as the source produced it.

    ``image`` is BGR (H, W, 3) or, for sources that decode straight to luma, grey (H, W). Outputs that
    need full-resolution colour call :meth:`bgr`, which converts lazily so frames nobody looks at never
    pay for the conversion. ``limited_range`` marks grey images that are video-range luma (16..235),
    which preprocessing stretches to 0..255 so every reader gives detectors the same grey levels.
    """

    index: int
    time: float
    image: np.ndarray
    to_bgr: Callable[[], np.ndarray] | None = None
    limited_range: bool = False
    _bgr: np.ndarray | None = field(default=None, repr=False)
    received: float | None = None
    """``time.monotonic()`` when a live (or paced) source delivered the frame, for latency; else None."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __getstate__(self) -> dict[str, object]:
        """Picklable (a frame sent to another process, e.g. a Ray camera's live view): the lock stays
        behind, the copy gets its own."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "_lock"}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_lock", threading.Lock())

    @property
    def is_grey(self) -> bool:
        return self.image.ndim == 2

    def bgr(self) -> np.ndarray:
        """The full-resolution frame in BGR colour (converted once, on first use).

        Outputs on other threads (the clip writer) may ask at the same time as the capture loop: the
        conversion runs once, under the frame's own lock (a decoder's frame must not be converted
        twice at once).
        """
        if self._bgr is None:
            with self._lock:
                if self._bgr is None:
                    if self.to_bgr is not None:
                        self._bgr = self.to_bgr()
                    elif self.is_grey:
                        self._bgr = cv2.cvtColor(self.image, cv2.COLOR_GRAY2BGR)
                    else:
                        self._bgr = self.image
        return self._bgr


@dataclass(slots=True)
class AnalysisFrame:
    """The small, preprocessed copy every detector works on.

    ``grey`` is uint8 at analysis size; ``colour`` is the BGR analysis-size copy when colour analysis
    is enabled. ``scale`` maps analysis pixels back to full-resolution pixels. ``valid`` is the mask
    of pixels that count (zones, minus borders invented by alignment); None means the whole frame
    counts. ``offset`` is the shift of the picture's centre from the camera's reference position and
    ``displacement`` the mean distance its corners moved (shift and turn; analysis pixels), both
    removed by alignment; ``noise`` is the estimated sensor noise σ in grey levels.
    """

    index: int
    time: float
    grey: np.ndarray
    scale: float
    source: SourceFrame
    colour: np.ndarray | None = None
    valid: np.ndarray | None = None
    offset: tuple[float, float] = (0.0, 0.0)
    displacement: float = 0.0
    cache: dict[object, Any] = field(default_factory=dict, repr=False)
    """Per-frame results several detectors need (e.g. the grey histogram), computed once."""
    noise: float = 0.0
    sharp: np.ndarray | None = None
    """``grey`` before the blur (same size, aligned the same), or None when there is no blur: where the
    exact extent and texture of a change matter more than noise (see :attr:`detail`)."""
    blur: int = 0
    """Kernel size of the Gaussian blur that made ``grey`` from ``sharp`` (0: none), so a detector that
    models the sharp picture can smooth its differences the same way."""

    @property
    def detail(self) -> np.ndarray:
        """The analysis picture before the blur (``grey`` itself when there is no blur)."""
        return self.grey if self.sharp is None else self.sharp

    @property
    def valid_pixels(self) -> int:
        """Pixels that count; counted once per frame, however many detectors ask."""
        if self.valid is None:
            return int(self.grey.size)
        if "valid_pixels" not in self.cache:
            self.cache["valid_pixels"] = int(cv2.countNonZero(self.valid))
        return self.cache["valid_pixels"]

    def to_full(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """An analysis-pixel box (in aligned coordinates) -> full-resolution pixels of the source frame."""
        x, y, w, h = box
        dx, dy = self.offset
        s = self.scale
        return round((x + dx) * s), round((y + dy) * s), round(w * s), round(h * s)
