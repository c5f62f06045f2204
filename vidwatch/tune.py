"""Fit thresholds, min frames and fusion to labelled (or known-quiet) footage, without re-decoding.

Each clip is decoded once with the base config (:func:`vidwatch.recording.record`); every candidate
setting is then judged by replaying the real gate on the recorded scores and scoring the events
against the truth (:mod:`vidwatch.evaluate`). The objective is the F1 of events over all clips; ties
go to fewer false events, then to the simpler config: fewer values changed from the base, then fewer
detectors (so a base config that is already as good is kept as it is). With ``max_false_per_hour``
the winner must also stay under that false-event budget; clips without truth count as quiet footage
(every event is false), and when no clip has truth the most
sensitive setting within the budget wins: the one over threshold on the largest share of frames,
with min frames kept from the base config.

Kinds that re-baseline the motion models (``scene_change``) are tuned first, on their own scores,
which no reset touches. The other kinds are then tuned with the base config's scene_change rule kept
in the replay, because the recorded motion scores carry the resets that rule caused: that replay is
exact. When the tuned scene_change rule fires on other frames than the base one, the motion figures
are an estimate, and a warning says so (running ``tune`` again with ``-c`` the written config records
with the new resets).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from vidwatch.config import Config, build_config
from vidwatch.errors import UserError
from vidwatch.evaluate import DEFAULT_TOLERANCE, Metrics, Truth, _rate, evaluate
from vidwatch.events import REBASELINE_KINDS
from vidwatch.gate import EventRule, required_over
from vidwatch.objects.params import OBJECTS
from vidwatch.recording import Recording, replay

log = logging.getLogger(__name__)

QUANTILES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0)
"""Where in each detector's recorded score distribution candidate thresholds are placed (midpoints
between neighbours are added, so a threshold can fall into a gap between quiet and busy frames)."""
MIN_FRAMES = (1, 2, 3, 4, 6, 8, 12)
"""Candidate minimum runs of frames over threshold."""
FINALISTS = 5
"""How many of the best threshold/fusion settings get the min-frames sweep."""

QUIET = Truth((), ())
"""The truth of footage known to hold no events."""


@dataclass(frozen=True, slots=True)
class Clip:
    """One recorded clip and its truth (None = known quiet: every event is false)."""

    recording: Recording
    truth: Truth | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One setting of one event kind: which detectors, their thresholds, fusion and min frames."""

    detectors: tuple[str, ...]
    thresholds: tuple[float, ...]
    fusion: str | int
    min_frames: int

    def threshold_map(self) -> dict[str, float]:
        return dict(zip(self.detectors, self.thresholds, strict=True))

    def describe(self) -> str:
        ths = ", ".join(f"{n}>{t:.4g}" for n, t in zip(self.detectors, self.thresholds, strict=True))
        return f"{ths}; fusion {self.fusion}; min_frames {self.min_frames}"


@dataclass(frozen=True, slots=True)
class Trial:
    """A candidate and how it scored over all clips."""

    candidate: Candidate
    metrics: Metrics
    sensitivity: float
    """Share of frames over threshold (after fusion): how readily this setting fires."""
    changed: int
    """Values that differ from the base config (the simplicity tie-break)."""
    feasible: bool

    def quality(self, by_truth: bool) -> tuple[float, ...]:
        """What is being maximised, without the simplicity tie-break."""
        if by_truth:
            return (self.feasible, round(self.metrics.f1, 9), -self.metrics.false_events)
        return (self.feasible, self.sensitivity, -self.candidate.min_frames)

    def key(self, by_truth: bool) -> tuple[float, ...]:
        return (*self.quality(by_truth), -self.changed, -len(self.candidate.detectors))


@dataclass(slots=True)
class KindResult:
    """The tuning outcome for one event kind."""

    kind: str
    base: Trial
    best: Trial
    clips: int
    trials: int


@dataclass(slots=True)
class TuneResult:
    config: Config
    kinds: list[KindResult] = field(default_factory=list)
    trials: int = 0
    warnings: list[str] = field(default_factory=list)


