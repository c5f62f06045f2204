"""Ground truth: load truth files, match detected events to them, and count how well they agree.

A truth file is JSON ``{"events": [...]}`` with inclusive, 0-based frames. Each event is
``[start, end]`` (a ``motion`` event), ``[start, end, kind]`` or ``{"kind": ..., "start": ...,
"end": ...}``. Optional keys: ``"kind": "scene_change"`` (the kind of every untyped event) or
``"kinds": [...]`` (one per event); ``"labelled_kinds": [...]`` (the kinds the file labels
completely); ``"ignore": [...]`` (don't-care stretches, ``[start, end]`` for every kind or typed like
events for one kind: a detected event of that kind lying wholly inside one is neither a hit nor a
false event). Other keys are ignored.

Which kinds are scored: ``labelled_kinds`` when given, else the kinds named by ``kind`` / ``kinds``;
a file that names no kinds labels ``motion`` and ``scene_change`` (the kinds that raise alarms, so a
cut reported on a clip without cuts is a false event). Typed events add their kind. A kind that is
labelled but has no events on a clip is scored with its false events only.

The match rule: a detected event matches a truth event of the same kind when their frame ranges
overlap after widening the truth event by ``tolerance`` frames on each side; each truth event and each
detected event takes part in at most one match (a maximum matching, so the counts do not depend on
the order of events). Unmatched detections are false events, unmatched truth events are misses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from vidwatch.errors import UserError
from vidwatch.params import param

Span = tuple[int, int]
ANY = "any"
"""The kind label of a truth built without kinds (tuning's quiet footage): every detected event is scored."""
DEFAULT_KIND = "motion"
"""The kind of an event given as a plain ``[start, end]``."""
ALARM_KINDS = ("motion", "scene_change")
"""What a truth file that names no kinds labels: the kinds that raise alarms."""


@dataclass(frozen=True, slots=True)
class EvalParams:
    """How detections are compared with the truth."""

    tolerance: int = param(3, "frames a detected event may miss a truth event by and still match it",
                           min=0, max=100000)
    early: float = param(2.0, "seconds a matched event may open before its truth event and still count as "
                              "on time; earlier hits were opened by something else (a nuisance) and are "
                              "counted as early", min=0, max=86400)


DEFAULT_TOLERANCE: int = EvalParams().tolerance
"""The match tolerance every caller starts from (``eval``, ``tune``, their benchmarks)."""


class EventLike(Protocol):
    kind: str
    start_frame: int
    end_frame: int


@dataclass(frozen=True, slots=True)
class Truth:
    """The labelled events of one clip."""

    events: tuple[Span, ...]
    kinds: tuple[str | None, ...]
    """The kind of each event, or None (built without kinds: matches every kind)."""
    declared: tuple[str, ...] = ()
    """Kinds labelled completely even without events of them."""
    ignore: tuple[Span, ...] = ()
    ignore_kinds: tuple[str | None, ...] = ()
    """The kind each ignore span applies to (None or missing: every kind)."""

    @property
    def scored_kinds(self) -> tuple[str, ...] | None:
        """The kinds this truth labels (in order of appearance), or None when it names no kinds."""
        named = tuple(dict.fromkeys([*self.declared, *(k for k in self.kinds if k is not None)]))
        return named or None

    def covers(self, kind: str) -> bool:
        """Whether events of ``kind`` are labelled here (a truth without kinds labels every kind)."""
        kinds = self.scored_kinds
        return kinds is None or kind in kinds

    def spans(self, kind: str | None) -> list[Span]:
        """Truth events of ``kind`` (all of them for None, and all when the truth has no kinds)."""
        return [s for s, k in zip(self.events, self.kinds, strict=True) if kind is None or k is None or k == kind]

    def ignored(self, kind: str | None) -> list[Span]:
        """Don't-care spans that apply to ``kind`` (every span for None)."""
        kinds = (*self.ignore_kinds, *(None,) * (len(self.ignore) - len(self.ignore_kinds)))
        return [s for s, k in zip(self.ignore, kinds, strict=False) if kind is None or k is None or k == kind]


def _frame(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _typed_spans(value: object, where: str, what: str) -> tuple[tuple[Span, str | None], ...]:
    """``[start, end]``, ``[start, end, kind]`` or ``{"kind", "start", "end"}`` items -> (span, kind)."""
    if not isinstance(value, list):
        raise UserError(f"{where}: expected a list of {what}")
    out: list[tuple[Span, str | None]] = []
    for i, item in enumerate(value):
        kind: object = None
        if isinstance(item, dict):
            start, end, kind = item.get("start"), item.get("end"), item.get("kind")
            unknown = set(item) - {"start", "end", "kind"}
            ok = not unknown
        elif isinstance(item, (list, tuple)) and len(item) in (2, 3):
            start, end = item[0], item[1]
            kind = item[2] if len(item) == 3 else None
            ok = True
        else:
            ok, start, end = False, None, None
        ok = ok and _frame(start) and _frame(end) and end >= start  # type: ignore[operator]
        if not ok or (kind is not None and not (isinstance(kind, str) and kind)):
            raise UserError(f"{where}[{i}]: expected [start_frame, end_frame], [start_frame, end_frame, kind] or "
                            f"{{\"kind\": ..., \"start\": ..., \"end\": ...}} with 0 <= start <= end, got {item!r}")
        out.append(((int(start), int(end)), kind))  # type: ignore[arg-type]
    return tuple(out)


def truth_from_data(data: object, where: str = "truth") -> Truth:
    """Validate parsed truth JSON into a :class:`Truth`."""
    if not isinstance(data, dict) or "events" not in data:
        raise UserError(f"{where}: expected a JSON object with \"events\": [[start_frame, end_frame], ...]")
    items = _typed_spans(data["events"], f"{where}: events", "events ([start_frame, end_frame] pairs)")
    kind, kinds = data.get("kind"), data.get("kinds")
    if kind is not None and not (isinstance(kind, str) and kind):
        raise UserError(f"{where}: \"kind\" must be a kind name such as \"motion\", got {kind!r}")
    if kinds is not None:
        if not isinstance(kinds, list) or len(kinds) != len(items) or not all(isinstance(k, str) for k in kinds):
            raise UserError(f"{where}: \"kinds\" must list one kind name per event ({len(items)})")
        for i, ((_, typed), listed) in enumerate(zip(items, kinds, strict=True)):
            if typed is not None and typed != listed:
                raise UserError(f"{where}: events[{i}] is typed {typed!r} but \"kinds\" says {listed!r}; "
                                f"keep one of them")
    per_event = tuple(typed or (kinds[i] if kinds is not None else kind or DEFAULT_KIND)
                      for i, (_, typed) in enumerate(items))
    labelled = data.get("labelled_kinds")
    if labelled is not None:
        if not isinstance(labelled, list) or not labelled or not all(isinstance(k, str) for k in labelled):
            raise UserError(f"{where}: \"labelled_kinds\" must be a non-empty list of kind names")
        declared = tuple(labelled)
    elif kind is not None:
        declared = (kind,)
    elif kinds is not None:
        declared = tuple(kinds)
    else:
        declared = ALARM_KINDS
    ignore = _typed_spans(data.get("ignore", []), f"{where}: ignore", "don't-care [start_frame, end_frame] spans")
    return Truth(tuple(s for s, _ in items), per_event, declared, tuple(s for s, _ in ignore),
                 tuple(k for _, k in ignore))


def load_truth(path: str | Path) -> Truth:
    """Read a truth file; errors name the file and what is wrong with it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"truth file not found: {path}; give it with --truth FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read truth file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON at line {exc.lineno}; fix the syntax") from None
    return truth_from_data(data, str(path))


def default_truth_path(source: str) -> Path | None:
    """``clip.mp4`` -> ``clip.json`` when that file exists (the sample videos' convention)."""
    candidate = Path(source).with_suffix(".json")
    return candidate if Path(source).suffix and candidate.is_file() else None


@dataclass(frozen=True, slots=True)
class Metrics:
    """Counts from comparing detections with the truth; the rates derive from them so totals add up."""

    truth: int = 0
    detected: int = 0
    matched: int = 0
    truth_frames: int = 0
    detected_frames: int = 0
    overlap_frames: int = 0
    seconds: float = 0.0
    split: int = 0
    """False events that lie on a matched truth event: the extra pieces of a fragmented detection."""
    early: int = 0
    """Matches whose event opened more than ``early`` seconds before its truth event: something else
    (a nuisance) opened it, and it happened to be still open when the real thing came."""
    false_seconds: float = 0.0
    """Time inside detected events but outside every truth event of their kind (widened by the
    tolerance) and outside the don't-care spans: how long alarms ran with nothing there."""

    def __add__(self, other: Metrics) -> Metrics:
        return Metrics(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def false_events(self) -> int:
        return self.detected - self.matched

    @property
    def missed(self) -> int:
        return self.truth - self.matched

    @property
    def recall(self) -> float | None:
        return self.matched / self.truth if self.truth else None

    @property
    def precision(self) -> float | None:
        return self.matched / self.detected if self.detected else None

    @property
    def f1(self) -> float:
        """2TP / (2TP + FP + FN); 1.0 when there was nothing to find and nothing was found."""
        denominator = 2 * self.matched + self.false_events + self.missed
        return 2 * self.matched / denominator if denominator else 1.0

    @property
    def frame_recall(self) -> float | None:
        return self.overlap_frames / self.truth_frames if self.truth_frames else None

    @property
    def frame_precision(self) -> float | None:
        return self.overlap_frames / self.detected_frames if self.detected_frames else None

    @property
    def false_per_hour(self) -> float | None:
        return self.false_events * 3600.0 / self.seconds if self.seconds > 0 else None

    @property
    def false_share(self) -> float | None:
        """False seconds as a share of the time watched."""
        return self.false_seconds / self.seconds if self.seconds > 0 else None


def across_kinds(by_kind: Mapping[str, Metrics], kinds: Iterable[str] | None = None) -> Metrics:
    """One clip's metrics summed over event kinds (all, or ``kinds``): its duration counts once, not per kind."""
    chosen = [m for k, m in by_kind.items() if kinds is None or k in kinds]
    total = sum(chosen, Metrics())
    return replace(total, seconds=max((m.seconds for m in chosen), default=0.0))


def match_spans(detected: Sequence[Span], truth: Sequence[Span], tolerance: int = 0) -> list[tuple[int, int]]:
    """Pairs (detected index, truth index) of a maximum one-to-one matching under the overlap rule."""
    candidates: list[list[int]] = []
    for ds, de in detected:
        hits = [j for j, (ts, te) in enumerate(truth) if ds <= te + tolerance and de >= ts - tolerance]
        # prefer the truth event with the largest real overlap, then the earliest
        hits.sort(key=lambda j: (-(min(de, truth[j][1]) - max(ds, truth[j][0])), j))
        candidates.append(hits)
    owner: dict[int, int] = {}  # truth index -> detected index

    def augment(i: int, seen: set[int]) -> bool:  # Kuhn's augmenting path
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(detected)):
        if candidates[i]:
            augment(i, set())
    return sorted((i, j) for j, i in owner.items())


def _frames(spans: Iterable[Span], n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, dtype=bool)
    for start, end in spans:
        mask[max(start, 0):min(end, n_frames - 1) + 1] = True
    return mask


def _inside(span: Span, ranges: Sequence[Span]) -> bool:
    return any(a <= span[0] and span[1] <= b for a, b in ranges)


def score_spans(detected: Sequence[Span], truth: Sequence[Span], n_frames: int, *, tolerance: int,
                seconds: float = 0.0, fps: float | None = None, early: float | None = None,
                ignore: Sequence[Span] = ()) -> Metrics:
    """Event- and frame-level counts for one kind on one clip of ``n_frames`` frames.

    ``fps`` (else ``n_frames / seconds``) turns frames into seconds for the early hits (``early``
    seconds, default :class:`EvalParams`) and the false seconds; without either they count 0.
    """
    if fps is None and seconds > 0:
        fps = n_frames / seconds
    if early is None:
        early = EvalParams().early
    pairs = match_spans(detected, truth, tolerance)
    hit_truth = [truth[j] for _, j in pairs]
    used = {i for i, _ in pairs}
    split = sum(1 for i, (ds, de) in enumerate(detected) if i not in used
                and any(ds <= te + tolerance and de >= ts - tolerance for ts, te in hit_truth))
    early_hits = sum(1 for i, j in pairs if fps and (truth[j][0] - detected[i][0]) / fps > early)
    t_mask, d_mask = _frames(truth, n_frames), _frames(detected, n_frames)
    excused = _frames([(s - tolerance, e + tolerance) for s, e in truth], n_frames) | _frames(ignore, n_frames)
    false_frames = int((d_mask & ~excused).sum())
    return Metrics(len(truth), len(detected), len(pairs), int(t_mask.sum()), int(d_mask.sum()),
                   int((t_mask & d_mask).sum()), seconds, split, early_hits,
                   false_frames / fps if fps else 0.0)


def evaluate(events: Iterable[EventLike], truth: Truth, n_frames: int, *, tolerance: int = DEFAULT_TOLERANCE,
             seconds: float = 0.0, kind: str | None = None, fps: float | None = None,
             early: float | None = None) -> dict[str, Metrics]:
    """Compare one clip's detected events with its truth, per scored kind.

    Returns kind -> :class:`Metrics` for each kind the truth labels (or for ``kind`` alone when given);
    a truth built without kinds gives one entry, ``"any"``, scoring every event regardless of kind.
    Frames are counted over each event's reported span, post-roll included. ``seconds`` is the clip's
    duration; with ``fps`` alone it is ``n_frames / fps``.
    """
    if seconds <= 0 and fps:
        seconds = n_frames / fps
    events = list(events)
    if kind is not None:
        kinds: Sequence[str] = [kind] if truth.covers(kind) else []
    else:
        kinds = truth.scored_kinds or [ANY]
    out: dict[str, Metrics] = {}
    for k in kinds:
        ignore = truth.ignored(None if k == ANY else k)
        det = [(e.start_frame, e.end_frame) for e in events if (k == ANY or e.kind == k)
               and not _inside((e.start_frame, e.end_frame), ignore)]
        out[k] = score_spans(sorted(det), truth.spans(None if k == ANY else k), n_frames, tolerance=tolerance,
                             seconds=seconds, fps=fps, early=early, ignore=ignore)
    return out


def pair_truths(sources: Sequence[str], truths: Sequence[str] | None, *, required: bool = True) -> list[Truth | None]:
    """One truth per source: the given files in order, else each source's sibling ``.json``."""
    if truths:
        if len(truths) != len(sources):
            raise UserError(f"{len(sources)} sources but {len(truths)} --truth files; give one --truth per "
                            f"source, in the same order (or none, to use SOURCE.json beside each)")
        return [load_truth(t) for t in truths]
    out: list[Truth | None] = []
    for source in sources:
        path = default_truth_path(source)
        if path is None and required:
            raise UserError(f"no truth for {source}: give --truth FILE, or put {Path(source).stem}.json beside it")
        out.append(load_truth(path) if path is not None else None)
    return out


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def format_table(rows: Sequence[tuple[str, str, Metrics]]) -> str:
    """(clip, kind, metrics) rows as a fixed-width table; undefined rates print as '-'."""
    width = max([4, *(len(c) for c, _, _ in rows)])
    header = (f"{'clip':<{width}}  {'kind':<12} {'truth':>5} {'found':>5} {'match':>5} {'false':>5} "
              f"{'recall':>6} {'prec':>6} {'F1':>6} {'frameP':>6} {'frameR':>6} {'split':>5} {'early':>5} "
              f"{'falseS':>7} {'false%':>6}")
    lines = [header, "-" * len(header)]
    for clip, kind, m in rows:
        lines.append(f"{clip:<{width}}  {kind:<12} {m.truth:>5} {m.detected:>5} {m.matched:>5} "
                     f"{m.false_events:>5} {_rate(m.recall):>6} {_rate(m.precision):>6} {m.f1:>6.3f} "
                     f"{_rate(m.frame_precision):>6} {_rate(m.frame_recall):>6} {m.split:>5} {m.early:>5} "
                     f"{m.false_seconds:>7.1f} {_share(m.false_share):>6}")
    return "\n".join(lines)


def table_rows(per_clip: Sequence[tuple[str, dict[str, Metrics]]]) -> list[tuple[str, str, Metrics]]:
    """Per-clip, per-kind rows followed by a total per kind and, with several kinds, an overall total."""
    rows: list[tuple[str, str, Metrics]] = []
    totals: dict[str, Metrics] = {}
    overall = Metrics()
    for clip, by_kind in per_clip:
        for kind, m in by_kind.items():
            rows.append((clip, kind, m))
            totals[kind] = totals.get(kind, Metrics()) + m
        overall = overall + across_kinds(by_kind)
    for kind, m in totals.items():
        rows.append(("TOTAL", kind, m))
    if len(totals) > 1:
        rows.append(("TOTAL", "all", overall))
    return rows
