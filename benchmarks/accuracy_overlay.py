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
from accuracy_clips import CLIP_CRF, CLIP_KEYFRAME_SECONDS, derived_copies, finish_copies, fps_of, x264_options

from tests.scenes import burn_text  # the clock of the tests' scenes, in proportion to the picture

log = logging.getLogger("accuracy_clips")

FOLDER = "osd"
"""Overlaid clips are cached under ``<cache>/osd/<split>/``."""
CLOCK_START = datetime(2026, 1, 5, 23, 59, 45)
"""The time shown on every clip's first frame: midnight comes 15 s in, when the whole line changes."""
CAMERA_NAME = "CAM 03 GATE"


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
                frame = burn_text(decoded.to_ndarray(format="bgr24"), [(stamp, "tl"), (CAMERA_NAME, "br")])
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
