"""Live-facing command line behaviour: SIGTERM, --realtime, --status, --show, hooks from YAML."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vidwatch.cli import main
from vidwatch.detectors.base import Score
from vidwatch.frames import AnalysisFrame, SourceFrame
from vidwatch.pipeline import RunStats
from vidwatch.record import FrameRecord
from vidwatch.sinks.draw import draw_record
from vidwatch.sinks.preview import render
from vidwatch.sources import DecodeAhead, RealtimeSource, Source
from vidwatch.status import StatusLine

from .vidwatch_process import VidwatchProcess


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sigterm_mid_event_writes_the_open_event_and_exits_0(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    run = VidwatchProcess("run", str(samples / "walk_and_cut.mp4"), "--realtime", "--events", str(out))
    try:
        run.wait_for(r"start motion at frame", timeout=30)
        run.signal(signal.SIGTERM)
        assert run.finish(timeout=30) == 0
    finally:
        run.kill()
    events = read_events(out)
    assert [e["kind"] for e in events] == ["motion"]
    assert 30 <= events[0]["start_frame"] <= 34 and events[0]["end_frame"] < 134  # closed where it was stopped
    assert "stopping (SIGTERM)" in run.log
    assert "(stopped early)" in run.stdout


@pytest.mark.parametrize("display", [None, ":97"])
def test_show_without_a_display_warns_once_and_runs_on(samples: Path, tmp_path: Path, display: str | None,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    if display:
        if sys.platform != "linux" or Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
            pytest.skip(f"display {display} may exist here")
        monkeypatch.setenv("DISPLAY", display)  # set, but nothing answers there
    out = tmp_path / "events.jsonl"
    assert main(["run", str(samples / "hard_cut.mp4"), "--show", "--progress", "off", "--events", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "--show:" in line]
    assert len(warnings) == 1 and "running without the preview window" in warnings[0]
    assert ("$DISPLAY is not set" if display is None else f"cannot open a window on {display}") in warnings[0]
    assert [e["kind"] for e in read_events(out)] == ["scene_change"]


def test_preview_draws_what_the_annotated_video_draws_where_the_camera_offset_puts_it() -> None:
    image = np.full((240, 320, 3), 100, np.uint8)
    mask = np.zeros((120, 160), np.uint8)
    mask[40:60, 40:80] = 255
    # the camera shook: the aligned analysis copy is 10, 5 analysis pixels away from the picture
    frame = AnalysisFrame(0, 1.0, np.full((120, 160), 100, np.uint8), 2.0, SourceFrame(0, 1.0, image),
                          offset=(10.0, 5.0))
    score = Score(0.1, mask=mask, box=(40, 40, 40, 20))
    record = FrameRecord("cam", 0, 1.0, {"diff": score}, {"diff": 0.05}, frozenset({"diff"}), ("motion",),
                         (), (), (), frame)
    view = render(record)
    assert np.array_equal(view, draw_record(record))  # the annotated video's picture, the same units
    # the region's left edge is drawn at (40 + 10) * 2 = 100 source pixels, not at 40 * 2 = 80
    assert (view[95:125, 100] != 100).any(axis=1).all()
    assert (view[95:125, 80] == 100).all()
    b, g, r = view[120, 1].astype(int)  # the red border of an open event
    assert r > 180 and g < 90 and b < 90
    quiet = FrameRecord("cam", 0, 1.0, {"diff": Score(0.0)}, {"diff": 0.05}, frozenset(), (), (), (), (), frame)
    assert (render(quiet)[60:200] == 100).all()  # nothing drawn on the picture itself
    assert render(record, max_width=160).shape == (120, 160, 3)  # scaled to fit the screen


def test_hooks_from_yaml_run_for_each_event(samples: Path, tmp_path: Path) -> None:
    log_file = tmp_path / "hook.log"
    record = f"import os; open({str(log_file)!r}, 'a').write(os.environ['VIDWATCH_KIND'] + ' ' + " \
             f"os.environ['VIDWATCH_PHASE'] + chr(10))"
    config = tmp_path / "hooks.yaml"
    config.write_text(json.dumps({"hooks": {"on_event_start": [sys.executable, "-c", record],
                                            "on_event_end": [sys.executable, "-c", record]}}))
    assert main(["run", str(samples / "walk_and_cut.mp4"), "-c", str(config), "--progress", "off"]) == 0
    # in the order the events opened and closed (the first motion closes just before the cut)
    assert log_file.read_text().splitlines() == [
        "motion start", "motion end", "scene_change start", "scene_change end", "motion start", "motion end"]


class Numbered(Source):
    """``n`` tiny frames at ``fps``, stamped with their index."""

    def __init__(self, n: int, fps: float) -> None:
        self.name, self.fps, self.n = "numbered", fps, n

    def __iter__(self):  # type: ignore[no-untyped-def]
        for i in range(self.n):
            yield SourceFrame(i, i / self.fps, np.zeros((4, 4), np.uint8))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def test_realtime_waits_for_each_frame_when_analysis_keeps_up() -> None:
    clock = FakeClock()
    paced = RealtimeSource(Numbered(10, 10.0), clock=clock, wait=clock.wait)
    frames = list(paced)
    assert [f.index for f in frames] == list(range(10)) and paced.dropped == 0
    assert clock.now == pytest.approx(100.9)
    assert frames[3].received == pytest.approx(100.3)


def test_realtime_drops_frames_when_analysis_is_slower_than_the_clip() -> None:
    clock = FakeClock()
    paced = RealtimeSource(Numbered(30, 10.0), clock=clock, wait=clock.wait)
    got = []
    for frame in paced:
        got.append(frame.index)
        clock.now += 0.27  # analysis takes 2.7 frame intervals
    assert got[:5] == [0, 2, 5, 8, 10]  # always the frame that is due when analysis is ready for one
    assert len(got) + paced.dropped == 30


def test_realtime_stops_when_asked() -> None:
    stop = threading.Event()
    paced = RealtimeSource(Numbered(1000, 1.0), stop=stop)
    got = []
    for frame in paced:
        got.append(frame.index)
        stop.set()  # the wait for frame 1 (one second away) returns at once
    assert got == [0]


def test_status_line_reports_rates_drops_latency_and_events(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    status = StatusLine(10.0, clock=clock)
    stats = RunStats(source="cam")
    caplog.set_level(logging.INFO, logger="vidwatch.status")
    for i in range(170):  # 8 fps analysed, one frame dropped for every two analysed
        stats.frames, stats.dropped, stats.latency = i, i // 2, 0.04 if i != 50 else 0.3
        status(stats)
        clock.now += 0.125
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0] == ("status cam: in 12.0 fps, analysed 8.0 fps, dropped 40 (40 in total), "
                        "latency 40 ms (max 300 ms), 0 events")
    assert "(max 40 ms)" in lines[1]


class SlowDecoder(Source):
    """``n`` frames at ``fps`` that take ``cost`` seconds each to decode (longer than a frame lasts)."""

    def __init__(self, n: int, fps: float, cost: float) -> None:
        self.name, self.fps, self.n, self.cost = "slow", fps, n, cost

    def __iter__(self):  # type: ignore[no-untyped-def]
        for i in range(self.n):
            time.sleep(self.cost)
            yield SourceFrame(i, i / self.fps, np.zeros((4, 4), np.uint8))


def test_realtime_analyses_every_frame_a_decoder_slower_than_the_video_makes() -> None:
    """Each frame arrives later than the one after it is due, but that one is not decoded yet: skipping
    would leave analysis nothing (a 4K file on a busy machine analysed 1 frame of 300)."""
    paced = RealtimeSource(DecodeAhead(SlowDecoder(12, 100.0, 0.05)))
    got = [f.index for f in paced]
    assert len(got) >= 10 and len(got) + paced.dropped == 12  # (a stalled consumer may miss one or two)


def test_realtime_still_skips_frames_decoded_ahead_while_analysis_is_slow() -> None:
    paced = RealtimeSource(DecodeAhead(Numbered(40, 100.0)))
    got = []
    for frame in paced:
        got.append(frame.index)
        time.sleep(0.035)  # analysis takes 3.5 frame intervals; the decoder has the next frames ready
    assert len(got) < 25 and len(got) + paced.dropped == 40
