"""One JPEG per event: its highest-scoring frame at full resolution, changed regions boxed, captioned.

The gate moves ``event.peak_frame`` whenever the scores climb higher relative to their thresholds;
this sink keeps that frame's record each time that happens, so when the event ends the best frame
is at hand without holding the whole event in memory (one record per open event), and its caption
shows the thresholds the gate applied on that frame. The gate takes the peak only among frames
where the event's own evidence was over threshold (never the frame after the thing left), and the
regions boxed are those of the detectors that were over on it: what is really there. Sources make a
new picture for every frame and no sink draws on ``bgr()`` itself, so the picture is copied only
when the snapshot is drawn. A snapshot that cannot be written (a full disk) is held as JPEG bytes,
within a bound, and written when it can be; its path is in the event either way.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from vidwatch.events import Event
from vidwatch.record import FrameRecord, RecordLayout
from vidwatch.sinks import draw
from vidwatch.sinks.base import Sink
from vidwatch.sinks.delivery import Loss, Outbox, Pending
from vidwatch.sinks.params import OutputParams
from vidwatch.sinks.places import output_stem, writable_dir

log = logging.getLogger(__name__)

HELD_MB = 64
"""Snapshots held at most while they cannot be written (then the oldest are given up)."""


def event_stem(event: Event) -> str:
    """A file name stem for an event's pictures, from the source the event names (see :func:`output_stem`)."""
    return output_stem(event.source, event)


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is complete or absent: a temporary name, then a rename."""
    part = path.with_name(f".{path.name}.part")
    try:
        with open(part, "wb") as file:
            file.write(data)
        os.replace(part, path)
    except OSError:
        try:
            os.unlink(part)
        except OSError:
            pass
        raise


class SnapshotSink(Sink):
    """Writes ``<dir>/<kind>_<start frame>.jpg`` per event and puts its path in ``event.extra['snapshot']``."""

    name = "snapshots"
    shows_pictures = True

    def __init__(self, folder: str | Path, layout: RecordLayout, params: OutputParams) -> None:
        self.folder = writable_dir(folder, "--snapshots")
        self.params = params
        self.feeds = layout.feeds
        self.outbox = Outbox(self.name, self.folder, noun="snapshot", max_bytes=HELD_MB << 20)
        self._current: FrameRecord | None = None
        self._open: dict[int, tuple[Event, FrameRecord | None]] = {}

    def frame(self, record: FrameRecord) -> None:
        self._current = record
        if self.outbox.pending:
            self.outbox.retry()
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
        path = self.folder / f"{output_stem(peak.source, event)}.jpg"
        ok, encoded = cv2.imencode(".jpg", self.render(event, peak), [cv2.IMWRITE_JPEG_QUALITY,
                                                                     self.params.jpeg_quality])
        if not ok:
            raise ValueError(f"JPEG encoding of the snapshot {path} failed")
        data = encoded.tobytes()
        event.extra["snapshot"] = str(path)  # where it is, or will be once the disk has room
        self.outbox.send(Pending(path.name, len(data), lambda: write_whole(path, data)))

    def close(self) -> None:
        self.outbox.close()

    def losses(self) -> list[Loss]:
        loss = self.outbox.loss()
        return [loss] if loss else []

    def render(self, event: Event, peak: FrameRecord) -> np.ndarray:
        """The peak frame with every changed region boxed (the largest in red) and a caption."""
        image = peak.frame.source.bgr().copy()  # drawn on below; the frame's own picture stays as decoded
        names = self.feeds.get(event.kind) or tuple(peak.scores)
        thickness = max(1, image.shape[0] // 240)
        # regions of the detectors that were over on this frame: a detector under its threshold
        # marks noise, or the place something just left (a frame difference sees both ends)
        boxed = [n for n in names if n in peak.over] or names
        for box in draw.change_boxes(peak.scores, boxed, peak.frame):
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
