"""The detector contract: what a detector declares is what config, CLI, docs and outputs use.

Adding a detector is one module plus one registry line; a class in any importable module can also
be named by import path in a config. Both are shown here with a detector written in a temporary
module.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from vidwatch import detectors as registry
from vidwatch.cli import main
from vidwatch.config import build_config, load_config
from vidwatch.detectors import REGISTRY, default_detectors, detector_class
from vidwatch.detectors.base import contract_problem
from vidwatch.errors import ConfigError
from vidwatch.pipeline import record_layout, run_source
from vidwatch.preprocess import AnalysisParams, Preprocessor
from vidwatch.record import FrameRecord
from vidwatch.reference import config_reference
from vidwatch.sinks import Sink

from .synthetic import ArraySource, cut_at, frames, moving_square, noisy, quiet_scene, scene

BRIGHTNESS = '''
    """A detector written outside vidwatch: how far the mean brightness jumped since the last frame."""

    from dataclasses import dataclass
    from typing import ClassVar

    import cv2

    from vidwatch.detectors import QUIET, AnalysisNeeds, Detector, DetectorParams, Score
    from vidwatch.params import param


    @dataclass(frozen=True, slots=True)
    class JumpParams(DetectorParams):
        threshold: float = param(20.0, "grey levels the mean must jump by", min=0.0)
        colour: bool = param(False, "look at the colour copy (needs analysis.colour)")


    class BrightnessJump(Detector):
        name: ClassVar[str] = "brightness_jump"
        kind: ClassVar[str] = "flash"
        summary: ClassVar[str] = "mean brightness jump between consecutive frames"
        Params: ClassVar[type[DetectorParams]] = JumpParams
        metric_names: ClassVar[tuple[str, ...]] = ("mean", "jump")
        runs_by_default: ClassVar[bool] = True

        def reset(self) -> None:
            self._last = None

        @classmethod
        def needs(cls, params):
            return AnalysisNeeds(colour="colour" if params.colour else None)

        def update(self, frame):
            mean = float(cv2.mean(frame.grey)[0])
            last, self._last = self._last, mean
            if last is None:
                return QUIET
            return Score(abs(mean - last), {"mean": mean, "jump": mean - last})


    class NotADetector:
        name = "nope"
'''


@pytest.fixture()
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module ``jumpdet`` on the import path, holding the BrightnessJump detector."""
    (tmp_path / "jumpdet.py").write_text(textwrap.dedent(BRIGHTNESS))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "jumpdet", raising=False)
    return "jumpdet:BrightnessJump"


def flashes(n: int = 40, at: tuple[int, ...] = (12, 26)) -> list[np.ndarray]:
    """A quiet scene that is much brighter on the frames ``at`` (a flash each)."""
    images = list(quiet_scene(n))
    for i in at:
        images[i] = np.clip(images[i].astype(int) + 60, 0, 255).astype(np.uint8)
    return images


def test_a_detector_named_by_import_path_runs_like_a_registered_one(plugin: str, tmp_path: Path) -> None:
    config_file = tmp_path / "flash.yaml"
    config_file.write_text(f"detectors:\n  jump: {{type: '{plugin}', threshold: 30}}\n"
                           f"events:\n  flash: {{min_frames: 1, post_roll: 0, merge_gap: 0}}\n")
    config = load_config(config_file)
    assert config.detectors["jump"].type == plugin and list(config.events) == ["flash"]
    stats = run_source(ArraySource(flashes()), config, [])
    # a flash is a jump up and, a frame later, down again: frames 12-13 and 26-27
    assert [(e.kind, e.start_frame, e.end_frame) for e in stats.events] == [("flash", 12, 13), ("flash", 26, 27)]
    assert record_layout(config).metrics == {"jump": ("mean", "jump")}
    # it round-trips through the written config (how --jobs workers get it)
    assert build_config(config.to_plain()) == config


