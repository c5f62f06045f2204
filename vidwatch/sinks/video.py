"""Writing BGR frames to a playable video file.

H.264 in MP4 through an ``ffmpeg`` subprocess fed raw frames on a pipe is what every player and
browser opens; OpenCV's own writer (MPEG-4 part 2, fourcc ``mp4v``) is the fallback when ffmpeg is
not installed. Frames are written at a constant rate, so a clip of N frames decodes as N frames.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from vidwatch.errors import UserError
from vidwatch.timing import FALLBACK_FPS

log = logging.getLogger(__name__)


def ffmpeg_path() -> str | None:
    """The ffmpeg executable, or None when it is not installed."""
    return shutil.which("ffmpeg")


class VideoWriter:
    """A constant-rate MP4 writer; ``method`` is 'auto', 'ffmpeg' or 'opencv'.

    The frame size is fixed by the first frame; later frames of another size are resized to it.
    """

    def __init__(self, path: str | Path, fps: float, *, method: str = "auto") -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else FALLBACK_FPS
        ffmpeg = ffmpeg_path()
        if method == "ffmpeg" and ffmpeg is None:
            raise UserError("outputs.video_writer is 'ffmpeg' but ffmpeg is not installed; install it "
                            "or set outputs.video_writer: opencv")
        self.method = "ffmpeg" if method in ("auto", "ffmpeg") and ffmpeg else "opencv"
        self._ffmpeg = ffmpeg
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe: IO[bytes] | None = None
        self._cv: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def _open(self, width: int, height: int) -> None:
        self.size = (width, height)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.method == "ffmpeg":
            assert self._ffmpeg is not None
            command = [
                self._ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", f"{self.fps:.6g}",
                "-i", "-",
                # yuv420p needs even sizes; pad by one pixel rather than fail on odd ones
                "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", str(self.path),
            ]
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE)
            self._pipe = self._process.stdin
        else:
            self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                       (width, height))
            if not self._cv.isOpened():
                raise OSError(f"OpenCV cannot write video {self.path}")

    def write(self, image: np.ndarray) -> None:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        height, width = image.shape[:2]
        if self.size is None:
            self._open(width, height)
        elif self.size != (width, height):
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        if self._pipe is not None:
            self._pipe.write(np.ascontiguousarray(image))  # the buffer itself, not a bytes copy of it
        elif self._cv is not None:
            self._cv.write(image)
        self.frames += 1

    def close(self) -> None:
        """Finish the file; safe to call twice. An ffmpeg failure is raised as OSError with its message."""
        if self._process is not None:
            process, self._process = self._process, None
            _, err = process.communicate()  # closes stdin, so ffmpeg finishes the file
            self._pipe = None
            if process.returncode != 0:
                message = err.decode(errors="replace").strip().splitlines()
                raise OSError(f"ffmpeg failed writing {self.path}: {message[-1] if message else process.returncode}")
        if self._cv is not None:
            self._cv.release()
            self._cv = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
