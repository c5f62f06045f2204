"""Finished events as JSON Lines, one object per line, flushed to the disk as each event ends.

Flushing per event (not buffering until close) means a crash or power cut loses nothing already
reported. The file is opened when the first source has opened (:meth:`JsonlSink.open`), so a run
that cannot start leaves an existing file as it was; it is replaced by the first event written
(``append`` adds to it instead), and a run that fails before writing any event leaves no empty file
behind. A line that cannot be written (a full disk) is held and written when it can be, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType

from vidwatch.events import Event
from vidwatch.sinks.base import Sink
from vidwatch.sinks.delivery import AppendFile, Loss, Outbox, Pending
from vidwatch.sinks.places import writable_file


class JsonlSink(Sink):
    name = "events-file"

    def __init__(self, path: str | Path, *, append: bool = False) -> None:
        self.path = writable_file(path, "--events", "events file")
        self._file = AppendFile(self.path, append=append, sync=True)
        self.outbox = Outbox(self.name, self.path, noun="event")

    def open(self) -> None:
        """Create the file (or open it to append); before that nothing on disk has changed."""
        try:
            self._file.open()
        except OSError:
            pass  # the first write tries again, and is held if it fails too

    def frame(self, _record: object) -> None:
        if self.outbox.pending:  # a disk that was full may have room again
            self.outbox.retry()

    def event_ended(self, event: Event) -> None:
        self.write(event)

    def write(self, event: Event) -> None:
        line = (json.dumps(event.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
        self.outbox.send(Pending(_describe(event), len(line), lambda: self._file.write(line)))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.outbox.close()
        self._file.finish(failed=exc_type is not None)

    def close(self) -> None:
        self.outbox.close()
        self._file.finish(failed=False)

    def losses(self) -> list[Loss]:
        loss = self.outbox.loss()
        return [loss] if loss else []


def _describe(event: Event) -> str:
    source = f" of {event.source}" if event.source else ""
    return f"{event.kind} frames {event.start_frame}-{event.end_frame}{source}"
