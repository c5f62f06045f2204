"""YAML config -> validated, frozen configuration.

Sections: ``analysis`` (preprocessing), ``source`` (how inputs are read), ``detectors`` (name ->
type and parameters), ``events`` (kind -> gate rule) and ``hooks`` (commands and a webhook run on
events). Every key is checked on load; errors name
the file, the key path and what is allowed. Defaults are not repeated here: they come from the
``Params`` dataclasses, and the ``default`` preset is rendered from them (``vidwatch config``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vidwatch.detectors import REGISTRY, Detector, default_detectors, detector_class
from vidwatch.errors import ConfigError
from vidwatch.events import MOTION
from vidwatch.gate import KIND_DEFAULTS, EventRule
from vidwatch.objects.params import MOTION_RULE as OBJECT_MOTION_RULE
from vidwatch.objects.params import OBJECTS, ObjectParams
from vidwatch.params import build, short_repr, to_plain
from vidwatch.preprocess import AnalysisParams
from vidwatch.presets import preset_names, preset_path
from vidwatch.sinks.hooks import HookParams
from vidwatch.sinks.params import OutputParams
from vidwatch.sources import SourceParams
from vidwatch.yaml_input import MAX_BYTES, YamlSyntaxError, load_yaml
from vidwatch.zones import ZoneParams

SECTIONS = ("analysis", "zones", "source", "detectors", "objects", "events", "outputs", "hooks")


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """One configured detector instance."""

    name: str
    type: str
    """A registered name or ``package.module:Class``."""
    params: Any

    @property
    def cls(self) -> type[Detector]:
        return detector_class(self.type)

    @property
    def threshold(self) -> float:
        return float(self.params.threshold)

    @property
    def default_kind(self) -> str:
        return self.cls.kind

    def create(self) -> Detector:
        return self.cls(self.params)


@dataclass(frozen=True, slots=True)
class Config:
    analysis: AnalysisParams = field(default_factory=AnalysisParams)
    zones: ZoneParams = field(default_factory=ZoneParams)
    source: SourceParams = field(default_factory=SourceParams)
    detectors: Mapping[str, DetectorSpec] = field(default_factory=dict)
    objects: ObjectParams = field(default_factory=ObjectParams)
    events: Mapping[str, EventRule] = field(default_factory=dict)
    outputs: OutputParams = field(default_factory=OutputParams)
    hooks: HookParams = field(default_factory=HookParams)

    @property
    def tracks_objects(self) -> bool:
        """Whether the object stage runs: it is enabled and a configured detector models the background
        (without one it has no foreground to track, and motion is left to the detectors' own scores)."""
        return self.objects.enabled and any(spec.cls.foreground for spec in self.detectors.values())

    def thresholds(self) -> dict[str, float]:
        """Each detector's firing threshold, by detector name."""
        out = {name: spec.threshold for name, spec in self.detectors.items()}
        if self.tracks_objects:
            out[OBJECTS] = self.objects.threshold
        return out

    def to_plain(self) -> dict[str, Any]:
        """The effective configuration as plain YAML-ready data."""
        return {
            "analysis": to_plain(self.analysis),
            "zones": to_plain(self.zones),
            "source": to_plain(self.source),
            "detectors": {n: {"type": s.type, **to_plain(s.params)} for n, s in self.detectors.items()},
            "objects": to_plain(self.objects),
            "events": {k: to_plain(r) for k, r in self.events.items()},
            "outputs": to_plain(self.outputs),
            "hooks": to_plain(self.hooks),
        }


def _build_detectors(data: Any) -> dict[str, DetectorSpec]:
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"detectors: expected a mapping of name -> settings with at least one detector "
                          f"(types: {', '.join(REGISTRY)})")
    specs: dict[str, DetectorSpec] = {}
    for name, entry in data.items():
        where = f"detectors.{name}"
        entry = {} if entry is None else entry
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping of settings, got {short_repr(entry)}")
        entry = dict(entry)
        type_name = entry.pop("type", name)
        try:
            cls = detector_class(str(type_name))
        except ValueError as exc:
            raise ConfigError(f"{where}.type: {exc}") from None
        specs[str(name)] = DetectorSpec(str(name), str(type_name), build(cls.Params, entry, where))
    return specs


