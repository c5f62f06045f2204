"""Files made on a Ray worker, carried to the machine that asked for them, in bounded pieces.

Workers share no file system with the driver. What a worker writes for an event (a snapshot, a
clip, a task's score rows) is written on its own disk first, then sent as chunks of at most
:data:`CHUNK` bytes, each its own object in Ray's object store, so neither side ever holds more
than one chunk of a file in memory. The receiving side writes each file under a hidden name
beside its final path and moves it into place only when the work that made it is committed: a
task that is retried or fails leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

CHUNK = 4 << 20
"""Bytes per piece of a file in transit (a 1080p snapshot is one piece; a clip a few)."""


@dataclass(frozen=True, slots=True)
class FileChunk:
    """One piece of a file, addressed by the path the receiving side must write it to."""

    target: str
    data: bytes
    first: bool
    last: bool


def file_chunks(local: str | Path, target: str, size: int = CHUNK) -> Iterator[FileChunk]:
    """The file ``local`` as chunks for ``target``, read one chunk at a time (an empty file is one chunk)."""
    with open(local, "rb") as handle:
        first = True
        data = handle.read(size)
        while True:
            following = handle.read(size)
            yield FileChunk(target, data, first, not following)
            if not following:
                return
            first, data = False, following


def partial_path(target: str | Path) -> Path:
    """Where a file is written while it arrives: a hidden name beside its final path."""
    path = Path(target)
    return path.with_name(f".{path.name}.partial")


@dataclass(slots=True)
class _Group:
    writing: dict[str, BinaryIO] = field(default_factory=dict)
    complete: list[str] = field(default_factory=list)


class Staging:
    """The receiving side: files of uncommitted work, by group (a task, a camera's poll).

    Only folders named at construction (or inside its trees) are written to: a target anywhere else is refused and
    logged, so nothing a worker sends reaches outside the outputs the user chose.
    """

    def __init__(self, folders: Collection[str | Path], trees: Collection[str | Path] = ()) -> None:
        self.folders = {Path(f).resolve() for f in folders}
        self.trees = [Path(t).resolve() for t in trees]
        """Folders anywhere under which files may be written (a camera's media folders, one per start)."""
        self._groups: dict[object, _Group] = {}
        self.failures: list[str] = []
        """Files that could not be written (named at the end of the run)."""

    def allowed(self, target: str) -> bool:
        path = Path(target)
        if path.name in ("", ".", ".."):
            return False
        parent = path.parent.resolve()
        return parent in self.folders or any(parent.is_relative_to(tree) for tree in self.trees)

    def write(self, group: object, chunk: FileChunk) -> None:
        entry = self._groups.setdefault(group, _Group())
        if not self.allowed(chunk.target):
            if chunk.first:
                log.error("refusing a file sent for %s: outside the output folders", chunk.target)
            return
        handle = entry.writing.get(chunk.target)
        try:
            if chunk.first or handle is None:
                if handle is not None:  # the same file sent again from the start: begin again
                    handle.close()
                partial = partial_path(chunk.target)
                partial.parent.mkdir(parents=True, exist_ok=True)
                handle = entry.writing[chunk.target] = open(partial, "wb")
            handle.write(chunk.data)
            if chunk.last:
                handle.close()
                del entry.writing[chunk.target]
                entry.complete.append(chunk.target)
        except OSError as exc:
            self._fail(entry, chunk.target, exc)

    def commit(self, group: object) -> list[str]:
        """Move the group's complete files into place; the final paths."""
        entry = self._groups.pop(group, None)
        if entry is None:
            return []
        placed = []
        for target in entry.complete:
            try:
                os.replace(partial_path(target), target)
                placed.append(target)
            except OSError as exc:
                self._fail(entry, target, exc)
        for target in list(entry.writing):  # cut off mid-file: not complete, not kept
            self._drop(entry, target)
        return placed

    def discard(self, group: object) -> None:
        """Forget the group's files (its work failed or is done again elsewhere)."""
        entry = self._groups.pop(group, None)
        if entry is None:
            return
        for target in list(entry.writing):
            self._drop(entry, target)
        for target in entry.complete:
            _remove(partial_path(target))

    def discard_all(self) -> None:
        for group in list(self._groups):
            self.discard(group)

    def _drop(self, entry: _Group, target: str) -> None:
        handle = entry.writing.pop(target)
        handle.close()
        _remove(partial_path(target))

    def _fail(self, entry: _Group, target: str, exc: OSError) -> None:
        log.error("cannot write %s: %s", target, exc.strerror or exc)
        self.failures.append(target)
        if target in entry.writing:
            self._drop(entry, target)
        elif target in entry.complete:
            entry.complete.remove(target)
            _remove(partial_path(target))


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot remove %s: %s", path, exc.strerror)
