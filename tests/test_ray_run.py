"""`vidwatch run --ray`: the events of a plain run, from Ray tasks, also when a worker dies mid-segment.

One local Ray instance (2 CPUs, no dashboard) serves the whole module; ``--ray`` uses a Ray that is
already running in the process as it is. Generated recordings (:mod:`tests.archive_clips`); the
plain run's output is the truth. The fault is planted through vidwatch's own extension point, a
detector named by import path (:mod:`tests.ray_faults`), which kills its worker process once.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.archive_clips import Story, write
from tests.conftest import ROOT
from tests.test_split import STORY as SPLIT_STORY
from vidwatch.cli import main
from vidwatch.config import build_config

FILES = (Story(frames=200, crossings=[(40, 110)]), Story(frames=150, light=[(70, 45.0)]),
         Story(frames=220, crossings=[(30, 90), (140, 200)]))
"""Three short recordings, each with its own events."""


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray", reason="RAY TESTS SKIPPED: Ray is not installed (pip install 'vidwatch[ray]')")
    # the workers import the fault detector from tests/, as the driver does
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray_files")
    return [str(write(folder / f"file{i}.mp4", story)) for i, story in enumerate(FILES)]


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    return str(write(tmp_path_factory.mktemp("ray_long") / "long.mp4", SPLIT_STORY))


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _without_track_ids(events: list[dict]) -> list[dict]:
    """A segment numbers the tracks it makes from its own start (the tracks themselves are the same),
    and its models learnt from its warm-up only, so a peak may differ in the fourth digit (as
    test_split allows)."""
    for event in events:
        for track in event.get("tracks", []):
            track.pop("id")
        event["peak"] = {name: round(value, 2) for name, value in event["peak"].items()}
    return events


def test_several_files_on_ray_write_the_events_of_a_plain_run(ray_session, clips, tmp_path):
    plain, on_ray = tmp_path / "plain.jsonl", tmp_path / "ray.jsonl"
    assert main(["-q", "run", *clips, "--events", str(plain)]) == 0
    assert main(["-q", "run", *clips, "--ray", "--events", str(on_ray), "--snapshots", str(tmp_path / "snaps")]) == 0
    expected, found = _events(plain), _events(on_ray)
    assert {e["source"] for e in expected} == set(clips)  # every file has events: the comparison means something
    snapshots = [e.pop("snapshot") for e in found]
    assert found == expected  # the same events, in source order
    # the workers' snapshots were sent back and written where the driver's --snapshots says, one per event
    assert all(Path(s).parent == tmp_path / "snaps" and Path(s).stat().st_size > 1000 for s in snapshots)
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == sorted(Path(s).name for s in snapshots)


def test_a_long_file_split_into_ray_tasks_writes_what_jobs_writes(ray_session, long_file, tmp_path):
    plain, jobs, on_ray = tmp_path / "plain", tmp_path / "jobs", tmp_path / "ray"
    for out, extra in ((plain, []), (jobs, ["--jobs", "2"]), (on_ray, ["--ray"])):
        assert main(["-q", "run", long_file, *extra, "--set", "source.split_warmup=3",
                     "--events", str(out / "events.jsonl"), "--scores", str(out / "scores.csv"),
                     "--snapshots", str(out / "snaps")]) == 0
    found, by_jobs, by_one = (_events(out / "events.jsonl") for out in (on_ray, jobs, plain))
    assert len(found) == 4
    for events, out in ((found, on_ray), (by_jobs, jobs), (by_one, plain)):
        for event in events:  # each run's snapshots are in its own folder
            assert Path(event["snapshot"]).parent == out / "snaps"
            event["snapshot"] = Path(event["snapshot"]).name
    # exactly what --jobs writes (the same planning and stitching)
    assert found == by_jobs
    # and what one process writes, to the frame, except the numbering of tracks
    assert _without_track_ids(found) == _without_track_ids(by_one)
    assert sorted(p.name for p in (on_ray / "snaps").iterdir()) == sorted(p.name for p in (plain / "snaps").iterdir())
    rows = list(csv.DictReader((on_ray / "scores.csv").open()))
    assert [int(r["frame"]) for r in rows] == list(range(SPLIT_STORY.frames))  # every frame once, in order
    assert not list(on_ray.glob(".*")) and not list((on_ray / "snaps").glob(".*")), "partial files were left behind"


def test_a_worker_killed_mid_segment_is_run_again_and_nothing_is_lost_or_doubled(ray_session, long_file, tmp_path):
    plain = build_config(None).to_plain()
    marker = tmp_path / "killed"
    plain["detectors"]["die"] = {"type": "tests.ray_faults:DieOnce", "marker": str(marker), "at_frame": 600}
    config = tmp_path / "die.yaml"
    config.write_text(yaml.safe_dump(plain))
    reference, on_ray = tmp_path / "reference.jsonl", tmp_path / "ray.jsonl"
    assert main(["-q", "run", long_file, "--jobs", "2", "--events", str(reference)]) == 0
    assert main(["-q", "run", long_file, "-c", str(config), "--ray", "--events", str(on_ray),
                 "--snapshots", str(tmp_path / "snaps")]) == 0
    assert marker.is_file(), "the fault did not fire: the test proves nothing"
    found = _events(on_ray)
    assert len(found) == 4
    # one snapshot per event, none left from the attempt that died
    assert sorted(e.pop("snapshot") for e in found) == sorted(str(p) for p in (tmp_path / "snaps").iterdir())
    assert found == _events(reference)


def test_ray_refuses_a_camera_and_a_file_name_taken_for_an_address(tmp_path, capsys):
    assert main(["-q", "run", "rtsp://camera.local/stream", "--ray"]) == 2
    assert "vidwatch serve --ray" in capsys.readouterr().err
    assert main(["-q", "run", "a.mp4", "--ray", "b.mp4"]) == 2  # argparse reads the second file as --ray's value
    err = capsys.readouterr().err
    assert "not a Ray address" in err and "Traceback" not in err


def test_ray_without_ray_installed_is_one_line(tmp_path):
    """A Python where ``import ray`` fails: --ray says how to install it, exit 2, no traceback."""
    blocker = tmp_path / "no_ray"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "class _NoRay(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'ray' or name.startswith('ray.'):\n"
        "            raise ModuleNotFoundError(f\"No module named '{name}'\", name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _NoRay())\n")
    clip = tmp_path / "missing_is_fine.mp4"
    result = subprocess.run([sys.executable, "-m", "vidwatch", "run", str(clip), "--ray"], cwd=ROOT,
                            env={"PYTHONPATH": f"{blocker}:{ROOT}", "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'vidwatch[ray]'" in lines[0], result.stderr


def test_the_core_and_the_service_never_import_ray():
    script = ("import sys, vidwatch.cli, vidwatch.batch, vidwatch.archive, vidwatch.serve.service, "
              "vidwatch.serve.runner\n"
              "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
