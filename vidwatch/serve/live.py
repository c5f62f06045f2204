"""The live view's picture: the latest frame, reduced, with changed regions and tracks drawn on it.

Drawn on the web server's worker threads, only while someone watches, at most once per new frame
however many people watch (the JPEG is cached per frame version).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import cv2
import numpy as np

from vidwatch.serve.camera import CameraState, FrameView
from vidwatch.sinks import draw


def render_view(view: FrameView, width: int, feeds: Mapping[str, tuple[str, ...]]) -> np.ndarray:
    """The frame at ``width`` pixels with each changed region boxed, tracks drawn and a caption."""
    image = view.frame.source.bgr()
    height, full_width = image.shape[:2]
    scale = min(1.0, width / full_width)
    size = (max(1, round(full_width * scale)), max(1, round(height * scale)))
    picture = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else image.copy()
    thickness = max(1, size[1] // 240)
    motion = feeds.get("motion", tuple(view.scores))
    for box in draw.change_boxes(view.scores, motion, view.frame):
        draw.draw_box(picture, _scaled(box, scale), draw.RED if view.active else draw.YELLOW, thickness)
    for track in view.tracks:
        colour = draw.GREEN if getattr(track, "thing", False) else draw.YELLOW
        draw.draw_box(picture, _scaled(track.box, scale), colour, thickness)
        path = getattr(track, "path", ())
        if len(path) > 1:
            points = np.round(np.asarray(path, np.float32) * scale).astype(np.int32)
            cv2.polylines(picture, [points.reshape(-1, 1, 2)], False, colour, thickness, cv2.LINE_AA)
    stamp = time.strftime("%H:%M:%S", time.localtime(view.epoch))
    tokens: list[draw.Token] = [(stamp, draw.WHITE), (f"frame {view.index}", draw.WHITE)]
    tokens += [(kind.upper(), draw.RED) for kind in view.active]
    draw.draw_caption(picture, tokens)
    return picture


def _scaled(box: draw.Box, scale: float) -> draw.Box:
    x, y, w, h = box
    return round(x * scale), round(y * scale), round(w * scale), round(h * scale)


def placeholder(text: str, width: int, size: tuple[int, int] | None) -> np.ndarray:
    """A dark picture naming the camera's state, for a camera without a current frame."""
    height = round(width * size[1] / size[0]) if size else round(width * 9 / 16)
    picture = np.full((height, width, 3), 40, np.uint8)
    draw.draw_caption(picture, [(text, draw.WHITE)], bottom=False)
    return picture


class LiveJpeg:
    """The camera's current live JPEG, rendered once per frame version, shared by every viewer."""

    STALE = 5.0
    """Seconds without a new frame after which the live view says why instead of freezing silently."""

    def __init__(self, state: CameraState, width: int, feeds: Mapping[str, tuple[str, ...]], quality: int = 80) -> None:
        self.state = state
        self.width = width
        self.feeds = feeds
        self.quality = quality
        self._lock = threading.Lock()
        self._key: tuple[int, str] | None = None
        self._jpeg = b""

    def get(self) -> tuple[bytes, tuple[int, str]]:
        """(JPEG bytes, a key that changes when the picture does)."""
        state = self.state
        age = state.last_frame_age()
        view = state.latest
        fresh = view is not None and age is not None and age < self.STALE
        note = "" if fresh else f"{state.name}: {state.state}" + (f" ({state.reason})" if state.reason else "")
        key = (state.version, note)
        with self._lock:
            if key == self._key:
                return self._jpeg, key
            picture = render_view(view, self.width, self.feeds) if fresh and view is not None \
                else placeholder(note, self.width, state.size)
            if not fresh and view is not None:  # the last picture, dimmed, under the note
                last = render_view(view, self.width, self.feeds)
                picture = cv2.addWeighted(last, 0.35, np.zeros_like(last), 0.65, 0)
                draw.draw_caption(picture, [(note, draw.WHITE)], bottom=True)
            ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            self._jpeg = data.tobytes() if ok else self._jpeg
            self._key = key
            return self._jpeg, key
