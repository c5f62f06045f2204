"""Shared fixtures: paths to the bundled sample clips and their truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_videos"


def truth_of(clip: Path) -> list[tuple[int, int]]:
    """The ground-truth event ranges stored beside a sample clip."""
    data = json.loads(clip.with_suffix(".json").read_text())
    return [tuple(e) for e in data["events"]]


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES
