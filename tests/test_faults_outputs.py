"""Faults on the output side: events files that must survive a failed start, names that must not collide,
a disk that fills and frees, clips that must keep up, keep time and finish, and pictures that must be
upright and true. Real files, real processes (ffmpeg among them) and a loopback stream, each bounded
in time; every case ends with a clear message, the right exit code and no process left behind."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from .test_faults import WAIT, processes_running, run_cli
from .test_outputs import read_video
from .vidwatch_process import VidwatchProcess

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed (apt-get install ffmpeg)")
W, H = 320, 240


@pytest.fixture
def leftovers() -> Iterator[list[str]]:
    """Tokens a test registers; after it, no process with one in its command line may be running
    (an encoder writing into the test's folder, a helper it started)."""
    tokens: list[str] = []
    yield tokens
    for token in tokens:
        pids = processes_running(token)
        for pid in pids:  # clean up, then fail
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        assert not pids, f"processes left behind: {token}"


def ffmpeg(*args: str) -> None:
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def frame_times(path: Path) -> list[float]:
    """Presentation times of a video's frames, from its container."""
    import av

    with av.open(str(path)) as container:
        return sorted(float(frame.time) for frame in container.decode(video=0))


def crossings(path: Path, starts: list[int], *, frames: int, fps: float = 15.0, size: int = 40,
              speed: int = 8) -> Path:
    """A textured still scene where a bright square crosses from the left at each of ``starts`` (frames)."""
    rng = np.random.default_rng(5)
    cells = rng.integers(50, 200, size=(H // 16, W // 16, 3), dtype=np.uint8)
    scene = np.kron(cells, np.ones((16, 16, 1), np.uint8))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
    for i in range(frames):
        image = np.clip(scene.astype(np.int16) + rng.normal(0, 2, scene.shape), 0, 255).astype(np.uint8)
        for start in starts:
            x = -size + (i - start) * speed
            if start <= i and x < W:
                cv2.rectangle(image, (x, 90), (x + size, 90 + size), (240, 240, 240), -1)
        writer.write(image)
    writer.release()
    return path


# -- item 1: the events file opens when the first source has opened; --append ---------------------


def test_a_run_that_cannot_start_leaves_the_events_file_as_it_was(samples: Path, tmp_path: Path) -> None:
    events = tmp_path / "log.jsonl"
    assert run_cli("run", str(samples / "object_enters.mp4"), "--events", str(events)).returncode == 0
    before = events.read_text()
    assert len(before.splitlines()) == 1
    closed = socket_port_nobody_listens_on()
    result = run_cli("run", f"http://127.0.0.1:{closed}/x", "--events", str(events),
                     "--set", "source.open_timeout=2")
    assert result.returncode == 2 and result.stderr.strip().startswith("vidwatch: error:")
    assert events.read_text() == before  # not emptied by a run that never started


def socket_port_nobody_listens_on() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_failed_run_leaves_no_empty_events_file(samples: Path, tmp_path: Path) -> None:
    events = tmp_path / "new.jsonl"
    # the first source runs (and finds nothing); the second does not exist: the run fails
    result = run_cli("run", str(samples / "quiet_noise.mp4"), str(tmp_path / "missing.mp4"), "--events", str(events))
    assert result.returncode == 2 and "missing.mp4" in result.stderr
    assert not events.exists()
    # the same run that succeeds leaves the (empty) result
    assert run_cli("run", str(samples / "quiet_noise.mp4"), "--events", str(events)).returncode == 0
    assert events.exists() and events.read_text() == ""


def test_append_adds_to_the_events_file_and_the_default_replaces_it(samples: Path, tmp_path: Path) -> None:
    events = tmp_path / "log.jsonl"
    clip = str(samples / "object_enters.mp4")
    for _ in range(2):
        assert run_cli("run", clip, "--events", str(events), "--append").returncode == 0
    assert [e["kind"] for e in read_events(events)] == ["motion", "motion"]
    assert run_cli("run", clip, "--events", str(events)).returncode == 0
    assert [e["kind"] for e in read_events(events)] == ["motion"]


def test_with_jobs_a_run_without_events_replaces_the_events_file_too(samples: Path, tmp_path: Path) -> None:
    """Sources run in worker processes: the file is opened once a source has run, as one by one."""
    events = tmp_path / "log.jsonl"
    events.write_text('{"kind": "motion", "from": "yesterday"}\n')
    quiet = str(samples / "quiet_noise.mp4")
    result = run_cli("run", quiet, quiet, "--jobs", "2", "--events", str(events))
    assert result.returncode == 0, result.stderr
    assert events.read_text() == ""  # this run's events: none


# -- item 2: names unique per source, stable across runs ------------------------------------------


def test_sources_with_the_same_file_name_keep_their_own_pictures(samples: Path, tmp_path: Path) -> None:
    (tmp_path / "cam1").mkdir()
    (tmp_path / "cam2").mkdir()
    first, second = tmp_path / "cam1" / "front.mp4", tmp_path / "cam2" / "front.mp4"
    shutil.copy(samples / "walk_and_cut.mp4", first)
    shutil.copy(samples / "object_enters.mp4", second)
    args = ["run", "cam1/front.mp4", "cam2/front.mp4", "--snapshots", "s", "--clips", "c", "--events", "e.jsonl"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    runs = [subprocess.run([sys.executable, "-m", "vidwatch", "-q", *args], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    events = read_events(tmp_path / "e.jsonl")
    assert [e["source"] for e in events] == ["cam1/front.mp4"] * 3 + ["cam2/front.mp4"]
    snapshots = sorted((tmp_path / "s").iterdir())
    clips = sorted((tmp_path / "c").iterdir())
    assert len(snapshots) == len(clips) == len(events) == 4  # nothing written over, and the second run
    assert sorted(Path(tmp_path, e["snapshot"]) for e in events) == snapshots  # wrote the same names again
    assert sorted(Path(tmp_path, e["clip"]) for e in events) == clips
    for event in events:
        assert ("cam1" if event["source"].startswith("cam1") else "cam2") in Path(event["snapshot"]).name
        picture = cv2.imread(str(tmp_path / event["snapshot"]))
        capture = cv2.VideoCapture(str(tmp_path / event["source"]))
        capture.set(cv2.CAP_PROP_POS_FRAMES, event["peak_frame"])
        ok, peak = capture.read()
        capture.release()
        assert ok and float(np.abs(picture[200:].astype(int) - peak[200:]).mean()) < 8  # its own source's frame


# -- item 4: a full disk; space that comes back mid-run ---------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB file system of its own (tmpfs), so it can be filled without touching anything else."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True,
                          text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with one file; removing it gives the space back."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as file:
        chunk = b"\0" * 65536
        try:
            while True:
                file.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        try:
            while True:
                file.write(b"\0")
        except OSError:
            pass
    return filler


def outputs_on(disk: Path, *, annotate: bool = False) -> list[str]:
    args = ["--events", str(disk / "e.jsonl"), "--snapshots", str(disk / "s"), "--clips", str(disk / "c"),
            "--scores", str(disk / "scores.csv")]
    return [*args, "--annotate", str(disk / "a.mp4")] if annotate else args


QUICK = ["--set", "events.motion.post_roll=0.3", "--set", "events.motion.merge_gap=0.2",
         "--set", "outputs.pre_roll=0.5", "--set", "outputs.post_roll=0.5"]


@needs_ffmpeg
def test_a_disk_that_frees_mid_run_gets_every_output_written(tmp_path: Path, small_disk: Path,
                                                            leftovers: list[str]) -> None:
    leftovers.append(str(small_disk))  # an encoder writing there
    clip = crossings(tmp_path / "two.mp4", [10, 110], frames=160, fps=20)
    filler = fill(small_disk)
    # the second event's start frees the disk, while the run goes on, once the first event's line and its
    # whole clip (which ffmpeg may hold in its buffers until the end) have met the full disk: the hook waits
    # (up to 9 s, within its 10 s) for the clip's failure in the log, which a clip writer that a busy machine
    # holds back may report after the second event has begun
    config, seen, log = tmp_path / "free.yaml", tmp_path / "first-event-seen", tmp_path / "stderr.log"
    wait = f"for i in $(seq 90); do grep -q 'clips: cannot write' {log} && break; sleep 0.1; done"
    config.write_text(json.dumps({"hooks": {
        "on_event_start": f"if [ -e {seen} ]; then {wait}; rm -f {filler}; else touch {seen}; fi"}}))
    result = run_cli("run", str(clip), "--realtime", "-c", str(config), *QUICK, *outputs_on(small_disk), log=log)
    assert result.returncode == 0, result.stderr
    log = result.stderr
    assert "events-file: cannot write" in log and "no space left on the device" in log
    assert "clips: cannot write" in log and "keeping its frames to write it again" in log
    # the held event was written while the run went on, before the second event ended
    written = log.index("the held events were written after")
    assert written < log.rindex("end   motion")
    assert not [line for line in log.splitlines() if line.startswith("vidwatch: ")]  # nothing named as lost
    events = read_events(small_disk / "e.jsonl")
    assert [(e["kind"], e["start_frame"] < 90) for e in events] == [("motion", True), ("motion", False)]
    for event in events:
        assert Path(event["snapshot"]).is_file()
        times = frame_times(Path(event["clip"]))  # whole: from 0.5 s before to 0.5 s after (or the last frame)
        span = min(event["end_time"] + 0.5, 159 / 20) - (event["start_time"] - 0.5)
        # (played in real time: on a loaded machine a frame or two at either end may be dropped or thinned out;
        # a clip cut short at the failure or begun again after it would miss a second or more)
        assert times[-1] - times[0] == pytest.approx(span, abs=0.25)
    analysed = int(re.match(rf"{re.escape(str(clip))}: (\d+) frames", result.stdout).group(1))  # type: ignore[union-attr]
    rows = (small_disk / "scores.csv").read_text().splitlines()
    assert rows[0].startswith("frame,time,") and len(rows) == 1 + analysed  # the header, then every frame analysed,
    numbers = [int(r.split(",")[0]) for r in rows[1:]]
    assert numbers == sorted(set(numbers))  # in order, none twice


@needs_ffmpeg
def test_a_disk_that_stays_full_names_each_lost_output_and_exits_3(tmp_path: Path, small_disk: Path,
                                                                   leftovers: list[str]) -> None:
    leftovers.append(str(small_disk))
    clip = crossings(tmp_path / "two.mp4", [10, 80], frames=130, fps=20)
    fill(small_disk)
    result = run_cli("run", str(clip), *QUICK, *outputs_on(small_disk, annotate=True))
    assert result.returncode == 3, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{clip}: 130 frames")  # detection went on: both events found
    assert "2 motion" in result.stdout.splitlines()[0]
    lost = [line for line in result.stderr.splitlines() if line.startswith("vidwatch: ")]
    space = "; no space left on the device"
    stem = "test_a_disk_that_stays_full_na0-two-[0-9a-f]{6}_motion"  # the source's folder and name, a hash
    expected = [
        rf"snapshots {small_disk / 's'}: 2 snapshots not written: {stem}_0000\d\d.jpg, {stem}_0000\d\d.jpg",
        rf"events-file {small_disk / 'e.jsonl'}: 2 events not written: motion frames \d+-\d+, motion frames \d+-\d+",
        rf"scores-file {small_disk / 'scores.csv'}: the header and the rows of 130 frames \(0-129\) not written",
        rf"clips {small_disk / 'c'}: 2 clips not written: {stem}_0000\d\d.mp4 \(motion frames \d+-\d+\), "
        rf"{stem}_0000\d\d.mp4 \(motion frames \d+-\d+\)",
        rf"annotated-video {small_disk / 'a.mp4'}: not written \(frames 0-129\): the file was given up",
    ]
    assert len(lost) == len(expected), lost
    for line, pattern in zip(lost, expected, strict=True):
        assert re.fullmatch("vidwatch: " + pattern + space, line), line
    assert all(line.endswith(space) for line in lost)
    for output in ("events-file", "snapshots", "clips", "scores-file", "annotated-video"):  # not once per frame
        assert sum(f"{output}: cannot write" in line for line in result.stderr.splitlines()) <= 3, output
    assert not [p for p in small_disk.rglob("*") if p.is_file() and p.name != "filler" and p.stat().st_size]


def test_a_write_cut_short_by_a_full_disk_is_cut_back_and_retried_in_order(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk may take half a line before it refuses the rest: that half is cut back off, the line held,
    and later lines queue behind it, so once there is room the file reads exactly as if nothing happened."""
    from vidwatch.events import Event
    from vidwatch.sinks.jsonl import JsonlSink

    path = tmp_path / "events.jsonl"
    sink = JsonlSink(path)
    sink.open()
    now = [0.0]
    sink.outbox.clock = lambda: now[0]
    full = [True]
    real_write = os.write
    calls = []

    def write(fd: int, data: bytes) -> int:
        if fd != sink._file._fd or not full[0]:
            return real_write(fd, data)
        calls.append(len(data))
        if len(calls) % 2:  # half of it fits, then the disk is full
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", write)
    events = [Event("motion", 10 * i, i, 10 * i + 5, i + 0.5, detectors=["diff"]) for i in range(4)]
    sink.event_ended(events[0])
    sink.event_ended(events[1])  # queued behind the first, not written before it
    assert path.read_text() == "" and len(sink.outbox.pending) == 2
    now[0] += 5.0
    sink.frame(None)  # the retry fails too: still nothing torn on disk
    assert path.read_text() == "" and len(calls) == 4
    full[0] = False
    sink.frame(None)  # not yet due
    assert len(sink.outbox.pending) == 2
    now[0] += 5.0
    sink.frame(None)  # room again: both, in order
    sink.event_ended(events[2])
    sink.event_ended(events[3])
    sink.close()
    assert [e["start_frame"] for e in read_events(path)] == [0, 10, 20, 30]
    assert sink.losses() == []


@pytest.mark.parametrize("target", ["proc", "folder"])
def test_annotate_into_an_unwritable_path_fails_before_the_run(samples: Path, tmp_path: Path, target: str) -> None:
    path = Path("/proc/vidwatch-annotated.mp4") if target == "proc" else tmp_path / "a.mp4"
    if target == "folder":
        path.mkdir()  # a folder where the video should go
    events = tmp_path / "e.jsonl"
    result = run_cli("run", str(samples / "object_enters.mp4"), "--annotate", str(path), "--events", str(events))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidwatch: error: ") and "--annotate" in lines[0], lines
    assert str(path) in lines[0] and "internal error" not in lines[0]
    assert not events.exists() and result.stdout == ""  # refused before any frame
    # ... and before any source is opened (one that would fail is not even looked at)
    result = run_cli("run", str(tmp_path / "missing.mp4"), "--annotate", str(path))
    assert result.returncode == 2 and result.stderr.strip().splitlines() == lines


@needs_ffmpeg
@pytest.mark.parametrize("flag", ["--clips", "--annotate"])
def test_video_writer_ffmpeg_without_ffmpeg_fails_before_the_run(samples: Path, tmp_path: Path, flag: str) -> None:
    out = tmp_path / ("clips" if flag == "--clips" else "a.mp4")
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    result = subprocess.run([sys.executable, "-m", "vidwatch", "run", str(samples / "object_enters.mp4"), flag,
                             str(out), "--set", "outputs.video_writer=ffmpeg"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("vidwatch: error: outputs.video_writer is 'ffmpeg' but ffmpeg is not installed; "
                                     "install it or set outputs.video_writer: opencv")
    assert result.stdout == ""
    missing = subprocess.run([sys.executable, "-m", "vidwatch", "run", str(tmp_path / "missing.mp4"), flag, str(out),
                              "--set", "outputs.video_writer=ffmpeg"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert missing.stderr == result.stderr  # before any source is opened


# -- item 13: the snapshot's peak and boxes -------------------------------------------------------------


def test_the_peak_is_never_a_frame_after_the_thing_left() -> None:
    """After the thing has gone the frame difference spikes where it vanished (18x its threshold) while the
    background model sees nothing: that post-roll frame must not become the peak, nor its box the event's."""
    from vidwatch.detectors.base import Score
    from vidwatch.frames import AnalysisFrame, SourceFrame
    from vidwatch.gate import EventRule, Gate

    gate = Gate({"motion": EventRule(fusion="all", min_frames=2, post_roll=0.5, merge_gap=0.0)},
                {"motion": ["diff", "background"]}, {"diff": 0.5, "background": 0.5})
    blank = np.zeros((4, 4), np.uint8)
    here, gone = (50, 60, 20, 40), (120, 60, 20, 40)
    ended = []
    for i in range(40):
        if 10 <= i <= 20:  # the person is there: both over, 4x their thresholds
            scores = {"diff": Score(2.0, box=here), "background": Score(2.0, box=here)}
        elif i == 21:  # the person left: only the difference sees it, where it was
            scores = {"diff": Score(9.0, box=gone), "background": Score(0.0)}
        else:
            scores = {"diff": Score(0.0), "background": Score(0.0)}
        frame = AnalysisFrame(i, i / 10, blank, 1.0, SourceFrame(i, i / 10, blank))
        ended += gate.update(frame, scores).ended
    [event] = ended
    assert (event.start_frame, event.end_frame) == (10, 25)
    assert 10 <= event.peak_frame <= 20 and event.box == here
    assert event.peak == {"diff": 9.0, "background": 2.0}  # each detector's highest score stays what it was


def test_a_backdated_event_takes_its_peak_and_box_only_where_its_evidence_was_over() -> None:
    """A tracked thing opens its event back at its first sighting (``Score.since``); the peak and the box
    still come only from frames, and detectors, over threshold: not the frames before it was decided on,
    not a detector under its threshold that boxes noise elsewhere, not the spike after the thing left."""
    from vidwatch.detectors.base import Score
    from vidwatch.frames import AnalysisFrame, SourceFrame
    from vidwatch.gate import EventRule, Gate

    gate = Gate({"motion": EventRule(fusion=2, min_frames=2, post_roll=0.5, merge_gap=0.0)},
                {"motion": ["objects", "background", "diff"]}, {"objects": 1.0, "background": 0.5, "diff": 0.5})
    blank = np.zeros((4, 4), np.uint8)
    thing, noise, gone = (50, 60, 20, 40), (5, 5, 8, 8), (120, 60, 20, 40)
    started, ended = [], []
    for i in range(40):
        if 4 <= i < 10:  # seen, not yet a thing: the object score grows, under its threshold, boxing it
            scores = {"objects": Score(0.1 * (i - 3), box=thing), "background": Score(0.4),
                      "diff": Score(0.45, box=noise)}
        elif i == 15:  # the strongest frame; the detectors over have no box on it, the one under boxes noise
            scores = {"objects": Score(3.0, since=(4, 0.4)), "background": Score(4.0), "diff": Score(0.45, box=noise)}
        elif 10 <= i <= 20:  # decided: objects and background over; the difference boxes noise, under
            scores = {"objects": Score(3.0, box=thing, since=(4, 0.4)), "background": Score(1.0),
                      "diff": Score(0.45, box=noise)}
        elif i == 21:  # the thing left: the difference spikes where it was, nothing else sees anything
            scores = {"objects": Score(0.0), "background": Score(0.0), "diff": Score(9.0, box=gone)}
        else:
            scores = {"objects": Score(0.0), "background": Score(0.0), "diff": Score(0.0)}
        frame = AnalysisFrame(i, i / 10, blank, 1.0, SourceFrame(i, i / 10, blank))
        record = gate.update(frame, scores)
        started += record.started
        ended += record.ended
    [event] = ended
    assert started == [event] and event.start_frame == 4  # backdated to the first sighting
    assert event.peak_frame == 15 and event.box == thing  # the box from the latest frame over that had one


def test_a_snapshot_boxes_the_regions_of_detectors_over_threshold_only() -> None:
    from vidwatch.detectors.base import Score
    from vidwatch.events import Event
    from vidwatch.frames import AnalysisFrame, SourceFrame
    from vidwatch.record import FrameRecord, RecordLayout
    from vidwatch.sinks.params import OutputParams
    from vidwatch.sinks.snapshots import SnapshotSink

    image = np.full((240, 320, 3), 100, np.uint8)
    real, ghost = np.zeros((120, 160), np.uint8), np.zeros((120, 160), np.uint8)
    real[60:80, 20:40] = 255  # what the background model sees now (over threshold)
    ghost[60:80, 100:120] = 255  # a faint difference elsewhere (under threshold)
    frame = AnalysisFrame(5, 0.5, np.full((120, 160), 100, np.uint8), 2.0, SourceFrame(5, 0.5, image))
    scores = {"diff": Score(0.001, mask=ghost), "background": Score(0.02, mask=real)}
    record = FrameRecord("cam", 5, 0.5, scores, {"diff": 0.002, "background": 0.002}, frozenset({"background"}),
                         ("motion",), (), (), (), frame)
    layout = RecordLayout(("diff", "background"), {}, ("motion",), {"motion": ("diff", "background")}, 1.0)
    event = Event("motion", 3, 0.3, 9, 0.9, detectors=["background"], peak_frame=5, peak_time=0.5)
    with tempfile_dir() as folder:
        picture = SnapshotSink(folder, layout, OutputParams()).render(event, record)

    def marked(x0: int, x1: int) -> bool:  # any drawn (non-grey) pixel on the region's outline, source pixels
        return bool((np.abs(picture[110:170, x0:x1].astype(int) - 100).sum(axis=2) > 60).any())

    assert marked(36, 44) and not marked(196, 204)  # the left edge of each region: 2 x 20 and 2 x 100


def tempfile_dir():  # type: ignore[no-untyped-def]
    import tempfile

    return tempfile.TemporaryDirectory()


def test_the_clip_buffer_warning_only_when_the_buffer_was_full(caplog: pytest.LogCaptureFixture) -> None:
    """Frames a live source or --realtime never delivered leave gaps in a clip too; only frames the full
    clip buffer pushed out are blamed on it."""
    import logging

    from vidwatch.detectors.base import Score
    from vidwatch.events import Event
    from vidwatch.frames import AnalysisFrame, SourceFrame
    from vidwatch.record import FrameRecord, RecordLayout
    from vidwatch.sinks.clips import ClipSink
    from vidwatch.sinks.params import OutputParams

    full = "the clip buffer (outputs.buffer_mb) was full"
    caplog.set_level(logging.INFO, logger="vidwatch.sinks.clips")
    layout = RecordLayout(("diff",), {}, ("motion",), {"motion": ("diff",)}, 1.0)
    rng = np.random.default_rng(0)

    def run(folder: str, indexes: list[int], size: tuple[int, int], buffer_mb: float) -> None:
        params = OutputParams(pre_roll=0.5, post_roll=0.5, buffer_mb=buffer_mb, video_writer="opencv")
        event = Event("motion", 10, 1.0, 10, 1.0, detectors=["diff"])
        with ClipSink(folder, layout, params, source="cam", paced=False) as sink:
            started = ended = False
            for i in indexes:
                image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)  # noise: JPEG cannot shrink it
                frame = AnalysisFrame(i, i / 10, image[:, :, 0], 1.0, SourceFrame(i, i / 10, image))
                sink.frame(FrameRecord("cam", i, i / 10, {"diff": Score(0.0)}, {"diff": 1.0}, frozenset(), (),
                                       (), (), (), frame))
                if i >= 10 and not started:
                    started = True
                    sink.event_started(event)
                if started and not ended and (i <= 20 or i >= 40):  # over to 20, quiet, over again from 40 on
                    event.end_frame, event.end_time = i, i / 10
                if i >= 45 and not ended:
                    ended = True
                    sink.event_ended(event)

    skipped = [i for i in range(50) if i % 4 != 2]  # a quarter of the frames never analysed
    with tempfile_dir() as folder:
        run(folder, skipped, (120, 160), 256.0)
    assert "clip " in caplog.text and full not in caplog.text  # the gaps are not the buffer's doing
    caplog.clear()
    with tempfile_dir() as folder:  # 1 MB holds three of these frames: those waiting for the event to go on
        run(folder, list(range(50)), (360, 480), 1.0)  # (26-39) are pushed out by the buffer's byte cap
    assert full in caplog.text


# -- items 7 and 8: clips keep the source's timestamps; pictures of rotated video are upright ---------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A square crossing the whole clip, as variable-frame-rate H.264 and as a phone's rotated video."""
    if FFMPEG is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    out = tmp_path_factory.mktemp("output_media")
    plain = crossings(out / "plain.mp4", [0], frames=90, fps=30, speed=4)
    # frames 0-59 at 30 fps (2 s), then 60-89 at 5 fps (6 s): 90 frames over 7.8 s
    ffmpeg("-i", str(plain), "-vf", "setpts='if(lt(N,60),N/30,2+(N-60)/5)/TB'", "-fps_mode", "passthrough",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out / "vfr.mp4"))
    walk = crossings(out / "walk.mp4", [15], frames=75, fps=15, speed=8)
    try:
        ffmpeg("-display_rotation", "90", "-i", str(walk), "-c", "copy", str(out / "rotated.mp4"))
    except subprocess.CalledProcessError:  # FFmpeg before 6 writes the matrix from the rotate tag
        ffmpeg("-i", str(walk), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out / "rotated.mp4"))
    return out


@needs_ffmpeg
@pytest.mark.parametrize("writer", ["ffmpeg", "opencv"])
def test_a_clip_of_variable_frame_rate_video_lasts_as_long_as_the_video(media: Path, tmp_path: Path,
                                                                       writer: str) -> None:
    source = frame_times(media / "vfr.mp4")
    assert len(source) == 90 and source[-1] == pytest.approx(7.8, abs=0.01)
    result = run_cli("run", str(media / "vfr.mp4"), "--clips", str(tmp_path / "c"), "--events", str(tmp_path / "e"),
                     "--set", f"outputs.video_writer={writer}", "--set", "outputs.pre_roll=10",
                     "--set", "outputs.post_roll=10")
    assert result.returncode == 0, result.stderr
    [event] = read_events(tmp_path / "e")
    clip = frame_times(Path(event["clip"]))  # the whole video: 10 s of pre- and post-roll
    assert clip[-1] - clip[0] == pytest.approx(7.8, abs=0.05)  # not 90 frames at 30 fps (3 s)
    if writer == "ffmpeg":  # every frame shown at its own time
        assert np.allclose(np.array(clip) - clip[0], source, atol=0.002)
    else:  # one fixed rate: each picture repeated for as long as it is shown
        assert len(clip) == pytest.approx(7.8 * 30 + 1, abs=2)


@needs_ffmpeg
def test_snapshots_and_clips_of_rotated_video_are_upright(media: Path, tmp_path: Path) -> None:
    upright = read_video(media / "rotated.mp4")  # OpenCV turns it as players do
    assert upright[0].shape == (W, H, 3)  # portrait
    result = run_cli("run", str(media / "rotated.mp4"), "--snapshots", str(tmp_path / "s"),
                     "--clips", str(tmp_path / "c"), "--events", str(tmp_path / "e"))
    assert result.returncode == 0, result.stderr
    [event] = read_events(tmp_path / "e")
    snapshot = cv2.imread(event["snapshot"])
    assert snapshot.shape == (W, H, 3)
    def distance(a: np.ndarray, b: np.ndarray) -> float:  # below the caption
        return float(np.abs(a[W // 3:].astype(int) - b[W // 3:]).mean())

    peak = upright[event["peak_frame"]]
    assert distance(snapshot, peak) < 0.5 * distance(snapshot, peak[::-1, ::-1])  # not upside down either
    clip = read_video(Path(event["clip"]))
    first = round((event["start_time"] - 2.0) * 15)  # the default pre-roll, at 15 fps
    assert clip[0].shape == (W, H, 3)
    for k in (0, len(clip) // 2):
        assert distance(clip[k], upright[first + k]) < 0.5 * distance(clip[k], upright[first + k][::-1, ::-1])


# -- item 5: clips are encoded off the analysis path ------------------------------------------------

SLOW_ENCODER = """\
import subprocess, sys, time
RATE = 1_000_000  # bytes a second: about four 320x240 frames
proc = subprocess.Popen([{ffmpeg!r}, *sys.argv[1:]], stdin=subprocess.PIPE)
began, sent = time.monotonic(), 0
while chunk := sys.stdin.buffer.read1(65536):
    try:
        proc.stdin.write(chunk)
    except BrokenPipeError:
        break
    sent += len(chunk)
    time.sleep(max(0.0, began + sent / RATE - time.monotonic()))
proc.stdin.close()
sys.exit(proc.wait())
"""


@needs_ffmpeg
def test_an_encoder_slower_than_the_video_thins_the_clip_not_the_analysis(tmp_path: Path,
                                                                        leftovers: list[str]) -> None:
    """An `ffmpeg` on PATH that takes its input at a few frames a second, as a 4K encoder on a busy machine
    would: played in real time, analysis keeps every frame and the clip gets fewer, spread over its length."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "slow_encoder.py").write_text(SLOW_ENCODER.format(ffmpeg=FFMPEG))
    shim = bin_dir / "ffmpeg"
    shim.write_text(f'#!/bin/sh\ncase " $* " in *" -version "*) exec {FFMPEG} "$@";; esac\n'
                    f'exec {sys.executable} {bin_dir / "slow_encoder.py"} "$@"\n')
    shim.chmod(0o755)
    leftovers.append(str(bin_dir / "slow_encoder.py"))
    clip = crossings(tmp_path / "walk.mp4", [0, 45], frames=75, fps=15)  # motion all along: one long clip
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(Path(__file__).parent.parent)}
    result = subprocess.run([sys.executable, "-m", "vidwatch", "run", str(clip), "--realtime", "--clips",
                             str(tmp_path / "c"), "--events", str(tmp_path / "e"), "--set", "outputs.buffer_mb=1"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    summary = result.stdout.splitlines()[0]
    analysed = int(re.search(r": (\d+) frames", summary).group(1))  # type: ignore[union-attr]
    # of 75 (a synchronous encoder would let about 20 through): analysis did not wait for it
    assert analysed >= 60, summary
    assert "the clip writer fell behind (encoding is slower than the video comes in)" in result.stderr
    [event] = read_events(tmp_path / "e")
    times = frame_times(Path(event["clip"]))
    assert 3 <= len(times) < 60  # thinned ...
    assert times[-1] - times[0] > 4.0  # ... over the whole event, not cut short (and at the video's own speed)
    assert max(np.diff(times)) < 3.5  # (how evenly depends on the machine's load)


# -- item 12: the clip before a stream loss is finished at the loss --------------------------------------


@needs_ffmpeg
def test_the_clip_of_the_event_before_a_stream_loss_is_finished_at_the_loss(tmp_path: Path,
                                                                           leftovers: list[str]) -> None:
    from .stream_server import StreamServer, free_port

    loop = crossings(tmp_path / "loop.mp4", [30], frames=100, fps=15, speed=16)  # quiet 2 s, a crossing, quiet
    server = StreamServer(loop, free_port()).start()
    leftovers.append(str(tmp_path / "c"))
    # a long post-roll: the clip cannot be finished by frames after the event, only by the loss
    run = VidwatchProcess("run", server.url, "--clips", str(tmp_path / "c"), "--events", str(tmp_path / "e"),
                          "--set", "outputs.post_roll=30", "--set", "source.reconnect_initial=30",
                          "--set", "source.open_timeout=20")
    try:
        ended = run.wait_for(r"end   motion", timeout=WAIT + 20)
        server.kill()
        lost = run.wait_for(r"stream lost", timeout=WAIT, after=ended)
        finished = run.wait_for(r"clip .*_motion_\d+\.mp4: \d+ frames", timeout=10, after=ended)
        assert finished > lost  # at the loss, while the stream is still down and the run goes on
        assert run.proc.poll() is None
        clips = sorted((tmp_path / "c").glob("*_motion_*.mp4"))
        assert clips and len(read_video(clips[0])) > 15  # complete and playable now
        run.signal()
        assert run.finish(timeout=WAIT) == 0
    finally:
        run.kill()
        server.kill()
    kinds = [e["kind"] for e in read_events(tmp_path / "e")]
    assert kinds[:1] == ["motion"] and "stream_lost" in kinds
