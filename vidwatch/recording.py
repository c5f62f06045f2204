"""Record every detector's per-frame score once, then replay the event gate on it as often as needed.

Tuning thresholds, min frames and fusion only changes what the gate decides, never what a detector
scores, so one decode is enough: the scores are kept as numpy arrays (a minute of video is a few
thousand floats per detector) and :func:`replay` runs the real :class:`~vidwatch.gate.Gate` on them,
so a replayed config gives exactly the events the pipeline would.

What a replay cannot redo is whatever the pipeline did *because of* a decision: after a
``scene_change`` it resets the motion models, and a stage that uses its own threshold while it runs
(the object stage confirms things, and tells the background model what to hold, at the threshold of
its score) learnt under the config the scores were recorded with. Replays that keep those settings are
exact; others are close, and ``tune`` checks what it writes by running it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from vidwatch.config import Config
from vidwatch.detectors.base import Score
from vidwatch.events import Event
from vidwatch.frames import AnalysisFrame
from vidwatch.gate import EventRule
from vidwatch.pipeline import build_gate, run_source
from vidwatch.record import FrameRecord
from vidwatch.sinks.base import Sink
from vidwatch.timing import clip_seconds

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _ReplayFrame:
    """The part of an analysis frame the gate reads."""

    index: int
    time: float
    scale: float


@dataclass(slots=True)
class Recording:
    """Per-frame scores of one source under one config, and the events that config produced."""

    name: str
    index: np.ndarray
    time: np.ndarray
    scores: dict[str, np.ndarray]
    since: dict[str, np.ndarray] = field(default_factory=dict)
    """For scores that carry one (the object stage's), the frame their evidence began on, -1 for none:
    replays open events where the pipeline opened them."""
    awaited: dict[str, np.ndarray] = field(default_factory=dict)
    """Likewise, the frame the evidence a score awaits was first seen on, -1 for none: replays keep
    events open where the pipeline kept them."""
    scale: float = 1.0
    fps: float | None = None
    events: list[Event] = field(default_factory=list)
    _steps: list[tuple[_ReplayFrame, dict[str, Score]]] | None = field(default=None, repr=False)

    @property
    def n_frames(self) -> int:
        return int(self.index[-1]) + 1 if len(self.index) else 0

    @property
    def seconds(self) -> float:
        """Length of the recording in seconds, counted as a run's statistics count it."""
        if not len(self.time):
            return 0.0
        return clip_seconds(len(self.index), self.fps, float(self.time[0]), float(self.time[-1]))

    def steps(self) -> list[tuple[_ReplayFrame, dict[str, Score]]]:
        """(frame, scores) per frame as the gate takes them; built once and shared by every replay."""
        if self._steps is None:
            names = list(self.scores)
            columns = [self.scores[n].tolist() for n in names]
            began = {n: self.since[n].tolist() for n in names if n in self.since}
            awaited = {n: self.awaited[n].tolist() for n in names if n in self.awaited}
            time_of = dict(zip(self.index.tolist(), self.time.tolist(), strict=True))

            def at(frames: dict[str, list[int]], name: str, k: int) -> tuple[int, float] | None:
                first = frames[name][k] if name in frames else -1
                return (first, time_of.get(first, 0.0)) if first >= 0 else None

            def score(name: str, value: float, k: int) -> Score:
                return Score(value, since=at(began, name, k), awaited=at(awaited, name, k))

            self._steps = [
                (_ReplayFrame(int(i), float(t), self.scale),
                 {n: score(n, col[k], k) for n, col in zip(names, columns, strict=True)})
                for k, (i, t) in enumerate(zip(self.index.tolist(), self.time.tolist(), strict=True))
            ]
        return self._steps


class _ScoreRecorder(Sink):
    """Keeps each frame's index, time and score values."""

    name = "recorder"

    def __init__(self) -> None:
        self.index: list[int] = []
        self.time: list[float] = []
        self.values: dict[str, list[float]] = {}
        self.since: dict[str, list[int]] = {}
        self.awaited: dict[str, list[int]] = {}
        self.scale = 1.0

    def frame(self, record: FrameRecord) -> None:
        self.index.append(record.index)
        self.time.append(record.time)
        self.scale = record.frame.scale
        for name, score in record.scores.items():
            self.values.setdefault(name, []).append(float(score.value))
            for frames, mark in ((self.since, score.since), (self.awaited, score.awaited)):
                if mark is not None or name in frames:
                    column = frames.setdefault(name, [-1] * (len(self.values[name]) - 1))
                    column.append(mark[0] if mark is not None else -1)


def record(spec: str, config: Config) -> Recording:
    """Decode ``spec`` once through the pipeline with ``config`` and keep every detector's scores."""
    recorder = _ScoreRecorder()
    stats = run_source(spec, config, [recorder])
    log.info("recorded %s: %d frames in %.1f s", spec, stats.frames, stats.elapsed)
    return Recording(
        name=spec,
        index=np.asarray(recorder.index, dtype=np.int64),
        time=np.asarray(recorder.time, dtype=np.float64),
        scores={n: np.asarray(v, dtype=np.float64) for n, v in recorder.values.items()},
        since={n: np.asarray(v, dtype=np.int64) for n, v in recorder.since.items()},
        awaited={n: np.asarray(v, dtype=np.int64) for n, v in recorder.awaited.items()},
        scale=recorder.scale,
        fps=stats.source_fps,
        events=stats.events,
    )


def replay(recording: Recording, rules: Mapping[str, EventRule], thresholds: Mapping[str, float],
           config: Config) -> list[Event]:
    """The events the gate makes from the recorded scores under ``rules`` and ``thresholds``
    (the other gate settings, adaptive and sustained thresholds, from ``config``)."""
    gate = build_gate(config, rules=rules, thresholds=thresholds)
    events: list[Event] = []
    for frame, scores in recording.steps():
        events.extend(gate.replay(cast(AnalysisFrame, frame), scores))
    events.extend(gate.flush())
    return events
