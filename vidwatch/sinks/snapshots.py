"""One JPEG per event: its highest-scoring frame at full resolution, changed regions boxed, captioned.

The gate moves ``event.peak_frame`` whenever the scores climb higher relative to their thresholds;
this sink keeps that frame's record each time that happens, so when the event ends the best frame
is at hand without holding the whole event in memory (one record per open event), and its caption
shows the thresholds the gate applied on that frame. Sources make a new picture for every frame and
no sink draws on ``bgr()`` itself, so the picture is copied only when the snapshot is drawn.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import cv2
import numpy as np

from vidwatch.errors import UserError
from vidwatch.events import Event
from vidwatch.record import FrameRecord, RecordLayout
from vidwatch.sinks import draw
from vidwatch.sinks.base import Sink
from vidwatch.sinks.params import OutputParams

log = logging.getLogger(__name__)


def event_stem(event: Event) -> str:
    """A file name stem unique within a run: source, kind, start frame."""
    source = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(event.source).stem)[:40] + "_" if event.source else ""
    return f"{source}{event.kind}_{event.start_frame:06d}"


def ensure_dir(path: str | Path, flag: str) -> Path:
    """Create an output folder or fail with one line naming the flag."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {flag} folder {folder}: {exc.strerror}; choose a writable path") from None
    return folder


class SnapshotSink(Sink):
    """Writes ``<dir>/<kind>_<start frame>.jpg`` per event and puts its path in ``event.extra['snapshot']``."""

    name = "snapshots"
    shows_pictures = True

    def __init__(self, folder: str | Path, layout: RecordLayout, params: OutputParams) -> None:
        self.folder = ensure_dir(folder, "--snapshots")
        self.params = params
        self.feeds = layout.feeds
        self._current: FrameRecord | None = None
        self._open: dict[int, tuple[Event, FrameRecord | None]] = {}

    def frame(self, record: FrameRecord) -> None:
        self._current = record
        for key, (event, peak) in self._open.items():
            if event.peak_frame == record.index and (peak is None or peak.index != record.index):
                self._open[key] = (event, record)

    def event_started(self, event: Event) -> None:
        current = self._current
        self._open[id(event)] = (event, current if current is not None and current.index == event.peak_frame
                                 else None)

    def event_ended(self, event: Event) -> None:
        _, peak = self._open.pop(id(event), (event, None))
        if peak is None:  # an instant event (e.g. a lost stream) or one that began before this sink saw frames
            peak = self._current
        if peak is None:
            return
        path = self.folder / f"{event_stem(event)}.jpg"
        image = self.render(event, peak)
        if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, self.params.jpeg_quality]):
            raise OSError(f"cannot write snapshot {path}")
        event.extra["snapshot"] = str(path)

    def render(self, event: Event, peak: FrameRecord) -> np.ndarray:
        """The peak frame with every changed region boxed (the largest in red) and a caption."""
        image = peak.frame.source.bgr().copy()  # drawn on below; the frame's own picture stays as decoded
        names = self.feeds.get(event.kind) or tuple(peak.scores)
        thickness = max(1, image.shape[0] // 240)
        for box in draw.change_boxes(peak.scores, names, peak.frame):
            draw.draw_box(image, box, draw.YELLOW, thickness)
        if event.box is not None and event.peak_frame == peak.index:
            draw.draw_box(image, event.box, draw.RED, thickness + 1)
        tokens = [(f"{event.kind}", draw.WHITE), (f"t={peak.time:.2f}s", draw.WHITE),
                  (f"frame {peak.index}", draw.WHITE)]
        for i, name in enumerate(n for n in names if n in peak.scores):
            text = draw.score_text(name, peak.scores[name], peak.thresholds.get(name, 0.0))
            tokens.append(("\n" + text if i == 0 else text, draw.WHITE))
        draw.draw_caption(image, tokens)
        return image
