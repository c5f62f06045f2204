"""The steps of ``vidwatch tune``: record each clip once, fit (:mod:`vidwatch.tune`), run what would be
written to check the replayed figures, and for quiet footage measure what raised thresholds cost
(:mod:`vidwatch.inject`). Also the report the command prints and the safe write of the config.

Why run the fitted config at all when the replay is the real gate: a replay cannot redo what the
pipeline does *because of* a decision (model resets after a scene change, the object stage's feedback
to the background model). One more decode of each clip turns the replayed training figures into
measured ones; on quiet footage a shortfall is fixed by recording again with the tuned config and
raising from there (at most :data:`MAX_ROUNDS` rounds).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidwatch.config import Config, render_yaml
from vidwatch.errors import UserError
from vidwatch.evaluate import Metrics, Truth, _rate, across_kinds, evaluate
from vidwatch.inject import InjectParams, SensitivityReport, busiest_start, load_segment, measure
from vidwatch.pipeline import run_source
from vidwatch.recording import Recording, record
from vidwatch.tune import (
    RAISE,
    Candidate,
    Clip,
    KindResult,
    TuneParams,
    TuneResult,
    describe_folds,
    threshold_key,
    tune,
    within,
)

log = logging.getLogger(__name__)

MAX_ROUNDS = 3
"""Record-and-raise rounds on quiet footage before giving up on the budget."""


@dataclass(frozen=True, slots=True)
class Request:
    """What the user asked ``tune`` for."""

    sources: Sequence[str]
    truths: Sequence[Truth | None]
    base: Config
    tolerance: int
    max_false_per_hour: float | None = None
    params: TuneParams = TuneParams()
    inject: InjectParams = InjectParams()
    force: bool = False
    sensitivity: bool = True


@dataclass(slots=True)
class RunCheck:
    """The chosen config run through the real pipeline on the clips it was fitted to."""

    by_kind: dict[str, Metrics]
    total: Metrics
    seconds: float


@dataclass(slots=True)
class Outcome:
    """Everything ``tune`` found, for the report and the caller."""

    result: TuneResult
    first: TuneResult
    """The first round's result (its base figures are the base config's on the footage as it is)."""
    check: RunCheck | None = None
    sensitivity: SensitivityReport | None = None
    rounds: int = 1
    record_seconds: float = 0.0
    """Wall time of the first recording of every clip."""
    video_seconds: float = 0.0
    """How long the clips last together."""
    notes: list[str] = field(default_factory=list)


def check_output(path: str | Path) -> Path:
    """Fail now, before any decoding, when ``path`` cannot be written (one line naming it)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"-o {path}: is a folder; give a file name such as {path / 'tuned.yaml'}")
    if not folder.is_dir():
        raise UserError(f"-o {path}: the folder {folder} does not exist; create it or choose another -o path")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".vidwatch-", suffix=".tmp"):
            pass
    except OSError as exc:
        raise UserError(f"-o {path}: cannot write in {folder} ({exc.strerror}); choose another -o path") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"-o {path}: the file is not writable; choose another -o path")
    return path


def write_config(path: str | Path, config: Config, header: str) -> None:
    """Write the config whole or not at all (a temporary file renamed over the target)."""
    path = Path(path)
    text = render_yaml(config, header)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".vidwatch-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {exc.strerror}; choose another -o path") from None


def _record_all(sources: Sequence[str], config: Config) -> list[Recording]:
    return [record(spec, config) for spec in sources]


def run_check(sources: Sequence[str], clips: Sequence[Clip], config: Config, tolerance: int) -> RunCheck:
    """Run ``config`` on every clip; per kind and in total, as scored against each clip's truth."""
    started = time.perf_counter()
    by_kind: dict[str, Metrics] = {}
    total = Metrics()
    for spec, clip in zip(sources, clips, strict=True):
        stats = run_source(spec, config, [])
        per: dict[str, Metrics] = {}
        for kind in config.events:
            per.update(evaluate(stats.events, clip.labels, stats.frames, tolerance=tolerance, seconds=stats.seconds,
                                fps=stats.source_fps, kind=kind))
        for kind, m in per.items():
            by_kind[kind] = by_kind.get(kind, Metrics()) + m
        total = total + across_kinds(per)
    return RunCheck(by_kind, total, time.perf_counter() - started)


