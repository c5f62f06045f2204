"""Accuracy benchmark: how well vidwatch finds real events and ignores nuisances, on a dev and a test split.

Why: robust defaults are only robust if measured on footage they were not fitted to. The clips
(``accuracy_clips.py``) come in two splits built the same way from real footage but with different
people, paths, sizes and nuisance parameters: ``dev`` is for tuning, ``test`` is held out. Every
system runs on every clip in the same run: vidwatch (its Python API, this checkout) with the built-in
defaults and each preset in ``vidwatch/presets/``, DVR-Scan with its defaults, and OpenCV's MOG2 wired by hand
(``accuracy_peers.py``). A third group is real footage: Megamind.avi's three cuts (to +-1 frame, and no
other scene change) and vtest.avi's pedestrians.

Scoring is ``vidwatch.evaluate`` itself, so this benchmark and ``vidwatch eval`` cannot disagree: a
detected event matches a truth event of its kind that it overlaps (the truth widened by the tolerance),
one to one; unmatched ``motion`` and ``scene_change`` events are false; split, early, lighting hits
and false seconds are as that module defines them.

Usage::

    python benchmarks/accuracy.py --jobs 2                 # both splits and real footage, every system
    python benchmarks/accuracy.py --split dev --config my.yaml --no-peers
    python benchmarks/accuracy.py --split dev --details    # per-clip rows of the dev split
    python benchmarks/accuracy.py --fresh 1 2 3 --jobs 2   # three suites drawn from seeds nobody tuned on
    python benchmarks/accuracy.py --split test --overlay   # with a camera's date and time burnt into every clip
    python benchmarks/accuracy.py --json > results.json
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):  # measure this checkout, not whatever vidwatch is installed
    if _path not in sys.path:
        sys.path.insert(0, _path)

import accuracy_clips  # noqa: E402
import accuracy_fresh_clips  # noqa: E402
import accuracy_overlay  # noqa: E402
from accuracy_footage import find_data_dir  # noqa: E402
from accuracy_peers import Detection, dvr_scan_events, dvr_scan_path, dvr_scan_version, mog2_events  # noqa: E402

from vidwatch.evaluate import EvalParams, Metrics, across_kinds, evaluate, load_truth  # noqa: E402

log = logging.getLogger("accuracy")

ALARM_KINDS = ("motion", "scene_change")
"""The kinds whose events are alarms: counted as hits or false events. Lighting is scored apart."""
DEFAULT_NAME = "default"
REAL_FOOTAGE = (
    # (video in OpenCV's sample data, truth file in benchmarks/truth/, tolerance in frames or None)
    ("Megamind.avi", "megamind_cuts.json", 1),
    ("vtest.avi", "vtest_motion.json", None),
)
GROUP_ORDER = ("dev", "real", "test")
"""Report order: the held-out split last (fresh suites after it, by seed)."""


@dataclass(frozen=True)
class Case:
    """One clip to score."""

    group: str  # "dev", "test", "real" or a fresh suite ("fresh<seed>")
    name: str
    video: Path
    truth_path: Path
    category: str
    fps: float
    frames: int
    tolerance: int | None = None  # None: the run's --tolerance

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


@dataclass(frozen=True)
class System:
    name: str
    kind: str  # "vidwatch", "dvr-scan" or "mog2"
    target: str | None  # config path (None = built-in defaults), or the dvr-scan executable


# --------------------------------------------------------------------------------------------
# Systems under test
# --------------------------------------------------------------------------------------------


def run_vidwatch(config_path: str | None, video: Path) -> list[Detection]:
    """Events vidwatch reports on ``video`` with a config file (None = built-in defaults).

    The benchmark's only call into vidwatch: keep it the one place to change when the API does.
    """
    from vidwatch.config import load_config
    from vidwatch.pipeline import run_source

    config = load_config(config_path)
    stats = run_source(str(video), config, [])
    return [Detection(e.kind, e.start_frame, e.end_frame) for e in stats.events]


def detect(system: System, case: Case) -> tuple[list[Detection], float]:
    """Run one system on one clip; returns its events and the wall time."""
    started = time.perf_counter()
    if system.kind == "dvr-scan":
        assert system.target is not None
        events = dvr_scan_events(system.target, case.video, case.fps)
    elif system.kind == "mog2":
        events = mog2_events(case.video)
    else:
        events = run_vidwatch(system.target, case.video)
    return events, time.perf_counter() - started


def _detect_job(system: System, case: Case) -> tuple[list[Detection], float]:
    logging.getLogger("vidwatch").setLevel(logging.WARNING)
    return detect(system, case)


def default_systems(configs: Sequence[str] | None, peers: bool) -> list[System]:
    """Built-in default + every preset in vidwatch/presets/ (or the given configs), then DVR-Scan and MOG2."""
    systems: list[System] = []
    if configs:
        for c in configs:
            systems.append(System(DEFAULT_NAME, "vidwatch", None) if c == DEFAULT_NAME
                           else System(Path(c).stem, "vidwatch", c))
    else:
        systems.append(System(DEFAULT_NAME, "vidwatch", None))
        for preset in sorted((ROOT / "vidwatch" / "presets").glob("*.yaml")):
            if preset.stem != DEFAULT_NAME:  # presets/default.yaml is the built-in defaults written out
                systems.append(System(preset.stem, "vidwatch", str(preset)))
    if peers:
        exe = dvr_scan_path()
        if exe:
            systems.append(System("dvr-scan", "dvr-scan", exe))
        else:
            log.warning("DVR-Scan not installed (looked at /opt/peers/bin/dvr-scan and PATH): no DVR-Scan row")
        systems.append(System("mog2", "mog2", None))
    return systems


# --------------------------------------------------------------------------------------------
# Clips
# --------------------------------------------------------------------------------------------


def generated_cases(split: str, cache: Path, names: Sequence[str] | None, regenerate: bool,
                    jobs: int, recompress: int | None = None, overlay: bool = False) -> list[Case]:
    """The clips of one split (generated on first use), with their truth files; with a camera's date and
    time burnt in when ``overlay``, then re-encoded at CRF ``recompress`` when given."""
    if names is not None:
        names = [n for n in names if n in accuracy_clips.clip_names(split)]
        if not names:
            return []
    cases = []
    videos = accuracy_clips.ensure_clips(cache, split, names, regenerate, jobs)
    if overlay:
        videos = accuracy_overlay.overlaid(videos, jobs)
    if recompress is not None:
        videos = accuracy_clips.recompressed(videos, recompress, jobs)
    for video in videos:
        data = json.loads(video.with_suffix(".json").read_text())
        cases.append(Case(split, video.stem, video, video.with_suffix(".json"), data.get("category", ""),
                          float(data["fps"]), int(data["frames"])))
    return cases


def real_cases(names: Sequence[str] | None) -> list[Case]:
    """Megamind.avi and vtest.avi with their hand-checked truth, when OpenCV's sample data is here."""
    data = find_data_dir()
    if data is None:
        log.warning("OpenCV sample data not found: no real-footage group")
        return []
    cases = []
    for video_name, truth_name, tolerance in REAL_FOOTAGE:
        video, truth_path = data / video_name, HERE / "truth" / truth_name
        name = Path(video_name).stem
        if not video.is_file() or (names is not None and name not in names):
            continue
        truth = json.loads(truth_path.read_text())
        cases.append(Case("real", name, video, truth_path, truth.get("kind", ""), float(truth["fps"]),
                          int(truth["frames"]), tolerance))
    return cases


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def score(case: Case, events: Iterable[Detection], tolerance: int, early: float) -> dict[str, Metrics]:
    """Per-kind metrics of one clip, by ``vidwatch.evaluate``."""
    return evaluate(events, load_truth(case.truth_path), case.frames,
                    tolerance=case.tolerance if case.tolerance is not None else tolerance,
                    fps=case.fps, early=early)


