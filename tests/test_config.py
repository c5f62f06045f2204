"""Config loading: defaults, presets, strict validation and --set overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vidwatch.config import build_config, load_config, render_yaml
from vidwatch.errors import ConfigError

from .conftest import ROOT

CONFIGS = sorted((ROOT / "vidwatch" / "presets").glob("*.yaml"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_default_yaml_is_exactly_the_builtin_defaults() -> None:
    assert load_config(ROOT / "vidwatch" / "presets" / "default.yaml") == load_config(None)
    on_disk = (ROOT / "vidwatch" / "presets" / "default.yaml").read_text()
    assert on_disk == render_yaml(load_config(None)), \
        "vidwatch/presets/default.yaml is stale: regenerate it with `vidwatch config > vidwatch/presets/default.yaml`"


def test_defaults_track_objects_on_the_background_model() -> None:
    config = load_config(None)
    assert list(config.detectors) == ["background", "histogram", "structure", "lighting", "camera"]
    assert config.tracks_objects
    assert config.events["motion"].detectors == ("objects",)  # motion is decided on tracked things
    assert config.thresholds()["objects"] == config.objects.threshold
    assert config.events["scene_change"].detectors == ("histogram", "structure", "camera")
    assert config.events["lighting"].detectors == ("lighting",)
    assert config.detectors["histogram"].threshold == 0.2
    assert config.detectors["background"].params.k == 2.0


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_preset_loads_with_exactly_the_values_it_gives(path: Path) -> None:
    """Every value a preset sets is in the effective config, and everything else is the default."""
    given = yaml.safe_load(path.read_text()) or {}
    config = load_config(path)
    plain, defaults = config.to_plain(), load_config(None).to_plain()

    def expect(given_section: dict, effective: dict, where: str) -> None:
        for key, value in given_section.items():
            if isinstance(value, dict):
                expect(value, effective[key], f"{where}.{key}")
            else:
                assert effective[key] == (list(value) if isinstance(value, tuple) else value), f"{where}.{key}"

    expect(given, plain, path.name)
    detectors = given.get("detectors")
    assert list(config.detectors) == (list(detectors) if detectors else list(defaults["detectors"]))
    for name, spec in plain["detectors"].items():  # what the preset does not set is the default
        for key, value in spec.items():
            if key not in (detectors or {}).get(name, {}) and name in defaults["detectors"]:
                assert value == defaults["detectors"][name][key], f"{path.name}: detectors.{name}.{key}"
    for section in ("analysis", "zones", "source", "outputs", "hooks"):
        if section not in given:
            assert plain[section] == defaults[section], f"{path.name}: {section}"


def test_partial_config_keeps_other_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "detectors:\n  diff:\n    threshold: 0.01\n"))
    assert list(config.detectors) == ["diff"]
    assert config.detectors["diff"].threshold == 0.01
    assert config.detectors["diff"].params.noise_level == 12
    assert list(config.events) == ["motion"]


def test_two_instances_of_one_type(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "detectors:\n  fast: {type: diff}\n  slow: {type: diff, reference: first}\n"))
    assert [s.type for s in config.detectors.values()] == ["diff", "diff"]
    assert config.events["motion"].detectors == ("fast", "slow")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("detectors:\n  diff:\n    treshold: 0.1\n", "detectors.diff.treshold: unknown key"),
        ("detectors:\n  diff:\n    threshold: high\n", "detectors.diff.threshold: expected float"),
        ("detectors:\n  background:\n    k: -1\n",
         "detectors.background.k: -1.0 is out of range; allowed: float in [0.5, 20.0]"),
        ("detectors:\n  x:\n    type: optical\n",
         "unknown detector type 'optical'; known: diff, background, flow"),
        ("analysis:\n  widht: 100\n", "analysis.widht: unknown key; allowed keys here: align, blur, colour"),
        ("analysis:\n  blur: 4\n", "analysis.blur must be odd"),
        ("nonsense: 1\n", "nonsense: unknown section"),
        ("events:\n  motion:\n    fusion: most\n", "events.motion.fusion: expected"),
        ("events:\n  motion:\n    fusion: 4\n", "4 of 1 detectors can never happen"),
        ("events:\n  motion:\n    detectors: [background, sonar]\n", "'sonar' is not a configured detector"),
        ("objects:\n  min_size: [10]\n", "min_size must be [width, height]"),
        ("detectors: [diff]\n", "detectors: expected a mapping"),
        ("analysis: {width: 320\n", "not valid YAML"),
        ("detectors:\n  histogram: {channels: colour}\n", "set analysis.colour: true"),
    ],
)
def test_invalid_configs_name_file_key_and_what_is_allowed(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text_of_error = str(info.value)
    assert str(path) in text_of_error
    assert message in text_of_error
    assert "\n" not in text_of_error


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/vidwatch.yaml")


def test_set_overrides_one_key() -> None:
    config = load_config(None, ["detectors.background.threshold=0.05", "objects.threshold=2", "analysis.width=160"])
    assert config.detectors["background"].threshold == 0.05
    assert config.thresholds()["objects"] == 2.0
    assert config.analysis.width == 160
    assert config.detectors["histogram"].threshold == load_config(None).detectors["histogram"].threshold


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("detectors.sonar.threshold=1", "'detectors.sonar' is not in the configuration"),
        ("detectors.background.thresh=1", "detectors.background.thresh: unknown key"),
        ("detectors.background.threshold=abc", "detectors.background.threshold: expected float"),
        ("objects.min_age=-1", "objects.min_age: -1.0 is out of range"),
        ("nokey", "expected key.path=value"),
    ],
)
def test_bad_set_overrides(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_config(None, [override])


def test_empty_document_means_defaults() -> None:
    assert build_config(None) == load_config(None)


def test_events_update_their_kind_and_keep_the_others(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "events:\n  motion:\n    min_frames: 7\n"))
    assert config.events["motion"].min_frames == 7
    assert config.events["motion"].detectors == ("objects",)  # the kind's own default stays
    assert set(config.events) == {"motion", "scene_change", "lighting"}


def test_a_kind_can_be_switched_off(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "events:\n  lighting: false\n"))
    assert "lighting" not in config.events


def test_default_fusion_falls_back_to_all_with_fewer_detectors(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "detectors:\n  diff: {}\n"))  # no background model: no objects
    assert not config.tracks_objects and config.events["motion"].detectors == ("diff",)
    assert config.events["motion"].fusion == "all"


def test_without_the_object_stage_motion_is_the_detectors_vote() -> None:
    config = load_config(None, ["objects.enabled=false"])
    assert not config.tracks_objects and "objects" not in config.thresholds()
    assert config.events["motion"].detectors == ("background",)


def test_readme_key_reference_is_current() -> None:
    from vidwatch.reference import config_reference

    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- reference:start -->\n")[1].split("<!-- reference:end -->")[0]
    assert block == config_reference(), "README's key reference is stale: paste `vidwatch config --reference`"
