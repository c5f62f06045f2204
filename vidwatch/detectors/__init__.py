"""The detector registry: YAML ``type:`` name -> detector class, and classes named by import path.

A config may name a detector class that is not registered by its import path,
``type: package.module:Class``; it is imported, checked against the detector contract and then
validated, listed and documented like a registered one.
"""

from __future__ import annotations

import importlib

from vidwatch.detectors.background import BackgroundDetector
from vidwatch.detectors.base import QUIET, AnalysisNeeds, Detector, DetectorParams, Score, contract_problem
from vidwatch.detectors.camera import CameraMovedDetector
from vidwatch.detectors.diff import DiffDetector
from vidwatch.detectors.flow import FlowDetector
from vidwatch.detectors.histogram import HistogramDetector
from vidwatch.detectors.lighting import LightingDetector
from vidwatch.detectors.structure import StructureDetector

REGISTRY: dict[str, type[Detector]] = {
    cls.name: cls
    for cls in (DiffDetector, BackgroundDetector, FlowDetector, HistogramDetector, StructureDetector,
                LightingDetector, CameraMovedDetector)
}


def default_detectors() -> tuple[str, ...]:
    """The detectors that run without ``-c``: every registered one that says it runs by default."""
    return tuple(name for name, cls in REGISTRY.items() if cls.runs_by_default)


def is_import_path(type_name: str) -> bool:
    return ":" in type_name


def detector_class(type_name: str) -> type[Detector]:
    """A detector class by its YAML ``type``: a registered name or ``package.module:Class``.

    Raises ValueError with one line naming what is wrong (an unknown name lists the known ones).
    """
    if is_import_path(type_name):
        return _import_class(type_name)
    try:
        return REGISTRY[type_name]
    except KeyError:
        known = ", ".join(REGISTRY)
        raise ValueError(f"unknown detector type '{type_name}'; known: {known}, or a detector class by "
                         f"import path (package.module:Class)") from None


def _import_class(type_name: str) -> type[Detector]:
    module_name, _, attribute = type_name.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"detector type '{type_name}': give a class by import path as package.module:Class")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any failure to import is the config's problem, told in one line
        raise ValueError(f"detector type '{type_name}': cannot import {module_name} ({type(exc).__name__}: "
                         f"{exc}); check the module is installed or on PYTHONPATH") from None
    found: object = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"detector type '{type_name}': module {module_name} has no {attribute}")
        found = getattr(found, part)
    problem = contract_problem(found)
    if problem is not None:
        raise ValueError(f"detector type '{type_name}' {problem}")
    assert isinstance(found, type)
    return found


__all__ = ["QUIET", "REGISTRY", "AnalysisNeeds", "Detector", "DetectorParams", "Score", "default_detectors",
           "detector_class", "is_import_path"]
