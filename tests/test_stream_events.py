"""The pipeline turns stream notices into events and never reports the reconnect itself as change."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from vidwatch.config import load_config
from vidwatch.events import LIGHTING, MOTION, STREAM_LOST, STREAM_RESTORED, Event
from vidwatch.frames import SourceFrame
from vidwatch.pipeline import run_source
from vidwatch.sinks import Sink
from vidwatch.sources import Source, StreamNotice

FPS = 15.0
H, W = 120, 160


def scene(change: str = "") -> np.ndarray:
    """A textured static scene, or how it looks when the camera comes back.

    ``brighter``: new exposure (the whole histogram moves); ``parked``: something was left in view
    while the stream was down (a local change the histogram barely sees, a motion model does).
    """
    rng = np.random.default_rng(7)
    base = rng.integers(40, 200, size=(H // 8, W // 8), dtype=np.uint8)
    img = np.kron(base, np.ones((8, 8), np.uint8)).astype(np.int16)
    if change == "brighter":
        img += 60
    elif change == "parked":
        img[80:104, 20:44] = 120
    return np.clip(img, 0, 255).astype(np.uint8)


def frame(img: np.ndarray, rng: np.random.Generator, square_x: int | None = None) -> np.ndarray:
    out = img.astype(np.int16) + rng.normal(0, 2.0, img.shape).astype(np.int16)
    if square_x is not None:
        out[40:80, square_x:square_x + 30] = 250
    return np.clip(out, 0, 255).astype(np.uint8)


class Scripted(Source):
    """Frames and notices in a fixed order, timed at FPS."""

    live = True

    def __init__(self, items: list[np.ndarray | StreamNotice]) -> None:
        self.name = "scripted"
        self.items = items

    def __iter__(self) -> Iterator[SourceFrame | StreamNotice]:  # type: ignore[override]
        index = 0
        for item in self.items:
            if isinstance(item, StreamNotice):
                yield item
            else:
                yield SourceFrame(index, index / FPS, item)
                index += 1


def timeline(with_notices: bool, change: str, lose_during_motion: bool = False) -> list[np.ndarray | StreamNotice]:
    """Quiet, a square crossing, quiet; the stream drops; it comes back changed and quiet."""
    rng = np.random.default_rng(1)
    before, after = scene(), scene(change)
    items: list[np.ndarray | StreamNotice] = [frame(before, rng) for _ in range(30)]
    crossing = [frame(before, rng, x) for x in range(10, 130, 6)]
    items += crossing[:18] if lose_during_motion else crossing  # 1.2 s: long enough to be confirmed
    if not lose_during_motion:
        items += [frame(before, rng) for _ in range(30)]
    t = len(items) / FPS
    if with_notices:
        items += [StreamNotice(STREAM_LOST, t, {"reason": "test"}),
                  StreamNotice(STREAM_RESTORED, t + 3, {"attempts": 2, "downtime": 3.0})]
    items += [frame(after, rng) for _ in range(45)]
    return items


class Recorder(Sink):
    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Event]] = []

    def event_started(self, event: Event) -> None:
        self.calls.append(("start", event))

    def event_ended(self, event: Event) -> None:
        self.calls.append(("end", event))


def run(items: list[np.ndarray | StreamNotice], *overrides: str) -> tuple[list[Event], Recorder]:
    recorder = Recorder()
    stats = run_source(Scripted(items), load_config(None, overrides), [recorder])
    return stats.events, recorder


CHANGES = {"brighter": LIGHTING, "parked": MOTION}  # a brighter scene is a light change
WITHOUT_OBJECTS = ("objects.enabled=false",)
"""A car that appears parked never travelled in view, so the object stage makes no motion of it either
way; without it, the background model's foreground alone shows what a reconnect must not report."""


@pytest.mark.parametrize("change", CHANGES)
def test_without_notices_the_changed_scene_raises_an_event(change: str) -> None:
    """The control: the same frames with no reconnect between them do raise a change event."""
    events, _ = run(timeline(False, change), *WITHOUT_OBJECTS)
    assert [e.kind for e in events if e.start_frame >= 80] == [CHANGES[change]]


@pytest.mark.parametrize("change", CHANGES)
def test_reconnect_is_reported_and_raises_no_change_event(change: str) -> None:
    events, recorder = run(timeline(True, change), *WITHOUT_OBJECTS)
    kinds = [e.kind for e in events]
    assert kinds == [MOTION, STREAM_LOST, STREAM_RESTORED]
    lost, restored = events[1], events[2]
    assert lost.extra == {"reason": "test"} and lost.start_frame == 79
    assert restored.extra["attempts"] == 2 and restored.start_frame == 80
    assert lost.describe() == "stream_lost at frame 79 (5.33s) reason=test"
    # sinks saw each stream event start and end, like any event
    stream_calls = [(phase, e.kind) for phase, e in recorder.calls if e.kind.startswith("stream")]
    assert stream_calls == [("start", STREAM_LOST), ("end", STREAM_LOST),
                            ("start", STREAM_RESTORED), ("end", STREAM_RESTORED)]


def test_a_car_that_appears_parked_is_no_motion_to_the_object_stage() -> None:
    events, _ = run(timeline(False, "parked"))  # no reconnect between the frames, default config
    assert [e.kind for e in events if e.start_frame >= 80] == []


def test_an_open_event_is_closed_and_written_when_the_stream_is_lost() -> None:
    events, recorder = run(timeline(True, "parked", lose_during_motion=True))
    assert [e.kind for e in events] == [MOTION, STREAM_LOST, STREAM_RESTORED]
    ends = [e.kind for phase, e in recorder.calls if phase == "end"]
    assert ends.index(MOTION) < ends.index(STREAM_LOST)
    assert events[0].end_frame <= 47  # ends at the last frame seen before the loss
