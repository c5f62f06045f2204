"""Writes that fail are held and tried again, so a disk that fills up and frees again mid-run loses nothing.

Every file output (the events file, the scores CSV, snapshots, clips) hands each write to its
:class:`Outbox`. A write that fails with an error of the machine (a full disk, a lost mount, no
permission) is kept, in order, and tried again a little later, while detection goes on; later
writes queue behind it so the file keeps its order. The outbox is bounded (items and bytes): when
it is full the oldest held write is given up. At the end of the run whatever could not be written
is a :class:`Loss`: one line per output naming what was not written, where, and why, and the exit
code says outputs were lost.

:class:`AppendFile` is the file half of it: each write lands whole or not at all (a write cut short
by a full disk is cut back off), so a retried line is never written after a torn copy of itself.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vidwatch.errors import ENVIRONMENT_FAULTS

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
"""How long a failed write waits before it is tried again."""


def why(exc: BaseException) -> str:
    """A short reason for a failed write: the machine's fault in plain words where it is one."""
    if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_FAULTS:
        return ENVIRONMENT_FAULTS[exc.errno][0]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def spans(ranges: Sequence[tuple[int, int]]) -> list[str]:
    """``[(0, 9), (10, 19), (40, 49)]`` -> ``['0-19', '40-49']``: touching ranges joined."""
    joined: list[list[int]] = []
    for first, last in sorted(ranges):
        if joined and first <= joined[-1][1] + 1:
            joined[-1][1] = max(joined[-1][1], last)
        else:
            joined.append([first, last])
    return [f"{a}-{b}" for a, b in joined]


def listing(items: Sequence[str], limit: int = 3) -> str:
    """``a, b, c and 4 more``."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@dataclass(frozen=True, slots=True)
class Loss:
    """What one output could not deliver by the end of the run."""

    output: str
    """The output's name (``events-file``, ``clips``, ...)."""
    where: str
    """The file or folder it writes to."""
    what: str
    """What was not written, e.g. ``2 events not written: motion frames 31-133, ...``."""
    reason: str
    """Why, e.g. ``no space left on the device``."""
    lost: bool = True
    """False for failures that are named but lose no record (a hook that failed)."""

    def line(self) -> str:
        where = f" {self.where}" if self.where else ""
        return f"{self.output}{where}: {self.what}; {self.reason}"


@dataclass(slots=True)
class Pending:
    """One write an output wants done: what it is (for the summary), its size, and how to do it."""

    what: str
    size: int
    write: Callable[[], None]
    frames: tuple[int, int] | None = None
    """First and last frame the write covers, for outputs that write rows of frames."""


