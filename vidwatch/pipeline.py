"""The capture loop: source -> preprocess -> detectors -> gate -> record -> sinks.

Thin on purpose: each stage lives in its own module and this one only wires them. It opens a
source the way every run opens it (:func:`open_for_run`), runs it (:func:`run_source`, the only way
any caller runs one: the command line, ``eval``, batch workers, the score recorder, the benchmarks),
re-baselines the motion models when the gate's record says so, turns a live source's stream
notices into events (re-learning every model after a reconnect), and makes sure an open event is
closed and written on every exit path (end of input, stop request, Ctrl-C, an exception).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from vidwatch.config import Config
from vidwatch.detectors.base import Score
from vidwatch.events import LIGHTING, REBASELINE_KINDS, SCENE_CHANGE, STREAM_LOST, Event
from vidwatch.frames import AnalysisFrame
from vidwatch.gate import EventRule, Gate
from vidwatch.objects.params import OBJECTS
from vidwatch.objects.stage import ObjectStage, awaited_for
from vidwatch.preprocess import Preprocessor
from vidwatch.record import RecordLayout, Track
from vidwatch.scoring import DetectorRunner, score_in_parallel, use_one_opencv_thread
from vidwatch.sinks.base import Sink, SinkSet
from vidwatch.sources import RealtimeSource, Source, StreamNotice, open_source
from vidwatch.timing import clip_seconds

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
    """Time of the last analysed frame (seconds from the start of the source)."""
    first_time: float = 0.0
    """Time of the first analysed frame."""
    source_fps: float | None = None
    """The frame rate the source reports (None when it reports none)."""
    events: list[Event] = field(default_factory=list)
    stopped: bool = False
    sink_failures: dict[str, int] = field(default_factory=dict)
    """Output name -> calls that failed (logged as they happened; named again in the summary)."""
    incomplete: str | None = None
    """A file that ended before its declared length: what was missing (see Source.incomplete)."""

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds(self) -> float:
        """How long the analysed video lasts (what false events per hour are counted over)."""
        return clip_seconds(self.frames, self.source_fps, self.first_time, self.media_time)


class _Collector(Sink):
    """Keeps finished events for the end-of-run summary."""

    name = "summary"

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def event_ended(self, event: Event) -> None:
        self.events.append(event)


def foreground_detectors(config: Config) -> tuple[str, ...]:
    """The configured background models whose foreground the object stage tracks (when it runs)."""
    if not config.tracks_objects:
        return ()
    return tuple(name for name, spec in config.detectors.items() if spec.cls.foreground)


def object_stage(config: Config) -> ObjectStage | None:
    """The object stage of ``config`` (None when it does not track objects), learning its fine model like
    the first background model it tracks."""
    if not config.tracks_objects:
        return None
    names = foreground_detectors(config)
    return ObjectStage(config.objects, names, model=config.detectors[names[0]].params if names else None)


def used_detectors(config: Config) -> list[str]:
    """The configured detectors some event kind or the object stage listens to, in config order (only
    these run)."""
    used = {name for rule in config.events.values() for name in rule.detectors or ()}
    used.update(foreground_detectors(config))
    return [name for name in config.detectors if name in used]


def record_layout(config: Config) -> RecordLayout:
    """What every :class:`~vidwatch.record.FrameRecord` of a run with ``config`` will hold."""
    names = used_detectors(config)
    metrics = {name: config.detectors[name].cls.metric_names for name in names}
    if config.tracks_objects:
        metrics[OBJECTS] = ObjectStage.metric_names
    return RecordLayout(
        detectors=tuple(metrics),
        metrics=metrics,
        kinds=tuple(config.events),
        feeds={kind: tuple(rule.detectors or ()) for kind, rule in config.events.items()},
        decision_lag=max((_may_grow_for(rule, config) for rule in config.events.values()), default=0.0),
    )


def _may_grow_for(rule: EventRule, config: Config) -> float:
    """Seconds after its last frame over threshold an event of ``rule`` may still grow: its post-roll and
    merge gap, and where things decide it, the time a track that may still count is awaited."""
    awaited = awaited_for(config.objects) if OBJECTS in (rule.detectors or ()) else 0.0
    return rule.post_roll + rule.merge_gap + awaited


def build_gate(config: Config, *, rules: Mapping[str, EventRule] | None = None,
               thresholds: Mapping[str, float] | None = None, source_name: str = "",
               label_events: bool = False) -> Gate:
    """The gate for ``config`` (optionally with other rules or thresholds, as tuning replays them)."""
    rules = config.events if rules is None else rules
    if thresholds is None:
        thresholds = config.thresholds()
    return Gate(rules, {kind: rule.detectors or () for kind, rule in rules.items()}, thresholds,
                adaptive={name: spec.params.adaptive for name, spec in config.detectors.items()},
                sustained={name: spec.params.sustained for name, spec in config.detectors.items()},
                source=source_name, label_events=label_events)


class Analyzer:
    """Per-frame analysis state for one source: preprocessing, detectors, the object stage and the gate."""

    def __init__(self, config: Config, *, parallel: bool, source_name: str = "", label_events: bool = False) -> None:
        self.preprocess = Preprocessor(config.analysis, config.zones)
        # a detector no event kind listens to would only cost time
        self.detectors = {name: config.detectors[name].create() for name in used_detectors(config)}
        self.score = DetectorRunner(self.detectors, parallel=parallel)
        self.objects = object_stage(config)
        self.gate = build_gate(config, source_name=source_name, label_events=label_events)
        baseline_feeds = {n for k, r in config.events.items() if k in REBASELINE_KINDS for n in r.detectors}
        self._rebaselined = [d for n, d in self.detectors.items() if n not in baseline_feeds]

    def evidence(self, frame: AnalysisFrame) -> tuple[dict[str, Score], tuple[Track, ...]]:
        """Every detector's score for ``frame``, the object stage's (which tells the background models
        what their foreground was), and the tracks to show."""
        scores: dict[str, Score] = self.score(frame)
        if self.objects is None:
            return scores, ()
        found = self.objects.update(frame, scores)
        scores[OBJECTS] = found.score
        for name in self.objects.mask_from:
            self.detectors[name].guide(found.hints)
        return scores, found.tracks

    def rebaseline(self, kind: str = SCENE_CHANGE) -> None:
        """Make the motion models re-learn the scene after a cut or a moved camera (``scene_change``),
        or follow the new light after a ``lighting`` change where they can: a camera whose exposure
        hunts every few seconds would otherwise never keep a model long enough to see a slow walker,
        and things already tracked would be forgotten at each step."""
        if kind == LIGHTING:
            lost = [name for name, detector in self.detectors.items()
                    if detector in self._rebaselined and not detector.relight()]
            for name in lost:
                self.detectors[name].reset()
            if self.objects is not None and any(name in self.objects.mask_from for name in lost):
                self.objects.reset()  # the masks it tracks start afresh
            elif self.objects is not None:
                self.objects.relit()
            return
        self.preprocess.reset()
        for detector in self._rebaselined:
            detector.reset()
        if self.objects is not None:
            self.objects.reset()

    def restart(self) -> None:
        """Forget every model and partial run (after a reconnect): nothing before it is compared with after."""
        self.preprocess.reset()
        for detector in self.detectors.values():
            detector.reset()
        if self.objects is not None:
            self.objects.reset()
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
    event = notice.to_event(frame, analyzer.gate.event_label)
    out.event_started(event)
    out.event_ended(event)


def open_for_run(spec: str | Source, config: Config, *, stop: threading.Event | None = None,
                 realtime: bool = False) -> Source:
    """A source opened as every run opens it: from its spec (or as given), paced when ``realtime``.

    ``stop`` lets a live source waiting for frames end promptly; a file played ``realtime`` is paced
    at its own frame rate. Opening twice (a source already opened here) changes nothing.
    """
    source = spec if isinstance(spec, Source) else open_source(spec, config.source, stop=stop)
    if realtime and not source.live and not source.paced:
        source = RealtimeSource(source, stop=stop)
    return source


def run_source(
    spec: str | Source,
    config: Config,
    sinks: Sequence[Sink],
    *,
    stop: threading.Event | None = None,
    on_frame: Callable[[RunStats], None] | None = None,
    label_events: bool = False,
    realtime: bool = False,
) -> RunStats:
    """Open ``spec``, run it through the configured detectors until it ends or ``stop`` is set, close it.

    Per frame the sinks get :meth:`~vidwatch.sinks.base.Sink.frame` with the gate's record, then
    ``event_started`` for the events it opened and ``event_ended`` for those it closed. Open events
    are closed and handed to ``sinks`` on every exit path; closing the sinks is the caller's job
    (use them as context managers), so one set of sinks can serve several sources. With
    ``label_events`` every event names its source (a run of several sources).
    """
    source = open_for_run(spec, config, stop=stop, realtime=realtime)
    use_one_opencv_thread()
    stats = RunStats(source=source.name, source_fps=source.fps)
    analyzer = Analyzer(config, parallel=score_in_parallel(source.paced), source_name=source.name,
                        label_events=label_events)
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
                scores, tracks = analyzer.evidence(analysis)
                record = gate.update(analysis, scores, tracks)
                if record.rebaseline:
                    analyzer.rebaseline(record.rebaseline)
                out.frame(record)
                for event in record.started:
                    out.event_started(event)
                for event in record.ended:
                    out.event_ended(event)
                if stats.frames == 0:
                    stats.first_time = analysis.time
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
