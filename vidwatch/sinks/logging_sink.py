"""Events as readable log lines: one when an event starts, one when it ends."""

from __future__ import annotations

import logging

from vidwatch.events import Event
from vidwatch.sinks.base import Sink

log = logging.getLogger("vidwatch.events")


class LogSink(Sink):
    name = "log"

    def event_started(self, event: Event) -> None:
        log.info("%sstart %s at frame %d (%.2fs)", _prefix(event), event.kind, event.start_frame,
                 event.start_time)

    def event_ended(self, event: Event) -> None:
        log.info("%send   %s", _prefix(event), event.describe())


def _prefix(event: Event) -> str:
    return f"[{event.source}] " if event.source else ""
