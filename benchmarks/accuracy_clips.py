"""Generate the accuracy benchmark's clips, deterministically, each with its exact truth beside it.

Why: the nuisances that cause false alarms and the targets that get missed must be measured on
clips whose truth is known to the frame. The clips are rendered from real footage
(``accuracy_footage.py``) following plain descriptions (``accuracy_scene.py``) in two splits:

- ``dev`` (``accuracy_dev_clips.py``): the clips detection may be tuned on;
- ``test`` (``accuracy_test_clips.py``): held out. Every nuisance and target kind of ``dev`` is here
  too, but with other seeds, other pedestrians, paths, speeds, directions, positions and sizes,
  other foliage crops and time ranges and other nuisance parameters, so that fitting ``dev`` does
  not fit ``test``;
- ``fresh<seed>`` (``accuracy_fresh_clips.py``): a suite drawn at random from the seed, one clip of
  every kind of ``test``, with pedestrians neither split uses: footage nobody has seen, on demand.

Each clip ``<split>/<name>.mp4`` (H.264 through ffmpeg when available, else OpenCV ``mp4v``) is
written with ``<name>.json``, a truth file ``vidwatch eval`` reads as it is (see README,
"Evaluating and tuning")::

    {"events": [[start, end], [cut, cut, "scene_change"], [frame, frame, "lighting"], ...],
     "labelled_kinds": ["motion", "scene_change"(, "lighting")], "ignore": [[a, b, "scene_change"]],
     "fps": 10.0, "frames": N, "width": W, "height": H, "split": "dev", "category": "snow",
     "description": "...", "footage": "vtest" | "synthetic", "walkers": [...]}

Usage::

    python benchmarks/accuracy_clips.py [--split dev|test|all|fresh<seed>] [--out DIR] [--force]
                                        [--clips NAME ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import accuracy_dev_clips  # noqa: E402
import accuracy_fresh_clips  # noqa: E402
import accuracy_test_clips  # noqa: E402
from accuracy_footage import Footage, find_data_dir, load_footage  # noqa: E402
from accuracy_render import render, truth_for  # noqa: E402
from accuracy_scene import Clip  # noqa: E402

log = logging.getLogger("accuracy_clips")

GENERATOR_VERSION = 2
"""Bump when any clip changes, so cached clips are rebuilt."""
DEFAULT_CACHE = HERE / ".cache" / "accuracy"
SPLITS = ("dev", "test")


def clips(split: str) -> list[Clip]:
    """The clips of one split, in a fixed order."""
    if split == "dev":
        return accuracy_dev_clips.clips()
    if split == "test":
        return accuracy_test_clips.clips()
    if accuracy_fresh_clips.is_fresh(split):
        return accuracy_fresh_clips.clips(accuracy_fresh_clips.seed_of(split))
    raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)} or fresh<seed>")


def clip_names(split: str) -> list[str]:
    return [c.name for c in clips(split)]


# --------------------------------------------------------------------------------------------
# Writing clips
# --------------------------------------------------------------------------------------------


CLIP_CRF = 23
CLIP_KEYFRAME_SECONDS = 2


def x264_options(crf: int, keyframe_seconds: float, fps: float) -> list[str]:
    """ffmpeg's output options for the benchmark's H.264: single-threaded, so encoding is deterministic."""
    return ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-g", str(max(1, int(keyframe_seconds * fps))),
            "-pix_fmt", "yuv420p", "-threads", "1", "-x264-params", "threads=1"]


class _Writer:
    """H.264 through ffmpeg (single-threaded, deterministic) when present, else OpenCV mp4v."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        self.proc: subprocess.Popen | None = None
        self.cv: cv2.VideoWriter | None = None
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg:
            self.codec = "h264"
            cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s",
                   f"{width}x{height}", "-r", f"{fps:g}", "-i", "-",
                   *x264_options(CLIP_CRF, CLIP_KEYFRAME_SECONDS, fps), "-movflags", "+faststart", str(path)]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        else:
            self.codec = "mp4v"
            self.cv = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
            if not self.cv.isOpened():
                raise RuntimeError(f"cannot write {path}")

    def write(self, frame: np.ndarray) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(frame.tobytes())
        else:
            assert self.cv is not None
            self.cv.write(frame)

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            if self.proc.wait() != 0:
                raise RuntimeError(f"ffmpeg failed writing {self.path}")
        if self.cv is not None:
            self.cv.release()


def write_clip(clip: Clip, footage: Footage, out: Path) -> Path:
    """Render, encode and verify one clip; write its truth JSON last (its presence marks a complete clip)."""
    out.mkdir(parents=True, exist_ok=True)
    video = out / f"{clip.name}.mp4"
    truth_path = out / f"{clip.name}.json"
    truth_path.unlink(missing_ok=True)
    writer = _Writer(video, clip.width, clip.height, clip.fps)
    try:
        visible = render(clip, footage, writer.write)
    finally:
        writer.close()
    capture = cv2.VideoCapture(str(video))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    if count != clip.frames:
        raise RuntimeError(f"{video}: decoded {count} frames, wrote {clip.frames}")
    truth = truth_for(clip, visible, footage, GENERATOR_VERSION)
    truth["codec"] = writer.codec
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
    return video


_FOOTAGE: Footage | None = None


def _write_job(args: tuple[str, str, Path]) -> tuple[str, int, float]:
    """Worker: render one clip (footage loaded once per process)."""
    global _FOOTAGE
    split, name, out = args
    if _FOOTAGE is None:
        cv2.setNumThreads(1)
        _FOOTAGE = load_footage()
    clip = next(c for c in clips(split) if c.name == name)
    started = time.perf_counter()
    write_clip(clip, _FOOTAGE, out)
    return name, clip.frames, time.perf_counter() - started


def _manifest_ok(out: Path, footage_kind: str | None) -> bool:
    path = out / "manifest.json"
    if not path.is_file():
        return False
    data = json.loads(path.read_text())
    return data.get("version") == GENERATOR_VERSION and (footage_kind is None or data.get("footage") == footage_kind)


def ensure_clips(out: Path = DEFAULT_CACHE, split: str = "dev", names: Sequence[str] | None = None,
                 force: bool = False, jobs: int = 1) -> list[Path]:
    """The clip paths of ``split`` (under ``out/<split>/``), generating any that are missing, stale or forced."""
    folder = out / split
    every = clips(split)
    wanted = [c for c in every if names is None or c.name in names]
    available = "vtest" if find_data_dir() else "synthetic"
    stale = force or not _manifest_ok(folder, available)
    todo = [c for c in wanted
            if stale or not (folder / f"{c.name}.json").is_file() or not (folder / f"{c.name}.mp4").is_file()]
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
        if stale:
            for old in folder.glob("*.json"):
                old.unlink()
        started = time.perf_counter()
        jobs_list = [(split, c.name, folder) for c in todo]
        if jobs > 1 and len(todo) > 1:
            # spawned, not forked: a fork inherits OpenCV's thread pool half-alive
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                done = list(pool.map(_write_job, jobs_list))
        else:
            done = [_write_job(job) for job in jobs_list]
        for name, frames, seconds in done:
            log.info("wrote %s/%s (%d frames, %.1f s)", split, name, frames, seconds)
        footage_kind = _FOOTAGE.kind if _FOOTAGE is not None else available
        manifest = {"version": GENERATOR_VERSION, "footage": footage_kind}
        (folder / "manifest.json").write_text(json.dumps(manifest) + "\n")
        log.info("generated %d %s clip(s) in %.1f s into %s", len(todo), split, time.perf_counter() - started, folder)
    return [folder / f"{c.name}.mp4" for c in wanted]


RECOMPRESS_KEYFRAME_SECONDS = 10
"""Keyframe interval of recompressed clips: cameras that save bandwidth send one every few seconds to
tens of seconds, and the longer the run of predicted frames, the more the picture drifts and pulses."""


def _recompress_job(args: tuple[Path, Path, int, float]) -> Path:
    source, target, crf, fps = args
    partial = target.with_name(f".{target.name}")
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(source),
           *x264_options(crf, RECOMPRESS_KEYFRAME_SECONDS, fps), "-f", "mp4", str(partial)]
    subprocess.run(cmd, check=True)
    partial.replace(target)
    return target


def recompressed(videos: Sequence[Path], crf: int, jobs: int = 1) -> list[Path]:
    """The same clips re-encoded as a bandwidth-starved camera sends them (H.264 at ``crf``, a keyframe
    every 10 s), cached under ``<cache>/crf<crf>/<split>/`` beside a copy of each truth file.

    Why: the clips are written at CRF 23 with a keyframe every 2 s; many cameras send far coarser
    pictures, whose blocks, smeared detail and keyframe pulses are nuisances of their own. The
    truth is unchanged: recompressing moves no event.
    """
    if not shutil.which("ffmpeg"):
        raise RuntimeError("recompressing the clips needs ffmpeg on PATH")
    out, todo = derived_copies(videos, f"crf{crf}")
    if todo:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # the work is ffmpeg's, in its own process
            list(pool.map(_recompress_job, [(video, target, crf, fps_of(video)) for video, target in todo]))
        finish_copies(todo)
        log.info("recompressed %d clip(s) at CRF %d in %.1f s", len(todo), crf, time.perf_counter() - started)
    return out


def derived_copies(videos: Sequence[Path], folder: str) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """Where a changed copy of each clip goes (``<cache>/<folder>/<split>/``), and the (clip, copy)
    pairs still to make: those whose copy is missing, older than the clip, or whose truth differs.
    Their old truth files are removed; :func:`finish_copies` writes them once the copies are made."""
    out, todo = [], []
    for video in videos:
        target = video.parent.parent / folder / video.parent.name / video.name
        truth, source_truth = target.with_suffix(".json"), video.with_suffix(".json")
        out.append(target)
        if (target.is_file() and truth.is_file() and truth.read_text() == source_truth.read_text()
                and target.stat().st_mtime >= video.stat().st_mtime):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        truth.unlink(missing_ok=True)
        todo.append((video, target))
    return out, todo


def finish_copies(made: Sequence[tuple[Path, Path]]) -> None:
    """Copy each clip's truth beside its copy: last, so its presence marks a complete copy."""
    for video, target in made:
        shutil.copyfile(video.with_suffix(".json"), target.with_suffix(".json"))


def fps_of(video: Path) -> float:
    """A generated clip's frame rate, from its truth file."""
    return float(json.loads(video.with_suffix(".json").read_text())["fps"])


def _split_arg(text: str) -> str:
    if text in (*SPLITS, "all") or accuracy_fresh_clips.is_fresh(text):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: choose dev, test, all or fresh<seed> (e.g. fresh1)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", type=_split_arg, default="all",
                        help="dev, test, all (both) or fresh<seed> (a suite drawn from that seed; default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_CACHE, help="output folder (default: %(default)s)")
    parser.add_argument("--clips", nargs="+", metavar="NAME", help="only these clips")
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (default: 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    splits = SPLITS if args.split == "all" else (args.split,)
    known = {n for s in splits for n in clip_names(s)}
    unknown = set(args.clips or ()) - known
    if unknown:
        print(f"unknown clip(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for split in splits:
        names = [n for n in args.clips if n in clip_names(split)] if args.clips else None
        if names == []:
            continue
        for path in ensure_clips(args.out, split, names, args.force, max(1, args.jobs)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