def test_an_imported_detector_is_validated_listed_and_documented(plugin: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config_file = tmp_path / "flash.yaml"
    config_file.write_text(f"detectors:\n  jump: {{type: '{plugin}'}}\n")
    with pytest.raises(ConfigError, match=r"detectors\.jump\.treshold: unknown key; allowed keys here: "
                                          r"adaptive, colour, sustained, threshold"):
        load_config(config_file, ["detectors.jump.treshold=3"])
    with pytest.raises(ConfigError, match=r"detectors\.jump\.colour: True needs the colour analysis copy; "
                                          r"set analysis\.colour: true"):
        load_config(config_file, ["detectors.jump.colour=true"])
    assert load_config(config_file, ["detectors.jump.colour=true", "analysis.colour=true"])
    assert main(["detectors", "-c", str(config_file)]) == 0
    listing = capsys.readouterr().out
    assert f"{plugin}  (feeds: flash; metrics: mean, jump)" in listing and "diff  (feeds: motion" in listing
    assert main(["config", "--reference", "-c", str(config_file)]) == 0
    reference = capsys.readouterr().out
    assert f"*`{plugin}`* (feeds `flash`; metrics `mean`, `jump`)" in reference
    assert "| `colour` | false | bool | look at the colour copy (needs analysis.colour) |" in reference
    assert plugin not in config_reference()  # README's reference holds the registered detectors only


@pytest.mark.parametrize(("type_name", "message"), [
    ("jumpdet:NotADetector", "is not a detector class (subclass vidwatch.detectors.Detector)"),
    ("jumpdet:Missing", "module jumpdet has no Missing"),
    ("nosuchmodule_x:Thing", "cannot import nosuchmodule_x (ModuleNotFoundError"),
    ("jumpdet:", "give a class by import path as package.module:Class"),
])
def test_a_bad_import_path_is_one_line_exit_2(plugin: str, tmp_path: Path, type_name: str, message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config_file = tmp_path / "bad.yaml"
    config_file.write_text(f"detectors:\n  jump: {{type: '{type_name}'}}\n")
    assert main(["config", "-c", str(config_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "detectors.jump.type:" in err[0] and message in err[0], err


def test_one_registry_line_adds_a_detector_to_the_default_config(plugin: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cls = detector_class(plugin)
    monkeypatch.setitem(registry.REGISTRY, cls.name, cls)  # the one line in vidwatch/detectors/__init__.py
    assert default_detectors()[-1] == "brightness_jump"
    config = load_config()
    assert "brightness_jump" in config.detectors and config.events["flash"].detectors == ("brightness_jump",)
    assert "*`brightness_jump`* (feeds `flash`; metrics `mean`, `jump`)" in config_reference()
    jumps = Jumps()
    run_source(ArraySource(flashes()), config, [jumps])
    # it scores the jump up; the way back down is never compared with the flash, because the default
    # lighting detector reported the flash and the gate re-baselined the other detectors, this one too
    assert [i for i, value in enumerate(jumps.values) if value > 20] == [12, 26]


class Jumps(Sink):
    """The brightness_jump score of every frame's record."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def frame(self, record: FrameRecord) -> None:
        self.values.append(record.scores["brightness_jump"].value)


def test_the_default_set_is_what_the_registry_declares() -> None:
    # diff and flow stay available; motion is decided on tracked things (the object stage)
    assert default_detectors() == ("background", "histogram", "structure", "lighting", "camera")
    assert tuple(load_config().detectors) == default_detectors()


@pytest.mark.parametrize("name", list(REGISTRY))
def test_registered_detectors_keep_the_contract(name: str) -> None:
    """Each satisfies the contract, and reports exactly its declared metrics (the CSV's columns) once warm."""
    cls = REGISTRY[name]
    assert contract_problem(cls) is None
    detector = cls(cls.Params())
    pre = Preprocessor(AnalysisParams())
    images = list(moving_square(50, start=10, end=40)) + list(cut_at(20, 10))
    reported = [list(detector.update(pre(f)).metrics) for f in frames(iter(images))]
    assert all(names in ([], list(cls.metric_names)) for names in reported), (name, reported)
    assert list(cls.metric_names) in reported


def new_scene() -> list[np.ndarray]:
    """Something for every detector to score: a square crossing, the light going up, the camera turned, and
    a cut to the picture upside down (same colours, another pattern)."""
    base = scene(2)  # the scene moving_square draws on
    rng = np.random.default_rng(3)
    images = list(moving_square(30, start=8, end=22))
    images += [noisy(np.clip(base + 40, 0, 255), rng) for _ in range(8)]
    images += [noisy(np.roll(np.clip(base + 40, 0, 255), 25, axis=1), rng) for _ in range(10)]
    images += [noisy(np.ascontiguousarray(np.rot90(np.clip(base + 40, 0, 255), 2)), rng) for _ in range(4)]
    return images


@pytest.mark.parametrize("name", list(REGISTRY))
def test_reset_makes_a_detector_score_like_a_new_one(name: str) -> None:
    """After reset nothing of the old scene is left: it scores the new one exactly as a fresh detector does."""
    cls = REGISTRY[name]
    params = cls.Params(**({"warmup": 0.5} if name == "background" else {}))
    used = cls(params)
    pre = Preprocessor(AnalysisParams())
    for frame in frames(cut_at(30, 0, seed_b=11)):  # another scene, a different brightness
        used.update(pre(frame))
    used.reset()
    fresh = cls(params)
    pre_a, pre_b = Preprocessor(AnalysisParams()), Preprocessor(AnalysisParams())
    got = [(s.value, s.metrics) for s in (used.update(pre_a(f)) for f in frames(iter(new_scene())))]
    want = [(s.value, s.metrics) for s in (fresh.update(pre_b(f)) for f in frames(iter(new_scene())))]
    assert got == want
    assert max(value for value, _ in want) > cls.Params().threshold  # it does fire on the new scene


def test_timelapse_reads_the_declared_warm_up() -> None:
    cls = REGISTRY["background"]
    detector = cls(cls.Params(warmup=1.0))
    assert not detector.ready_at(0.0)
    pre = Preprocessor(AnalysisParams())
    for frame in frames(quiet_scene(20), fps=10.0):  # 2 s of frames
        detector.update(pre(frame))
    assert detector.ready_at(1.9)
    assert REGISTRY["diff"](REGISTRY["diff"].Params()).ready_at(0.0)  # no warm-up declared: ready
