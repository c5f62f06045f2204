"""Drawing what the detectors saw onto full-resolution frames (snapshots, annotated video, preview).

Detector masks and boxes are in analysis pixels; everything here maps them back through the analysis
frame (its ``scale``, and the camera offset where frames are aligned) so the marks land on the
full-resolution picture. Every picture output draws with these units, so a mark means the same, and
sits in the same place under camera shake, wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import cv2
import numpy as np

from vidwatch.blobs import label_type
from vidwatch.detectors.base import Score
from vidwatch.frames import AnalysisFrame
from vidwatch.record import FrameRecord, Track

Box = tuple[int, int, int, int]

RED = (0, 0, 255)
LIGHT_RED = (90, 90, 255)
YELLOW = (0, 220, 255)
GREEN = (80, 200, 80)
WHITE = (255, 255, 255)
GREY = (160, 160, 160)
LIGHT_BLUE = (230, 180, 90)


def union_mask(scores: Mapping[str, Score], names: Iterable[str]) -> np.ndarray | None:
    """The union of the named detectors' change masks (analysis pixels), or None if none has one.

    With a single mask that is the detector's own array, not a copy: callers only read it.
    """
    union: np.ndarray | None = None
    for name in names:
        score = scores.get(name)
        if score is None or score.mask is None:
            continue
        union = score.mask if union is None else cv2.bitwise_or(union, score.mask)
    return union


def mask_contours(mask: np.ndarray, frame: AnalysisFrame) -> list[np.ndarray]:
    """Outer contours of a 0/255 analysis-size mask, in full-resolution pixels."""
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    shift = np.asarray(frame.offset, np.float32)
    return [np.round((c.astype(np.float32) + shift) * frame.scale).astype(np.int32) for c in contours]


def change_boxes(scores: Mapping[str, Score], names: Sequence[str], frame: AnalysisFrame) -> list[Box]:
    """Boxes around every changed region of the named detectors, full-resolution pixels.

    Mask regions where a detector has a mask, its own box otherwise (flow has tracks, not a mask).
    """
    boxes: list[Box] = []
    mask = union_mask(scores, names)
    if mask is not None:
        count, _, stats, _ = cv2.connectedComponentsWithStats(
            (mask > 0).astype(np.uint8), connectivity=8, ltype=label_type(mask))
        boxes.extend(frame.to_full(tuple(int(v) for v in stats[i, :4])) for i in range(1, count))  # type: ignore[arg-type]
    for name in names:
        score = scores.get(name)
        if score is not None and score.mask is None and score.box is not None:
            boxes.append(frame.to_full(score.box))
    return boxes


def draw_box(image: np.ndarray, box: Box, colour: tuple[int, int, int], thickness: int) -> None:
    x, y, w, h = box
    cv2.rectangle(image, (x, y), (x + max(w, 1) - 1, y + max(h, 1) - 1), colour, thickness, cv2.LINE_AA)


def text_scale(image: np.ndarray) -> tuple[float, int]:
    """Font scale and thickness that stay readable from 240p to 4K."""
    height = image.shape[0]
    scale = max(0.4, height / 600.0)
    return scale, max(1, round(scale * 1.5))


Token = tuple[str, tuple[int, int, int]]


def draw_caption(image: np.ndarray, tokens: Sequence[Token], *, bottom: bool = False) -> None:
    """(text, colour) pieces flowed into lines on a darkened band at the top (or bottom), in place.

    A token starting with a newline begins a new line; otherwise tokens are joined with two spaces and
    wrap where the image width ends, so a caption stays readable on a 320-pixel frame.
    """
    if not tokens:
        return
    scale, thickness = text_scale(image)
    font = cv2.FONT_HERSHEY_SIMPLEX
    width = image.shape[1]
    pad = max(3, round(6 * scale))
    gap = cv2.getTextSize("  ", font, scale, thickness)[0][0]
    lines: list[list[tuple[int, Token]]] = [[]]
    x = pad
    for text, colour in tokens:
        text_width = cv2.getTextSize(text.lstrip("\n"), font, scale, thickness)[0][0]
        if lines[-1] and (text.startswith("\n") or x + text_width > width - pad):
            lines.append([])
            x = pad
        lines[-1].append((x, (text.lstrip("\n"), colour)))
        x += text_width + gap
    line_height = int(cv2.getTextSize("Ag", font, scale, thickness)[0][1] * 1.9)
    band = line_height * len(lines) + pad
    top = image.shape[0] - band if bottom else 0
    region = image[max(top, 0):top + band]
    region[:] = (region.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken for contrast
    for i, line in enumerate(lines):
        y = top + pad // 2 + line_height * (i + 1) - line_height // 4
        for x, (text, colour) in line:
            cv2.putText(image, text, (x, y), font, scale, colour, thickness, cv2.LINE_AA)


def score_text(name: str, score: Score, threshold: float) -> str:
    return f"{name} {score.value:.3g}/{threshold:g}"


def draw_tracks(image: np.ndarray, tracks: Sequence[Track], thickness: int) -> None:
    """Tracked objects on a full-resolution picture: a confirmed thing boxed in red with the path it
    took, a track still being judged in thin grey, light (a shadow, a headlight) in thin blue."""
    for track in tracks:
        colour = RED if track.thing else LIGHT_BLUE if track.light else GREY
        width = thickness + 1 if track.thing else 1
        draw_box(image, track.box, colour, width)
        if track.thing and len(track.path) > 1:
            points = np.round(np.array(track.path, np.float32)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(image, [points], False, colour, width, cv2.LINE_AA)


def draw_record(record: FrameRecord) -> np.ndarray:
    """A copy of the frame's full-resolution picture with the gate's verdict drawn on it.

    The outline of the change mask (union of the detectors' masks) in green, each detector's box in
    yellow, the tracked objects (see :func:`draw_tracks`), a caption with every score against the
    threshold the gate applied (red when over) and,
    while an event is open, a red border with the open kinds named at the bottom.
    """
    frame, scores = record.frame, record.scores
    image = frame.source.bgr().copy()
    thickness = max(1, image.shape[0] // 360)
    mask = union_mask(scores, scores)
    if mask is not None:
        cv2.drawContours(image, mask_contours(mask, frame), -1, GREEN, thickness, cv2.LINE_AA)
    for score in scores.values():
        if score.box is not None:
            draw_box(image, frame.to_full(score.box), YELLOW, thickness)
    draw_tracks(image, record.tracks, thickness)
    tokens = [(f"frame {record.index}", WHITE), (f"t={record.time:.2f}s", WHITE)]
    for i, (name, score) in enumerate(scores.items()):
        text = score_text(name, score, record.thresholds.get(name, 0.0))
        tokens.append(("\n" + text if i == 0 else text, LIGHT_RED if name in record.over else WHITE))
    draw_caption(image, tokens)
    if record.active:
        h, w = image.shape[:2]
        border = max(3, h // 80)
        cv2.rectangle(image, (0, 0), (w - 1, h - 1), RED, border)
        draw_caption(image, [(" + ".join(k.upper() for k in record.active), LIGHT_RED)], bottom=True)
    return image
