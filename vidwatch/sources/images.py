"""Folders (or globs) of still images, in natural name order, as time-lapse frames."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import cv2

from vidwatch.frames import SourceFrame
from vidwatch.sources.base import Source

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


def natural_key(path: str) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path)]


class ImageFolderSource(Source):
    """Still images (a folder or a glob) in name order, as time-lapse frames."""

    def __init__(self, spec: str, files: list[str], fps: float) -> None:
        self.name = spec
        self.files = files
        self.fps = fps
        self.frame_count = len(files)

    def __iter__(self) -> Iterator[SourceFrame]:
        for index, path in enumerate(self.files):
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                log.warning("skipping %s: not a readable image", path)
                continue
            frame = SourceFrame(index, index / self.fps, image)
            yield frame

    def file_for(self, index: int) -> str:
        return self.files[index]
