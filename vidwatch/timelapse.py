"""Changed-frames time-lapse: keep a frame only when it differs enough from the last frame kept.

Comparing with the last *kept* frame (not the previous one) is what makes slow change count: a
shadow that creeps a little each minute never differs much from one sample to the next, but it does
from the picture kept an hour ago. The comparison is the configured detectors scoring the pair
(last kept, candidate): a frame is kept when any detector of any event kind is over its threshold,
as the gate judges a frame on its own (:meth:`~vidwatch.gate.Gate.judge`, whose record says which
scores were over). Fusion, ``min_frames``, post-roll and merge gap do not apply, as each candidate
is judged on its own, and detectors that need a run of frames (flow's tracks, a camera that stays
moved) have nothing to say about a single pair.

For each kept frame the detectors are reset and primed with it (fed it until their declared warm-up,
:meth:`~vidwatch.detectors.base.Detector.ready_at`, is over, so a background model learns it as a
still scene); every candidate is scored by a copy of that primed state, so candidates never teach
the models anything. The source is opened as every run opens it (:func:`~vidwatch.pipeline.open_for_run`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2

from vidwatch.config import Config
from vidwatch.detectors.base import Detector
from vidwatch.errors import UserError
from vidwatch.frames import SourceFrame
from vidwatch.objects.params import OBJECTS
from vidwatch.objects.stage import ObjectStage
from vidwatch.pipeline import build_gate, foreground_detectors, open_for_run, record_layout
from vidwatch.preprocess import Preprocessor
from vidwatch.record import FrameRecord
from vidwatch.scoring import use_one_opencv_thread
from vidwatch.sources import ImageFolderSource, Source, StreamNotice

log = logging.getLogger(__name__)

_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_interval(text: str) -> float:
    """'10s', '500ms', '2m', '1h' or a bare number of seconds -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|m|min|h)?\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise UserError(f"--every {text!r}: expected a positive interval like 10s, 500ms, 2m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@dataclass(slots=True)
class TimelapseResult:
    seen: int = 0
    kept: int = 0
    files: list[Path] | None = None


PRIME_STEPS = 10_000
"""Most (one-second) steps a detector is fed the kept frame before it is ready; they are timed before
the kept frame, so the detector's clock never runs ahead of the candidates'."""


class ChangeJudge:
    """Decides whether a candidate differs enough from the reference (the last kept frame)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.preprocess = Preprocessor(config.analysis, config.zones)  # the run's preprocessing
        self.gate = build_gate(config)
        self.layout = record_layout(config)
        self._primed: dict[str, Detector] = {}
        # things are judged on the pair too: a solid region of the smallest size, not light, counts
        self.objects = ObjectStage(config.objects, foreground_detectors(config)) if config.tracks_objects else None

    def set_reference(self, frame: SourceFrame) -> None:
        analysis = self.preprocess(frame)
        self._primed = {}
        for name, spec in self.config.detectors.items():
            params = spec.params
            if getattr(params, "reach", 0):  # a pair has no run of frames to persist over
                params = dataclasses.replace(params, reach=0)
            detector = spec.cls(params)
            # feed the kept frame as a still scene, its clock running up to the kept frame's own time,
            # until the model has learnt it: every later candidate then meets a model that is ready
            for step in range(1, PRIME_STEPS):
                detector.update(dataclasses.replace(analysis, time=analysis.time - PRIME_STEPS + step))
                if step >= 2 and detector.ready_at(analysis.time - PRIME_STEPS + step):
                    break
            self._primed[name] = detector

    def score(self, frame: SourceFrame) -> FrameRecord:
        """The gate's verdict on ``frame`` against the reference, judged on its own."""
        analysis = self.preprocess(frame)
        scores = {name: copy.deepcopy(d).update(analysis) for name, d in self._primed.items()}
        if self.objects is not None:
            scores[OBJECTS] = self.objects.judge_still(analysis, scores)
        return self.gate.judge(analysis, scores)

    def changed(self, record: FrameRecord) -> list[str]:
        """The event kinds with a detector over its threshold (empty: not different enough)."""
        return [kind for kind in self.layout.kinds if record.over.intersection(self.layout.feeds[kind])]


def _output_name(source: Source, frame: SourceFrame, started: datetime) -> str:
    if isinstance(source, ImageFolderSource):
        return Path(source.file_for(frame.index)).name
    if source.live:
        stamp = datetime.fromtimestamp(started.timestamp() + frame.time)
        return f"{stamp:%Y%m%d-%H%M%S}_{frame.index:06d}.jpg"
    return f"frame_{frame.index:06d}_{frame.time:.3f}s.jpg"


def run_timelapse(
    spec: str | Source,
    config: Config,
    out_dir: str | Path,
    *,
    every: float | None = None,
    stop: threading.Event | None = None,
    on_keep: Callable[[Path, list[str]], None] | None = None,
) -> TimelapseResult:
    """Write the frames of ``spec`` that differ enough from the last kept frame into ``out_dir``.

    ``every`` samples one frame per that many seconds of source time (a camera's clock for live
    sources); None considers every frame. Image-folder frames are copied byte for byte under their
    own names; other frames are written as JPEG.
    """
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create time-lapse folder {folder}: {exc.strerror}") from None
    source = open_for_run(spec, config, stop=stop)
    use_one_opencv_thread()
    judge = ChangeJudge(config)
    result = TimelapseResult(files=[])
    started = datetime.now()
    next_due: float | None = None
    quality = [cv2.IMWRITE_JPEG_QUALITY, config.outputs.jpeg_quality]
    with source:
        for frame in source:
            if isinstance(frame, StreamNotice):  # a camera that dropped out: keep watching when it is back
                log.info("%s: %s", source.name, frame.kind)
                continue
            if every is not None:
                if next_due is not None and frame.time < next_due - 1e-9:
                    continue
                next_due = (next_due if next_due is not None else frame.time) + every
                while next_due <= frame.time:
                    next_due += every
            result.seen += 1
            if result.kept == 0:
                kinds = ["first"]
            else:
                kinds = judge.changed(judge.score(frame))
            if kinds:
                path = folder / _output_name(source, frame, started)
                if isinstance(source, ImageFolderSource):
                    shutil.copy2(source.file_for(frame.index), path)
                elif not cv2.imwrite(str(path), frame.bgr(), quality):
                    raise UserError(f"cannot write {path}; check the time-lapse folder is writable")
                judge.set_reference(frame)
                result.kept += 1
                assert result.files is not None
                result.files.append(path)
                # a camera runs for hours: say each keep; a folder or file only says the total at the end
                log.log(logging.INFO if source.live else logging.DEBUG, "kept frame %d (%.2fs) as %s: %s",
                        frame.index, frame.time, path.name, ",".join(kinds))
                if on_keep is not None:
                    on_keep(path, kinds)
            if stop is not None and stop.is_set():
                break
    return result
