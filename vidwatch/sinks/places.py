"""Where outputs go: file names that say which source they belong to, and paths checked before a run.

Two sources with the same file name (``cam1/front.mp4`` and ``cam2/front.mp4``) must never write
over each other's pictures, and a source run again tomorrow must get the same names. So every
snapshot and clip name starts with a label of its source: the folder it is in and its own name for
reading, and a short hash of its full identity (the absolute path of a file, a stream's URL without
its password) for uniqueness.

An output that cannot be written at all (a folder in a read-only place, a path that is a folder, a
parent that is a file) is refused before the first frame with one line naming the flag, instead of
failing on every frame once the run has begun.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from vidwatch.errors import UserError
from vidwatch.events import Event

LABEL_CHARS = 40
"""Longest readable part of a source label (the hash comes on top)."""


def _readable(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")


def source_label(name: str) -> str:
    """A short name for a source, unique to it and the same in every run: ``<folder>-<name>-<hash>``.

    A file is known by its absolute path; a URL by everything but its user and password (which must
    never end up in a file name); anything else (a camera index, a camera's name) by itself.
    """
    if "://" in name:
        parts = urlsplit(name)
        host = parts.hostname or ""
        identity = parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")).geturl()
        readable = "-".join(p for p in (host, Path(parts.path).stem) if p)
    elif name.isdigit():
        identity, readable = name, f"camera{name}"
    elif os.path.exists(name) or os.sep in name or "*" in name:
        identity = os.path.abspath(name)
        path = Path(identity)
        readable = "-".join(p for p in (path.parent.name, path.stem) if p)
    else:
        identity, readable = name, name
    digest = hashlib.sha1(identity.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    readable = _readable(readable)[-LABEL_CHARS:].strip("-.")
    return f"{readable}-{digest}" if readable else digest


def output_stem(source: str, event: Event) -> str:
    """A file name stem for one event's pictures: source label, kind, start frame."""
    return f"{source_label(source)}_{event.kind}_{event.start_frame:06d}"


def partial_path(path: Path) -> Path:
    """Where a file is written until it is complete (then renamed over ``path``): a clip that exists is
    whole, and one whose partial file exists is still being written."""
    return path.with_name(f".{path.stem}.part{path.suffix}")


def _cannot_create_in(folder: Path) -> OSError | None:
    """Why no file can be made in ``folder`` (created if missing), or None when one can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".vidwatch-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc
    return None


def writable_dir(path: str | Path, flag: str) -> Path:
    """Create an output folder and prove a file can be made in it, or fail with one line naming the flag."""
    folder = Path(path)
    problem = _cannot_create_in(folder)
    if problem is not None:
        raise UserError(f"cannot write {flag} {folder}: {problem.strerror or problem}; choose a folder you "
                        f"may write to")
    return folder


def writable_file(path: str | Path, flag: str, what: str) -> Path:
    """Check that ``path`` can be written, without creating it or changing what it holds.

    An existing file is opened for appending and closed again (nothing is written); for a new one
    its folder is created and a file made and removed there.
    """
    file = Path(path)
    if file.is_dir():
        raise UserError(f"{flag} {file} is a folder; give a file name for the {what}")
    problem: OSError | None
    if file.exists():
        try:
            os.close(os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC))
            problem = None
        except OSError as exc:
            problem = exc
    else:
        problem = _cannot_create_in(file.parent)
    if problem is not None:
        raise UserError(f"cannot write {what} {file}: {problem.strerror or problem}; choose a writable path "
                        f"for {flag}")
    return file
