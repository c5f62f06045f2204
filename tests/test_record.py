"""The per-frame record: what the gate decided is what every output shows."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidwatch.cli import main
from vidwatch.config import apply_overrides, load_config
from vidwatch.events import Event
from vidwatch.gate import Threshold
from vidwatch.pipeline import record_layout, run_source
from vidwatch.record import FrameRecord
from vidwatch.report import format_summary
from vidwatch.sinks import Sink
from vidwatch.sinks.scores_csv import ScoresCsvSink

from .synthetic import ArraySource, moving_square, noisy, scene, square_at


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def busy_folder(folder: Path, n: int = 60) -> Path:
    """A scene that is busy all the time: three squares swinging to and fro (a street, a tree)."""
    folder.mkdir()
    base = scene(3)
    rng = np.random.default_rng(4)
    for i in range(n):
        image = base
        for k, y in enumerate((30, 100, 170)):
            image = square_at(image, 40 + 80 * k + (12 if (i + k) % 2 else 0), y)
        cv2.imwrite(str(folder / f"{i:03d}.png"), noisy(image, rng))
    return folder


def test_with_adaptive_on_the_csv_threshold_column_is_what_the_gate_applied(tmp_path: Path) -> None:
    """Recomputed independently: the gate's running threshold fed the diff scores the CSV holds."""
    scores = tmp_path / "scores.csv"
    config = tmp_path / "diff.yaml"  # the difference detector voting beside the tracked things
    config.write_text("detectors:\n  diff: {adaptive: 3}\n  background: {}\n  histogram: {}\n"
                      "events:\n  motion: {detectors: [objects, diff], fusion: any}\n")
    assert main(["-q", "run", str(busy_folder(tmp_path / "busy")), "--scores", str(scores), "--progress", "off",
                 "-c", str(config)]) == 0
    rows = read_rows(scores)
    fixed = load_config(config).detectors["diff"].threshold
    threshold = Threshold(fixed, 3.0)
    expected = []
    for row in rows:
        expected.append(threshold.value)  # what the frame is compared with, before the gate learns from it
        threshold.observe(float(row["diff.value"]))
    written = [float(row["diff.threshold"]) for row in rows]
    assert max(written) > 2 * fixed  # the scene raised it well above the fixed value...
    assert written == pytest.approx(expected, rel=1e-4, abs=1e-9)  # ...and the file says by how much
    assert {float(row["histogram.threshold"]) for row in rows} == {0.2}  # without adaptive it stays fixed


class Calls(Sink):
    """Every call a sink receives, in order."""

    name = "calls"

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def frame(self, record: FrameRecord) -> None:
        self.calls.append(("frame", record))

    def event_started(self, event: Event) -> None:
        self.calls.append(("started", event))

    def event_ended(self, event: Event) -> None:
        self.calls.append(("ended", event))


def test_each_frame_gets_its_record_before_the_events_it_started_and_ended() -> None:
    config = apply_overrides(load_config(), ["detectors.background.adaptive=2"])
    sink = Calls()
    stats = run_source(ArraySource(moving_square(90, start=30, end=55), name="square"), config, [sink])
    records = [r for kind, r in sink.calls if kind == "frame"]
    assert [r.index for r in records] == list(range(90))
    assert all(isinstance(r, FrameRecord) and r.source == "square" for r in records)
    layout = record_layout(config)
    for r in records:
        assert tuple(r.scores) == layout.detectors and set(r.thresholds) == set(layout.detectors)
        assert r.over == {n for n, s in r.scores.items() if s.value > r.thresholds[n]}
    motion = [e for e in stats.events if e.kind == "motion"]
    assert len(motion) == 1
    # the record of the frame an event started on comes just before the event, and says it started
    at = next(i for i, (kind, e) in enumerate(sink.calls) if kind == "started" and e is motion[0])
    kind, record = sink.calls[at - 1]
    # decided once the square had travelled for a while; the event starts where it was first seen
    assert kind == "frame" and record.index > motion[0].start_frame >= 30
    assert record.started == (motion[0],) and "motion" in record.active
    ended = [r for r in records if r.ended]
    assert len(ended) == 1 and ended[0].ended == (motion[0],) and "motion" not in ended[0].active
    assert all("motion" in r.active for r in records if record.index <= r.index < ended[0].index)


def test_the_scores_csv_header_is_written_before_the_first_frame(tmp_path: Path) -> None:
    config = load_config()
    path = tmp_path / "scores.csv"
    with ScoresCsvSink(path, record_layout(config)) as sink:
        assert not path.exists()  # nothing changes on disk before a source has opened
        sink.open()  # the run opened its first source
        header = path.read_text().splitlines()
        assert len(header) == 1
        assert header[0].split(",")[:7] == ["frame", "time", "background.value", "background.threshold",
                                            "background.foreground", "background.raw_foreground", "background.gain"]


class Broken(Sink):
    name = "broken"

    def event_ended(self, event: Event) -> None:
        raise OSError("disk full")


def test_the_summary_names_an_output_that_failed() -> None:
    stats = run_source(ArraySource(moving_square(90, start=30, end=55)), load_config(), [Broken()])
    assert [e.kind for e in stats.events] == ["motion"]  # detection went on
    assert stats.sink_failures == {"broken": 1}
    assert "outputs that failed (see the log): broken 1x" in format_summary(stats).splitlines()[0]


def test_a_source_frame_can_be_sent_to_another_process() -> None:
    """A Ray camera sends its latest frame to the service: the frame's conversion lock must not go along."""
    import pickle

    import numpy as np

    from vidwatch.frames import SourceFrame

    frame = SourceFrame(7, 0.5, np.full((4, 6), 90, np.uint8))
    copy = pickle.loads(pickle.dumps(frame))
    assert (copy.index, copy.time) == (7, 0.5) and np.array_equal(copy.image, frame.image)
    assert copy.bgr().shape == (4, 6, 3)  # its own lock works
