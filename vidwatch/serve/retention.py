"""Retention: events older than ``retain_days`` go, then the oldest until the files fit in ``retain_gb``.

Deleting an event deletes its snapshot and clip; files in the data folder that no event names any
more (left by a process that was killed while writing) are deleted once they are older than the
age limit. Open events are never touched.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from vidwatch.serve.store import EventStore

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = {".jpg", ".mp4"}


@dataclass(slots=True)
class Swept:
    """What one retention pass removed."""

    events: int = 0
    files: int = 0
    bytes: int = 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _remove(path: Path, swept: Swept) -> None:
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("retention: cannot delete %s: %s", path, exc.strerror)
        return
    swept.files += 1
    swept.bytes += size


def _inside(data: Path, relative: str) -> Path | None:
    path = (data / relative).resolve()
    return path if path.is_relative_to(data.resolve()) else None


def sweep(store: EventStore, *, retain_days: float, retain_gb: float, now: float | None = None,
          keep: Collection[Path] = ()) -> Swept:
    """One retention pass over the store and its data folder; empty folders in ``keep`` (in use) stay."""
    now = time.time() if now is None else now
    cutoff = now - retain_days * 86400.0
    data = store.data
    swept = Swept()

    def drop(ids_and_files: list[tuple[str, list[str]]]) -> None:
        for _, files in ids_and_files:
            for relative in files:
                path = _inside(data, relative)
                if path is not None:
                    _remove(path, swept)
        store.delete([i for i, _ in ids_and_files])
        swept.events += len(ids_and_files)

    drop(store.ended_before(cutoff))

    budget = int(retain_gb * 1e9)
    rows = store.files_oldest_first()
    sizes = [sum(_size(data / f) for f in files) for _, _, files in rows]
    total = sum(sizes)
    over: list[tuple[str, list[str]]] = []
    for (event_id, _, files), size in zip(rows, sizes, strict=True):
        if total <= budget:
            break
        over.append((event_id, files))
        total -= size
    if over:
        drop(over)

    named = {str((data / f).resolve()) for _, _, files in store.files_oldest_first() for f in files}
    for folder, _, names in os.walk(data):
        for name in names:
            path = Path(folder) / name
            if path.suffix.lower() in MEDIA_SUFFIXES and str(path.resolve()) not in named:
                try:
                    old = path.stat().st_mtime < cutoff
                except OSError:
                    continue
                if old:
                    _remove(path, swept)
    in_use = {Path(p).resolve() for p in keep}
    for folder, dirs, names in os.walk(data, topdown=False):
        here = Path(folder).resolve()
        if here != data.resolve() and here not in in_use and not any(u.is_relative_to(here) for u in in_use) \
                and not dirs and not names and _mtime(here) < now - 3600:
            try:
                os.rmdir(folder)
            except OSError:
                pass
    if swept.events or swept.files:
        log.info("retention: deleted %d events and %d files (%.1f MB)", swept.events, swept.files,
                 swept.bytes / 1e6)
    return swept


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")
