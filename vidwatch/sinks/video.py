"""Writing BGR frames, each with its time, to a playable video file.

H.264 in MP4 through an ``ffmpeg`` subprocess is what every player and browser opens; OpenCV's own
writer (MPEG-4 part 2, fourcc ``mp4v``) is the fallback when ffmpeg is not installed. Frames keep
their source timestamps, so a clip of variable-frame-rate video (a phone, a camera that slows down
in the dark) or one with frames left out lasts as long as what it shows:

- to ffmpeg the frames go in NUT (muxed here with PyAV: raw pictures, already in the encoder's
  YUV 4:2:0, with their timestamps) and it keeps those timestamps as they are
  (``-fps_mode passthrough``, the encoder on the input's clock);
- OpenCV's writer has one fixed rate, so each picture is repeated for the frame slots it covers at
  that rate (or left out when a later one falls in the same slot).

Whether the chosen writer exists is checked when an output is set up (:func:`writer_method`), so
``video_writer: ffmpeg`` without ffmpeg fails before the run instead of losing every clip.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from vidwatch.errors import ENVIRONMENT_FAULTS, UserError
from vidwatch.timing import FALLBACK_FPS

log = logging.getLogger(__name__)

TIME_BASE = Fraction(1, 90000)
"""Clock of the timestamps handed to ffmpeg (the MPEG 90 kHz clock: exact for every common rate)."""
FINISH_TIMEOUT = 120.0
"""Seconds ffmpeg may take to finish a file once it has every frame, before it is killed."""
BACKGROUND_NICE = 10
"""How much lower than vidwatch's analysis a clip encoder runs (CPU priority, ``nice``)."""


def ffmpeg_path() -> str | None:
    """The ffmpeg executable, or None when it is not installed."""
    return shutil.which("ffmpeg")


def writer_method(method: str) -> str:
    """The writer a run will use for ``outputs.video_writer`` (``ffmpeg`` or ``opencv``); checked up front."""
    ffmpeg = ffmpeg_path()
    if method == "ffmpeg" and ffmpeg is None:
        raise UserError("outputs.video_writer is 'ffmpeg' but ffmpeg is not installed; install it "
                        "or set outputs.video_writer: opencv")
    return "ffmpeg" if method in ("auto", "ffmpeg") and ffmpeg else "opencv"


@functools.cache
def _passthrough_options(ffmpeg: str) -> tuple[str, ...]:
    """Options that keep the input's timestamps: ``-fps_mode`` since FFmpeg 5.1, ``-vsync`` before."""
    try:
        banner = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True,
                                timeout=10).stdout
        major, minor = (int(v) for v in re.search(r"version n?(\d+)\.(\d+)", banner).groups())  # type: ignore[union-attr]
    except (OSError, subprocess.SubprocessError, AttributeError, ValueError):
        major, minor = 5, 1  # a build that does not say (git snapshots): assume a current one
    sync = ("-fps_mode", "passthrough") if (major, minor) >= (5, 1) else ("-vsync", "passthrough")
    return (*sync, "-enc_time_base", "-1")


_STRERRORS = {os.strerror(code): code for code in ENVIRONMENT_FAULTS}


def _ffmpeg_error(path: Path, message: str, returncode: int | None) -> OSError:
    """ffmpeg's complaint as an OSError, with the errno its text names (a full disk stays ENOSPC)."""
    code = next((c for text, c in _STRERRORS.items() if text in message), errno.EIO)
    last = message.strip().splitlines()[-1] if message.strip() else f"exit code {returncode}"
    return OSError(code, f"ffmpeg failed writing {path}: {last}")


class VideoWriter:
    """An MP4 writer that keeps each frame's time; ``method`` is 'auto', 'ffmpeg' or 'opencv'.

    The frame size is fixed by the first frame; later frames of another size are resized to it.
    ``fps`` is the nominal rate: OpenCV's fixed rate, and the last frame's duration. Frames written
    without a time are spaced at it. ``background`` lowers the encoder's CPU priority, for outputs
    that must never slow analysis down (clips).
    """

    def __init__(self, path: str | Path, fps: float, *, method: str = "auto", background: bool = False) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else FALLBACK_FPS
        self.method = writer_method(method)
        self.background = background
        self._ffmpeg = ffmpeg_path()
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._mux: Any = None
        self._stream: Any = None
        self._cv: cv2.VideoWriter | None = None
        self._first_time: float | None = None
        self._last_pts = -1
        self._held: tuple[int, np.ndarray] | None = None
        """OpenCV: the latest picture and its slot, written once the next one shows how long it lasts."""
        self.size: tuple[int, int] | None = None
        self.frames = 0

    # -- opening ---------------------------------------------------------------------------------

    def _open(self, width: int, height: int) -> None:
        self.size = (width, height)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.method == "ffmpeg":
            self._open_ffmpeg(width, height)
        else:
            self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
            if not self._cv.isOpened():
                raise OSError(errno.EIO, f"OpenCV cannot write video {self.path}")

    def _open_ffmpeg(self, width: int, height: int) -> None:
        import av

        assert self._ffmpeg is not None
        command = [
            self._ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "nut", "-i", "pipe:0", *_passthrough_options(self._ffmpeg),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", str(self.path),
        ]
        self._errors = tempfile.TemporaryFile()  # read at the end; a pipe nobody reads could fill and hang ffmpeg
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._errors)
        if self.background:
            try:
                os.setpriority(os.PRIO_PROCESS, self._process.pid, BACKGROUND_NICE)
            except (OSError, AttributeError):
                pass  # a platform without nice: it just competes on equal terms
        assert self._process.stdin is not None
        try:
            self._mux = av.open(f"pipe:{self._process.stdin.fileno()}", "w", format="nut")
            stream = self._mux.add_stream("rawvideo", rate=Fraction(self.fps).limit_denominator(100000))
            # the encoder's own format, converted here (half the bytes of BGR through the pipe); it
            # needs even sizes, so an odd edge is padded by one pixel
            stream.width, stream.height, stream.pix_fmt = width + width % 2, height + height % 2, "yuv420p"
            stream.codec_context.time_base = TIME_BASE
            stream.time_base = TIME_BASE
            self._stream = stream
        except Exception:
            self.abort()
            raise

    # -- writing ---------------------------------------------------------------------------------

    def write(self, image: np.ndarray, time: float | None = None) -> None:
        """Add a frame shown from ``time`` seconds (None: one nominal frame after the previous one).

        A failure (OSError; ENOSPC for a full disk) gives the file up: the encoder is stopped and
        the partial file removed.
        """
        try:
            self._write(image, time)
        except BaseException:
            self.abort()
            raise

    def _write(self, image: np.ndarray, time: float | None) -> None:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        height, width = image.shape[:2]
        if self.size is None:
            self._open(width, height)
        elif self.size != (width, height):
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        if time is None:
            time = (self._first_time or 0.0) + self.frames / self.fps
        if self._first_time is None:
            self._first_time = time
        offset = time - self._first_time
        if self._mux is not None:
            self._write_ffmpeg(image, offset)
        else:
            self._write_opencv(image, offset)
        self.frames += 1

    def _write_ffmpeg(self, image: np.ndarray, offset: float) -> None:
        import av

        pts = max(round(offset / TIME_BASE), self._last_pts + 1)  # strictly increasing
        self._last_pts = pts
        height, width = image.shape[:2]
        if width % 2 or height % 2:
            image = cv2.copyMakeBorder(image, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        frame.pts, frame.time_base = pts, TIME_BASE
        try:
            for packet in self._stream.encode(frame):
                self._mux.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise self._failure(exc) from None

    def _write_opencv(self, image: np.ndarray, offset: float) -> None:
        assert self._cv is not None
        slot = round(offset * self.fps)
        if self._held is not None:
            held_slot, held = self._held
            for _ in range(max(0, slot - held_slot)):  # shown until this frame's slot
                self._cv.write(held)
        self._held = (slot, image)

    # -- finishing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the file; safe to call twice. A failure is raised as OSError (ENOSPC for a full disk)
        and the partial file removed."""
        try:
            self._close()
        except BaseException:
            self.abort()
            raise

    def _close(self) -> None:
        if self._mux is not None:
            import av

            mux, self._mux = self._mux, None
            try:
                for packet in self._stream.encode():
                    mux.mux(packet)
                mux.close()
            except (av.error.FFmpegError, OSError) as exc:
                raise self._failure(exc) from None
        if self._process is not None:
            process = self._process
            assert process.stdin is not None
            try:
                process.stdin.close()  # end of input: ffmpeg finishes the file
            except OSError:
                pass
            try:
                process.wait(FINISH_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self._process = None
            if process.returncode != 0:
                raise _ffmpeg_error(self.path, self._error_text(), process.returncode)
            self._close_errors()
        if self._cv is not None:
            if self._held is not None:
                self._cv.write(self._held[1])
                self._held = None
            self._cv.release()
            self._cv = None
            self._check_opencv_output()

    def abort(self) -> None:
        """Give the file up: stop the encoder and remove what it wrote (safe to call at any time)."""
        mux, self._mux = self._mux, None
        if mux is not None:
            try:
                mux.close()
            except Exception:  # the pipe is gone: nothing more can be said to ffmpeg
                pass
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            if process.stdin is not None:
                try:
                    process.stdin.close()
                except OSError:
                    pass
        self._close_errors()
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        self._held = None
        try:
            self.path.unlink()
        except OSError:
            pass

    def _failure(self, exc: BaseException) -> OSError:
        """Why writing to ffmpeg failed: ffmpeg's own message once it has exited (it says why), else ``exc``."""
        process = self._process
        if process is not None:
            try:
                process.wait(5.0)
            except subprocess.TimeoutExpired:
                pass
            if process.returncode is not None:
                return _ffmpeg_error(self.path, self._error_text(), process.returncode)
        if isinstance(exc, OSError) and exc.errno is not None:
            return OSError(exc.errno, f"writing {self.path}: {exc.strerror or exc}")
        return OSError(errno.EIO, f"writing {self.path}: {exc}")

    def _error_text(self) -> str:
        if self._errors is None:
            return ""
        self._errors.seek(0)
        return self._errors.read()[-4000:].decode(errors="replace")

    def _close_errors(self) -> None:
        if self._errors is not None:
            self._errors.close()
            self._errors = None

    def _check_opencv_output(self) -> None:
        """OpenCV's writer reports no write errors: a file it could not finish is found by reading it back."""
        capture = cv2.VideoCapture(str(self.path))
        ok = capture.isOpened() and capture.get(cv2.CAP_PROP_FRAME_COUNT) > 0
        capture.release()
        if ok:
            return
        try:
            full = os.statvfs(self.path.parent).f_bavail == 0
        except OSError:
            full = False
        if full:
            raise OSError(errno.ENOSPC, f"no space left writing {self.path}")
        raise OSError(errno.EIO, f"OpenCV could not write {self.path}")

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