def _round(value: float) -> float:
    """Four significant digits, so the written config holds exactly the values that were scored."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    return float(f"{value:.4g}")


def threshold_grid(values: np.ndarray, base: float) -> list[float]:
    """Candidate thresholds from a detector's recorded scores: quantiles, midpoints, and the base value."""
    values = values[np.isfinite(values)]
    if values.size == 0 or float(values.max()) <= 0:
        return [base]
    points = sorted({_round(v) for v in np.quantile(values, QUANTILES)})
    mids = [_round((a + b) / 2) for a, b in itertools.pairwise(points)]
    return sorted({*points, *mids, base})


def _fusions(n: int) -> list[str | int]:
    if n == 1:
        return ["any"]
    return ["any", *range(2, n), "all"]


class KindSweep:
    """Scores candidates of one event kind on the recorded clips, caching each result."""

    def __init__(self, kind: str, clips: Sequence[Clip], base: Config, *, fixed: Mapping[str, float],
                 tolerance: int, max_false_per_hour: float | None, by_truth: bool) -> None:
        self.kind = kind
        self.base = base
        self.base_rule = base.events[kind]
        self.clips = [(c.recording, c.truth or QUIET) for c in clips if (c.truth or QUIET).covers(kind)]
        self.thresholds = base.thresholds()
        self.fixed = dict(fixed)
        # the re-baselining kinds stay as in the base config, so the recorded resets still hold
        self.context = {k: r for k, r in base.events.items() if k in REBASELINE_KINDS and k != kind}
        self.tolerance = tolerance
        self.budget = max_false_per_hour
        self.by_truth = by_truth
        self.cache: dict[Candidate, Trial] = {}
        names = self.base_rule.detectors or ()
        self.tunable = [n for n in names if n not in self.fixed]
        self.grid = {n: threshold_grid(np.concatenate([r.scores[n] for r, _ in self.clips] or [np.zeros(0)]),
                                       self.thresholds[n]) for n in self.tunable}

    def candidate(self, chosen: Mapping[str, float], fusion: str | int, min_frames: int) -> Candidate:
        """A candidate using ``chosen`` tunable detectors plus every fixed detector of the kind."""
        names = tuple(n for n in self.base_rule.detectors or () if n in chosen or n in self.fixed)
        ths = tuple(chosen.get(n, self.fixed.get(n, self.thresholds[n])) for n in names)
        return Candidate(names, ths, fusion, min_frames)

    def base_candidate(self) -> Candidate:
        names = self.base_rule.detectors or ()
        return Candidate(tuple(names), tuple(self.thresholds[n] for n in names), self.base_rule.fusion,
                         self.base_rule.min_frames)

    def _changed(self, c: Candidate) -> int:
        b = self.base_candidate()
        changed = int(c.detectors != b.detectors) + int(c.fusion != b.fusion) + int(c.min_frames != b.min_frames)
        return changed + sum(1 for n, t in zip(c.detectors, c.thresholds, strict=True) if t != self.thresholds[n])

    def rule(self, c: Candidate) -> EventRule:
        return EventRule(c.detectors, c.fusion, c.min_frames, self.base_rule.post_roll, self.base_rule.merge_gap)

    def trial(self, c: Candidate) -> Trial:
        hit = self.cache.get(c)
        if hit is not None:
            return hit
        rules = {**self.context, self.kind: self.rule(c)}
        thresholds = {**self.thresholds, **c.threshold_map()}
        total, over_frames, frames = Metrics(), 0, 0
        needed = required_over(rules[self.kind], len(c.detectors))
        for rec, truth in self.clips:
            events = replay(rec, rules, thresholds, self.base)
            total = total + evaluate(events, truth, rec.n_frames, tolerance=self.tolerance,
                                     seconds=rec.seconds, kind=self.kind)[self.kind]
            over = sum((rec.scores[n] > t).astype(np.int32) for n, t in zip(c.detectors, c.thresholds, strict=True))
            over_frames += int(np.count_nonzero(np.asarray(over) >= needed))
            frames += len(rec.index)
        rate = total.false_per_hour
        feasible = self.budget is None or (rate is not None and rate <= self.budget + 1e-9)
        result = Trial(c, total, over_frames / frames if frames else 0.0, self._changed(c), feasible)
        self.cache[c] = result
        return result

    def best(self, candidates: Sequence[Candidate]) -> Trial:
        return max((self.trial(c) for c in candidates), key=lambda t: t.key(self.by_truth))

    def _subsets(self) -> list[tuple[str, ...]]:
        n = len(self.tunable)
        sizes = range(2, n + 1) if n <= 3 else (2, n)
        return [s for k in sizes for s in itertools.combinations(self.tunable, k)]

    def run(self) -> KindResult:
        base = self.trial(self.base_candidate())
        if not self.tunable:
            return KindResult(self.kind, base, base, len(self.clips), len(self.cache))
        mf = self.base_rule.min_frames
        # 1. each detector alone, over its whole grid
        singles: dict[str, list[Trial]] = {}
        for name in self.tunable:
            trials = [self.trial(self.candidate({name: t}, "any", mf)) for t in self.grid[name]]
            singles[name] = sorted(trials, key=lambda t: t.key(self.by_truth), reverse=True)
        # 2. detectors together: around each one's best single threshold (lower values help 'all')
        near: dict[str, list[float]] = {}
        for name in self.tunable:
            grid = self.grid[name]
            i = grid.index(singles[name][0].candidate.threshold_map()[name])
            near[name] = sorted({grid[max(i - 3, 0)], grid[i], grid[min(i + 2, len(grid) - 1)]})
        pool = [base, *(t for ts in singles.values() for t in ts[:2])]
        for subset in self._subsets():
            n_all = len(subset) + len(self.fixed)
            for values in itertools.product(*(near[n] for n in subset)):
                for fusion in _fusions(n_all):
                    pool.append(self.trial(self.candidate(dict(zip(subset, values, strict=True)), fusion, mf)))
        # 3. min frames for the finalists
        finalists: list[Candidate] = []
        for t in sorted(pool, key=lambda t: t.key(self.by_truth), reverse=True):
            if t.candidate not in finalists:
                finalists.append(t.candidate)
            if len(finalists) == FINALISTS:
                break
        # without truth, a longer run would buy sensitivity nothing can check: min frames stays
        runs = sorted({*MIN_FRAMES, mf}) if self.by_truth else [mf]
        best = self.best([Candidate(c.detectors, c.thresholds, c.fusion, m) for c in finalists for m in runs])
        # 4. each threshold of the winner over its whole grid, the others held
        best = self._refine(best)
        return KindResult(self.kind, base, best, len(self.clips), len(self.cache))

    def _refine(self, best: Trial) -> Trial:
        for name in [n for n in best.candidate.detectors if n in self.tunable]:
            c = best.candidate
            chosen = {n: t for n, t in c.threshold_map().items() if n in self.tunable}
            trials = [self.trial(self.candidate({**chosen, name: t}, c.fusion, c.min_frames)) for t in self.grid[name]]
            top = max(trials, key=lambda t: t.key(self.by_truth))
            best = max(best, top, key=lambda t: t.key(self.by_truth))
            if self.by_truth:
                best = self._centre(best, name, trials)
        return best

    def _centre(self, best: Trial, name: str, trials: list[Trial]) -> Trial:
        """Among thresholds that score the same, take the middle of the run: the widest margin."""
        q = best.quality(True)
        grid = self.grid[name]
        i = grid.index(best.candidate.threshold_map()[name])
        if trials[i].quality(True) != q:
            return best
        lo, hi = i, i
        while lo > 0 and trials[lo - 1].quality(True) == q:
            lo -= 1
        while hi < len(grid) - 1 and trials[hi + 1].quality(True) == q:
            hi += 1
        if lo <= grid.index(self.thresholds[name]) <= hi:
            return trials[grid.index(self.thresholds[name])]  # the base value is as good: keep it
        return trials[(lo + hi) // 2]


def tuned_config(base: Config, chosen: Mapping[str, Candidate]) -> Config:
    """The base config with each kind's chosen setting; detectors no kind uses any more are dropped."""
    plain = base.to_plain()
    for kind, c in chosen.items():
        rule = plain["events"][kind]
        rule["detectors"], rule["fusion"], rule["min_frames"] = list(c.detectors), c.fusion, c.min_frames
        for name, value in c.threshold_map().items():
            section = plain["objects"] if name == OBJECTS else plain["detectors"][name]
            section["threshold"] = value
    used = {n for r in plain["events"].values() for n in r["detectors"]}
    if OBJECTS in used:  # the object stage tracks the background models' foreground: they stay
        used.update(n for n, spec in base.detectors.items() if spec.cls.foreground)
    plain["detectors"] = {n: d for n, d in plain["detectors"].items() if n in used}
    return build_config(plain)


def tune(clips: Sequence[Clip], base: Config, *, tolerance: int = DEFAULT_TOLERANCE,
         max_false_per_hour: float | None = None) -> TuneResult:
    """Choose each event kind's thresholds, fusion and min frames for ``clips`` (see the module doc)."""
    if not clips:
        raise UserError("tune needs at least one clip")
    by_truth = any(c.truth is not None for c in clips)
    if not by_truth and max_false_per_hour is None:
        raise UserError("no truth for any clip: give --truth FILE per clip, or --max-false-per-hour N "
                        "to tune on footage known to be quiet")
    order = sorted(base.events, key=lambda k: k not in REBASELINE_KINDS)
    chosen: dict[str, Candidate] = {}
    fixed: dict[str, float] = {}
    result = TuneResult(base)
    for kind in order:
        sweep = KindSweep(kind, clips, base, fixed=fixed, tolerance=tolerance,
                          max_false_per_hour=max_false_per_hour, by_truth=by_truth)
        if not sweep.clips:
            log.info("%s: no clip labels this kind; kept as in the base config", kind)
            continue
        outcome = sweep.run()
        result.kinds.append(outcome)
        result.trials += outcome.trials
        chosen[kind] = outcome.best.candidate
        fixed.update(outcome.best.candidate.threshold_map())
        if not outcome.best.feasible:
            result.warnings.append(f"{kind}: no setting stays under {max_false_per_hour:g} false events per "
                                   f"hour on these clips; the closest one was written")
    result.config = tuned_config(base, chosen)
    result.warnings.extend(_rebaseline_drift(clips, base, result.config))
    return result


def _rebaseline_drift(clips: Sequence[Clip], base: Config, tuned: Config) -> list[str]:
    """Warn when the tuned re-baselining kinds fire on other frames than the recording's."""
    kinds = [k for k in base.events if k in REBASELINE_KINDS and k in tuned.events]
    if not kinds:
        return []

    def frames(config: Config, rec: Recording) -> set[int]:
        rules = {k: config.events[k] for k in kinds}
        ths = config.thresholds()
        return {e.start_frame for e in replay(rec, rules, ths, config)}

    drift = sum(len(frames(base, c.recording) ^ frames(tuned, c.recording)) for c in clips)
    if not drift:
        return []
    return [f"the tuned {'/'.join(kinds)} rule fires on {drift} frame(s) where the base one did not (or the "
            f"reverse); motion was scored with the base config's detector resets, so confirm with "
            f"`vidwatch eval -c` on the written config, or run tune again with it as -c"]


def format_result(result: TuneResult, *, by_truth: bool) -> str:
    """What was chosen for each kind and what it reached, next to the base config's figures."""
    lines = []
    for k in result.kinds:
        lines.append(f"{k.kind} ({k.clips} clip{'s' if k.clips != 1 else ''}, {k.trials} settings tried)")
        for label, trial in (("base", k.base), ("tuned", k.best)):
            m = trial.metrics
            rate = m.false_per_hour
            figures = (f"F1 {m.f1:.3f}  recall {_rate(m.recall)}  precision {_rate(m.precision)}  "
                       if by_truth else f"fires on {100 * trial.sensitivity:.2f}% of frames  ")
            lines.append(f"  {label:<6} {trial.candidate.describe()}")
            lines.append(f"         {figures}false events {m.false_events}"
                         f" ({'-' if rate is None else f'{rate:.1f}'}/hour)")
    return "\n".join(lines)
