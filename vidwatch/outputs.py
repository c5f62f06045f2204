"""Which outputs a run writes, built from the command line's choices.

One place decides the order of the sinks (those that add fields to an event when it ends, such as
snapshot paths, come before the events file that writes it; clip paths are set when the event
starts, before anything is written) and which outputs need the frames in this process, so the
command line only forwards what the user asked for. It is also where the config ends for outputs:
sinks are built from the run's :class:`~vidwatch.record.RecordLayout` and their own settings.

Every output is checked when it is built (a folder that cannot be written, a missing ffmpeg), before
any source opens; files are opened only once the first source has opened, so a run that cannot
start leaves them as they were. At the end :meth:`RunOutputs.losses` collects what each output
could not deliver, for the summary and the exit code.
"""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from vidwatch.config import Config
from vidwatch.errors import UserError
from vidwatch.pipeline import record_layout
from vidwatch.sinks import JsonlSink, LogSink, Sink
from vidwatch.sinks.delivery import Loss
from vidwatch.sources import Source

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutputChoices:
    """What the user asked ``vidwatch run`` to write (paths, or None for outputs not wanted)."""

    events: str | None = None
    snapshots: str | None = None
    clips: str | None = None
    scores: str | None = None
    annotate: str | None = None
    show: bool = False
    append: bool = False
    """Add to an existing events file instead of replacing it."""

    def frame_outputs(self) -> list[str]:
        """Flags of outputs that need every frame of a source in this process, in order (not possible
        when a run is shared out over processes or triaged; snapshots, clips and scores are written
        beside each piece's analysis)."""
        wanted = (("--annotate", self.annotate), ("--show", self.show))
        return [flag for flag, value in wanted if value]


class RunOutputs:
    """The sinks of one run; per-source sinks (clips, the annotated video) are opened per source."""

    def __init__(self, choices: OutputChoices, config: Config, stack: ExitStack, stop: threading.Event,
                 *, several_sources: bool) -> None:
        from vidwatch.sinks.annotate import AnnotateSink
        from vidwatch.sinks.hooks import HookSink
        from vidwatch.sinks.places import writable_dir
        from vidwatch.sinks.preview import PreviewSink, display_problem
        from vidwatch.sinks.scores_csv import ScoresCsvSink
        from vidwatch.sinks.snapshots import SnapshotSink
        from vidwatch.sinks.video import writer_method

        if choices.annotate and several_sources:
            raise UserError("--annotate writes one video: give a single SOURCE (run once per source)")
        self.choices = choices
        self.layout = record_layout(config)
        self.params = config.outputs
        self.sinks: list[Sink] = [stack.enter_context(LogSink())]
        self._files: list[JsonlSink | ScoresCsvSink] = []
        """Files opened once the first source has opened."""
        self._per_source: list[Sink] = []
        # checked now, before any source opens; their sinks are made per source
        if choices.clips:
            writable_dir(choices.clips, "--clips")
            writer_method(self.params.video_writer)
        if choices.annotate:
            AnnotateSink.check(Path(choices.annotate), self.params)
        if choices.snapshots:
            self.sinks.append(stack.enter_context(SnapshotSink(choices.snapshots, self.layout, self.params)))
        if choices.events:
            self._files.append(stack.enter_context(JsonlSink(choices.events, append=choices.append)))
            self.sinks.append(self._files[-1])
        if choices.scores:
            self._files.append(stack.enter_context(ScoresCsvSink(choices.scores, self.layout,
                                                                 with_source=several_sources)))
            self.sinks.append(self._files[-1])
        if config.hooks.enabled:
            self.sinks.append(stack.enter_context(HookSink(config.hooks)))
        if choices.show:
            problem = display_problem()
            if problem:
                log.warning("--show: %s; running without the preview window", problem)
            else:
                self.sinks.append(stack.enter_context(PreviewSink(stop)))

    def for_source(self, source: Source, stack: ExitStack) -> list[Sink]:
        """All sinks for one (opened) source; ``stack`` closes the per-source ones when the source is done."""
        from vidwatch.sinks.annotate import AnnotateSink
        from vidwatch.sinks.clips import ClipSink

        self.open_files()
        own: list[Sink] = []
        if self.choices.clips:  # a clip holds one source's frames: its buffer ends with the source
            own.append(stack.enter_context(ClipSink(self.choices.clips, self.layout, self.params,
                                                    source=source.name, paced=source.paced)))
        if self.choices.annotate:
            own.append(stack.enter_context(AnnotateSink(self.choices.annotate, self.params, fps=source.fps)))
        self._per_source += own
        return [*self.sinks, *own]

    def open_files(self) -> None:
        """A source has opened (or, with ``--jobs``, finished): now the events file and the scores CSV may
        change on disk. Opening twice changes nothing."""
        for file in self._files:
            file.open()

    def losses(self) -> list[Loss]:
        """What every output could not deliver (call once they are closed), one entry per output."""
        return [loss for sink in [*self.sinks, *self._per_source] for loss in sink.losses()]
