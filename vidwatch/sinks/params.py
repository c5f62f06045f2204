"""Settings shared by the file outputs (YAML section ``outputs``): clips, snapshots, annotated video."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vidwatch.params import param


@dataclass(frozen=True, slots=True)
class OutputParams:
    """How snapshots, event clips and annotated videos are written (YAML section ``outputs``)."""

    pre_roll: float = param(2.0, "seconds of video before an event's first frame kept in its clip",
                            min=0.0, max=600.0)
    post_roll: float = param(2.0, "seconds of video after an event's last frame kept in its clip",
                             min=0.0, max=600.0)
    buffer_mb: float = param(256.0, "memory cap in MB for the JPEG ring buffer that holds the pre-roll "
                             "(oldest frames go first when it is full)", min=1.0, max=65536.0)
    jpeg_quality: int = param(90, "JPEG quality of snapshots and of the frames held for clips", min=10, max=100)
    video_writer: Literal["auto", "ffmpeg", "opencv"] = param(
        "auto", "'ffmpeg': H.264 MP4 through the ffmpeg program; 'opencv': MPEG-4 part 2 MP4 written "
        "by OpenCV; 'auto': ffmpeg when it is installed, else opencv")