def run_tune(request: Request) -> Outcome:
    """Record, fit, check by running; on quiet footage raise again where the run shows it is needed, then
    measure the sensitivity of the base and the tuned config."""
    started = time.perf_counter()
    recordings = _record_all(request.sources, request.base)
    record_seconds = time.perf_counter() - started
    clips = [Clip(rec, truth) for rec, truth in zip(recordings, request.truths, strict=True)]
    result = tune(clips, request.base, tolerance=request.tolerance, max_false_per_hour=request.max_false_per_hour,
                  params=request.params, force=request.force)
    outcome = Outcome(result, result, record_seconds=record_seconds,
                      video_seconds=sum(r.seconds for r in recordings))
    if result.changed:
        outcome.check = run_check(request.sources, clips, result.config, request.tolerance)
        if result.mode == "truth" and result.train_total is not None \
                and round(outcome.check.total.f1, 6) != round(result.train_total.f1, 6):
            outcome.notes.append(f"run on the clips, the tuned config scores F1 {outcome.check.total.f1:.3f} where its "
                                 f"replay said {result.train_total.f1:.3f}: the replay cannot redo model resets after "
                                 f"a changed scene change or light rule, or the object stage's feedback")
    if result.mode == "quiet":
        budget = request.max_false_per_hour or 0.0
        while outcome.check is not None and not _quiet_enough(outcome.check, budget) and outcome.rounds < MAX_ROUNDS:
            # the run made events the replay did not (resets, feedback): record with the tuned config, raise more
            outcome.rounds += 1
            again = [Clip(rec, truth) for rec, truth in
                     zip(_record_all(request.sources, result.config), request.truths, strict=True)]
            result = tune(again, result.config, tolerance=request.tolerance, max_false_per_hour=budget,
                          params=request.params, force=request.force)
            outcome.result = result
            outcome.check = run_check(request.sources, again, result.config, request.tolerance)
        if outcome.check is not None and not _quiet_enough(outcome.check, budget):
            outcome.notes.append(f"after {outcome.rounds} rounds the tuned config still makes more than {budget:g} "
                                 f"false events per hour when run; the closest one was written")
        if request.sensitivity:
            outcome.sensitivity = _sensitivity(request, clips, result.config)
    return outcome


def _quiet_enough(check: RunCheck, budget: float) -> bool:
    return all(within(m, budget) for m in check.by_kind.values())


def _sensitivity(request: Request, clips: Sequence[Clip], tuned: Config) -> SensitivityReport:
    """Walk figures through the quiet clip where the base config made the most false events per hour (the
    longest of equals), in its busiest stretch (one without base events where there is one)."""
    rates = [(len(c.recording.events) / max(c.recording.seconds, 1e-9), c.recording.seconds, i)
             for i, c in enumerate(clips)]
    chosen = max(rates)[2]
    rec = clips[chosen].recording
    p = request.inject
    fps = rec.fps or (len(rec.index) / rec.seconds if rec.seconds else 25.0)
    frames = max(min(len(rec.index), round(p.segment * fps)), 2)
    lead = min(round(p.lead * fps), frames - 1)
    # where the base config is silent, if anywhere: there what each config finds can be told apart
    busy = np.zeros(len(rec.index), bool)
    position = {int(f): k for k, f in enumerate(rec.index)}
    for event in rec.events:
        busy[position.get(event.start_frame, 0):position.get(event.end_frame, len(busy) - 1) + 1] = True
    start = busiest_start(rec.scores, request.base.thresholds(), frames, lead, avoid=busy)
    first = int(rec.index[start]) if len(rec.index) else 0
    segment = load_segment(request.sources[chosen], request.base, first, frames, max_bytes=int(p.memory_mb * 1e6))
    return measure(segment, {"base": request.base, "tuned": tuned}, p)


# -- the report --------------------------------------------------------------------------------------


def _f1(m: Metrics | None) -> str:
    return "-" if m is None else f"{m.f1:.3f}"


def _candidate(config: Config, kind: str) -> Candidate:
    """A kind's rule in ``config`` as a tuning candidate."""
    rule = config.events[kind]
    names = tuple(rule.detectors or ())
    ths = config.thresholds()
    return Candidate(names, tuple(ths[n] for n in names), rule.fusion, rule.min_frames)


def _changes(config: Config, before: Candidate, after: Candidate) -> list[str]:
    """``key old -> new`` for every threshold that differs."""
    old = before.threshold_map()
    return [f"{threshold_key(config, n)} {old[n]:.4g} -> {v:.4g}" for n, v in after.threshold_map().items()
            if n in old and v != old[n]]


