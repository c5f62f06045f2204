"""The sample clip generator is deterministic and its truth matches what it draws."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2

from .conftest import SAMPLES


def load_generator():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_regenerated_clip_matches_the_bundled_truth(tmp_path: Path) -> None:
    generator = load_generator()
    video = generator.CLIPS["object_enters"](tmp_path)
    assert json.loads(video.with_suffix(".json").read_text())["events"] == \
        json.loads((SAMPLES / "object_enters.json").read_text())["events"]
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 180
    capture.release()


def test_every_bundled_clip_has_truth() -> None:
    for clip in SAMPLES.glob("*.mp4"):
        data = json.loads(clip.with_suffix(".json").read_text())
        assert all(len(span) == 2 and span[0] <= span[1] for span in data["events"])
