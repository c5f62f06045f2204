"""Preset configs shipped inside the package: ``-c scene_cuts`` works after any install.

Each preset is a YAML file in this folder; ``default.yaml`` is the built-in defaults written out.
A preset describes itself in its first comment line, which ``vidwatch config --presets`` lists.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(path.stem for path in FOLDER.glob("*.yaml"))


def preset_path(name: str) -> Path | None:
    """The file of preset ``name`` (with or without ``.yaml``), or None when there is no such preset."""
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        return None
    path = FOLDER / f"{stem}.yaml"
    return path if path.is_file() else None


def describe(name: str) -> str:
    """A preset's one-line description: its leading comment up to the first full stop or colon."""
    path = preset_path(name)
    if path is None:
        return ""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        words.append(line.lstrip("#").strip())
        text = " ".join(words)
        for stop in (". ", ": "):
            text = text.split(stop)[0]
        if len(text) < len(" ".join(words)) or text.endswith((".", ":")):
            return text.rstrip(".:")
    return " ".join(words)
