"""What vidwatch is measured against: DVR-Scan with its defaults, and OpenCV's MOG2 wired by hand.

Why: a figure means little alone. DVR-Scan is the tool people install to find motion in recordings;
MOG2 is what they write themselves after reading OpenCV's background-subtraction tutorial. Both
report motion only: every event they give is a ``motion`` event.

MOG2 as a user wires it (``mog2_events``): ``cv2.createBackgroundSubtractorMOG2`` with its default
history (500) and variance threshold (16), shadows detected and discarded (the mask's grey 127 is
dropped), a 3x3 morphological opening, external contours, and a frame counts as moving when one
contour covers at least ``MOG2_MIN_AREA`` of the frame (0.05 %, the size of the smallest person the
benchmark asks for). An event opens when motion persists for ``MOG2_PERSIST`` frames (from the first
of them) and closes ``MOG2_POST_ROLL`` seconds after the last moving frame, which it includes, as
vidwatch's and DVR-Scan's events include their post-roll.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2

log = logging.getLogger("accuracy")

DVR_SCAN_PATHS = ("/opt/peers/bin/dvr-scan",)
MOG2_MIN_AREA = 0.0005
"""Smallest contour that counts as motion, as a share of the frame."""
MOG2_PERSIST = 3
"""Frames in a row with motion before an event opens."""
MOG2_POST_ROLL = 1.0
"""Seconds an event stays open after the last moving frame (vidwatch's default post-roll)."""


@dataclass(frozen=True)
class Detection:
    """One reported event, in the shape ``vidwatch.evaluate`` scores (inclusive frames)."""

    kind: str
    start_frame: int
    end_frame: int


def dvr_scan_path() -> str | None:
    for path in DVR_SCAN_PATHS:
        if Path(path).is_file():
            return path
    return shutil.which("dvr-scan")


def dvr_scan_version(exe: str) -> str:
    try:
        done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    for line in (done.stdout + done.stderr).splitlines():  # "DVR-Scan 1.8.2.1", then system info
        if line.startswith("DVR-Scan"):
            return line.split(None, 1)[-1].strip()
    return "?"


def _timecode(text: str) -> float:
    h, m, s = text.strip().split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def dvr_scan_events(exe: str, video: Path, fps: float) -> list[Detection]:
    """DVR-Scan with its defaults: stdout is start,end,start,end,... timecodes (end exclusive).

    A failed run is tried once more (it has been seen to fail once on a busy machine and then pass)
    before the error is raised.
    """
    command = [exe, "-i", str(video), "-so", "-q", "--ignore-user-config"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=1800)
    except subprocess.CalledProcessError as exc:
        log.warning("DVR-Scan failed on %s (%s); trying once more", video.name, exc.stderr.strip()[-200:])
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=1800)
    codes = [c for c in done.stdout.strip().replace("\n", ",").split(",") if c.strip()]
    events = []
    for start, end in zip(codes[0::2], codes[1::2], strict=False):  # a lone start has no end
        first = int(round(_timecode(start) * fps))
        last = max(first, int(round(_timecode(end) * fps)) - 1)
        events.append(Detection("motion", first, last))
    return events


def mog2_events(video: Path) -> list[Detection]:
    """Motion events from OpenCV's MOG2 with the usual hand-written post-processing (see the module text)."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise RuntimeError(f"cannot open {video}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    subtractor = cv2.createBackgroundSubtractorMOG2(detectShadows=True)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    post_roll = int(round(MOG2_POST_ROLL * fps))
    events: list[Detection] = []
    run = 0
    start = last = -1
    index = -1
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            index += 1
            mask = subtractor.apply(frame)
            _, mask = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)  # 127 = shadow: dropped
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            min_area = MOG2_MIN_AREA * mask.shape[0] * mask.shape[1]
            moving = any(cv2.contourArea(c) >= min_area for c in contours)
            run = run + 1 if moving else 0
            if start < 0 and run >= MOG2_PERSIST:
                start, last = index - MOG2_PERSIST + 1, index
            elif start >= 0 and moving:
                last = index
            elif start >= 0 and index - last > post_roll:
                events.append(Detection("motion", start, last + post_roll))
                start = -1
    finally:
        capture.release()
    if start >= 0:
        events.append(Detection("motion", start, min(index, last + post_roll)))
    return events
