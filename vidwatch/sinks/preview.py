"""``--show``: a preview window with what the detectors saw and the open events drawn over the picture.

It is a sink that wants every frame, and shows the same picture the annotated video holds (drawn at
full resolution with the drawing units of every picture output, the camera offset applied, then
scaled to fit the screen). Where no display exists (no $DISPLAY on Linux, or an OpenCV build without
GUI support) it is not created: the run goes on without it after one clear warning, because
detection, not the picture, is the job. ``q`` or Esc in the window stops the run.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import cv2
import numpy as np

from vidwatch.record import FrameRecord
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


def render(record: FrameRecord, *, max_width: int = 960) -> np.ndarray:
    """The annotated picture (:func:`~vidwatch.sinks.draw.draw_record`), no wider than ``max_width``."""
    image = draw.draw_record(record)
    height, width = image.shape[:2]
    if width <= max_width:
        return image
    size = (max_width, max(1, round(height * max_width / width)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class PreviewSink(Sink):
    """Shows each analysed frame; the first failure to draw turns it off with a warning."""

    name = "preview"
    shows_pictures = True

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop
        self.enabled = True
        self._shown = False

    def frame(self, record: FrameRecord) -> None:
        if not self.enabled:
            return
        try:
            cv2.imshow(WINDOW, render(record))
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
