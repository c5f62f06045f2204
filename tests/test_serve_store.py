"""The SQLite event store and retention: rows survive reopening, retention deletes rows and their files."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from vidwatch.serve.messages import EventMessage, MediaMessage
from vidwatch.serve.retention import sweep
from vidwatch.serve.store import EventStore

DAY = 86400.0


def message(phase: str, event_id: str, *, camera: str = "door", kind: str = "motion", start: float = 1000.0,
            end: float = 1002.0, files: dict[str, str] | None = None, notify: bool = True) -> EventMessage:
    event = {"kind": kind, "start_frame": 10, "end_frame": 40, "start_time": 1.0, "end_time": 3.0,
             "detectors": ["diff", "background"], "peak": {"diff": 0.02}, "peak_time": 2.0, "box": [4, 5, 6, 7],
             **(files or {})}
    if kind == "stream_lost":
        event["reason"] = "the stream ended"
    return EventMessage(phase, camera, event_id, kind, start, end if phase == "end" else start, event, notify)


def media(data: Path, name: str, size: int, *, age_days: float = 0.0) -> str:
    path = data / "door" / "run" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if age_days:
        stamp = time.time() - age_days * DAY
        os.utime(path, (stamp, stamp))
    return str(path)


def test_events_are_written_at_start_and_end_and_kept_across_reopening(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    assert (tmp_path / "events.db").exists()
    with sqlite3.connect(tmp_path / "events.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    snapshot = media(tmp_path, "a.jpg", 10)
    store.write_event(message("start", "a" * 32))
    assert store.event("a" * 32)["open"] is True
    store.write_event(message("end", "a" * 32, files={"snapshot": snapshot}))
    store.write_event(message("end", "b" * 32, camera="yard", kind="stream_lost", start=1005.0, end=1005.0,
                              notify=False))
    store.write_media(MediaMessage("door", "a" * 32, clip=media(tmp_path, "a.mp4", 20)))
    store.close()

    reopened = EventStore(tmp_path)
    rows = reopened.events()
    assert [r["id"] for r in rows] == ["b" * 32, "a" * 32]  # newest first
    a = rows[1]
    assert (a["camera"], a["kind"], a["open"], a["start"], a["end"], a["duration"]) == \
        ("door", "motion", False, 1000.0, 1002.0, 2.0)
    assert a["snapshot"] == "door/run/a.jpg" and a["clip"] == "door/run/a.mp4"  # relative to the data folder
    assert a["detectors"] == ["diff", "background"] and a["box"] == [4, 5, 6, 7] and a["notified"] is True
    assert rows[0]["reason"] == "the stream ended" and rows[0]["notified"] is False
    assert [r["id"] for r in reopened.events(camera="door")] == ["a" * 32]
    assert [r["id"] for r in reopened.events(kind="stream_lost")] == ["b" * 32]
    assert [r["id"] for r in reopened.events(since=1003.0)] == ["b" * 32]
    assert len(reopened.events(limit=1)) == 1


def test_a_clip_that_could_not_be_written_is_taken_off_its_event(tmp_path: Path) -> None:
    """The row names the clip while it is being written; when the media worker reports the event's files
    without a clip (the main stream was lost, nothing was filmed), the row no longer offers one."""
    store = EventStore(tmp_path)
    clip = str(tmp_path / "door" / "run" / "a.mp4")
    store.write_event(message("start", "a" * 32, files={"clip": clip}))
    store.write_event(message("end", "a" * 32, files={"clip": clip}))
    assert store.event("a" * 32)["clip"] == "door/run/a.mp4"
    store.write_media(MediaMessage("door", "a" * 32, snapshot=media(tmp_path, "a.jpg", 10)))
    row = store.event("a" * 32)
    assert row["snapshot"] == "door/run/a.jpg" and row["clip"] is None
    store.close()


def test_events_left_open_by_a_killed_process_are_closed_and_marked(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.write_event(message("start", "c" * 32))
    assert EventStore(tmp_path).close_interrupted() == 1
    row = store.event("c" * 32)
    assert row["open"] is False and row["interrupted"] is True


def test_a_file_outside_the_data_folder_is_never_stored(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "data")
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(b"x")
    store.write_event(message("end", "d" * 32, files={"snapshot": str(outside), "clip": "../../etc/passwd"}))
    row = store.event("d" * 32)
    assert row["snapshot"] is None and row["clip"] is None


def test_arm_state_is_saved(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    assert store.armed(["door", "yard"]) == {"door": True, "yard": True}
    store.set_armed("yard", False)
    assert EventStore(tmp_path).armed(["door", "yard"]) == {"door": True, "yard": False}


def test_retention_deletes_events_older_than_the_age_limit_with_their_files(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    now = time.time()
    old = {"snapshot": media(tmp_path, "old.jpg", 100, age_days=40), "clip": media(tmp_path, "old.mp4", 100)}
    new = {"snapshot": media(tmp_path, "new.jpg", 100)}
    store.write_event(message("end", "1" * 32, start=now - 40 * DAY, end=now - 40 * DAY + 5, files=old))
    store.write_event(message("end", "2" * 32, start=now - 3600, end=now - 3590, files=new))
    store.write_event(message("start", "3" * 32, start=now - 50 * DAY))  # still open: never touched
    orphan_old = media(tmp_path, "orphan_old.mp4", 100, age_days=31)
    orphan_new = media(tmp_path, "orphan_new.mp4", 100)
    swept = sweep(store, retain_days=30, retain_gb=1.0, now=now)
    assert (swept.events, swept.files) == (1, 3)
    assert {r["id"] for r in store.events()} == {"2" * 32, "3" * 32}
    assert not Path(old["snapshot"]).exists() and not Path(old["clip"]).exists() and not Path(orphan_old).exists()
    assert Path(new["snapshot"]).exists() and Path(orphan_new).exists()


def test_retention_deletes_the_oldest_events_until_the_files_fit(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    now = time.time()
    for i in range(5):  # 5 events of 400 kB each, the oldest first
        files = {"clip": media(tmp_path, f"{i}.mp4", 400_000)}
        store.write_event(message("end", f"{i}" * 32, start=now - 5000 + i, end=now - 4990 + i, files=files))
    swept = sweep(store, retain_days=30, retain_gb=0.001, now=now)  # 1 MB: two events fit
    assert swept.events == 3 and swept.bytes == 1_200_000
    assert sorted(r["id"] for r in store.events()) == ["3" * 32, "4" * 32]
    assert sorted(p.name for p in (tmp_path / "door" / "run").iterdir()) == ["3.mp4", "4.mp4"]


@pytest.mark.parametrize("keep", [True, False])
def test_retention_removes_empty_old_folders_except_those_in_use(tmp_path: Path, keep: bool) -> None:
    store = EventStore(tmp_path)
    folder = tmp_path / "door" / "20200101-000000"
    folder.mkdir(parents=True)
    stamp = time.time() - 2 * 3600
    os.utime(folder, (stamp, stamp))
    sweep(store, retain_days=30, retain_gb=1.0, keep=[folder] if keep else [])
    assert folder.exists() == keep
