"""Events in SQLite: one row per event, kept across restarts, read by the API while cameras write.

The database runs in WAL mode, so the page and the API read while events are written and a
reader never blocks the writer. Only the service's dispatcher thread writes events (cameras hand
them over through a queue, so analysis never waits for the disk); arm state is written by the
web thread. Snapshot and clip paths are stored relative to the data folder and are only ever
read back from a row, never built from a request.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vidwatch.errors import UserError
from vidwatch.serve.messages import EventMessage, MediaMessage

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_epoch REAL NOT NULL,
    end_epoch REAL NOT NULL,
    start_time REAL, end_time REAL,
    start_frame INTEGER, end_frame INTEGER,
    detectors TEXT NOT NULL DEFAULT '[]',
    peak TEXT NOT NULL DEFAULT '{}',
    peak_time REAL,
    box TEXT,
    tracks TEXT,
    snapshot TEXT,
    clip TEXT,
    info TEXT NOT NULL DEFAULT '{}',
    open INTEGER NOT NULL DEFAULT 1,
    notified INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS events_by_start ON events (start_epoch);
CREATE INDEX IF NOT EXISTS events_by_camera ON events (camera, start_epoch);
CREATE TABLE IF NOT EXISTS cameras (
    name TEXT PRIMARY KEY,
    armed INTEGER NOT NULL
);
"""

KNOWN_FIELDS = {"kind", "start_frame", "end_frame", "start_time", "end_time", "duration", "detectors", "peak",
                "peak_frame", "peak_time", "box", "source", "snapshot", "clip", "tracks"}
"""Event fields that have their own column; the rest (reason, attempts, ...) go to ``info``."""


