"""`vidwatch eval` / `vidwatch tune` arguments: several truth files after one flag, an -o that cannot be
written fails before anything is decoded, a refused config is not written unless forced."""

from __future__ import annotations

import shutil

import pytest

import vidwatch.recording
import vidwatch.tuning
from vidwatch.cli import build_parser, main
from vidwatch.config import load_config


def _rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def test_eval_takes_several_truth_files_after_one_flag(samples, tmp_path, capsys) -> None:
    clips = [samples / "hard_cut.mp4", samples / "object_enters.mp4"]
    copies = []
    for clip in clips:  # truth files elsewhere, so only --truth can pair them
        copy = tmp_path / clip.name
        shutil.copy(clip, copy)
        copies.append(copy)
    truths = [str(c.with_suffix(".json")) for c in clips]
    assert main(["-q", "eval", *map(str, copies), "--truth", *truths]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [r[2:5] for r in rows if r[0] == str(copies[0])] == [["1", "1", "1"]]  # the cut: truth, found, matched
    assert [r[2:5] for r in rows if r[0] == str(copies[1]) and r[1] == "motion"] == [["1", "1", "1"]]


@pytest.mark.parametrize("command", ["eval", "tune"])
def test_truth_files_pair_with_sources_after_one_flag_or_repeated(command) -> None:
    tail = ["-o", "t.yaml"] if command == "tune" else []
    one = build_parser().parse_args([command, "a.mp4", "b.mp4", "--truth", "a.json", "b.json", *tail])
    repeated = build_parser().parse_args([command, "a.mp4", "b.mp4", "--truth", "a.json", "--truth", "b.json", *tail])
    assert one.sources == repeated.sources == ["a.mp4", "b.mp4"]
    assert one.truth == repeated.truth == ["a.json", "b.json"]


def test_tune_takes_several_truth_files_after_one_flag(samples, tmp_path, capsys) -> None:
    clips = [samples / "hard_cut.mp4", samples / "quiet_noise.mp4"]
    out = tmp_path / "tuned.yaml"
    code = main(["-q", "tune", *map(str, clips), "--truth", *(str(c.with_suffix(".json")) for c in clips),
                 "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "leave-one-clip-out (2 folds)" in capsys.readouterr().out
    assert load_config(out).events


@pytest.mark.parametrize("where", ["missing folder", "a file as folder", "a folder as file"])
def test_an_output_that_cannot_be_written_fails_before_decoding(samples, tmp_path, capsys, monkeypatch, where) -> None:
    def no_decoding(*_args, **_kwargs):
        raise AssertionError("decoded before checking -o")

    monkeypatch.setattr(vidwatch.recording, "run_source", no_decoding)
    monkeypatch.setattr(vidwatch.tuning, "run_source", no_decoding)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    target = {"missing folder": tmp_path / "nope" / "tuned.yaml", "a file as folder": blocker / "tuned.yaml",
              "a folder as file": tmp_path}[where]
    code = main(["tune", str(samples / "hard_cut.mp4"), str(samples / "walk_and_cut.mp4"), "-o", str(target)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and f"-o {target}" in err and "Traceback" not in err


def test_a_refused_config_is_not_written_unless_forced(samples, tmp_path, capsys, monkeypatch) -> None:
    real_tune = vidwatch.tuning.tune

    def refusing(*args, **kwargs):  # the cross-validated verdict, forced: what tune does with a refusal
        result = real_tune(*args, **kwargs)
        result.refused = "the tuned config scores worse than the base on clips it was not fitted to (test)"
        return result

    monkeypatch.setattr(vidwatch.tuning, "tune", refusing)
    clips = [str(samples / "hard_cut.mp4"), str(samples / "quiet_noise.mp4")]
    out = tmp_path / "tuned.yaml"
    assert main(["-q", "tune", *clips, "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert "F1 cv" in captured.out  # the figures that explain the refusal are printed first
    assert captured.err.strip().splitlines() == ["vidwatch: error: the tuned config scores worse than the base on "
                                                 "clips it was not fitted to (test)"]
    assert not out.exists()
    assert main(["-q", "tune", *clips, "-o", str(out), "--force"]) == 0
    assert out.is_file() and load_config(out).events
