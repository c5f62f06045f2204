"""The command line end to end, through main(argv), on the bundled sample clips."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidwatch.cli import main

from .conftest import SAMPLES, truth_of


def run_events(tmp_path: Path, *argv: str) -> list[dict]:
    out = tmp_path / "events.jsonl"
    assert main(["-q", "run", *argv, "--events", str(out)]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def overlaps(event: dict, span: tuple[int, int]) -> bool:
    return event["start_frame"] <= span[1] and span[0] <= event["end_frame"]


@pytest.mark.parametrize("clip", ["object_enters", "walk_and_cut", "hard_cut", "quiet_noise"])
def test_run_finds_exactly_the_true_events(tmp_path: Path, clip: str) -> None:
    path = SAMPLES / f"{clip}.mp4"
    truth = truth_of(path)
    kinds = json.loads(path.with_suffix(".json").read_text())
    kinds = kinds.get("kinds") or [kinds.get("kind", "motion")] * len(truth)
    events = run_events(tmp_path, str(path))
    assert len(events) == len(truth)
    for event, span, kind in zip(sorted(events, key=lambda e: e["start_frame"]), truth, kinds, strict=True):
        assert event["kind"] == kind
        assert overlaps(event, span)
        assert abs(event["start_frame"] - span[0]) <= 2  # opens within min_frames of the truth


def test_events_file_has_the_documented_fields(tmp_path: Path) -> None:
    events = run_events(tmp_path, str(SAMPLES / "object_enters.mp4"))
    (event,) = events
    for key in ("kind", "start_frame", "end_frame", "start_time", "end_time", "detectors", "peak"):
        assert key in event
    assert event["start_time"] == pytest.approx(event["start_frame"] / 15.0, abs=0.07)
    assert event["detectors"] == ["objects"]  # motion is decided on tracked things
    (track,) = event["tracks"]  # the one thing that crossed: its path, box, speed and size
    assert track["path"][0][1] < track["path"][-1][1] and track["speed"] > 0 and track["size"][0] > 0
    times = [point[0] for point in track["path"]]
    assert track["path"][-1][0] == track["last_time"]
    assert len(times) >= (times[-1] - times[0]) / 0.5  # sampled about every half second, not just its ends
    assert all(0.4 <= b - a <= 0.55 for a, b in zip(times[:-2], times[1:-1], strict=True))
    x, y, w, h = event["box"]
    assert 0 <= x < 320 and 0 < w <= 320 and 0 < h <= 240


def test_scene_change_at_the_cut_frame(tmp_path: Path) -> None:
    events = run_events(tmp_path, str(SAMPLES / "hard_cut.mp4"))
    assert [(e["kind"], e["start_frame"], e["end_frame"]) for e in events] == [("scene_change", 75, 75)]


def test_set_override_changes_the_run(tmp_path: Path) -> None:
    events = run_events(tmp_path, str(SAMPLES / "hard_cut.mp4"), "--set", "detectors.histogram.threshold=100",
                         "--set", "detectors.structure.threshold=1")
    # with the histogram and the structure out of the way the cut is no longer a scene change; nor is it motion, since
    # nothing travels across the picture: a whole new picture is no thing
    assert [e["kind"] for e in events] == []


def test_image_folder_source_in_name_order(tmp_path: Path) -> None:
    from .synthetic import noisy, scene, square_at

    folder = tmp_path / "snaps"
    folder.mkdir()
    base = scene(9)
    rng = np.random.default_rng(0)
    for i in range(30):
        image = square_at(base, 100 + 6 * (i - 12), 80, size=40) if 12 <= i <= 18 else base
        cv2.imwrite(str(folder / f"snap_{i}.png"), noisy(image, rng))  # snap_2 sorts before snap_10
    events = run_events(tmp_path, str(folder), "--set", "events.motion.min_frames=2", "--set", "source.image_fps=1")
    motion = [e for e in events if e["kind"] == "motion"]
    assert len(motion) == 1
    assert 12 <= motion[0]["start_frame"] <= 14 and motion[0]["start_time"] == motion[0]["start_frame"]


def test_compare_prints_norms_and_kl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = np.full((20, 10), 100, np.uint8)
    b = a.copy()
    b[:5, :] = 110  # 50 pixels differ by 10
    cv2.imwrite(str(tmp_path / "a.png"), a)
    cv2.imwrite(str(tmp_path / "b.png"), b)
    assert main(["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png")]) == 0
    out = capsys.readouterr().out
    assert "Manhattan norm: 500 / per pixel: 2.5" in out
    assert "Zero norm: 50 / per pixel: 0.25" in out
    assert "Histogram KL divergence:" in out


def test_compare_normalize_ignores_exposure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .synthetic import scene

    a = scene(1).astype(np.uint8)
    brighter = (a.astype(np.float32) * 0.8 + 30).astype(np.uint8)  # dimmer contrast, brighter base
    cv2.imwrite(str(tmp_path / "a.png"), a)
    cv2.imwrite(str(tmp_path / "b.png"), brighter)
    main(["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png")])
    plain = capsys.readouterr().out
    main(["compare", "--normalize", str(tmp_path / "a.png"), str(tmp_path / "b.png")])
    normalized = capsys.readouterr().out

    def per_pixel(text: str) -> float:
        return float(text.split("Manhattan norm:")[1].split("per pixel:")[1].split()[0])

    assert per_pixel(normalized) < per_pixel(plain) / 3


def test_detectors_lists_every_detector_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detectors"]) == 0
    out = capsys.readouterr().out
    for name in ("diff", "background", "flow", "histogram"):
        assert f"{name}  (feeds:" in out
    assert "threshold        default 0.2" in out


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_missing_file_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "/no/such/video.mp4"]) == 2
    assert "no such file: /no/such/video.mp4" in one_line_error(capsys)


def test_corrupt_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    assert main(["run", str(bad)]) == 2
    assert "broken.mp4" in one_line_error(capsys)


def test_truncated_video_still_reports_its_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A recording cut off mid-event (index at the front, as cameras write them): what is there is
    analysed, and the event open when the data ends is closed and written."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to move the clip's index to the front")
    whole = tmp_path / "whole.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(SAMPLES / "object_enters.mp4"), "-c", "copy",
                    "-movflags", "+faststart", str(whole)], check=True, timeout=60)
    data = whole.read_bytes()
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: len(data) // 2])
    events = tmp_path / "events.jsonl"
    assert main(["-q", "run", str(cut), "--events", str(events), "--progress", "off"]) == 0
    frames = int(capsys.readouterr().out.split(": ", 1)[1].split(" frames")[0])
    assert 40 < frames < 180  # part of the 180 frames, past the object's entry at frame 30
    written = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(e["kind"], e["end_frame"]) for e in written] == [("motion", frames - 1)]


def test_truncated_video_without_its_index_is_one_line_exit_2(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = (SAMPLES / "object_enters.mp4").read_bytes()  # index (moov) at the end: cut off with the tail
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: len(data) // 2])
    assert main(["-q", "run", str(cut)]) == 2
    assert str(cut) in one_line_error(capsys)


def test_unknown_detector_type_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("detectors:\n  radar: {}\n")
    assert main(["run", str(SAMPLES / "quiet_noise.mp4"), "-c", str(config)]) == 2
    err = one_line_error(capsys)
    assert "unknown detector type 'radar'" in err and str(config) in err


def test_unwritable_events_path_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(SAMPLES / "quiet_noise.mp4"), "--events", "/proc/vidwatch/x.jsonl"]) == 2
    assert "cannot write events file" in one_line_error(capsys)


def test_config_command_prints_effective_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--set", "analysis.width=200"]) == 0
    assert "width: 200" in capsys.readouterr().out
