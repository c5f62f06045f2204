"""Fit thresholds, min frames and fusion to labelled (or known-quiet) footage, without re-decoding,
and keep a fit only when it holds on footage it was not fitted to.

Each clip is decoded once with the base config (:func:`vidwatch.recording.record`); every candidate
setting is then judged by replaying the real gate on the recorded scores and scoring the events
against the truth (:mod:`vidwatch.evaluate`), per event kind.

**With truth.** Each kind is fitted only to truth of its own kind; a clip whose truth labels the kind
but has no event of it counts that kind's false events only. Three ways to fit are compared (levels):
``base`` (nothing changes), ``thresholds`` (each threshold of the base rule, the rule kept) and ``full``
(also which detectors, the fusion and min frames). A kind that no clip has an event of is fitted by
raising its thresholds only as far as its false events need (see below) instead. Which level wins is
decided by cross-validation: each clip is held out in turn (k folds with many clips), the level is
fitted on the other clips and scored on the held-out one, and the held-out scores add up to the
level's cross-validated F1. Ties go to the simpler level, so a gain that only fits the training clips
(noise) leaves the base config as it is. The chosen level is then fitted on all clips. Finally the
whole tuned config is cross-validated across kinds; when it scores worse than the base, the result
says so (``refused``) and the command line writes nothing unless forced.

**Quiet footage** (no clip has any truth event): nothing is there to find, so F1 says nothing.
Thresholds are raised only where the footage makes more false events than the budget allows, each
only as far as needed (the smallest raise, found by bisection over the recorded scores) plus a
safety margin; fusion, detectors and min frames stay. What that costs is measured separately by
injecting objects into the footage (:mod:`vidwatch.inject`).

Kinds that re-baseline the motion models (``scene_change``, ``lighting``) are tuned first. The other
kinds are replayed with the base config's rules for those kinds, because the recorded motion scores
carry the resets that those rules caused: that replay is exact. A changed re-baselining rule, or a
changed threshold of a score whose stage uses it while running (the object stage), makes the
replayed figures close rather than exact, which is why the command line runs what it writes.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidwatch.config import Config, build_config
from vidwatch.errors import UserError
from vidwatch.evaluate import DEFAULT_TOLERANCE, Metrics, Truth, across_kinds, evaluate
from vidwatch.events import REBASELINE_KINDS
from vidwatch.gate import EventRule
from vidwatch.params import param
from vidwatch.pipeline import used_detectors
from vidwatch.recording import Recording, replay

log = logging.getLogger(__name__)

QUANTILES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0)
"""Where in each detector's recorded score distribution candidate thresholds are placed (midpoints
between neighbours are added, so a threshold can fall into a gap between quiet and busy frames)."""
MIN_FRAMES = (1, 2, 3, 4, 6, 8, 12)
"""Candidate minimum runs of frames over threshold."""
FINALISTS = 5
"""How many of the best threshold/fusion settings get the min-frames sweep."""
LEVELS = ("base", "thresholds", "full")
"""The ways to fit a kind, simplest first (ties in cross-validation go to the simpler)."""
RAISE = "raise"
"""What ``thresholds`` and ``full`` become for a kind without truth events: raise to the false-event budget."""
MAX_ORDERS = 24
"""Orders in which thresholds are lowered back from blind while raising (all orders of up to 4 scores)."""

QUIET = Truth((), ())
"""The truth of footage known to hold no events (every kind labelled, nothing there)."""


@dataclass(frozen=True, slots=True)
class TuneParams:
    """How ``tune`` fits and checks (its own settings, not part of a run's config)."""

    margin: float = param(0.25, "safety margin of a raised threshold: it is set this share above the "
                          "highest score that must not fire", min=0.0, max=10.0)
    leave_one_out: int = param(10, "with up to this many clips each is held out in turn; with more, they "
                               "are split into `folds`", min=2, max=10000)
    folds: int = param(5, "folds of the cross-validation when there are more clips than `leave_one_out`",
                       min=2, max=100)


@dataclass(frozen=True, slots=True)
class Clip:
    """One recorded clip and its truth (None = known quiet: every event of every kind is false)."""

    recording: Recording
    truth: Truth | None = None

    @property
    def labels(self) -> Truth:
        return self.truth if self.truth is not None else QUIET


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
    """A candidate and how it scored on a set of clips."""

    candidate: Candidate
    metrics: Metrics
    changed: int
    """Values that differ from the base config (the simplicity tie-break)."""
    feasible: bool
    """Within the false-event budget (always, without one)."""

    def quality(self) -> tuple[float, ...]:
        """What is maximised, without the simplicity tie-break."""
        return quality(self.metrics, self.feasible)

    def key(self) -> tuple[float, ...]:
        return (*self.quality(), -self.changed, -len(self.candidate.detectors))


def quality(metrics: Metrics, feasible: bool = True) -> tuple[float, ...]:
    """Within the budget first, then event F1, then fewer false events."""
    return (feasible, round(metrics.f1, 9), -metrics.false_events)


def within(metrics: Metrics, budget: float | None) -> bool:
    """Whether ``metrics`` keep to ``budget`` false events per hour (None: no budget)."""
    if budget is None:
        return True
    rate = metrics.false_per_hour
    return metrics.false_events == 0 if rate is None else rate <= budget + 1e-9


def _round(value: float) -> float:
    """Four significant digits, so the written config holds exactly the values that were scored."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    return float(f"{value:.4g}")


def _round_up(value: float) -> float:
    """The smallest four-significant-digit number >= ``value``: a threshold no lower than a score it
    must not exceed ("over" means strictly greater)."""
    rounded = _round(value)
    if rounded >= value or value <= 0:
        return rounded
    exponent = math.floor(math.log10(value)) - 3
    return _round(rounded + 10.0 ** exponent)


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


def threshold_key(config: Config, name: str) -> str:
    """Where a score's threshold lives in the YAML: ``detectors.NAME.threshold`` for a detector, else
    ``NAME.threshold`` (a stage with a section of its own, as the object stage's ``objects``)."""
    return f"detectors.{name}.threshold" if name in config.detectors else f"{name}.threshold"


class KindReplays:
    """One kind's candidates replayed on single clips, shared by every fold.

    The replay keeps the base config's rules of the re-baselining kinds (other than this one), so the
    recorded resets still hold; events of other kinds do not count for this one. The gate's decisions
    depend on a fixed threshold only through which frames are over it, so candidates whose thresholds
    put the same frames over (thresholds in one gap of the scores) share one replay.
    """

    def __init__(self, kind: str, clips: Sequence[Clip], base: Config, *, tolerance: int) -> None:
        self.kind = kind
        self.base = base
        self.rule = base.events[kind]
        self.thresholds = base.thresholds()
        self.context = {k: r for k, r in base.events.items() if k in REBASELINE_KINDS and k != kind}
        self.tolerance = tolerance
        self.clips = clips
        self.covering = [i for i, c in enumerate(clips) if c.labels.covers(kind)]
        """Indices of the clips whose truth labels this kind."""
        self.learning = {n for n, spec in base.detectors.items() if getattr(spec.params, "adaptive", 0) > 0}
        """Scores whose threshold follows their own baseline: over-ness is not a function of the fixed value alone."""
        self._context_names = tuple(dict.fromkeys(n for r in self.context.values() for n in r.detectors or ()))
        self._cache: dict[tuple[Any, ...], Metrics] = {}
        self._over: dict[tuple[int, str, float], bytes] = {}
        self.candidates: set[tuple[Candidate, int]] = set()

    def event_rule(self, c: Candidate) -> EventRule:
        return EventRule(c.detectors, c.fusion, c.min_frames, self.rule.post_roll, self.rule.merge_gap)

    def base_candidate(self) -> Candidate:
        names = tuple(self.rule.detectors or ())
        return Candidate(names, tuple(self.thresholds[n] for n in names), self.rule.fusion, self.rule.min_frames)

    def _frames_over(self, i: int, name: str, threshold: float) -> Any:
        """What the gate's decision depends on for one score: the frames over a fixed threshold (packed), or
        the threshold itself where the score learns an adaptive threshold."""
        scores = self.clips[i].recording.scores.get(name)
        if name in self.learning or scores is None:
            return threshold
        key = (i, name, threshold)
        hit = self._over.get(key)
        if hit is None:
            hit = self._over[key] = np.packbits(scores > threshold).tobytes()
        return hit

    def on(self, c: Candidate, i: int) -> Metrics:
        """The kind's metrics of candidate ``c`` on clip ``i``."""
        self.candidates.add((c, i))
        thresholds = {**self.thresholds, **c.threshold_map()}
        names = (*c.detectors, *(n for n in self._context_names if n not in c.detectors))
        key = (i, c.detectors, c.fusion, c.min_frames, *(self._frames_over(i, n, thresholds[n]) for n in names))
        hit = self._cache.get(key)
        if hit is None:
            clip = self.clips[i]
            rec = clip.recording
            events = replay(rec, {**self.context, self.kind: self.event_rule(c)}, thresholds, self.base)
            hit = evaluate(events, clip.labels, rec.n_frames, tolerance=self.tolerance, seconds=rec.seconds,
                           fps=rec.fps, kind=self.kind)[self.kind]
            self._cache[key] = hit
        return hit

    def total(self, c: Candidate, indices: Iterable[int]) -> Metrics:
        return sum((self.on(c, i) for i in indices), Metrics())

    def truth_events(self, indices: Iterable[int]) -> int:
        return sum(len(self.clips[i].labels.spans(self.kind)) for i in indices)

    def clips_with_events(self, indices: Iterable[int]) -> int:
        return sum(1 for i in indices if self.clips[i].labels.spans(self.kind))

    @property
    def replays(self) -> int:
        """Replays of the gate it took (fewer than the settings scored: equal patterns share one)."""
        return len(self._cache)


class KindSweep:
    """Fits one kind on a set of training clips (one of :data:`LEVELS`), caching each candidate's total."""

    def __init__(self, replays: KindReplays, indices: Sequence[int], *, fixed: Mapping[str, float],
                 budget: float | None, margin: float) -> None:
        self.replays = replays
        self.indices = list(indices)
        self.kind = replays.kind
        self.rule = replays.rule
        self.thresholds = replays.thresholds
        self.fixed = dict(fixed)
        self.budget = budget
        self.margin = margin
        self.cache: dict[Candidate, Trial] = {}
        names = self.rule.detectors or ()
        self.tunable = [n for n in names if n not in self.fixed]
        self.has_events = replays.truth_events(self.indices) > 0
        self._grid: dict[str, list[float]] | None = None

    def scores(self, name: str) -> np.ndarray:
        """Every recorded score of ``name`` on the training clips."""
        recs = [self.replays.clips[i].recording for i in self.indices]
        return np.concatenate([r.scores[name] for r in recs if name in r.scores] or [np.zeros(0)])

    @property
    def grid(self) -> dict[str, list[float]]:
        if self._grid is None:
            self._grid = {n: threshold_grid(self.scores(n), self.thresholds[n]) for n in self.tunable}
        return self._grid

    def candidate(self, chosen: Mapping[str, float], fusion: str | int, min_frames: int) -> Candidate:
        """A candidate using ``chosen`` tunable detectors plus every fixed detector of the kind."""
        names = tuple(n for n in self.rule.detectors or () if n in chosen or n in self.fixed)
        ths = tuple(chosen.get(n, self.fixed.get(n, self.thresholds[n])) for n in names)
        return Candidate(names, ths, fusion, min_frames)

    def base_candidate(self) -> Candidate:
        """The base rule, with thresholds fixed by kinds tuned before this one."""
        return self.candidate({n: self.thresholds[n] for n in self.tunable}, self.rule.fusion, self.rule.min_frames)

    def _changed(self, c: Candidate) -> int:
        b = self.replays.base_candidate()
        changed = int(c.detectors != b.detectors) + int(c.fusion != b.fusion) + int(c.min_frames != b.min_frames)
        return changed + sum(1 for n, t in zip(c.detectors, c.thresholds, strict=True) if t != self.thresholds[n])

    def trial(self, c: Candidate) -> Trial:
        hit = self.cache.get(c)
        if hit is None:
            total = self.replays.total(c, self.indices)
            hit = Trial(c, total, self._changed(c), within(total, self.budget))
            self.cache[c] = hit
        return hit

    def best(self, candidates: Iterable[Candidate]) -> Trial:
        return max((self.trial(c) for c in candidates), key=Trial.key)

    def fit(self, level: str) -> Trial:
        """The best setting of ``level`` on the training clips."""
        if level == "base" or not self.tunable or not self.indices:
            return self.trial(self.base_candidate())
        if not self.has_events:
            return self.raise_to_budget()
        if level == "thresholds":
            return self.fit_thresholds()
        return self.fit_full()

    # -- levels ---------------------------------------------------------------------------------------

    def fit_thresholds(self) -> Trial:
        """Each threshold over its grid in turn, the others held (twice round); the rule stays the base's."""
        best = self.trial(self.base_candidate())
        for _ in range(2):
            before = best
            best = self._refine(best)
            if best.candidate == before.candidate:
                break
        return best

    def _subsets(self) -> list[tuple[str, ...]]:
        n = len(self.tunable)
        sizes = range(2, n + 1) if n <= 3 else (2, n)
        return [s for k in sizes for s in itertools.combinations(self.tunable, k)]

    def fit_full(self) -> Trial:
        """Staged: each detector alone, then together near their best single thresholds, then min frames for
        the finalists, then each threshold of the winner over its whole grid."""
        base = self.trial(self.base_candidate())
        mf = self.rule.min_frames
        singles: dict[str, list[Trial]] = {}
        for name in self.tunable:
            trials = [self.trial(self.candidate({name: t}, "any", mf)) for t in self.grid[name]]
            singles[name] = sorted(trials, key=Trial.key, reverse=True)
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
        finalists: list[Candidate] = []
        for t in sorted(pool, key=Trial.key, reverse=True):
            if t.candidate not in finalists:
                finalists.append(t.candidate)
            if len(finalists) == FINALISTS:
                break
        runs = sorted({*MIN_FRAMES, mf})
        best = self.best([Candidate(c.detectors, c.thresholds, c.fusion, m) for c in finalists for m in runs])
        return self._refine(best)

    def _refine(self, best: Trial) -> Trial:
        for name in [n for n in best.candidate.detectors if n in self.tunable]:
            c = best.candidate
            chosen = {n: t for n, t in c.threshold_map().items() if n in self.tunable}
            trials = [self.trial(self.candidate({**chosen, name: t}, c.fusion, c.min_frames)) for t in self.grid[name]]
            top = max(trials, key=Trial.key)
            best = max(best, top, key=Trial.key)
            best = self._centre(best, name, trials)
        return best

    def _centre(self, best: Trial, name: str, trials: list[Trial]) -> Trial:
        """Among thresholds that score the same, take the middle of the run: the widest margin."""
        q = best.quality()
        grid = self.grid[name]
        value = best.candidate.threshold_map()[name]
        if value not in grid:
            return best
        i = grid.index(value)
        if trials[i].quality() != q:
            return best
        lo, hi = i, i
        while lo > 0 and trials[lo - 1].quality() == q:
            lo -= 1
        while hi < len(grid) - 1 and trials[hi + 1].quality() == q:
            hi += 1
        base_value = self.thresholds[name]
        if base_value in grid and lo <= grid.index(base_value) <= hi:
            return trials[grid.index(base_value)]  # the base value is as good: keep it
        return trials[(lo + hi) // 2]

    def raise_to_budget(self) -> Trial:
        """Raise thresholds only as far as the false-event budget needs, then add the safety margin.

        Start blind (every tunable threshold at its highest recorded score: nothing fires), then lower
        each one in turn, by bisection over the recorded scores, to the lowest value that keeps within
        the budget, never below the base. The order that ends with the smallest total raise (in ratios)
        wins. Only thresholds move: detectors, fusion and min frames stay the base's.
        """
        base = self.trial(self.base_candidate())
        if self._feasible(base.candidate.threshold_map()):
            return base
        ladders = {n: self._ladder(n) for n in self.tunable}
        blind = {n: ladder[-1] for n, ladder in ladders.items()}
        if not self._feasible(blind):
            return self.trial(self.candidate(blind, self.rule.fusion, self.rule.min_frames))
        best: tuple[float, dict[str, float]] | None = None
        for order in itertools.islice(itertools.permutations(self.tunable), MAX_ORDERS):
            current = dict(blind)
            for name in order:
                current[name] = self._lowest(name, ladders[name], current)
            cost = sum(self._raise_cost(n, t) for n, t in current.items())
            if best is None or cost < best[0] - 1e-12:
                best = (cost, current)
        assert best is not None
        chosen = {n: (_round_up(t * (1.0 + self.margin)) if t > self.thresholds[n] else t)
                  for n, t in best[1].items()}
        if not self._feasible(chosen):  # a higher threshold cannot add events; be safe anyway
            chosen = best[1]
        return self.trial(self.candidate(chosen, self.rule.fusion, self.rule.min_frames))

    def _ladder(self, name: str) -> list[float]:
        """The base threshold, then every distinct recorded score above it (rounded up): the thresholds at
        which the frames over it change. The last one is blind (no recorded score is over it)."""
        base = self.thresholds[name]
        values = self.scores(name)
        above = np.unique(values[np.isfinite(values) & (values > base)])
        return sorted({base, *(_round_up(float(v)) for v in above)})

    def _feasible(self, thresholds: Mapping[str, float]) -> bool:
        """Within the budget (0 false events without one: with nothing of this kind to find, every event
        of it is false)."""
        trial = self.trial(self.candidate(thresholds, self.rule.fusion, self.rule.min_frames))
        return within(trial.metrics, 0.0 if self.budget is None else self.budget)

    def _lowest(self, name: str, ladder: list[float], current: Mapping[str, float]) -> float:
        """The lowest value on ``ladder`` that keeps within the budget with the other thresholds as given
        (bisection: fewer frames over a higher threshold never make an event where there was none)."""
        lo, hi = 0, len(ladder) - 1  # ladder[hi] is feasible (checked by the caller or the previous step)
        if self._feasible({**current, name: ladder[lo]}):
            return ladder[lo]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._feasible({**current, name: ladder[mid]}):
                hi = mid
            else:
                lo = mid
        return ladder[hi]

    def _raise_cost(self, name: str, value: float) -> float:
        base = self.thresholds[name]
        floor = max(base, 1e-6 * max(self._ladder_top(name), 1e-12))
        return math.log(max(value, floor) / floor)

    def _ladder_top(self, name: str) -> float:
        values = self.scores(name)
        return float(values.max()) if values.size else 0.0


# -- cross-validation --------------------------------------------------------------------------------


def make_folds(n: int, params: TuneParams) -> list[list[int]]:
    """Held-out clip indices per fold: each clip alone up to ``leave_one_out`` clips, else ``folds`` folds
    (clip i in fold i mod k, so clips given in a meaningful order spread over the folds)."""
    if n < 2:
        return []
    if n <= params.leave_one_out:
        return [[i] for i in range(n)]
    k = min(params.folds, n)
    return [[i for i in range(n) if i % k == f] for f in range(k)]


def describe_folds(folds: Sequence[Sequence[int]]) -> str:
    if not folds:
        return "no cross-validation (one clip)"
    if all(len(f) == 1 for f in folds):
        return f"leave-one-clip-out ({len(folds)} folds)"
    return f"{len(folds)}-fold"


@dataclass(slots=True)
class LevelScore:
    """One way to fit a kind: fitted on all clips (training figures) and cross-validated."""

    level: str
    fit: Trial
    """Fitted on every clip that labels the kind, scored on them."""
    cv: Metrics | None
    """Each fold's fit scored on its held-out clips, added up (None: fewer than two clips)."""
    per_fold: list[Candidate] = field(default_factory=list)
    """The fit of each fold (on its training clips)."""

    def cv_key(self) -> tuple[float, ...]:
        """The budget on all clips is a constraint (a fit that breaks it is no option), then the score on
        held-out clips."""
        if self.cv is None:
            return (False,)
        return (self.fit.feasible, round(self.cv.f1, 9), -self.cv.false_events)


@dataclass(slots=True)
class KindResult:
    """The tuning outcome for one event kind."""

    kind: str
    clips: int
    levels: list[LevelScore]
    chosen: LevelScore
    settings: int = 0
    """Distinct (setting, clip) replays it took."""
    unchecked: bool = False
    """Fewer than two clips have events of the kind, and the training fit would change it: kept at the
    base unless forced."""

    @property
    def base(self) -> LevelScore:
        return self.levels[0]

    @property
    def best(self) -> Trial:
        return self.chosen.fit


@dataclass(slots=True)
class TuneResult:
    """What ``tune`` chose and what it reached."""

    config: Config
    base: Config
    kinds: list[KindResult] = field(default_factory=list)
    mode: str = "truth"
    """``truth`` (fitted to labelled events, cross-validated) or ``quiet`` (false-event budget only)."""
    folds: list[list[int]] = field(default_factory=list)
    base_total: Metrics | None = None
    """The base config over all kinds and clips (truth mode)."""
    train_total: Metrics | None = None
    """The tuned config over all kinds and clips it was fitted to."""
    cv_total: Metrics | None = None
    """The tuned config's folds over all kinds, each on its held-out clips (None: not possible)."""
    drift: int = 0
    """Frames where the tuned scene_change/lighting rules start events the base ones do not, or the reverse:
    the motion figures there were replayed with the base config's model resets (close, not exact)."""
    refused: str | None = None
    """Why this config should not be written (its cross-validated score is worse than the base's), or None."""
    warnings: list[str] = field(default_factory=list)

    @property
    def trials(self) -> int:
        return sum(k.settings for k in self.kinds)

    @property
    def changed(self) -> bool:
        return any(k.chosen.fit.candidate != k.base.fit.candidate for k in self.kinds)


def _levels_for(replays: KindReplays, indices: Sequence[int]) -> tuple[str, ...]:
    """The levels worth comparing for a kind: raising to the budget when no clip has an event of it."""
    return ("base", RAISE) if replays.truth_events(indices) == 0 else LEVELS


def tune(clips: Sequence[Clip], base: Config, *, tolerance: int = DEFAULT_TOLERANCE,
         max_false_per_hour: float | None = None, params: TuneParams | None = None,
         force: bool = False) -> TuneResult:
    """Choose each event kind's thresholds, fusion and min frames for ``clips`` (see the module doc)."""
    if not clips:
        raise UserError("tune needs at least one clip")
    params = params or TuneParams()
    quiet = all(not c.labels.events for c in clips)
    budget = max_false_per_hour
    if quiet and budget is None:
        budget = 0.0
    folds = [] if quiet else make_folds(len(clips), params)
    order = sorted(base.events, key=lambda k: REBASELINE_KINDS.index(k) if k in REBASELINE_KINDS
                   else len(REBASELINE_KINDS))
    result = TuneResult(base, base, mode="quiet" if quiet else "truth", folds=folds)
    chosen: dict[str, Candidate] = {}
    fixed: dict[str, float] = {}
    fold_fixed: list[dict[str, float]] = [{} for _ in folds]
    fold_chosen: list[dict[str, Candidate]] = [{} for _ in folds]
    for kind in order:
        replays = KindReplays(kind, clips, base, tolerance=tolerance)
        if not replays.covering:
            log.info("%s: no clip labels this kind; kept as in the base config", kind)
            continue
        outcome = _tune_kind(replays, folds, fixed, fold_fixed, budget, params, force=force)
        if outcome.unchecked:
            what = ("the training fit was kept (forced)" if force
                    else "kept as in the base config (--force takes the training fit)")
            result.warnings.append(f"{kind}: only one clip has events of it, so no clip it was not fitted to can "
                                   f"show that a fit finds them elsewhere; {what}")
        result.kinds.append(outcome)
        chosen[kind] = outcome.chosen.fit.candidate
        fixed.update(outcome.chosen.fit.candidate.threshold_map())
        for f, candidate in enumerate(outcome.chosen.per_fold):
            fold_chosen[f][kind] = candidate
            fold_fixed[f].update(candidate.threshold_map())
        if not outcome.chosen.fit.feasible:
            result.warnings.append(f"{kind}: no setting stays under {budget:g} false events per hour on these "
                                   f"clips; the closest one was chosen")
    result.config = tuned_config(base, chosen)
    if not quiet:
        _check_whole(result, clips, fold_chosen, tolerance)
    result.drift = _rebaseline_drift(clips, base, result.config)
    return result


def _tune_kind(replays: KindReplays, folds: Sequence[Sequence[int]], fixed: Mapping[str, float],
               fold_fixed: Sequence[Mapping[str, float]], budget: float | None, params: TuneParams, *,
               force: bool) -> KindResult:
    """Fit every level on all clips and in every fold; choose the level by its cross-validated score.

    A kind without truth events (quiet footage, or clips that label it with none) is raised to its
    false-event budget: nothing of it is there to miss, on held-out clips either. When fewer than two
    clips have events of the kind, no held-out clip can show that a fit finds them elsewhere: a fit
    that changes something is *unchecked*, and the base is kept unless ``force``.
    """
    covering = replays.covering
    scores: list[LevelScore] = []
    for level in _levels_for(replays, covering):
        sweep = KindSweep(replays, covering, fixed=fixed, budget=budget, margin=params.margin)
        score = LevelScore(level, sweep.fit(level), None)
        held_total = Metrics()
        for f, held in enumerate(folds):
            train = [i for i in covering if i not in held]
            fold_sweep = KindSweep(replays, train, fixed=fold_fixed[f], budget=budget, margin=params.margin)
            fitted = fold_sweep.fit(level).candidate
            score.per_fold.append(fitted)
            test = [i for i in held if i in covering]
            held_total = held_total + replays.total(fitted, test)
        if folds and len(covering) >= 2:
            score.cv = held_total
        scores.append(score)
    unchecked = False
    if scores[-1].level == RAISE:
        # no truth of this kind: only its false events count, so it is raised as on quiet footage (held-out
        # clips cannot show what a raise costs here: there is nothing of this kind on them to miss)
        pick = max(scores, key=lambda s: s.fit.key())
    elif scores[0].cv is not None and replays.clips_with_events(covering) >= 2:
        pick = max(scores, key=LevelScore.cv_key)  # max keeps the first of equals: ties go to the simpler
    else:  # one clip labels the kind, or has all its events: no held-out clip can show the fit finds them
        pick = max(scores, key=lambda s: s.fit.key())
        if pick is not scores[0]:
            unchecked = True
            if not force:
                pick = scores[0]
    return KindResult(replays.kind, len(covering), scores, pick, replays.replays, unchecked)


def _composed(base: Config, chosen: Mapping[str, Candidate]) -> tuple[dict[str, EventRule], dict[str, float]]:
    """The rules and thresholds of ``base`` with each kind's chosen candidate."""
    rules = dict(base.events)
    thresholds = base.thresholds()
    for kind, c in chosen.items():
        rule = base.events[kind]
        rules[kind] = EventRule(c.detectors, c.fusion, c.min_frames, rule.post_roll, rule.merge_gap)
        thresholds.update(c.threshold_map())
    return rules, thresholds


def clip_total(clip: Clip, events: Sequence[Any], kinds: Iterable[str], tolerance: int) -> Metrics:
    """One clip's metrics over every kind its truth labels among ``kinds`` (its time counted once)."""
    rec = clip.recording
    by_kind: dict[str, Metrics] = {}
    for kind in kinds:
        by_kind.update(evaluate(events, clip.labels, rec.n_frames, tolerance=tolerance, seconds=rec.seconds,
                                fps=rec.fps, kind=kind))
    return across_kinds(by_kind)


def _check_whole(result: TuneResult, clips: Sequence[Clip], fold_chosen: Sequence[Mapping[str, Candidate]],
                 tolerance: int) -> None:
    """Score the base and the tuned config over all kinds: on the clips (training) and, fold by fold, on the
    held-out clips (cross-validated); decide whether the tuned config may be written."""
    base = result.base
    kinds = list(base.events)
    chosen = {k.kind: k.chosen.fit.candidate for k in result.kinds}
    base_total, train_total, cv_total = Metrics(), Metrics(), Metrics()
    base_rules, base_ths = base.events, base.thresholds()
    rules, ths = _composed(base, chosen)
    for clip in clips:
        base_total = base_total + clip_total(clip, replay(clip.recording, base_rules, base_ths, base), kinds, tolerance)
        train_total = train_total + clip_total(clip, replay(clip.recording, rules, ths, base), kinds, tolerance)
    result.base_total, result.train_total = base_total, train_total
    if result.folds:
        for f, held in enumerate(result.folds):
            fold_rules, fold_ths = _composed(base, fold_chosen[f])
            for i in held:
                events = replay(clips[i].recording, fold_rules, fold_ths, base)
                cv_total = cv_total + clip_total(clips[i], events, kinds, tolerance)
        result.cv_total = cv_total
    if not result.changed or result.cv_total is None:
        return
    if round(result.cv_total.f1, 9) < round(base_total.f1, 9):
        result.refused = (f"the tuned config scores worse than the base on clips it was not fitted to "
                          f"(cross-validated F1 {result.cv_total.f1:.3f}, base {base_total.f1:.3f}); nothing "
                          f"written: give more clips like the footage to watch, or --force to write it anyway")


def tuned_config(base: Config, chosen: Mapping[str, Candidate]) -> Config:
    """The base config with each kind's chosen setting; detectors nothing uses any more are dropped."""
    plain = base.to_plain()
    for kind, c in chosen.items():
        rule = plain["events"][kind]
        rule["detectors"], rule["fusion"], rule["min_frames"] = list(c.detectors), c.fusion, c.min_frames
        for name, value in c.threshold_map().items():
            set_threshold(plain, name, value)
    built = build_config(plain)
    used = set(used_detectors(built))
    if used != set(built.detectors):
        plain["detectors"] = {n: d for n, d in plain["detectors"].items() if n in used}
        built = build_config(plain)
    return built


def set_threshold(plain: dict[str, Any], name: str, value: float) -> None:
    """Write a score's threshold where the config keeps it (see :func:`threshold_key`)."""
    if name in plain["detectors"]:
        plain["detectors"][name]["threshold"] = value
    elif isinstance(plain.get(name), dict) and "threshold" in plain[name]:
        plain[name]["threshold"] = value
    else:
        raise ValueError(f"no threshold for the score {name!r} in the configuration")


def _rebaseline_drift(clips: Sequence[Clip], base: Config, tuned: Config) -> int:
    """Frames where the tuned re-baselining kinds start an event and the base ones do not, or the reverse:
    there the recorded motion scores carry resets the tuned config would not make (or lack its own)."""
    kinds = [k for k in base.events if k in REBASELINE_KINDS and k in tuned.events]
    if not kinds:
        return 0

    def frames(config: Config, rec: Recording) -> set[int]:
        rules = {k: config.events[k] for k in kinds}
        return {e.start_frame for e in replay(rec, rules, config.thresholds(), config)}

    return sum(len(frames(base, c.recording) ^ frames(tuned, c.recording)) for c in clips)