class EventStore:
    """The SQLite event database in ``data/events.db``."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.path = data / "events.db"
        try:
            data.mkdir(parents=True, exist_ok=True)
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
            self._writer.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot use the data folder {data} ({exc}); set serve.data to a writable folder") \
                from None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        connection.row_factory = sqlite3.Row
        return connection

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()

    # -- writes (the dispatcher thread) ------------------------------------------------------------

    def relative(self, path: str | None) -> str | None:
        """A file path as stored: relative to the data folder (None for files outside it)."""
        if not path:
            return None
        resolved = Path(path).resolve()
        try:
            return resolved.relative_to(self.data.resolve()).as_posix()
        except ValueError:
            log.warning("not storing %s: it is outside the data folder %s", path, self.data)
            return None

    def write_event(self, message: EventMessage) -> None:
        """Insert an event at its start, or bring its row up to date (at its end, or if the start was missed)."""
        e = message.event
        info = {k: v for k, v in e.items() if k not in KNOWN_FIELDS}
        row = (message.id, message.camera, message.kind, message.start_epoch, message.end_epoch,
               e.get("start_time"), e.get("end_time"), e.get("start_frame"), e.get("end_frame"),
               json.dumps(e.get("detectors", [])), json.dumps(e.get("peak", {})), e.get("peak_time"),
               json.dumps(e["box"]) if e.get("box") else None,
               json.dumps(e["tracks"]) if e.get("tracks") else None,
               self.relative(e.get("snapshot")), self.relative(e.get("clip")), json.dumps(info),
               int(message.phase != "end"), int(message.notify))
        with self._lock:
            self._writer.execute(
                """INSERT INTO events (id, camera, kind, start_epoch, end_epoch, start_time, end_time,
                       start_frame, end_frame, detectors, peak, peak_time, box, tracks, snapshot, clip, info,
                       open, notified)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET end_epoch=excluded.end_epoch, end_time=excluded.end_time,
                       end_frame=excluded.end_frame, detectors=excluded.detectors, peak=excluded.peak,
                       peak_time=excluded.peak_time, box=excluded.box, tracks=excluded.tracks,
                       snapshot=COALESCE(excluded.snapshot, events.snapshot),
                       clip=COALESCE(excluded.clip, events.clip), info=excluded.info, open=excluded.open""",
                row)

    def write_media(self, message: MediaMessage) -> None:
        """Record a snapshot or clip written after its event ended.

        The message is the last word on the clip: the event's row named it while it was being written,
        and a clip that could not be written (the main stream lost, no frames) is taken off the row, so
        the API does not offer a file that will never come.
        """
        with self._lock:
            if message.snapshot:
                self._writer.execute("UPDATE events SET snapshot=? WHERE id=?",
                                     (self.relative(message.snapshot), message.id))
            self._writer.execute("UPDATE events SET clip=? WHERE id=?", (self.relative(message.clip), message.id))

    def close_interrupted(self) -> int:
        """Rows left open by a process that was killed outright: closed, and marked as interrupted."""
        with self._lock:
            cursor = self._writer.execute(
                "UPDATE events SET open=0, info=json_set(info, '$.interrupted', json('true')) WHERE open=1")
        return cursor.rowcount

    def delete(self, ids: list[str]) -> None:
        with self._lock:
            self._writer.executemany("DELETE FROM events WHERE id=?", [(i,) for i in ids])

    def close(self) -> None:
        with self._lock:
            try:
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("event database checkpoint failed: %s", exc)
            self._writer.close()

    # -- arm state (the web thread) ----------------------------------------------------------------

    def armed(self, names: list[str]) -> dict[str, bool]:
        """Each camera's saved arm state (armed unless it was disarmed)."""
        with self._reader() as db:
            saved = {r["name"]: bool(r["armed"]) for r in db.execute("SELECT name, armed FROM cameras")}
        return {name: saved.get(name, True) for name in names}

    def set_armed(self, name: str, armed: bool) -> None:
        with self._lock:
            self._writer.execute("INSERT INTO cameras (name, armed) VALUES (?, ?) "
                                 "ON CONFLICT(name) DO UPDATE SET armed=excluded.armed", (name, int(armed)))

    # -- reads (any thread) ------------------------------------------------------------------------

    def events(self, *, camera: str | None = None, kind: str | None = None, since: float | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        """Events newest first, filtered by camera, kind and start time (epoch seconds)."""
        where, args = [], []
        for column, value in (("camera", camera), ("kind", kind)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("start_epoch >= ?")
            args.append(since)
        sql = "SELECT * FROM events" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY start_epoch DESC, rowid DESC LIMIT ?"
        with self._reader() as db:
            return [row_to_dict(r) for r in db.execute(sql, [*args, limit])]

    def event(self, event_id: str) -> dict[str, Any] | None:
        with self._reader() as db:
            row = db.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        return row_to_dict(row) if row is not None else None

    def files_oldest_first(self) -> list[tuple[str, float, list[str]]]:
        """(id, start epoch, its snapshot and clip paths) of every event, oldest first (for retention)."""
        with self._reader() as db:
            rows = db.execute("SELECT id, start_epoch, snapshot, clip FROM events WHERE open = 0 "
                              "ORDER BY start_epoch, rowid").fetchall()
        return [(r["id"], r["start_epoch"], [p for p in (r["snapshot"], r["clip"]) if p]) for r in rows]

    def ended_before(self, cutoff: float) -> list[tuple[str, list[str]]]:
        with self._reader() as db:
            rows = db.execute("SELECT id, snapshot, clip FROM events WHERE open = 0 AND end_epoch < ?",
                              (cutoff,)).fetchall()
        return [(r["id"], [p for p in (r["snapshot"], r["clip"]) if p]) for r in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        """Stored events by (camera, kind)."""
        with self._reader() as db:
            return {(r[0], r[1]): r[2] for r in db.execute(
                "SELECT camera, kind, COUNT(*) FROM events GROUP BY camera, kind")}


def row_to_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A row as the API shows it (file paths become flags: the API serves them by event id)."""
    info = json.loads(row["info"] or "{}")
    box = json.loads(row["box"]) if row["box"] else None
    return {
        "id": row["id"], "camera": row["camera"], "kind": row["kind"],
        "start": row["start_epoch"], "end": row["end_epoch"],
        "duration": round(max(0.0, row["end_epoch"] - row["start_epoch"]), 3),
        "start_time": row["start_time"], "end_time": row["end_time"],
        "start_frame": row["start_frame"], "end_frame": row["end_frame"],
        "detectors": json.loads(row["detectors"]), "peak": json.loads(row["peak"]),
        "peak_time": row["peak_time"], "box": box,
        "tracks": json.loads(row["tracks"]) if row["tracks"] else [],
        "open": bool(row["open"]), "notified": bool(row["notified"]),
        "snapshot": row["snapshot"], "clip": row["clip"], **info,
    }
