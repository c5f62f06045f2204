"""The capture loop: source -> preprocess -> detectors -> gate -> sinks.

Thin on purpose: each stage lives in its own module and this one only wires them, re-baselines the
motion models after a scene change, turns a live source's stream notices into events (re-learning
every model after a reconnect), and makes sure an open event is closed and written on every exit
path (end of input, stop request, Ctrl-C, an exception).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from vidwatch.config import Config
from vidwatch.detectors.base import Score
from vidwatch.events import REBASELINE_KINDS, STREAM_LOST, Event
from vidwatch.gate import EventRule, Gate
from vidwatch.preprocess import Preprocessor
from vidwatch.scoring import DetectorRunner, score_in_parallel, use_one_opencv_thread
from vidwatch.sinks.base import Sink, SinkSet
from vidwatch.sources import Source, StreamNotice

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunStats:
    """What a run saw and produced."""

    source: str
    frames: int = 0
    dropped: int = 0
    latency: float | None = None
    """Seconds from a live (or paced) frame's arrival to the end of its analysis, for the latest frame."""
    elapsed: float = 0.0
    media_time: float = 0.0
    events: list[Event] = field(default_factory=list)
    stopped: bool = False
    sink_failures: dict[str, int] = field(default_factory=dict)
    incomplete: str | None = None
    """A file that ended before its declared length: what was missing (see Source.incomplete)."""

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0


class _Collector(Sink):
    """Keeps finished events for the end-of-run summary."""

    name = "summary"

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def event_ended(self, event: Event) -> None:
        self.events.append(event)


def build_gate(config: Config, *, rules: Mapping[str, EventRule] | None = None,
               thresholds: Mapping[str, float] | None = None, source_name: str = "") -> Gate:
    """The gate for ``config`` (optionally with other rules or thresholds, as tuning replays them)."""
    rules = config.events if rules is None else rules
    if thresholds is None:
        thresholds = config.thresholds()
    return Gate(rules, {kind: rule.detectors or () for kind, rule in rules.items()}, thresholds,
                adaptive={name: spec.params.adaptive for name, spec in config.detectors.items()},
                sustained={name: spec.params.sustained for name, spec in config.detectors.items()},
                source=source_name)


class Analyzer:
    """Per-frame analysis state for one source: preprocessing, detectors and the gate."""

    def __init__(self, config: Config, *, parallel: bool, source_name: str = "") -> None:
        self.preprocess = Preprocessor(config.analysis, config.zones)
        used = {name for rule in config.events.values() for name in rule.detectors or ()}
        # a detector no event kind listens to would only cost time
        self.detectors = {name: spec.create() for name, spec in config.detectors.items() if name in used}
        self.score = DetectorRunner(self.detectors, parallel=parallel)
        self.gate = build_gate(config, source_name=source_name)
        baseline_feeds = {n for k, r in config.events.items() if k in REBASELINE_KINDS for n in r.detectors}
        self._rebaselined = [d for n, d in self.detectors.items() if n not in baseline_feeds]

    def rebaseline(self) -> None:
        """Make the motion models re-learn the scene (after a cut, a moved camera or a reconnect)."""
        self.preprocess.reset()
        for detector in self._rebaselined:
            detector.reset()

    def restart(self) -> None:
        """Forget every model and partial run (after a reconnect): nothing before it is compared with after."""
        self.preprocess.reset()
        for detector in self.detectors.values():
            detector.reset()
        self.gate.clear_runs()


def _stream_notice(notice: StreamNotice, analysed: int, analyzer: Analyzer, out: SinkSet) -> None:
    """Report a stream loss or restore as an event; close open events at a loss, start afresh at a restore.

    A loss sits at the last analysed frame, a restore at the first frame after it.
    """
    frame = analysed
    if notice.kind == STREAM_LOST:
        frame = max(0, analysed - 1)
        for event in analyzer.gate.flush():
            out.event_ended(event)
    else:
        analyzer.restart()
    event = notice.to_event(frame, analyzer.gate.source)
    out.event_started(event)
    out.event_ended(event)


def run_pipeline(
    source: Source,
    config: Config,
    sinks: list[Sink],
    *,
    stop: threading.Event | None = None,
    on_frame: Callable[[RunStats], None] | None = None,
    label_events: bool = False,
) -> RunStats:
    """Run ``source`` through the configured detectors until it ends or ``stop`` is set.

    Open events are closed and handed to ``sinks`` on every exit path; closing the sinks is the
    caller's job (use them as context managers), so one set of sinks can serve several sources.
    """
    use_one_opencv_thread()
    stats = RunStats(source=source.name)
    analyzer = Analyzer(config, source_name=source.name if label_events else "",
                        parallel=score_in_parallel(source.paced))
    out = SinkSet([*sinks, _Collector(stats.events)])
    gate = analyzer.gate
    source.fast_decode = not any(sink.shows_pictures for sink in sinks)
    started = time.perf_counter()
    try:
        with source:
            for frame in source:
                if isinstance(frame, StreamNotice):
                    _stream_notice(frame, stats.frames, analyzer, out)
                    continue
                analysis = analyzer.preprocess(frame)
                scores: dict[str, Score] = analyzer.score(analysis)
                result = gate.update(analysis, scores)
                if result.rebaseline:
                    analyzer.rebaseline()
                out.frame(analysis, scores, gate.active_kinds)
                for event in result.started:
                    out.event_started(event)
                for event in result.ended:
                    out.event_ended(event)
                stats.frames += 1
                stats.media_time = analysis.time
                stats.dropped = source.dropped
                if frame.received is not None:
                    stats.latency = time.monotonic() - frame.received
                if on_frame is not None:
                    stats.elapsed = time.perf_counter() - started
                    on_frame(stats)
                if stop is not None and stop.is_set():
                    stats.stopped = True
                    break
    finally:
        analyzer.score.close()
        for event in gate.flush():
            out.event_ended(event)
        stats.dropped = source.dropped
        stats.stopped = stats.stopped or (stop is not None and stop.is_set())
        stats.incomplete = source.incomplete
        stats.elapsed = time.perf_counter() - started
        stats.sink_failures = dict(out.failures)
    return stats