@dataclass
class Totals:
    """A system's figures over a set of clips."""

    clips: int = 0
    alarms: Metrics = Metrics()  # motion + scene_change, the clip time counted once
    motion: Metrics = Metrics()
    scene: Metrics = Metrics()
    lighting: Metrics = Metrics()
    seconds: float = 0.0  # wall time of the runs

    def add(self, by_kind: dict[str, Metrics], wall: float) -> None:
        self.clips += 1
        self.alarms = self.alarms + across_kinds(by_kind, ALARM_KINDS)
        self.motion = self.motion + by_kind.get("motion", Metrics())
        self.scene = self.scene + by_kind.get("scene_change", Metrics())
        self.lighting = self.lighting + by_kind.get("lighting", Metrics())
        self.seconds += wall


def metrics_json(m: Metrics) -> dict:
    """The counts and the rates derived from them."""
    return {**asdict(m), "false_events": m.false_events, "recall": m.recall, "precision": m.precision,
            "f1": m.f1, "false_share": m.false_share}


def totals_json(t: Totals) -> dict:
    return {"clips": t.clips, "alarms": metrics_json(t.alarms), "motion": metrics_json(t.motion),
            "scene_change": metrics_json(t.scene), "lighting": metrics_json(t.lighting),
            "run_seconds": round(t.seconds, 1)}


