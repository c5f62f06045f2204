"""The configuration reference in Markdown, rendered from the parameter declarations.

README's key tables are this output (``vidwatch config --reference``), and a test keeps the two
identical, so the documentation cannot drift from the defaults the code actually uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vidwatch.detectors import REGISTRY, Detector, is_import_path
from vidwatch.gate import KIND_DEFAULTS, EventRule, default_rule
from vidwatch.params import field_docs, yaml_text

if TYPE_CHECKING:
    from vidwatch.config import Config
from vidwatch.objects.params import ObjectParams
from vidwatch.preprocess import AnalysisParams
from vidwatch.sinks.hooks import HookParams
from vidwatch.sinks.params import OutputParams
from vidwatch.sources import SourceParams
from vidwatch.zones import ZoneParams

SECTIONS: list[tuple[str, type, str]] = [
    ("analysis", AnalysisParams, "preprocessing, done once per frame for every detector"),
    ("zones", ZoneParams, "where change counts"),
    ("source", SourceParams, "how inputs are read, and how live sources reconnect"),
    ("objects", ObjectParams, "the object stage: which foreground regions are things that travel, and so motion"),
    ("outputs", OutputParams, "snapshots, event clips and annotated video"),
    ("hooks", HookParams, "commands and a webhook run when events start and end"),
]


def _cell(value: Any) -> str:
    return yaml_text(value)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table(cls: type) -> list[str]:
    lines = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for name, allowed, default, doc in field_docs(cls):
        lines.append(f"| `{name}` | {_escape(_cell(default))} | {_escape(allowed)} | {_escape(doc)} |")
    return lines


def config_reference(extra: Mapping[str, type[Detector]] | None = None) -> str:
    """Markdown tables of every config key with its default, allowed values and meaning.

    ``extra``: detector classes a config names by import path (type -> class), documented after the
    registered ones.
    """
    out: list[str] = []
    for section, cls, what in SECTIONS:
        out += [f"**`{section}`** — {what}", "", *_table(cls), ""]
    out += ["**`detectors`** — name → settings; each detector's keys:", ""]
    for name, cls in {**REGISTRY, **(extra or {})}.items():
        metrics = ", ".join(f"`{m}`" for m in cls.metric_names) or "none"
        out += [f"*`{name}`* (feeds `{cls.kind}`; metrics {metrics}): {cls.summary}", "", *_table(cls.Params), ""]
    kinds = list(KIND_DEFAULTS)
    rules = [default_rule(kind) for kind in kinds]
    header = " / ".join(kinds)
    out += ["**`events`** — kind → rule (defaults per kind: " + header + ")", "",
            "| key | default | allowed | meaning |", "|---|---|---|---|"]
    for name, allowed, _default, doc in field_docs(EventRule):
        values = [_cell(getattr(rule, name)) if name != "detectors" else "its own" for rule in rules]
        shown = values[0] if len(set(values)) == 1 else " / ".join(values)
        out.append(f"| `{name}` | {_escape(shown)} | {_escape(allowed)} | {_escape(doc)} |")
    return "\n".join(out).rstrip() + "\n"


def imported_detectors(config: Config) -> dict[str, type[Detector]]:
    """The detector classes ``config`` names by import path (type -> class), in config order."""
    return {spec.type: spec.cls for spec in config.detectors.values() if is_import_path(spec.type)}
