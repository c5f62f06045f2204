"""``--show``: a preview window with the change mask and the open events drawn over the picture.

It is a sink that wants every frame. Where no display exists (no $DISPLAY on Linux, or an OpenCV
build without GUI support) it is not created: the run goes on without it after one clear warning,
because detection, not the picture, is the job. ``q`` or Esc in the window stops the run.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from vidwatch.detectors.base import Score
from vidwatch.frames import AnalysisFrame
from vidwatch.sinks import draw
from vidwatch.sinks.base import Sink

log = logging.getLogger(__name__)

WINDOW = "vidwatch"


PROBE = "import cv2; cv2.namedWindow('vidwatch-probe'); cv2.waitKey(1); cv2.destroyAllWindows()"


def display_problem() -> str | None:
    """Why a window cannot be shown here, or None when it can.

    A window is first opened in a throw-away process: OpenCV's Qt backend aborts the whole process
    when the display it is given does not answer, which must never happen to a run in progress.
    """
    if sys.platform.startswith("linux") and not any(
            os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return "no display ($DISPLAY is not set)"
    gui = [line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")]
    if gui and gui[0].split(":", 1)[1].strip().upper() in ("", "NONE", "NO"):
        return "this OpenCV build has no GUI support (opencv-python-headless?)"
    try:
        probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "opening a window did not finish within 20 s"
    if probe.returncode != 0:
        lines = [line for line in probe.stderr.strip().splitlines() if line.strip()]
        where = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "the display"
        return f"cannot open a window on {where} ({lines[0].strip() if lines else 'the window system refused'})"
    return None


def render(frame: AnalysisFrame, scores: Mapping[str, Score], active: Sequence[str], *,
           max_width: int = 960) -> np.ndarray:
    """The picture with changed pixels tinted red, changed regions boxed and the open events named."""
    image = frame.source.bgr()
    height, width = image.shape[:2]
    scale = min(1.0, max_width / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    view = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else image.copy()
    union = draw.union_mask(scores, scores)
    if union is not None:
        mask = cv2.resize(union, size, interpolation=cv2.INTER_NEAREST) > 0
        view[mask] = (0.5 * view[mask] + [0, 0, 127]).astype(np.uint8)
    to_view = frame.scale * scale
    for s in scores.values():
        if s.box is not None:
            x, y, w, h = (round(v * to_view) for v in s.box)
            cv2.rectangle(view, (x, y), (x + w, y + h), (0, 255, 255), 2)
    label = f"{frame.time:8.2f}s  " + (" ".join(k.upper() for k in active) if active else "quiet")
    cv2.putText(view, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(view, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                (0, 0, 255) if active else (255, 255, 255), 1, cv2.LINE_AA)
    return view


class PreviewSink(Sink):
    """Shows each analysed frame; the first failure to draw turns it off with a warning."""

    name = "preview"
    shows_pictures = True

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop
        self.enabled = True
        self._shown = False

    def frame(self, frame: AnalysisFrame, scores: Mapping[str, Score], active: Sequence[str]) -> None:
        if not self.enabled:
            return
        try:
            cv2.imshow(WINDOW, render(frame, scores, active))
            self._shown = True
            key = cv2.waitKey(1) & 0xFF
        except cv2.error as exc:
            self.enabled = False
            log.warning("--show: cannot open a window (%s); running without the preview",
                        str(exc).strip().splitlines()[-1])
            return
        if key in (ord("q"), 27) and self.stop is not None:
            log.info("preview closed with '%s': stopping", "q" if key == ord("q") else "Esc")
            self.stop.set()

    def close(self) -> None:
        if self.enabled and self._shown:
            try:
                cv2.destroyWindow(WINDOW)
                cv2.waitKey(1)
            except cv2.error:
                pass