def totals(rows: Iterable[tuple[Case, dict[str, Metrics], float]]) -> Totals:
    out = Totals()
    for _, by_kind, wall in rows:
        out.add(by_kind, wall)
    return out


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _light(m: Metrics) -> str:
    return f"{m.matched}/{m.truth}" if m.truth else "-"


SUMMARY_HEADER = (f"{'system':<18} {'truth':>5} {'hit':>4} {'recall':>6} {'prec':>5} {'F1':>5} {'false':>5} "
                  f"{'motion':>6} {'scene':>5} {'split':>5} {'early':>5} {'light':>5} {'falseS':>7} "
                  f"{'false%':>6} {'time':>7}")


def format_summary(results: dict[str, list[tuple[Case, dict[str, Metrics], float]]]) -> str:
    """One row per system: totals over the clips given."""
    lines = [SUMMARY_HEADER, "-" * len(SUMMARY_HEADER)]
    for name, rows in results.items():
        t = totals(rows)
        a = t.alarms
        lines.append(f"{name:<18} {a.truth:>5} {a.matched:>4} {_rate(a.recall):>6} {_rate(a.precision):>5} "
                     f"{a.f1:>5.2f} {a.false_events:>5} {t.motion.false_events:>6} {t.scene.false_events:>5} "
                     f"{a.split:>5} {a.early:>5} {_light(t.lighting):>5} {a.false_seconds:>7.1f} "
                     f"{_share(a.false_share):>6} {t.seconds:>6.1f}s")
    return "\n".join(lines)


def format_categories(results: dict[str, list[tuple[Case, dict[str, Metrics], float]]]) -> str:
    """A row per clip category; per system: hits, false events, false seconds."""
    systems = list(results)
    first = next(iter(results.values()))
    categories = list(dict.fromkeys(case.category for case, _, _ in first))
    cell = max(16, *(len(name) + 2 for name in systems))
    top = f"{'':<16} {'':>5} {'':>5} " + "".join(f"|{name:^{cell - 1}}" for name in systems)
    header = (f"{'category':<16} {'clips':>5} {'truth':>5} "
              + "".join(f"|{'hit':>4}{'false':>6}{'fS':>{cell - 11}} " for _ in systems))
    lines = [top, header, "-" * len(header)]
    for category in categories:
        per = {name: totals(r for r in rows if r[0].category == category) for name, rows in results.items()}
        t0 = per[systems[0]]
        row = f"{category:<16} {t0.clips:>5} {t0.alarms.truth:>5} "
        for name in systems:
            a = per[name].alarms
            row += f"|{a.matched:>4}{a.false_events:>6}{a.false_seconds:>{cell - 11}.0f} "
        lines.append(row)
    return "\n".join(lines)


