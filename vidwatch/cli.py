"""Command line: argument parsing and dispatch only; the work lives in the modules it calls."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from vidwatch import __version__, cores
from vidwatch.errors import UserError, environment_problem
from vidwatch.logs import setup_logging

if TYPE_CHECKING:
    from vidwatch.outputs import RunOutputs
    from vidwatch.pipeline import RunStats
    from vidwatch.sinks.delivery import Loss

log = logging.getLogger("vidwatch")

OUTPUTS_LOST = 3
"""Exit code of a run that finished but could not write some of its outputs (each is named on stderr)."""


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM ask the loop to stop after the current frame; a second Ctrl-C aborts at once."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("stopping (%s): closing open events", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def cmd_run(args: argparse.Namespace) -> int:
    lost: list[Loss] = []
    _run(args, lost)
    return OUTPUTS_LOST if any(loss.lost for loss in lost) else 0


def _name_losses(outputs: RunOutputs | None, lost: list[Loss]) -> None:
    """Once every output is closed: one line on stderr for each output that could not deliver something."""
    lost += outputs.losses() if outputs is not None else []
    for loss in lost:
        print(f"vidwatch: {loss.line()}", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace, lost: list[Loss]) -> int:
    from vidwatch.config import load_config
    from vidwatch.outputs import OutputChoices, RunOutputs
    from vidwatch.pipeline import open_for_run, run_source
    from vidwatch.report import Progress, format_summary
    from vidwatch.status import StatusLine, chain

    config = load_config(args.config, args.set)
    several = len(args.sources) > 1
    choices = OutputChoices(events=args.events, snapshots=args.snapshots, clips=args.clips, scores=args.scores,
                            annotate=args.annotate, show=args.show, append=args.append)
    jobs = (1 if args.jobs is None else args.jobs) or cores.usable_cores()
    fast = args.fast or config.source.triage
    pieces = fast or args.ray is not None or (jobs > 1 and (several or any(Path(s).is_file() for s in args.sources)))
    in_process = [*choices.frame_outputs(), *(["--realtime"] if args.realtime else [])]
    if pieces and in_process:
        raise UserError(f"{in_process[0]} needs every frame in this process, in order: run without "
                        f"{'--ray' if args.ray is not None else '--fast' if fast else '--jobs'} to use it")
    if args.ray is not None:
        from vidwatch.distributed.archive import check_recorded
        from vidwatch.distributed.cluster import check_address, require_ray

        require_ray()
        check_address(args.ray)
        check_recorded(args.sources)
    # the signal handlers stay in place while the outputs close (hooks' exit wait, clips finishing)
    with _stop_on_signals() as stop, ExitStack() as stack:
        outputs: RunOutputs | None = None
        stack.callback(lambda: _name_losses(outputs, lost))  # runs last: after every output has closed
        if pieces:
            from vidwatch.archive import check_sources, run_pieces

            check_sources(args.sources, fast=fast)

            def took(opened: RunOutputs) -> None:
                nonlocal outputs
                outputs = opened

            def done(stats: RunStats, note: str | None) -> None:
                if outputs is not None:
                    outputs.open_files()  # a source ran: the events file holds this run's events, even none
                print(format_summary(stats) + (f"\n{note}" if note else ""), flush=True)

            cluster = None
            if args.ray is not None:
                from vidwatch.distributed.cluster import connect

                # a Ray started here takes every core unless --jobs says how many
                cpus = cores.usable_cores() if args.jobs is None else jobs
                cluster = stack.enter_context(connect(args.ray, cpus=cpus))
            run_pieces(args.sources, config, choices, jobs=jobs, fast=fast, stop=stop, stack=stack,
                       on_source_done=done, on_outputs=took, cluster=cluster)
            return 0
        outputs = RunOutputs(choices, config, stack, stop, several_sources=several)
        for spec in args.sources:
            # opened first (as run_source would) so the progress line and outputs know the source
            source = open_for_run(spec, config, stop=stop, realtime=args.realtime)
            progress = Progress(source.frame_count,
                                enabled=None if args.progress == "auto" else args.progress == "on")
            interval = args.status if args.status is not None else (60.0 if source.live else 0.0)
            on_frame = chain(progress, StatusLine(interval)) if interval > 0 else progress
            stats = None
            try:
                with ExitStack() as per_source:
                    sinks = outputs.for_source(source, per_source)
                    stats = run_source(source, config, sinks, stop=stop, on_frame=on_frame, label_events=several)
            finally:  # the bar hands the terminal back to plain log lines on every exit path
                progress.done(stats)
            print(format_summary(stats), flush=True)
            if stop.is_set():
                break
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from vidwatch.serve.service import serve
    from vidwatch.serve.site import load_site

    site = load_site(args.config, args.set)
    if args.ray is not None:
        from vidwatch.distributed.cluster import check_address, require_ray

        require_ray()
        check_address(args.ray)
    with _stop_on_signals() as stop:
        return serve(site, stop, ray=args.ray)


def cmd_timelapse(args: argparse.Namespace) -> int:
    from vidwatch.config import load_config
    from vidwatch.timelapse import parse_interval, run_timelapse

    config = load_config(args.config, args.set)
    every = parse_interval(args.every) if args.every else None
    with _stop_on_signals() as stop:
        result = run_timelapse(args.source, config, args.out_dir, every=every, stop=stop)
    print(f"kept {result.kept} of {result.seen} frames in {args.out_dir}", flush=True)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from vidwatch.plot import plot_timeline, read_event_spans, read_scores

    timeline = read_scores(args.scores, args.source)
    spans = read_event_spans(args.events, args.source) if args.events else None
    out = plot_timeline(timeline, args.output, title=args.title or Path(args.scores).name, log_scale=args.log,
                        event_spans=spans)
    print(f"wrote {out}", flush=True)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from vidwatch.compare import compare_images, read_image

    a = read_image(args.image1, colour=args.colour)
    b = read_image(args.image2, colour=args.colour)
    r = compare_images(a, b, normalize=args.normalize, noise_level=args.noise_level, bins=args.bins)
    print(f"Manhattan norm: {r.manhattan:.6g} / per pixel: {r.manhattan_per_pixel:.6g}")
    print(f"Zero norm: {r.zero} / per pixel: {r.zero_per_pixel:.6g}")
    print(f"Histogram KL divergence: {r.histogram_kl:.6g}")
    return 0


def cmd_detectors(args: argparse.Namespace) -> int:
    from vidwatch.config import load_config
    from vidwatch.detectors import REGISTRY, detector_class
    from vidwatch.params import field_docs, yaml_text
    from vidwatch.reference import imported_detectors

    if args.types:
        try:
            listed = {name: detector_class(name) for name in args.types}
        except ValueError as exc:
            raise UserError(str(exc)) from None
    else:
        extra = imported_detectors(load_config(args.config, args.set)) if args.config or args.set else {}
        listed = {**REGISTRY, **extra}
    for name, cls in listed.items():
        print(f"{name}  (feeds: {cls.kind}; metrics: {', '.join(cls.metric_names) or 'none'})")
        print(f"    {cls.summary}")
        for field, allowed, default, doc in field_docs(cls.Params):  # defaults spelt as `config` prints them
            print(f"    {field:<16} default {yaml_text(default):<10} {allowed}: {doc}")
        print()
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from vidwatch.config import load_config, render_yaml

    if args.presets:
        from vidwatch.presets import describe, preset_names

        names = preset_names()
        width = max(len(n) for n in names)
        for name in names:
            print(f"{name:<{width}}  {describe(name)}")
        print(f"\nuse one with -c NAME (e.g. vidwatch run -c {names[-1]} SOURCE); a file path given to -c wins")
        return 0
    config = load_config(args.config, args.set)
    if args.reference:
        from vidwatch.reference import config_reference, imported_detectors

        sys.stdout.write(config_reference(imported_detectors(config)))
        return 0
    sys.stdout.write(render_yaml(config))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from vidwatch.config import load_config
    from vidwatch.evaluate import evaluate, format_table, pair_truths, table_rows
    from vidwatch.pipeline import run_source

    config = load_config(args.config, args.set)
    truths = pair_truths(args.sources, args.truth)
    per_clip = []
    for spec, truth in zip(args.sources, truths, strict=True):
        assert truth is not None
        stats = run_source(spec, config, [])
        per_clip.append((spec, evaluate(stats.events, truth, stats.frames, tolerance=args.tolerance,
                                        seconds=stats.seconds)))
    print(format_table(table_rows(per_clip)))
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from vidwatch.config import load_config
    from vidwatch.evaluate import pair_truths
    from vidwatch.inject import InjectParams
    from vidwatch.tune import TuneParams
    from vidwatch.tuning import Request, check_output, format_outcome, run_tune, write_config

    output = check_output(args.output)  # before anything is decoded
    base = load_config(args.config, args.set)
    truths = pair_truths(args.sources, args.truth, required=False)
    missing = [s for s, t in zip(args.sources, truths, strict=True) if t is None]
    if missing and len(missing) < len(truths) and args.max_false_per_hour is None:
        raise UserError(f"no truth for {missing[0]}: give --truth FILE for every clip, or --max-false-per-hour N "
                        f"to count clips without truth as footage where nothing happened")
    params = TuneParams() if args.margin is None else TuneParams(margin=args.margin)
    inject = InjectParams() if not args.speeds else InjectParams(speeds=tuple(args.speeds))
    request = Request(args.sources, truths, base, args.tolerance, args.max_false_per_hour, params, inject,
                      force=args.force, sensitivity=args.speeds is None or bool(args.speeds))
    outcome = run_tune(request)
    print(format_outcome(outcome, request), flush=True)
    result = outcome.result
    for warning in [*result.warnings, *outcome.notes]:
        log.warning("%s", warning)
    if result.refused and not args.force:
        raise UserError(result.refused)
    header = (f"# Fitted by `vidwatch tune` to {', '.join(args.sources)} (base: "
              f"{args.config or 'the built-in defaults'}{''.join(f', --set {o}' for o in args.set)}).\n"
              f"# Run it with `vidwatch run -c {args.output} SOURCE`; "
              f"check it with `vidwatch eval -c {args.output}`.\n")
    write_config(output, result.config, header)
    what = "the base config, unchanged" if not result.changed else f"{result.trials} replays of the gate"
    print(f"wrote {args.output} ({what}); run it with: vidwatch run -c {args.output} ...")
    return 0


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidwatch", description="Real-time video change and anomaly detection.")
    parser.add_argument("--version", action="version", version=f"vidwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors in the log")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("-c", "--config", dest="global_config", metavar="YAML",
                        help="config file or preset name, for commands that take one (same as -c after the command)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", metavar="YAML", help="config file or preset name (default: the "
                       "built-in defaults, preset 'default'; list presets with `vidwatch config --presets`)")
        p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                       help="override one config key, e.g. --set detectors.diff.threshold=0.01 (repeatable)")

    run = sub.add_parser("run", help="detect events in a video file, camera, stream or image folder")
    run.add_argument("sources", nargs="+", metavar="SOURCE",
                     help="video file, image folder or glob, camera index (0), /dev/videoN or stream URL")
    config_args(run)
    run.add_argument("--events", metavar="PATH", help="write finished events as JSON Lines to PATH (what it "
                     "held is replaced once the run has started)")
    run.add_argument("--append", action="store_true", help="add to the --events file instead of replacing it")
    run.add_argument("--snapshots", metavar="DIR", help="write a captioned JPEG of each event's peak frame to DIR")
    run.add_argument("--clips", metavar="DIR", help="write each event as an MP4 clip with pre/post-roll to DIR")
    run.add_argument("--scores", metavar="PATH", help="write every frame's detector scores as CSV to PATH")
    run.add_argument("--annotate", metavar="OUT.mp4",
                     help="write the input back with masks, boxes, scores and events drawn on every frame")
    run.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                     help="progress line on stderr (auto: only on a terminal; not shown with --jobs)")
    run.add_argument("--realtime", action="store_true",
                     help="play files at their own frame rate, dropping frames analysis is too slow for, "
                          "like a live camera")
    run.add_argument("--status", type=float, metavar="SECONDS",
                     help="log a status line (fps in and analysed, dropped, latency, events) every SECONDS; "
                          "default 60 for cameras and streams, off for files; 0 turns it off")
    run.add_argument("--show", action="store_true",
                     help="preview window with the change mask and events (q or Esc stops the run)")
    run.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                     help="use N processes (0: one per CPU): several sources at once, and a long file cut at "
                          "keyframes into pieces scanned in parallel; events are still reported in source order, "
                          "as one process finds them")
    run.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                     help="run every file, and every piece of a long file, as a Ray task: alone, on a Ray "
                          "instance started here with --jobs CPUs; 'auto', HOST:PORT or ray://HOST:PORT for a "
                          "cluster (needs vidwatch[ray]; the files must be readable by the workers at the same "
                          "path)")
    run.add_argument("--fast", action="store_true",
                     help="recorded files: decode only the stretches whose compressed stream shows activity "
                          "(packet sizes, keyframes compared) and skip the rest; the same as source.triage")
    run.set_defaults(func=cmd_run)

    srv = sub.add_parser("serve", help="watch many cameras as a service: web page, API, events in SQLite, "
                         "MQTT, metrics (needs the serve extra)")
    srv.add_argument("-c", "--config", required=True, metavar="SITE.yaml",
                     help="site config: cameras, serve, mqtt, and run's sections as every camera's defaults")
    srv.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="override one site config key, e.g. --set serve.port=8081 (repeatable)")
    srv.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                     help="run every camera in a Ray actor that Ray restarts if it dies: alone, on a Ray instance "
                          "started here; 'auto', HOST:PORT or ray://HOST:PORT for a cluster (needs vidwatch[ray])")
    srv.set_defaults(func=cmd_serve)

    tl = sub.add_parser("timelapse", help="keep only the frames that differ enough from the last kept one")
    tl.add_argument("source", metavar="SOURCE", help="camera, stream, video file or image folder")
    tl.add_argument("out_dir", metavar="OUT_DIR", help="folder for the kept frames")
    tl.add_argument("--every", metavar="INTERVAL",
                    help="consider one frame per interval of source time, e.g. 10s, 500ms, 2m (default: every frame)")
    config_args(tl)
    tl.set_defaults(func=cmd_timelapse)

    plot = sub.add_parser("plot", help="plot a --scores CSV: scores, thresholds and events over time")
    plot.add_argument("scores", metavar="SCORES.csv")
    plot.add_argument("-o", "--output", default="timeline.png", metavar="PNG",
                      help="output image (default timeline.png)")
    plot.add_argument("--events", metavar="EVENTS.jsonl", help="shade the exact event spans from an --events "
                      "file (default: the frames where the gate had an event open, from the CSV)")
    plot.add_argument("--source", help="with several sources in the CSV, the one to plot (required then)")
    plot.add_argument("--title", help="plot title (default: the CSV file name)")
    plot.add_argument("--log", action="store_true", help="symmetric-log score axis (spikes far above threshold)")
    plot.set_defaults(func=cmd_plot)

    cmp = sub.add_parser("compare", help="quantify the difference between two images")
    cmp.add_argument("image1")
    cmp.add_argument("image2")
    cmp.add_argument("--normalize", action="store_true",
                     help="normalise exposure first (1st..99th percentile stretch)")
    mode = cmp.add_mutually_exclusive_group()
    mode.add_argument("--grey", dest="colour", action="store_false", help="compare in grey (default)")
    mode.add_argument("--colour", dest="colour", action="store_true", help="compare all colour channels")
    cmp.add_argument("--noise-level", type=int, default=0, metavar="N",
                     help="zero norm counts pixels differing by more than N (default 0: any difference)")
    cmp.add_argument("--bins", type=int, default=32, help="histogram bins for the KL divergence")
    cmp.set_defaults(func=cmd_compare, colour=False)

    def truth_args(p: argparse.ArgumentParser) -> None:
        from vidwatch.evaluate import DEFAULT_TOLERANCE

        p.add_argument("--truth", action="extend", nargs="+", metavar="FILE",
                       help="truth JSON files, one per SOURCE in the same order (after one --truth or "
                       "several; default: SOURCE with a .json suffix)")
        p.add_argument("--tolerance", type=int, default=DEFAULT_TOLERANCE, metavar="N",
                       help="frames a detected event may miss a truth event by and still match it "
                       "(default %(default)s)")

    ev = sub.add_parser("eval", help="score detected events against ground truth")
    ev.add_argument("sources", nargs="+", metavar="SOURCE", help="video file or image folder")
    truth_args(ev)
    config_args(ev)
    ev.set_defaults(func=cmd_eval)

    tn = sub.add_parser("tune", help="fit thresholds, min frames and fusion to labelled or quiet footage")
    tn.add_argument("sources", nargs="+", metavar="SOURCE", help="video file or image folder")
    truth_args(tn)
    config_args(tn)
    tn.add_argument("-o", "--output", required=True, metavar="YAML", help="where to write the tuned config")
    tn.add_argument("--max-false-per-hour", type=float, metavar="N",
                    help="false-event budget per event kind; clips without truth count as footage where nothing "
                    "happened (with no truth at all the budget is 0 unless given)")
    tn.add_argument("--margin", type=float, metavar="SHARE",
                    help="how far above the highest score that must not fire a raised threshold goes, as a share "
                    "of that score (the report says which margin was used)")
    tn.add_argument("--speeds", type=float, nargs="*", metavar="PX_PER_FRAME",
                    help="on quiet footage, the speeds at which synthetic people are walked through it to measure "
                    "the smallest one still found (by default three, slow to brisk; the report names them); with no "
                    "value, no such measurement")
    tn.add_argument("--force", action="store_true",
                    help="write the tuned config even when it scores worse than the base on clips it was not "
                    "fitted to (cross-validated), and take training fits that cannot be cross-validated")
    tn.set_defaults(func=cmd_tune)

    det = sub.add_parser("detectors", help="list detectors with their parameters and defaults")
    det.add_argument("types", nargs="*", metavar="TYPE",
                     help="only these: registered names or classes by import path (package.module:Class)")
    config_args(det)
    det.set_defaults(func=cmd_detectors)

    cfg = sub.add_parser("config", help="print the effective configuration as YAML")
    config_args(cfg)
    cfg.add_argument("--reference", action="store_true",
                     help="print every config key with its default, allowed values and meaning (Markdown); "
                     "with -c, detectors the config names by import path too")
    cfg.add_argument("--presets", action="store_true", help="list the shipped presets (for -c NAME)")
    cfg.set_defaults(func=cmd_config)
    return parser


OUTPUT_OPTIONS = {"events": "--events", "snapshots": "--snapshots", "clips": "--clips", "scores": "--scores",
                  "annotate": "--annotate", "output": "-o", "out_dir": "OUT_DIR"}
"""Arguments that name something a command writes, for naming it in an environment error."""


def _output_paths(args: argparse.Namespace) -> dict[str, str]:
    return {flag: str(getattr(args, name)) for name, flag in OUTPUT_OPTIONS.items() if getattr(args, name, None)}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code: 0 ok, 2 bad input or config (or a fault of the machine
    that ended the command), 3 the run finished but outputs were lost, 1 internal error, 130 interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.global_config is not None:  # `vidwatch -c NAME COMMAND`: -c after the command wins
        if not hasattr(args, "config"):
            parser.error(f"-c: `{args.command}` takes no config")
        args.config = args.config or args.global_config
    setup_logging(-1 if args.quiet else args.verbose)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"vidwatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vidwatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: one line unless --debug
        if args.debug:
            traceback.print_exc()
        problem = environment_problem(exc, _output_paths(args)) if isinstance(exc, OSError) else None
        if problem is not None:  # the machine's fault (a full disk, no permission), not vidwatch's
            print(f"vidwatch: error: {problem}", file=sys.stderr)
            return 2
        print(f"vidwatch: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
