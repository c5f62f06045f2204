"""What every output is: something that receives events (and, if it wants, every frame's record).

Sinks are context managers. The pipeline calls them through :class:`SinkSet`, which logs a failing
sink and carries on, so a full disk or a dead webhook never stops detection. A sink reads only the
gate's :class:`~vidwatch.record.FrameRecord` and events (and, where it needs to know the run's
scores and kinds before the first frame, the :class:`~vidwatch.record.RecordLayout` it is built
with); never the config's thresholds, which the gate may have raised.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from vidwatch.events import Event
from vidwatch.record import FrameRecord

log = logging.getLogger(__name__)


class Sink:
    """Base class with no-op hooks; override the ones you need."""

    name = "sink"
    shows_pictures = False
    """Whether it keeps or shows the decoded pictures themselves (snapshots, clips, a preview): only
    then must the decoder deliver every pixel exactly; otherwise it may take shortcuts (see
    :attr:`~vidwatch.sources.base.Source.fast_decode`)."""

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frame(self, record: FrameRecord) -> None:
        """Called for every analysed frame with the gate's record, before the events it started and ended."""

    def event_started(self, event: Event) -> None:
        """An event just opened (its end fields will still grow)."""

    def event_ended(self, event: Event) -> None:
        """An event is final; write it now, not at close."""

    def close(self) -> None:
        """Flush and release; called once on every exit path."""


class SinkSet:
    """Fans calls out to sinks in order, isolating failures.

    Order matters: sinks that add fields to an event (snapshots, clips) come before the ones that
    write it (JSON Lines).
    """

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)
        self.failures: dict[str, int] = {}
        self.wants_frames = [s for s in self.sinks if type(s).frame is not Sink.frame]

    def _call(self, sink: Sink, method: str, *args: object) -> None:
        try:
            getattr(sink, method)(*args)
        except Exception as exc:  # a sink must never stop detection
            count = self.failures.get(sink.name, 0) + 1
            self.failures[sink.name] = count
            if count == 1 or count % 100 == 0:
                log.error("output %s failed in %s (%s: %s); detection goes on%s", sink.name, method,
                          type(exc).__name__, exc, f" [{count} failures]" if count > 1 else "")

    def frame(self, record: FrameRecord) -> None:
        for sink in self.wants_frames:
            self._call(sink, "frame", record)

    def event_started(self, event: Event) -> None:
        for sink in self.sinks:
            self._call(sink, "event_started", event)

    def event_ended(self, event: Event) -> None:
        for sink in self.sinks:
            self._call(sink, "event_ended", event)

    def close(self) -> None:
        for sink in self.sinks:
            self._call(sink, "close")