def _events_text(events: Sequence[Detection], limit: int = 4) -> str:
    short = {"motion": "m", "scene_change": "sc", "lighting": "L"}
    parts = [f"{short.get(e.kind, e.kind)}{e.start_frame}-{e.end_frame}" for e in events[:limit]]
    if len(events) > limit:
        parts.append(f"+{len(events) - limit}")
    return " ".join(parts)


def format_clips(name: str, rows: Sequence[tuple[Case, dict[str, Metrics], float]],
                 events: dict[str, list[Detection]]) -> str:
    """Per-clip rows for one system."""
    header = (f"{'clip':<22} {'category':<14} {'truth':>5} {'hit':>4} {'false':>5} {'split':>5} {'early':>5} "
              f"{'light':>5} {'falseS':>7}  events (m=motion sc=scene_change L=lighting)")
    lines = [f"-- {name}", header]
    for case, by_kind, _ in rows:
        a = across_kinds(by_kind, ALARM_KINDS)
        light = by_kind.get("lighting", Metrics())
        lines.append(f"{case.name:<22} {case.category:<14} {a.truth:>5} {a.matched:>4} {a.false_events:>5} "
                     f"{a.split:>5} {a.early:>5} {_light(light):>5} {a.false_seconds:>7.1f}  "
                     f"{_events_text(events[case.name])}")
    return "\n".join(lines)


def format_real(results: dict[str, list[tuple[Case, dict[str, Metrics], float]]]) -> str:
    """Real footage: Megamind's cuts (+-1 frame, no other scene change) and vtest.avi's pedestrians."""
    header = (f"{'system':<18} {'Megamind cuts':>13} {'other scene':>11}   {'vtest motion':>12} {'false':>5} "
              f"{'split':>5}")
    lines = [header, "-" * len(header)]
    for name, rows in results.items():
        by_name = {case.name: by_kind for case, by_kind, _ in rows}
        cuts = by_name.get("Megamind", {}).get("scene_change")
        walk = by_name.get("vtest", {}).get("motion")
        lines.append(f"{name:<18} {f'{cuts.matched}/{cuts.truth}' if cuts else '-':>13} "
                     f"{cuts.false_events if cuts else '-':>11}   "
                     f"{f'{walk.matched}/{walk.truth}' if walk else '-':>12} {walk.false_events if walk else '-':>5} "
                     f"{walk.split if walk else '-':>5}")
    return "\n".join(lines)


def describe_group(group: str, cases: Sequence[Case]) -> str:
    truth = {k: 0 for k in (*ALARM_KINDS, "lighting")}
    for case in cases:
        t = load_truth(case.truth_path)
        for kind in truth:
            truth[kind] += len(t.spans(kind)) if t.covers(kind) else 0
    minutes = sum(c.seconds for c in cases) / 60
    return (f"{len(cases)} clips, {minutes:.1f} min of video, truth: {truth['motion']} motion, "
            f"{truth['scene_change']} scene_change, {truth['lighting']} lighting")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def run(systems: Sequence[System], cases: Sequence[Case], jobs: int) -> dict[tuple[str, str, str], tuple]:
    """Every system on every clip: (system, group, clip) -> (events, wall seconds)."""
    work = [(s, c) for s in systems for c in cases]
    work.sort(key=lambda sc: -sc[1].frames * (2 if sc[0].kind == "dvr-scan" else 1))  # long jobs first
    out: dict[tuple[str, str, str], tuple] = {}
    if jobs > 1:
        # spawned, not forked: a fork inherits OpenCV's thread pool half-alive (clip generation
        # used it), and the child's first cv2.setNumThreads then waits forever
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_detect_job, s, c): (s, c) for s, c in work}
            for future in as_completed(futures):
                s, c = futures[future]
                out[(s.name, c.group, c.name)] = events, wall = future.result()
                log.info("%s on %s/%s: %d events in %.1f s", s.name, c.group, c.name, len(events), wall)
    else:
        for s, c in work:
            out[(s.name, c.group, c.name)] = events, wall = _detect_job(s, c)
            log.info("%s on %s/%s: %d events in %.1f s", s.name, c.group, c.name, len(events), wall)
    return out