class Outbox:
    """An output's writes, done at once when they can be, else held in order and retried.

    Only errors of the machine (``OSError``) are held; anything else is a defect and propagates.
    Not thread-safe: each outbox belongs to the thread that writes the output.
    """

    def __init__(self, output: str, where: str | Path, *, noun: str, max_items: int = 10_000,
                 max_bytes: int = 64 << 20, retry_seconds: float = RETRY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.output = output
        self.where = str(where)
        self.noun = noun
        """What one item is, for messages: ``event``, ``snapshot``, ``row``..."""
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.pending: deque[Pending] = deque()
        self.held_bytes = 0
        self.given_up: list[Pending] = []
        """Items dropped because the outbox was full, or still held when it closed."""
        self.error: BaseException | None = None
        """The last failure (kept for the summary)."""
        self.written = 0
        self._retry_at = 0.0
        self._failing_since: float | None = None

    def send(self, item: Pending) -> None:
        """Write ``item`` now, or hold it (behind anything already held)."""
        if self.pending:
            self.retry()
        if self.pending:
            self._hold(item)
            return
        try:
            item.write()
            self.written += 1
        except OSError as exc:
            self._failed(exc)
            self._hold(item)

    def retry(self, *, force: bool = False) -> None:
        """Try the held writes again, oldest first, if their time has come (or now, with ``force``)."""
        if not self.pending or (not force and self.clock() < self._retry_at):
            return
        while self.pending:
            item = self.pending[0]
            try:
                item.write()
            except OSError as exc:
                self._failed(exc)
                return
            self.pending.popleft()
            self.held_bytes -= item.size
            self.written += 1
            if not self.pending and self._failing_since is not None:
                log.warning("%s: %s can be written again; the held %ss were written after %.0f s", self.output,
                            self.where, self.noun, self.clock() - self._failing_since)
                self._failing_since = None

    def close(self) -> None:
        """One last try; what is still held is given up (and named by :meth:`loss`)."""
        self.retry(force=True)
        while self.pending:
            item = self.pending.popleft()
            self.held_bytes -= item.size
            self.given_up.append(item)

    def loss(self) -> Loss | None:
        """What was not written, for the end-of-run summary (None when everything was)."""
        if not self.given_up:
            return None
        count = len(self.given_up)
        what = f"{count} {self.noun}{'' if count == 1 else 's'} not written: {listing([i.what for i in self.given_up])}"
        return Loss(self.output, self.where, what, why(self.error) if self.error else "not written")

    def _failed(self, exc: OSError) -> None:
        self.error = exc
        self._retry_at = self.clock() + self.retry_seconds
        if self._failing_since is None:
            self._failing_since = self.clock()
            log.error("%s: cannot write %s (%s); holding what is not written to try again, detection goes on",
                      self.output, self.where, why(exc))

    def _hold(self, item: Pending) -> None:
        self.pending.append(item)
        self.held_bytes += item.size
        while self.pending and (len(self.pending) > self.max_items or self.held_bytes > self.max_bytes):
            oldest = self.pending.popleft()
            self.held_bytes -= oldest.size
            self.given_up.append(oldest)
            if len(self.given_up) == 1:
                log.error("%s: too much waiting to be written to %s; giving up the oldest %ss (named at the end)",
                          self.output, self.where, self.noun)


class AppendFile:
    """A file written by whole appends: each lands completely or not at all.

    It is created when :meth:`open` is called (not before, so a run that never starts leaves an
    existing file as it was). Unless ``append``, what it held is replaced by the first write, or
    emptied by :meth:`finish` when nothing was written; a run that failed before writing anything
    leaves an existing file untouched and removes one it created.
    """

    def __init__(self, path: str | Path, *, append: bool = False, sync: bool = False) -> None:
        self.path = Path(path)
        self.append = append
        self.sync = sync
        self.created = False
        self.written = 0
        self._fd: int | None = None
        self._replaced = append

    def open(self) -> None:
        if self._fd is not None:
            return
        existed = self.path.exists()
        if self.path.parent != Path(""):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
        self.created = not existed

    def write(self, data: bytes) -> None:
        """Append ``data`` whole (and flush it to the disk when ``sync``), or raise with the file as it was."""
        self.open()
        assert self._fd is not None
        if not self._replaced:
            self._truncate()
            self._replaced = True
        start = self._size()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            if self.sync:
                os.fsync(self._fd)
        except OSError:
            if start is not None:
                try:
                    os.ftruncate(self._fd, start)  # no torn line for the retry to follow
                except OSError:
                    pass
            raise
        self.written += 1

    def finish(self, *, failed: bool) -> None:
        """Close: empty a replaced file nothing was written to, or (``failed``) leave it as it was."""
        if self._fd is None:
            return
        try:
            if not self.written:
                if failed and self.created:
                    os.unlink(self.path)
                elif not failed and not self._replaced:
                    self._truncate()
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._fd = None

    def _size(self) -> int | None:
        """Length of a regular file (None for a device or a pipe, which cannot be cut back)."""
        assert self._fd is not None
        info = os.fstat(self._fd)
        return info.st_size if stat.S_ISREG(info.st_mode) else None

    def _truncate(self) -> None:
        if self._size() is not None:
            assert self._fd is not None
            os.ftruncate(self._fd, 0)
