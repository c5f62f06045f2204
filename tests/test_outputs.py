"""Snapshots, event clips, scores CSV, annotated video and timeline plot, checked by opening the files.

One run of the demo clip (known truth: motion in frames 30-118 and 185-255, a cut at frame 150)
writes every output; the tests then read them back.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidwatch.cli import main
from vidwatch.sinks.clips import FrameRing
from vidwatch.sinks.video import VideoWriter, ffmpeg_path

PRE_ROLL, POST_ROLL = 1.0, 0.5
FPS = 15.0
FRAMES = 300


def read_video(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> dict:
    out = tmp_path_factory.mktemp("outputs")
    clip = samples / "walk_and_cut.mp4"
    code = main(["-q", "run", str(clip), "--events", str(out / "events.jsonl"),
                 "--snapshots", str(out / "snaps"), "--clips", str(out / "clips"),
                 "--scores", str(out / "scores.csv"), "--annotate", str(out / "annotated.mp4"),
                 "--set", f"outputs.pre_roll={PRE_ROLL}", "--set", f"outputs.post_roll={POST_ROLL}"])
    assert code == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return {"out": out, "clip": clip, "events": events, "source": read_video(clip)}


def test_events_carry_snapshot_and_clip_paths(run: dict) -> None:
    events = run["events"]
    assert [e["kind"] for e in events] == ["motion", "scene_change", "motion"]
    for e in events:
        assert Path(e["snapshot"]).is_file()
        assert Path(e["clip"]).is_file()
    assert len({e["snapshot"] for e in events}) == len(events)


def test_snapshot_is_full_resolution_peak_frame_with_box(run: dict) -> None:
    motion = run["events"][0]
    image = cv2.imread(motion["snapshot"])
    assert image.shape == (240, 320, 3)
    peak = run["source"][motion["peak_frame"]]
    x, y, w, h = motion["box"]
    # outside the box and below the caption the snapshot is the peak frame itself
    assert np.abs(image[200:, :x - 4].astype(int) - peak[200:, :x - 4]).mean() < 4
    # the box outline is drawn in red on the box's left edge
    b, g, r = image[y + h // 2, x].astype(int)
    assert r > 180 and g < 90 and b < 90
    # the box holds the moving object: its frame differs there from the first frame
    first = run["source"][0]
    assert np.abs(peak[y:y + h, x:x + w].astype(int) - first[y:y + h, x:x + w]).mean() > 20


def clip_span(event: dict) -> tuple[int, int]:
    """The source frames a clip must hold: pre-roll before the start, post-roll after the end."""
    times = np.arange(FRAMES) / FPS
    inside = np.flatnonzero((times >= event["start_time"] - PRE_ROLL - 1e-3)
                            & (times <= event["end_time"] + POST_ROLL + 1e-3))
    return int(inside[0]), int(inside[-1])


def test_clips_hold_event_with_pre_and_post_roll(run: dict) -> None:
    for event in run["events"]:
        first, last = clip_span(event)
        frames = read_video(Path(event["clip"]))
        assert len(frames) == last - first + 1, event
        assert frames[0].shape == (240, 320, 3)
    # the cut at frame 150 with 1 s pre-roll: clip frames 135..157, scene B from clip frame 15 on
    cut = run["events"][1]
    assert clip_span(cut) == (135, 157)
    frames = read_video(Path(cut["clip"]))
    source = run["source"]

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(int) - b).mean())

    assert distance(frames[14], source[149]) < distance(frames[14], source[150])
    assert distance(frames[15], source[150]) < distance(frames[15], source[149])


def test_scores_csv_has_a_row_per_frame_and_every_metric(run: dict) -> None:
    with open(run["out"] / "scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
        columns = list(rows[0])
    assert columns[:2] == ["frame", "time"]
    for name in ("background", "histogram", "lighting", "camera", "objects"):
        assert f"{name}.value" in columns and f"{name}.threshold" in columns
    for metric in ("background.foreground", "histogram.kl", "objects.tracks", "objects.things"):
        assert metric in columns
    kinds = [c for c in columns if c.endswith(".active")]
    assert {"motion.active", "scene_change.active"} <= set(kinds) and columns[-len(kinds):] == kinds
    assert len(rows) == FRAMES
    assert [int(r["frame"]) for r in rows] == list(range(FRAMES))
    assert float(rows[150]["histogram.value"]) > float(rows[150]["histogram.threshold"]) == 0.2
    assert rows[150]["scene_change.active"] == "1"
    assert rows[100]["motion.active"] == "1" and rows[10]["motion.active"] == "0"
    assert float(rows[100]["objects.value"]) > float(rows[100]["objects.threshold"]) > float(rows[10]["objects.value"])
    assert rows[100]["objects.things"] == "1" and rows[10]["objects.things"] == "0"


def test_annotated_video_has_every_frame_and_event_border(run: dict) -> None:
    frames = read_video(run["out"] / "annotated.mp4")
    assert len(frames) == FRAMES
    assert frames[0].shape == (240, 320, 3)

    def red_border(image: np.ndarray) -> bool:
        b, g, r = image[120, 1].astype(int)
        return r > 180 and g < 90 and b < 90

    assert red_border(frames[100])  # inside the first motion event
    assert not red_border(frames[10])  # before it


def test_plot_writes_a_png(run: dict, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "timeline.png"
    assert main(["plot", str(run["out"] / "scores.csv"), "-o", str(out),
                 "--events", str(run["out"] / "events.jsonl")]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 600


def test_plot_without_matplotlib_says_how_to_install(run: dict, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert main(["plot", str(run["out"] / "scores.csv"), "-o", str(tmp_path / "t.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install" in err[0] and "vidwatch[plot]" in err[0]


def test_plot_rejects_a_file_that_is_not_a_scores_csv(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["plot", str(bad), "-o", str(tmp_path / "t.png")]) == 2


def test_annotate_needs_a_single_source(samples: Path, tmp_path: Path) -> None:
    clip = str(samples / "quiet_noise.mp4")
    assert main(["run", clip, clip, "--annotate", str(tmp_path / "a.mp4")]) == 2


def test_bad_outputs_config_is_rejected(samples: Path) -> None:
    assert main(["run", str(samples / "quiet_noise.mp4"), "--set", "outputs.pre_roll=-1"]) == 2


def test_frame_ring_is_bounded_by_bytes_and_age() -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)  # incompressible: ~100+ KB as JPEG
    ring = FrameRing(seconds=10.0, max_bytes=1_000_000, quality=90)
    for i in range(60):
        ring.push(i, i / 10, noise)
        assert ring.bytes <= 1_000_000
    assert 0 < len(ring.frames) < 60
    assert ring.frames[-1].index == 59 and ring.evicted_early > 0
    ring = FrameRing(seconds=1.0, max_bytes=10**9, quality=90)
    for i in range(60):
        ring.push(i, i / 10, noise[:16, :16])
    assert [h.index for h in ring.frames] == list(range(49, 60))  # frames no older than 1 s


@pytest.mark.parametrize("method", ["opencv", "ffmpeg"])
def test_video_writer_writes_every_frame(method: str, tmp_path: Path) -> None:
    if method == "ffmpeg" and ffmpeg_path() is None:
        pytest.skip("ffmpeg is not installed")
    path = tmp_path / f"{method}.mp4"
    with VideoWriter(path, 15.0, method=method) as writer:
        for i in range(12):
            writer.write(np.full((61, 81, 3), 20 * i, np.uint8))  # odd sizes are padded, not refused
    frames = read_video(path)
    assert len(frames) == 12
    assert abs(int(frames[5][30, 40].mean()) - 100) < 6
    fourcc = int(cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode().lower()
    assert fourcc in (("avc1", "h264") if method == "ffmpeg" else ("mp4v", "fmp4"))


def test_annotate_without_known_frame_rate_estimates_it(tmp_path: Path) -> None:
    """Live sources may not report a frame rate: the first frames' timestamps give it."""
    from vidwatch.detectors.base import Score
    from vidwatch.frames import AnalysisFrame, SourceFrame
    from vidwatch.record import FrameRecord
    from vidwatch.sinks.annotate import AnnotateSink
    from vidwatch.sinks.params import OutputParams

    path = tmp_path / "live.mp4"
    with AnnotateSink(path, OutputParams(), fps=None) as sink:
        for i in range(20):
            image = np.full((120, 160, 3), 100, np.uint8)
            frame = AnalysisFrame(i, i * 0.2, image[:, :, 0], 1.0, SourceFrame(i, i * 0.2, image))
            sink.frame(FrameRecord("live", i, i * 0.2, {"diff": Score(0.0)}, {"diff": 0.002}, frozenset(),
                                   (), (), (), (), frame))
    capture = cv2.VideoCapture(str(path))
    assert abs(capture.get(cv2.CAP_PROP_FPS) - 5.0) < 0.01
    capture.release()
    assert len(read_video(path)) == 20


def test_clips_of_two_sources_each_hold_only_their_own_frames(tmp_path: Path, samples: Path) -> None:
    first, second = samples / "walk_and_cut.mp4", samples / "object_enters.mp4"
    code = main(["-q", "run", str(first), str(second), "--events", str(tmp_path / "events.jsonl"),
                 "--clips", str(tmp_path / "clips"), "--set", f"outputs.pre_roll={PRE_ROLL}",
                 "--set", f"outputs.post_roll={POST_ROLL}"])
    assert code == 0
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert {e["source"] for e in events} == {str(first), str(second)}
    sources = {str(first): read_video(first), str(second): read_video(second)}
    for event in events:
        begin, end = clip_span(event)
        frames = read_video(Path(event["clip"]))
        assert len(frames) == end - begin + 1, event  # complete, cut at its own source's end
        own = sources[event["source"]]
        assert float(np.abs(frames[0].astype(int) - own[begin]).mean()) < 8.0, event
