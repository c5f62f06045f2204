"""What every output is: something that receives events (and, if it wants, every frame's record).

Sinks are context managers. The pipeline calls them through :class:`SinkSet`, which logs a failing
sink and carries on, so a full disk or a dead webhook never stops detection; file outputs also hold
what they could not write and try again (:mod:`~vidwatch.sinks.delivery`). At the end every sink
says what it could not deliver (:meth:`Sink.losses`), which the run names and turns into its exit
code. A sink reads only the
gate's :class:`~vidwatch.record.FrameRecord` and events (and, where it needs to know the run's
scores and kinds before the first frame, the :class:`~vidwatch.record.RecordLayout` it is built
with); never the config's thresholds, which the gate may have raised.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from vidwatch.events import Event
from vidwatch.record import FrameRecord
from vidwatch.sinks.delivery import Loss, why

log = logging.getLogger(__name__)


class Sink:
    """Base class with no-op hooks; override the ones you need."""

    name = "sink"
    shows_pictures = False
    """Whether it keeps or shows the decoded pictures themselves (snapshots, clips, a preview): only
    then must the decoder deliver every pixel exactly; otherwise it may take shortcuts (see
    :attr:`~vidwatch.sources.base.Source.fast_decode`)."""

    failed_calls = 0
    """Calls that raised (counted by :class:`SinkSet`); what they should have written is lost."""
    last_error: BaseException | None = None

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        except Exception as error:  # closing is writing too: a failure is named, never the end of the run
            self.failed_calls += 1
            self.last_error = error
            log.error("output %s failed while closing (%s); detection is done", self.name, why(error))

    def losses(self) -> list[Loss]:
        """What this output could not deliver, for the end-of-run summary (after :meth:`close`).

        Outputs that hold and retry their writes override this to name exactly what was lost.
        """
        if not self.failed_calls:
            return []
        count = self.failed_calls
        return [Loss(self.name, "", f"{count} call{'' if count == 1 else 's'} failed (see the log)",
                     why(self.last_error) if self.last_error else "failed")]

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
            sink.failed_calls += 1
            sink.last_error = exc
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
