"""`vidwatch eval` and `vidwatch tune` through the real entry point."""

from __future__ import annotations

import json

from vidwatch.cli import main
from vidwatch.config import load_config


def test_eval_prints_per_clip_rows_and_totals(samples, capsys) -> None:
    clips = [str(samples / n) for n in ("walk_and_cut.mp4", "quiet_noise.mp4")]
    assert main(["-q", "eval", *clips]) == 0
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines()]
    motion = next(row for row in lines if row[0].endswith("walk_and_cut.mp4") and row[1] == "motion")
    assert motion[2:6] == ["2", "2", "2", "0"]  # truth, found, matched, false
    assert any(row[:2] == ["TOTAL", "all"] for row in lines)


def test_eval_counts_false_events_against_an_explicit_truth(samples, tmp_path, capsys) -> None:
    truth = tmp_path / "nothing.json"
    truth.write_text(json.dumps({"events": []}))  # claims the clip is quiet: every event is false
    assert main(["-q", "eval", str(samples / "object_enters.mp4"), "--truth", str(truth)]) == 0
    row = next(r.split() for r in capsys.readouterr().out.splitlines() if r.startswith("TOTAL"))
    assert row[2] == "0" and int(row[5]) >= 1 and row[8] == "0.000"


def test_eval_with_mismatched_truth_files_is_a_user_error(samples, capsys) -> None:
    clip = str(samples / "hard_cut.mp4")
    code = main(["eval", clip, clip, "--truth", str(samples / "hard_cut.json")])
    assert code == 2
    assert "--truth" in capsys.readouterr().err


def test_tune_writes_a_config_that_run_accepts(samples, tmp_path, capsys) -> None:
    out = tmp_path / "tuned.yaml"
    # two clips with a cut, so a fit to cuts can be checked on a clip it was not fitted to
    clips = [str(samples / n) for n in ("hard_cut.mp4", "walk_and_cut.mp4", "object_enters.mp4", "quiet_noise.mp4")]
    # start from histogram and structure thresholds that miss the cuts, so tuning has something to fix
    code = main(["-q", "tune", *clips, "-o", str(out), "--set", "detectors.histogram.threshold=50",
                 "--set", "detectors.structure.threshold=1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "scene_change" in printed and "F1 cv" in printed
    tuned = load_config(out)
    assert tuned.detectors["histogram"].threshold < 50 or tuned.detectors["structure"].threshold < 1
    assert main(["-q", "eval", str(samples / "walk_and_cut.mp4"), "-c", str(out)]) == 0
    total = next(r.split() for r in capsys.readouterr().out.splitlines() if r.startswith("TOTAL") and " all " in r)
    assert total[8] == "1.000"
    assert main(["-q", "run", str(samples / "hard_cut.mp4"), "-c", str(out), "--progress", "off"]) == 0


def test_tune_on_footage_without_truth_keeps_it_quiet(samples, tmp_path, capsys) -> None:
    clip = tmp_path / "quiet.mp4"
    clip.write_bytes((samples / "quiet_noise.mp4").read_bytes())  # no truth file beside it
    out = tmp_path / "quiet.yaml"
    assert main(["-q", "tune", str(clip), "-o", str(out), "--speeds"]) == 0  # --speeds with none: no sensitivity
    printed = capsys.readouterr().out
    assert "quiet footage" in printed and "more than 0 false events per hour" in printed
    assert "smallest object found" not in printed
    assert out.is_file() and load_config(out).detectors


def test_tune_needs_truth_for_every_clip_or_a_budget(samples, tmp_path, capsys) -> None:
    quiet = tmp_path / "quiet.mp4"
    quiet.write_bytes((samples / "quiet_noise.mp4").read_bytes())  # no truth file beside it
    out = tmp_path / "tuned.yaml"
    assert main(["tune", str(samples / "hard_cut.mp4"), str(quiet), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no truth for" in err and "--max-false-per-hour" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