def _build_events(data: Any, detectors: Mapping[str, DetectorSpec], tracks_objects: bool) -> dict[str, EventRule]:
    """Rules for every kind the detectors feed (their defaults), updated by what ``data`` gives.

    A kind set to ``false`` is switched off; a kind no detector feeds by default needs its
    ``detectors`` listed.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("events: expected a mapping of kind -> rule, e.g. {motion: {min_frames: 3}}")
    kinds: Sequence[str] = list(dict.fromkeys([*(s.default_kind for s in detectors.values()), *data]))
    rules: dict[str, EventRule] = {}
    for kind in kinds:
        where = f"events.{kind}"
        entry = data.get(kind)
        if entry is False:
            continue
        if entry is not None and not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping (or false to switch the kind off), got "
                              f"{short_repr(entry)}")
        defaults = dict(KIND_DEFAULTS.get(kind, {}))
        if kind == MOTION:
            if tracks_objects:  # things that travel decide motion (see vidwatch.objects)
                defaults.update(OBJECT_MOTION_RULE)
            elif entry and {**entry, "detectors": tuple(entry.get("detectors") or ())} == \
                    {**entry, **OBJECT_MOTION_RULE}:
                # the object rule as `vidwatch config` writes it, with the object stage now off (e.g.
                # --set objects.enabled=false): motion goes back to its detectors' own vote
                entry = {k: v for k, v in entry.items() if k not in OBJECT_MOTION_RULE}
        rule = build(EventRule, {**defaults, **(entry or {})}, where)
        names = rule.detectors
        if names is None:
            names = tuple(n for n, s in detectors.items() if s.default_kind == kind)
            if not names:
                raise ConfigError(f"{where}.detectors: no configured detector feeds '{kind}'; "
                                  f"list them, e.g. detectors: [{', '.join(detectors)}]")
        if "fusion" not in (entry or {}) and not isinstance(rule.fusion, str) and rule.fusion > len(names):
            rule = dataclasses.replace(rule, fusion="all")  # a default k of n with fewer detectors
        for name in names:
            if name not in detectors and not (name == OBJECTS and tracks_objects):
                raise ConfigError(f"{where}.detectors: '{name}' is not a configured detector; "
                                  f"configured: {', '.join(detectors)}")
        if not isinstance(rule.fusion, str) and rule.fusion > len(names):
            raise ConfigError(f"{where}.fusion: {rule.fusion} of {len(names)} detectors can never happen; "
                              f"use 1..{len(names)}, 'any' or 'all'")
        rules[str(kind)] = EventRule(names, rule.fusion, rule.min_frames, rule.post_roll, rule.merge_gap)
    if not rules:
        raise ConfigError("events: every kind is switched off; leave at least one")
    return rules


def build_config(data: Any) -> Config:
    """Validate a parsed YAML document (None = defaults) into a :class:`Config`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping with sections {', '.join(SECTIONS)}, got {type(data).__name__}")
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"{key}: unknown section; allowed: {', '.join(SECTIONS)}")
    detectors = _build_detectors(data.get("detectors", {n: {} for n in default_detectors()}))
    analysis = build(AnalysisParams, data.get("analysis"), "analysis")
    for name, spec in detectors.items():
        for problem in spec.cls.needs(spec.params).unmet(spec.params, analysis):
            raise ConfigError(f"detectors.{name}.{problem}")
    objects = build(ObjectParams, data.get("objects"), "objects")
    tracks_objects = objects.enabled and any(spec.cls.foreground for spec in detectors.values())
    return Config(
        analysis=analysis,
        objects=objects,
        zones=build(ZoneParams, data.get("zones"), "zones"),
        source=build(SourceParams, data.get("source"), "source"),
        detectors=detectors,
        events=_build_events(data.get("events"), detectors, tracks_objects),
        outputs=build(OutputParams, data.get("outputs"), "outputs"),
        hooks=build(HookParams, data.get("hooks"), "hooks"),
    )


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (['a', 'b', 'c'], value parsed as a YAML scalar/list)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected key.path=value, e.g. --set detectors.diff.threshold=0.01")
    try:
        value = load_yaml(raw, f"--set {text}") if raw.strip() else None
    except YamlSyntaxError:  # not YAML: the text itself (a path, a command line)
        value = raw
    return [part for part in key.strip().split(".")], value


def apply_overrides(config: Config, overrides: Sequence[str]) -> Config:
    """Apply ``--set`` overrides to the effective configuration and validate again."""
    if not overrides:
        return config
    plain = config.to_plain()
    for text in overrides:
        path, value = parse_override(text)
        node: Any = plain
        for i, part in enumerate(path[:-1]):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(path[: i + 1])
                raise ConfigError(f"--set {text}: '{where}' is not in the configuration; "
                                  f"see `vidwatch config` for the keys")
            node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"--set {text}: '{'.'.join(path[:-1])}' is not a section")
        node[path[-1]] = value
    try:
        return build_config(plain)
    except ConfigError as exc:
        raise ConfigError(f"--set: {exc}") from None


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> Config:
    """Load and validate a YAML file (None = built-in defaults), then apply ``--set`` overrides."""
    data: Any = None
    if path is not None:
        path = config_path(path)
        try:
            with path.open("rb") as handle:  # never more than the limit: a huge file fails at once
                raw = handle.read(MAX_BYTES + 1)
            text = raw.decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}; check the path given to -c") from None
        except IsADirectoryError:
            raise ConfigError(f"{path} is a folder; give a YAML config file to -c") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not a text file (not UTF-8); give a YAML config file") from None
        if len(raw) > MAX_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_BYTES / 1e6:g} MB; a config with zones is a few KB: "
                              f"give a smaller file")
        data = load_yaml(text, str(path))
        try:
            config = build_config(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    else:
        config = build_config(None)
    return apply_overrides(config, overrides)


CONFIG_HEADER = """\
# The built-in defaults, with any -c file and --set overrides applied: what `vidwatch config` prints.
# With no arguments it is the preset vidwatch/presets/default.yaml (-c default): what runs without -c.
# Copy it and keep only the keys you change; `vidwatch detectors` explains every detector key.
"""


def render_yaml(config: Config, header: str = CONFIG_HEADER) -> str:
    """The effective configuration as YAML text under ``header`` (comment lines saying where it came from)."""
    return header + yaml.safe_dump(config.to_plain(), sort_keys=False, default_flow_style=False)


def config_path(given: str | Path) -> Path:
    """The file ``-c`` means: the path when it exists (a path always wins), else the preset of that name."""
    path = Path(given)
    if path.exists():
        return path
    preset = preset_path(str(given))
    if preset is not None:
        return preset
    raise ConfigError(f"config file not found: {given}; give a path, or a preset name ({', '.join(preset_names())}; "
                      f"see `vidwatch config --presets`)")
