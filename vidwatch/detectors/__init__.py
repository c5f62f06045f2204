"""The detector registry: YAML ``type:`` name -> detector class."""

from __future__ import annotations

from vidwatch.detectors.background import BackgroundDetector
from vidwatch.detectors.base import QUIET, Detector, DetectorParams, Score
from vidwatch.detectors.camera import CameraMovedDetector
from vidwatch.detectors.diff import DiffDetector
from vidwatch.detectors.flow import FlowDetector
from vidwatch.detectors.histogram import HistogramDetector
from vidwatch.detectors.lighting import LightingDetector

REGISTRY: dict[str, type] = {
    cls.name: cls
    for cls in (DiffDetector, BackgroundDetector, FlowDetector, HistogramDetector, LightingDetector,
                CameraMovedDetector)
}


def detector_class(type_name: str) -> type:
    """Look up a detector class by its YAML ``type``; unknown names list the known ones."""
    try:
        return REGISTRY[type_name]
    except KeyError:
        known = ", ".join(REGISTRY)
        raise ValueError(f"unknown detector type '{type_name}'; known: {known}") from None


__all__ = ["QUIET", "REGISTRY", "Detector", "DetectorParams", "Score", "detector_class"]
