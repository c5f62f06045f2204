"""Generated recordings for the split and triage tests: long quiet stretches, events at known frames.

Encoded with ffmpeg's libx264 the way cameras record (a fixed keyframe interval), at a small size
so a whole-file scan takes a second or two. The scene is the synthetic textured still scene of
:mod:`tests.synthetic` with sensor noise; things happen at the frames the caller asks for.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.scenes import burn_text
from tests.synthetic import noisy, scene, square_at

FFMPEG = shutil.which("ffmpeg")
FPS = 25
VBR = ("-crf", "23", "-bf", "0")
"""Quality-driven (variable bitrate), no B-frames, as most cameras record."""
VBR_B_FRAMES = ("-crf", "23")
"""x264's default B-frame structure."""
CBR = ("-b:v", "400k", "-minrate", "400k", "-maxrate", "400k", "-bufsize", "200k", "-x264-params", "nal-hrd=cbr",
       "-bf", "0")
"""Constant bitrate with filler data, as set-top encoders and some cameras send."""
ALL_INTRA = ("-crf", "23", "-g", "1")


def need_ffmpeg() -> None:
    if FFMPEG is None:
        pytest.skip("SPLIT/TRIAGE TESTS SKIPPED: ffmpeg (with libx264) is needed to encode the test recordings; "
                    "install it (Debian: apt-get install ffmpeg)")


@dataclass(frozen=True)
class Story:
    """What happens in a generated recording: squares crossing, lights switched, cuts (frame numbers)."""

    frames: int
    crossings: Sequence[tuple[int, int]] = ()
    """(first, last) frames of a square crossing the scene, 4 px a frame."""
    light: Sequence[tuple[int, float]] = ()
    """(frame, brightness added from that frame on)."""
    cuts: Sequence[int] = ()
    """The scene alternates between two views at these frames."""
    hidden: Sequence[tuple[int, int]] = ()
    """(first, last) frames where the squares are out of sight (behind something), still moving."""
    noise: float = 3.0
    clock: bool = False
    """Burn a camera's date and time into every picture (:func:`tests.scenes.burn_text`), ticking each second."""
    extra: dict = field(default_factory=dict)

    def images(self):
        a, b = scene(11), scene(12, brightness=-40) * 0.8
        rng = np.random.default_rng(5)
        for i in range(self.frames):
            base = b if sum(1 for c in self.cuts if i >= c) % 2 else a
            brightness = 0.0
            for at, level in self.light:
                if i >= at:
                    brightness = level
            image = base + brightness
            for n, (first, last) in enumerate(self.crossings):
                if first <= i <= last and not any(a <= i <= b for a, b in self.hidden):
                    image = square_at(image, 10 + (i - first) * 4, 60 + 70 * (n % 2))
            picture = noisy(image, rng, self.noise)
            if self.clock:
                picture = burn_text(picture, [(f"2026-01-05 10:{i // FPS // 60:02d}:{i // FPS % 60:02d}", "tl")])
            yield picture


def write(path: Path, story: Story, encoding: Sequence[str] = VBR, *, keyframe_every: int = FPS) -> Path:
    """Encode ``story`` to ``path`` (H.264 in MP4 or, for a .ts path, MPEG-TS)."""
    need_ffmpeg()
    first = next(iter(story.images()))
    height, width = first.shape
    cmd = [FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}",
           "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-g", str(keyframe_every),
           "-keyint_min", str(keyframe_every), "-sc_threshold", "0", *encoding, "-pix_fmt", "yuv420p",
           "-threads", "1", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for image in story.images():
        proc.stdin.write(np.ascontiguousarray(image).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0, f"ffmpeg failed writing {path}"
    return path
