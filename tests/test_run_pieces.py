"""`vidwatch run` with ``--jobs N`` on one file and ``--fast``: the outputs one process writes, or one clear error.

Generated recordings (see :mod:`tests.archive_clips`); the whole-file scan's output is the truth.
"""

from __future__ import annotations

import csv
import json

import pytest

from tests.archive_clips import VBR, VBR_B_FRAMES, write
from tests.test_split import STORY as SPLIT_STORY
from tests.test_triage import STORY as TRIAGE_STORY
from vidwatch.cli import main


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return write(tmp_path_factory.mktemp("pieces") / "story.mp4", TRIAGE_STORY, VBR)


def test_jobs_on_one_file_writes_what_one_process_writes(tmp_path):
    path = write(tmp_path / "b_frames.mp4", SPLIT_STORY, VBR_B_FRAMES)
    one, split = tmp_path / "one", tmp_path / "split"
    for out, jobs in ((one, "1"), (split, "2")):
        assert main(["-q", "run", str(path), "--jobs", jobs, "--set", "source.split_warmup=3",
                     "--events", str(out / "events.jsonl"), "--scores", str(out / "scores.csv"),
                     "--snapshots", str(out / "snaps")]) == 0
    events = [json.loads(line) for line in (one / "events.jsonl").read_text().splitlines()]
    stitched = [json.loads(line) for line in (split / "events.jsonl").read_text().splitlines()]
    assert len(events) == len(stitched) == 4
    for a, b in zip(stitched, events, strict=True):
        assert a["kind"] == b["kind"] and abs(a["start_frame"] - b["start_frame"]) <= 1
        assert abs(a["end_frame"] - b["end_frame"]) <= 1
        assert sorted(a) == sorted(b)  # the same fields, the snapshot path among them
    assert sorted(p.name for p in (split / "snaps").iterdir()) == sorted(p.name for p in (one / "snaps").iterdir())
    rows = list(csv.DictReader((split / "scores.csv").open()))
    assert [int(r["frame"]) for r in rows] == list(range(SPLIT_STORY.frames))
    assert not list(split.glob(".*parts*")), "the part files were left behind"


def test_fast_on_the_command_line_writes_the_full_scans_events(tmp_path, recording, capsys):
    full, fast = tmp_path / "full.jsonl", tmp_path / "fast.jsonl"
    assert main(["-q", "run", str(recording), "--events", str(full)]) == 0
    assert main(["-q", "run", str(recording), "--fast", "--jobs", "2", "--events", str(fast)]) == 0
    out = capsys.readouterr().out
    assert "decoded" in out and "%) in" in out
    a = [json.loads(line) for line in full.read_text().splitlines()]
    b = [json.loads(line) for line in fast.read_text().splitlines()]
    assert len(a) == len(b) == 5
    for x, y in zip(a, b, strict=True):
        assert sorted(x) == sorted(y)  # the same fields
        assert x.pop("peak") == pytest.approx(y.pop("peak"), rel=0.05, abs=1e-3)
        # where the scores plateau (a square crossing at constant speed) the peak frame is a near-tie
        for near_tie in ("peak_frame", "peak_time", "box"):
            x.pop(near_tie), y.pop(near_tie)
        for track in x.get("tracks", []) + y.get("tracks", []):
            track.pop("id")  # each process numbers the tracks it follows
        assert x == y  # kind, frames, times, duration, detectors, the things tracked


def test_fast_refuses_what_it_cannot_triage(tmp_path, recording, capsys):
    assert main(["run", "0", "--fast"]) == 2
    assert "--fast" in capsys.readouterr().err
    assert main(["run", str(recording), "--fast", "--annotate", str(tmp_path / "a.mp4")]) == 2
    err = capsys.readouterr().err
    assert "--annotate" in err and "Traceback" not in err


def test_fast_with_several_files_reports_each_files_events_in_source_order(tmp_path, recording):
    other = write(tmp_path / "short.ts", SPLIT_STORY, VBR_B_FRAMES)
    files = [str(recording), str(other)]
    one, fast = tmp_path / "one.jsonl", tmp_path / "fast.jsonl"
    assert main(["-q", "run", *files, "--events", str(one)]) == 0
    assert main(["-q", "run", *files, "--fast", "--jobs", "2", "--events", str(fast), "--scores",
                 str(tmp_path / "scores.csv")]) == 0
    a = [json.loads(line) for line in one.read_text().splitlines()]
    b = [json.loads(line) for line in fast.read_text().splitlines()]
    assert [(e["source"], e["kind"], e["start_frame"], e["end_frame"]) for e in b] == [
        (e["source"], e["kind"], e["start_frame"], e["end_frame"]) for e in a]
    assert [e["source"] for e in b] == sorted((e["source"] for e in b), key=files.index)
    rows = list(csv.DictReader((tmp_path / "scores.csv").open()))
    keys = [(files.index(r["source"]), int(r["frame"])) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # each decoded frame once, in order


@pytest.mark.parametrize("options", [["--fast"], ["--jobs", "2"], ["--fast", "--jobs", "2"]])
@pytest.mark.parametrize("damage", ["missing", "not a video", "cut short"])
def test_a_file_that_cannot_be_read_gets_one_line_and_exit_2(tmp_path, recording, capsys, options, damage):
    path = tmp_path / "bad.mp4"
    if damage == "not a video":
        path.write_bytes(b"camera export failed\n" * 100)
    elif damage == "cut short":  # an MP4 whose index (written last) never made it to disk
        path.write_bytes(recording.read_bytes()[: recording.stat().st_size // 3])
    assert main(["-q", "run", str(path), *options, "--events", str(tmp_path / "e.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("vidwatch: error:") and str(path) in err


def test_a_file_pyav_cannot_cut_is_scanned_whole_and_says_why(tmp_path, recording, capsys):
    """A raw H.264 stream has no timestamps: it cannot be cut at keyframes, but OpenCV reads it."""
    import subprocess

    from tests.archive_clips import FFMPEG

    raw = tmp_path / "story.h264"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(recording), "-c", "copy", "-f", "h264", str(raw)],
                   check=True)
    whole, fast = tmp_path / "whole.jsonl", tmp_path / "fast.jsonl"
    assert main(["-q", "run", str(raw), "--events", str(whole)]) == 0
    capsys.readouterr()
    assert main(["-q", "run", str(raw), "--fast", "--jobs", "2", "--events", str(fast)]) == 0
    err = capsys.readouterr().err
    assert "cannot be scanned in pieces" in err and "no timestamp" in err and "Traceback" not in err
    a = [json.loads(line) for line in whole.read_text().splitlines()]
    b = [json.loads(line) for line in fast.read_text().splitlines()]
    assert len(a) == 5 and [(e["kind"], e["start_frame"], e["end_frame"]) for e in b] == [
        (e["kind"], e["start_frame"], e["end_frame"]) for e in a]
