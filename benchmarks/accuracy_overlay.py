"""The accuracy clips with a camera's on-screen display burnt in: the date and time, and its name.

Most surveillance cameras write the date and time into every frame they send, white with a dark
outline, in a corner. Its digits change in place every second (and at midnight the whole line at
once), which a detector that counts changed pixels sees as change every second; users of such tools
draw a mask over it by hand. The clips' truth is unchanged: the overlay moves no event.

    python benchmarks/accuracy.py --split test --overlay --jobs 2
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import av
import cv2
import numpy as np
from accuracy_clips import CLIP_CRF, CLIP_KEYFRAME_SECONDS, derived_copies, finish_copies, fps_of, x264_options

log = logging.getLogger("accuracy_clips")

FOLDER = "osd"
"""Overlaid clips are cached under ``<cache>/osd/<split>/``."""
CLOCK_START = datetime(2026, 1, 5, 23, 59, 45)
"""The time shown on every clip's first frame: midnight comes 15 s in, when the whole line changes."""
CAMERA_NAME = "CAM 03 GATE"
TEXT_HEIGHT = 0.035
"""Height of the digits as a share of the picture's height (about 17 px at 480 lines, 38 at 1080)."""
MARGIN = 0.025
"""Distance of the text from the picture's edges, as a share of its height."""


def burn(frame: np.ndarray, lines: Sequence[tuple[str, str]]) -> np.ndarray:
    """``frame`` (BGR) with each (text, corner) written in it: white glyphs with a dark outline, at the
    top left (``"tl"``) or bottom right (``"br"``)."""
    height, width = frame.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = TEXT_HEIGHT * height / cv2.getTextSize("0", font, 1.0, 1)[0][1]
    thickness = max(1, round(scale))
    margin = round(MARGIN * height)
    glyphs = np.zeros((height, width), np.uint8)
    for text, corner in lines:
        (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
        origin = (margin, margin + h) if corner == "tl" else (width - margin - w, height - margin)
        cv2.putText(glyphs, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    rim = max(1, thickness)
    text_alpha = (glyphs.astype(np.float32) / 255)[..., None]
    rim_alpha = (cv2.dilate(glyphs, np.ones((2 * rim + 1, 2 * rim + 1), np.uint8)).astype(np.float32) / 255)[..., None]
    shown = frame * (1 - rim_alpha) + 20 * rim_alpha
    return (shown * (1 - text_alpha) + 240 * text_alpha).astype(np.uint8)


def _overlay_job(args: tuple[Path, Path, float]) -> Path:
    source, target, fps = args
    partial = target.with_name(f".{target.name}")
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s",
               f"{width}x{height}", "-r", f"{fps:g}", "-i", "-",
               *x264_options(CLIP_CRF, CLIP_KEYFRAME_SECONDS, fps), "-f", "mp4", str(partial)]
        encoder = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        assert encoder.stdin is not None
        try:
            for index, decoded in enumerate(container.decode(stream)):
                stamp = (CLOCK_START + timedelta(seconds=int(index / fps))).strftime("%Y-%m-%d %H:%M:%S")
                frame = burn(decoded.to_ndarray(format="bgr24"), [(stamp, "tl"), (CAMERA_NAME, "br")])
                encoder.stdin.write(frame.tobytes())
        finally:
            encoder.stdin.close()
            if encoder.wait() != 0:
                raise RuntimeError(f"ffmpeg failed writing {target}")
    partial.replace(target)
    return target


def overlaid(videos: Sequence[Path], jobs: int = 1) -> list[Path]:
    """The same clips with the date and time and a camera name burnt in (see the module docstring),
    re-encoded as the clips are (a second generation of H.264), cached under ``<cache>/osd/<split>/``
    beside a copy of each truth file."""
    if not shutil.which("ffmpeg"):
        raise RuntimeError("overlaying the clips needs ffmpeg on PATH")
    out, todo = derived_copies(videos, FOLDER)
    if todo:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # decoding and drawing release the GIL
            list(pool.map(_overlay_job, [(video, target, fps_of(video)) for video, target in todo]))
        finish_copies(todo)
        log.info("burnt the date and time into %d clip(s) in %.1f s", len(todo), time.perf_counter() - started)
    return out
