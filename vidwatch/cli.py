"""Command line: argument parsing and dispatch only; the work lives in the modules it calls."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

from vidwatch import __version__
from vidwatch.errors import UserError

log = logging.getLogger("vidwatch")


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr, force=True)


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
    from vidwatch.config import load_config
    from vidwatch.pipeline import run_pipeline
    from vidwatch.report import Progress, format_summary
    from vidwatch.sinks import JsonlSink, LogSink, Sink
    from vidwatch.sources import open_source

    config = load_config(args.config, args.set)
    label = len(args.sources) > 1
    jobs = args.jobs or os.cpu_count() or 1
    with ExitStack() as outputs, _stop_on_signals() as stop:
        sinks: list[Sink] = [outputs.enter_context(LogSink())]
        if args.events:
            sinks.append(outputs.enter_context(JsonlSink(args.events)))
        if jobs > 1 and label:
            from vidwatch.batch import run_parallel

            run_parallel(args.sources, config, sinks, jobs=jobs, stop=stop,
                         on_source_done=lambda stats: print(format_summary(stats), flush=True))
            return 0
        for spec in args.sources:
            source = open_source(spec, config.source)
            progress = Progress(source.frame_count,
                                enabled=None if args.progress == "auto" else args.progress == "on")
            stats = run_pipeline(source, config, sinks, stop=stop, on_frame=progress,
                                 label_events=label)
            progress.done()
            print(format_summary(stats), flush=True)
            if stop.is_set():
                break
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
    from vidwatch.detectors import REGISTRY
    from vidwatch.params import field_docs

    for name, cls in REGISTRY.items():
        print(f"{name}  (feeds: {cls.kind})")
        print(f"    {cls.summary}")
        for field, allowed, default, doc in field_docs(cls.Params):
            print(f"    {field:<16} default {default!r:<10} {allowed}: {doc}")
        print()
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from vidwatch.config import load_config, render_yaml

    sys.stdout.write(render_yaml(load_config(args.config, args.set)))
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
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", metavar="YAML", help="config file (default: built-in defaults, "
                       "the same as configs/default.yaml)")
        p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                       help="override one config key, e.g. --set detectors.diff.threshold=0.01 (repeatable)")

    run = sub.add_parser("run", help="detect events in a video file, camera, stream or image folder")
    run.add_argument("sources", nargs="+", metavar="SOURCE",
                     help="video file, image folder or glob, camera index (0), /dev/videoN or stream URL")
    config_args(run)
    run.add_argument("--events", metavar="PATH", help="write finished events as JSON Lines to PATH")
    run.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                     help="progress line on stderr (auto: only on a terminal; not shown with --jobs)")
    run.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                     help="process up to N sources at once in parallel processes (0: one per CPU); "
                          "events are still reported in source order")
    run.set_defaults(func=cmd_run)

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

    det = sub.add_parser("detectors", help="list detectors with their parameters and defaults")
    det.set_defaults(func=cmd_detectors)

    cfg = sub.add_parser("config", help="print the effective configuration as YAML")
    config_args(cfg)
    cfg.set_defaults(func=cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 2 bad input or config, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(-1 if args.quiet else args.verbose)
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
        print(f"vidwatch: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
