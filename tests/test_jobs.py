"""`vidwatch run FILE FILE... --jobs N`: every file's events, each naming its source, in source order."""

from __future__ import annotations

import json
import threading

from tests.conftest import truth_of
from vidwatch.cli import main
from vidwatch.config import build_config
from vidwatch.sinks import Sink

CLIPS = ("walk_and_cut.mp4", "hard_cut.mp4", "quiet_noise.mp4", "object_enters.mp4")


def _events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_jobs_output_equals_one_by_one_output(samples, tmp_path, capsys):
    clips = [str(samples / name) for name in CLIPS]
    parallel, serial = tmp_path / "parallel.jsonl", tmp_path / "serial.jsonl"
    assert main(["-q", "run", *clips, "--jobs", "3", "--events", str(parallel)]) == 0
    summaries = capsys.readouterr().out
    assert main(["-q", "run", *clips, "--events", str(serial)]) == 0
    events = _events(parallel)
    assert events == _events(serial)
    # every file with events is present, each event names its file, and files come in the order given
    order = [clips.index(e["source"]) for e in events]
    assert order == sorted(order)
    assert {e["source"] for e in events} == {c for c in clips if truth_of(samples / c.split("/")[-1])}
    for clip in clips:
        mine = [e for e in events if e["source"] == clip]
        assert len(mine) == len(truth_of(samples / clip.split("/")[-1]))
        assert [e["start_frame"] for e in mine if e["kind"] == "motion"] == sorted(
            e["start_frame"] for e in mine if e["kind"] == "motion")
    # the per-file summaries are printed in source order too
    positions = [summaries.index(f"{c}: ") for c in clips]
    assert positions == sorted(positions)


def test_a_missing_file_fails_the_run_but_not_the_other_files(samples, tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    clips = [str(samples / "hard_cut.mp4"), str(tmp_path / "missing.mp4"), str(samples / "object_enters.mp4")]
    assert main(["-q", "run", *clips, "--jobs", "2", "--events", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert [e["source"] for e in _events(out)] == [clips[0], clips[2]]


class Recorder(Sink):
    def __init__(self) -> None:
        self.ended: list = []

    def event_ended(self, event) -> None:
        self.ended.append(event)


def test_stop_before_start_processes_nothing(samples):
    from vidwatch.batch import run_parallel

    stop = threading.Event()
    stop.set()
    sink = Recorder()
    stats = run_parallel([str(samples / c) for c in CLIPS[:2]], build_config(None), [sink], jobs=2, stop=stop)
    assert stats == [] and sink.ended == []  # both sources skipped: no statistics, no events