def _truth_kind(kind: KindResult) -> list[str]:
    truth = kind.base.fit.metrics.truth
    events = f"{truth} truth event{'s' if truth != 1 else ''}" if truth else "no event of it (its false events count)"
    lines = [f"{kind.kind}: {kind.clips} clip{'s' if kind.clips != 1 else ''} label it, {events}"]
    lines.append(f"  {'level':<11} {'F1 train':>8} {'F1 cv':>6} {'recall':>6} {'prec':>6} {'false':>5}  setting "
                 f"(fitted on all clips; recall, precision, false: cross-validated)")
    for level in kind.levels:
        shown = level.cv if level.cv is not None else level.fit.metrics
        lines.append(f"  {level.level:<11} {level.fit.metrics.f1:>8.3f} {_f1(level.cv):>6} {_rate(shown.recall):>6} "
                     f"{_rate(shown.precision):>6} {shown.false_events:>5}  {level.fit.candidate.describe()}")
    chosen = kind.chosen
    if kind.unchecked:
        why = "the training fit, not cross-validated" if chosen is not kind.base else "nothing to cross-validate on"
    elif chosen.cv is None:
        why = "best on the clips"
    elif chosen is kind.base:
        why = "no level does better on the held-out clips"
    else:
        why = f"cross-validated F1 {_f1(chosen.cv)}, base {_f1(kind.base.cv)}"
    lines.append(f"  chosen: {chosen.level} ({why})")
    return lines


def _quiet_kind(kind: KindResult, base: Config, final: Config, check: RunCheck | None) -> list[str]:
    """The base's false events on the footage; the final setting and the false events it made when run."""
    before = kind.base.fit
    after = _candidate(final, kind.kind)
    rate = before.metrics.false_per_hour
    if after == before.candidate:
        return [f"{kind.kind}: unchanged ({before.metrics.false_events} false events on this footage): "
                f"{before.candidate.describe()}"]
    lines = [f"{kind.kind}:",
             f"  base   {before.candidate.describe()}",
             f"         false events {before.metrics.false_events} ({'-' if rate is None else f'{rate:.1f}'}/hour)"]
    run = check.by_kind.get(kind.kind) if check is not None else None
    measured = run if run is not None else kind.chosen.fit.metrics
    rate = measured.false_per_hour
    lines.append(f"  tuned  {after.describe()}")
    lines.append(f"         false events {measured.false_events} ({'-' if rate is None else f'{rate:.1f}'}/hour, "
                 f"{'when run' if run is not None else 'replayed'})")
    lines.append(f"  raised {'; '.join(_changes(base, before.candidate, after))}")
    return lines


def format_outcome(outcome: Outcome, request: Request) -> str:
    """What was chosen, what it reached (trained, cross-validated, run) and what it can still see."""
    result = outcome.result
    n = len(request.sources)
    lines = [f"recorded {n} clip{'s' if n != 1 else ''} ({outcome.video_seconds:.1f} s of video) in "
             f"{outcome.record_seconds:.1f} s"]
    if result.mode == "quiet":
        budget = request.max_false_per_hour or 0.0
        lines.append(f"quiet footage ({n} clip{'s' if n != 1 else ''}, no truth event): thresholds raised only where "
                     f"a kind makes more than {budget:g} false events per hour, to "
                     f"{100 * request.params.margin:.0f}% above the highest score that must not fire")
        if outcome.rounds > 1:
            lines.append(f"  ({outcome.rounds} rounds: a run of the raised config made events its replay did not, so "
                         f"the footage was recorded again with it and raised from there)")
        for kind in outcome.first.kinds:
            lines.extend(_quiet_kind(kind, request.base, result.config, outcome.check))
        if outcome.sensitivity is not None:
            lines.append(outcome.sensitivity.format())
        return "\n".join(lines)
    lines.append(f"cross-validation: {describe_folds(result.folds)}. Levels: base (as it is), thresholds (the rule's "
                 f"thresholds), full (also detectors, fusion, min frames), {RAISE} (thresholds up to the false-event "
                 f"budget, for a kind no clip has an event of)")
    for kind in result.kinds:
        lines.extend(_truth_kind(kind))
    if result.drift:
        lines.append(f"(the tuned scene_change/lighting rules start events on {result.drift} frame(s) where the base's "
                     f"do not, or the reverse: motion there was replayed with the base's model resets; the figures "
                     f"'when run' are exact)")
    if result.base_total is not None and result.train_total is not None:
        run = f", {outcome.check.total.f1:.3f} when run" if outcome.check is not None else ""
        lines.append(f"all kinds: base F1 {result.base_total.f1:.3f}; tuned F1 {result.train_total.f1:.3f} on the "
                     f"clips it was fitted to{run}, {_f1(result.cv_total)} cross-validated")
    return "\n".join(lines)