def main(argv: list[str] | None = None) -> int:
    defaults = EvalParams()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "test", "all"],
                        help="which generated split to run (default: all = dev, then test, unless --fresh is "
                             "given); the real footage group runs too unless --no-real")
    parser.add_argument("--fresh", type=int, nargs="+", metavar="SEED",
                        help="run suites drawn at random from these seeds (accuracy_fresh_clips.py): one clip of "
                             "every test kind, footage nobody has tuned on; alone, only these run")
    parser.add_argument("--config", action="append", metavar="PATH",
                        help="config file to measure (repeatable; 'default' = built-in defaults); "
                             "default: built-in defaults and every preset in vidwatch/presets/")
    parser.add_argument("--clips", nargs="+", metavar="NAME", help="only clips with these names (in any split)")
    parser.add_argument("--no-peers", action="store_true", help="do not run DVR-Scan and MOG2")
    parser.add_argument("--no-real", action="store_true", help="skip the real footage (Megamind.avi, vtest.avi)")
    parser.add_argument("--details", action="store_true",
                        help="also print every dev and real clip for every system")
    parser.add_argument("--details-test", action="store_true",
                        help="also print every test and fresh clip (held out: read their totals, don't tune on them)")
    parser.add_argument("--json", action="store_true", help="print everything as JSON instead of tables")
    parser.add_argument("--tolerance", type=int, default=defaults.tolerance,
                        help=f"frames of slack when matching (default: {defaults.tolerance}, as vidwatch eval)")
    parser.add_argument("--early", type=float, default=defaults.early,
                        help=f"a hit whose event opened more than this many seconds before the truth event is "
                             f"'early' (default: {defaults.early:g})")
    parser.add_argument("--cache", type=Path, default=accuracy_clips.DEFAULT_CACHE,
                        help="where clips are generated and cached (default: %(default)s)")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the clips even if cached")
    parser.add_argument("--recompress", type=int, metavar="CRF",
                        help="score the generated clips re-encoded as a bandwidth-starved camera sends them: "
                             "H.264 at this CRF (e.g. 33; the clips are written at 23), a keyframe every 10 s; "
                             "cached beside the clips")
    parser.add_argument("--overlay", action="store_true",
                        help="score the generated clips with a camera's date and time (ticking every second, "
                             "midnight 15 s in) and name burnt in; cached beside the clips")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (default: 1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s",
                        stream=sys.stderr)
    logging.getLogger("accuracy_clips").setLevel(logging.INFO)
    logging.getLogger("vidwatch").setLevel(logging.WARNING)
    jobs = max(1, args.jobs)

    if args.split is None:
        splits: tuple[str, ...] = () if args.fresh else ("dev", "test")
    else:
        splits = ("dev", "test") if args.split == "all" else (args.split,)
    splits += tuple(f"{accuracy_fresh_clips.PREFIX}{seed}" for seed in dict.fromkeys(args.fresh or ()))
    cases: list[Case] = []
    for split in splits:
        cases += generated_cases(split, args.cache, args.clips, args.regenerate, jobs, args.recompress,
                                 args.overlay)
    if not args.no_real:
        cases += real_cases(args.clips)
    if not cases:
        print(f"no clips to run (--clips {' '.join(args.clips or [])} matched nothing)", file=sys.stderr)
        return 2
    systems = default_systems(args.config, not args.no_peers)
    started = time.perf_counter()
    raw = run(systems, cases, jobs)
    groups = [g for g in (*GROUP_ORDER, *splits) if any(c.group == g for c in cases)]
    groups = list(dict.fromkeys(groups))
    results = {g: {s.name: [] for s in systems} for g in groups}
    for case in cases:
        for s in systems:
            events, wall = raw[(s.name, case.group, case.name)]
            results[case.group][s.name].append((case, score(case, events, args.tolerance, args.early), wall))
    footage = sorted({json.loads(c.truth_path.read_text()).get("footage", "?") for c in cases if c.group != "real"})

    if args.json:
        out = {"footage": footage, "recompress_crf": args.recompress, "overlay": args.overlay,
               "tolerance": args.tolerance,
               "early_seconds": args.early, "groups": {}}
        for g in groups:
            out["groups"][g] = {
                name: {"clips": {case.name: {"category": case.category,
                                             "events": [asdict(e) for e in raw[(name, g, case.name)][0]],
                                             "metrics": {k: metrics_json(m) for k, m in by_kind.items()},
                                             "seconds": round(wall, 2)}
                                 for case, by_kind, wall in rows},
                       "total": totals_json(totals(rows))}
                for name, rows in results[g].items()}
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0

    import cv2

    import vidwatch

    dvr = next((s for s in systems if s.kind == "dvr-scan"), None)
    print(f"accuracy benchmark: {', '.join(footage)} footage; tolerance {args.tolerance} frames (Megamind "
          f"+-1); early > {args.early:g} s; vidwatch from {Path(vidwatch.__file__).parent}; "
          f"OpenCV {cv2.__version__}" + (f"; DVR-Scan {dvr_scan_version(dvr.target)}" if dvr and dvr.target else ""))
    if args.recompress is not None:
        print(f"generated clips re-encoded at CRF {args.recompress}, a keyframe every "
              f"{accuracy_clips.RECOMPRESS_KEYFRAME_SECONDS} s (written at CRF {accuracy_clips.CLIP_CRF}, "
              f"every {accuracy_clips.CLIP_KEYFRAME_SECONDS} s)")
    if args.overlay:
        print(f"generated clips with the date and time and {accuracy_overlay.CAMERA_NAME!r} burnt in (from "
              f"{accuracy_overlay.CLOCK_START:%H:%M:%S}, ticking every second)")
    if "synthetic" in footage:
        print("NOTE: OpenCV sample data not found, clips use SYNTHETIC scenes (see benchmarks/README.md)")
    print("truth/hit/false/split/early/falseS count motion and scene_change events; light = lighting hits/switches; "
          "falseS = seconds of events outside truth of their kind, false% = of the clip time")
    for g in groups:
        group_cases = [c for c in cases if c.group == g]
        if accuracy_fresh_clips.is_fresh(g):
            title = f"FRESH suite, seed {accuracy_fresh_clips.seed_of(g)} (drawn at random: nobody has tuned on it)"
        else:
            title = {"dev": "DEV split (tune on this)", "test": "TEST split (held out: never tune on it)",
                     "real": "REAL footage"}[g]
        print(f"\n==== {title}: {describe_group(g, group_cases)}")
        if g == "real":
            print(format_real(results[g]))
        else:
            print(format_summary(results[g]))
            print()
            print(format_categories(results[g]))
        held_out = g not in ("dev", "real")
        if (args.details and not held_out) or (args.details_test and held_out):
            for name, rows in results[g].items():
                print()
                print(format_clips(name, rows, {c.name: raw[(name, g, c.name)][0] for c, _, _ in rows}))
    fresh = [g for g in groups if accuracy_fresh_clips.is_fresh(g)]
    if len(fresh) > 1:
        together = {s.name: [row for g in fresh for row in results[g][s.name]] for s in systems}
        seeds = ", ".join(str(accuracy_fresh_clips.seed_of(g)) for g in fresh)
        print(f"\n==== FRESH suites together (seeds {seeds}): "
              f"{describe_group('fresh', [c for c in cases if c.group in fresh])}")
        print(format_summary(together))
        print()
        print(format_categories(together))
    print(f"\n{len(systems)} systems x {len(cases)} clips in {time.perf_counter() - started:.0f} s ({jobs} jobs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
