"""YAML a user hands vidwatch (config files, ``--set`` values), read with limits and YAML 1.2 numbers.

A config is a few kilobytes, so the text is capped (:data:`MAX_BYTES`) before it is parsed, and the
parsed document may hold at most :data:`MAX_VALUES` values *counting every repetition an alias
makes*: anchors and aliases let 10 KB of text stand for billions of values (an "alias bomb"), which
cost nothing to parse but everything once validation walks them. The count runs on the composed
node graph, where an alias is one shared node, so it is linear in the text and fails before
anything is expanded. A recursive alias is refused the same way.

PyYAML resolves scalars by YAML 1.1, where ``1e-3`` is a string (1.1 floats need a dot and a signed
exponent); thresholds are tiny numbers, so YAML 1.2's float forms are added. Errors become one
:class:`~vidwatch.errors.ConfigError` line naming where and what, with tabs named as the problem.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from vidwatch.errors import ConfigError

MAX_BYTES = 1_000_000
"""Largest YAML text accepted (a full config with many zone polygons is a few tens of KB)."""
MAX_VALUES = 50_000
"""Most values (scalars, lists and mappings, aliases counted as often as they repeat) in one document."""

FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
"""Exponent forms YAML 1.2 reads as floats and PyYAML's 1.1 resolver leaves as strings: 1e-3, 2.5E4."""

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: also caps nesting depth


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loading, with YAML 1.2 exponent floats."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT_12, list("-+.0123456789"))


class YamlSyntaxError(ConfigError):
    """The text is not valid YAML (as opposed to valid YAML over a limit)."""


def _count_values(root: yaml.Node, what: str) -> int:
    """Values the document expands to, aliases counted each time; raises over the budget or on a cycle."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            if isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            else:
                children = []
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_VALUES:
                raise ConfigError(f"{what}: the YAML expands to more than {MAX_VALUES:,} values (anchors and "
                                  f"*aliases repeat what they point at); a config needs far fewer: write the "
                                  f"values out, without aliases")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ConfigError(f"{what}: an alias refers to a list or mapping that contains it (line "
                              f"{node.start_mark.line + 1}); a config cannot be recursive")
        on_path.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            stack.extend((n, False) for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((n, False) for n in node.value)
    return sizes[id(root)]


def _syntax_message(exc: yaml.YAMLError, text: str, what: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"{what}: not valid YAML ({problem}); fix the syntax"
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    if "\\t" in problem or "\t" in line[: mark.column + 1]:
        return (f"{what}: line {mark.line + 1} has a tab where YAML allows only spaces (indentation); "
                f"replace the tab with spaces")
    return f"{what}: not valid YAML at line {mark.line + 1}, column {mark.column + 1} ({problem}); fix the syntax"


def load_yaml(text: str, what: str) -> Any:
    """Parse ``text`` (one document) within the limits; ``what`` names it in errors (a path, ``--set``)."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{what}: {len(text.encode('utf-8')) / 1e6:.1f} MB of YAML; vidwatch reads at most "
                          f"{MAX_BYTES / 1e6:g} MB (a config with zones is a few KB): give a smaller file")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count_values(node, what)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(_syntax_message(exc, text, what)) from None
    except RecursionError:  # the pure-Python parser nests by recursion (libyaml caps depth itself)
        raise ConfigError(f"{what}: lists or mappings nested too deeply; a config needs a few levels") from None
    finally:
        loader.dispose()
