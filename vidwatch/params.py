"""Typed, documented, range-checked parameters built from plain mappings.

Every tunable value in vidwatch is a field of a frozen dataclass declared with :func:`param`, which
carries its default, its bounds and one line of documentation. That single declaration is what the
YAML loader validates against, what ``vidwatch detectors`` prints and what ``presets/default.yaml``
is rendered from, so a default lives in exactly one place.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import MISSING, field
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from vidwatch.errors import ConfigError


def param(
    default: Any,
    doc: str,
    *,
    min: float | None = None,
    max: float | None = None,
    min_exclusive: bool = False,
) -> Any:
    """Declare a dataclass field with its default, documentation and numeric bounds."""
    meta = {"doc": doc, "min": min, "max": max, "min_exclusive": min_exclusive}
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults are not allowed; use a tuple")
    return field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(get_args(tp)[0])}"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return getattr(tp, "__name__", str(tp))


def describe(tp: Any, meta: typing.Mapping[str, Any]) -> str:
    """Human-readable description of what a field allows, e.g. 'float >= 0'."""
    text = _type_name(tp)
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        text += f" in {'(' if meta.get('min_exclusive') else '['}{lo}, {hi}]"
    elif lo is not None:
        text += f" {'>' if meta.get('min_exclusive') else '>='} {lo}"
    elif hi is not None:
        text += f" <= {hi}"
    return text


def _coerce(tp: Any, value: Any, where: str, meta: typing.Mapping[str, Any]) -> Any:
    """Check ``value`` against the annotation ``tp`` and return it in canonical form."""
    origin = get_origin(tp)
    def wrong() -> ConfigError:  # built only when raised: the repr of a big list costs time and memory
        return ConfigError(f"{where}: expected {describe(tp, meta)}, got {short_repr(value)}")

    if origin in (Union, types.UnionType):
        for option in get_args(tp):
            try:
                return _coerce(option, value, where, meta)
            except ConfigError:
                continue
        raise wrong()
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise wrong()
    if tp is type(None):
        if value is None:
            return None
        raise wrong()
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise wrong()
        item_tp = get_args(tp)[0]
        return tuple(_coerce(item_tp, v, f"{where}[{i}]", {}) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise wrong()
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong()
        _check_range(value, where, tp, meta)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong()
        _check_range(float(value), where, tp, meta)
        return float(value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise wrong()
    if tp is Any:
        return value
    raise TypeError(f"unsupported parameter type {tp!r} at {where}")


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters, never building more of a list than that."""
    if isinstance(value, (list, tuple)):
        parts: list[str] = []
        used = 1
        for item in value:
            if used >= limit:
                parts.append(f"... {len(value)} items")
                break
            part = short_repr(item, limit - used)
            parts.append(part)
            used += len(part) + 2
        return "[" + ", ".join(parts) + "]"
    text = repr(value)
    return text if len(text) <= max(limit, 8) else text[: max(limit, 8) - 3] + "..."


def _check_range(value: float, where: str, tp: Any, meta: typing.Mapping[str, Any]) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    too_low = lo is not None and (value <= lo if meta.get("min_exclusive") else value < lo)
    too_high = hi is not None and value > hi
    if too_low or too_high:
        raise ConfigError(f"{where}: {short_repr(value)} is out of range; allowed: {describe(tp, meta)}")


def build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys, wrong types and bad ranges."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {short_repr(data)}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise ConfigError(f"{where}.{key}: unknown key; allowed keys here: {allowed}")
    kwargs = {
        key: _coerce(hints[key], value, f"{where}.{key}", known[key].metadata)
        for key, value in data.items()
    }
    try:
        return cls(**kwargs)
    except ValueError as exc:  # cross-field checks in __post_init__
        raise ConfigError(f"{where}: {exc}") from None


def to_plain(obj: Any) -> Any:
    """Dataclass tree -> plain dicts/lists, ready for YAML."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def yaml_text(value: Any) -> str:
    """A default as YAML writes it (true, false, null, [], plain numbers and words), for listings."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == ():
        return "[]"
    return str(value)


def field_docs(cls: type) -> list[tuple[str, str, Any, str]]:
    """(name, allowed, default, doc) for each field of a parameter dataclass."""
    hints = get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = f.default if f.default is not MISSING else None
        rows.append((f.name, describe(hints[f.name], f.metadata), default, f.metadata.get("doc", "")))
    return rows
