"""Finished events as JSON Lines, one object per line, flushed as each event ends.

Flushing per event (not buffering until close) means a crash or power cut loses nothing already
reported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from vidwatch.errors import UserError
from vidwatch.events import Event
from vidwatch.sinks.base import Sink


class JsonlSink(Sink):
    name = "events-file"

    def __init__(self, path: str | Path, *, append: bool = False) -> None:
        self.path = Path(path)
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] | None = open(self.path, "a" if append else "w", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write events file {self.path}: {exc.strerror}; "
                            f"choose a writable path for --events") from None

    def event_ended(self, event: Event) -> None:
        self.write(event)

    def write(self, event: Event) -> None:
        assert self._file is not None
        self._file.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
