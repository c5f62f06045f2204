"""Errors a user can fix; the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

import errno


class UserError(Exception):
    """Bad input or configuration: the message names the problem and the fix."""


class ConfigError(UserError):
    """A YAML config or ``--set`` override is invalid (unknown key, wrong type, out of range)."""


class SourceError(UserError):
    """A video source cannot be opened or read."""


ENVIRONMENT_FAULTS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", "free some space there or write the outputs elsewhere"),
    errno.EDQUOT: ("disk quota exceeded", "free some space there or write the outputs elsewhere"),
    errno.EROFS: ("the file system is read-only", "write the outputs to a writable disk"),
    errno.EACCES: ("permission denied", "choose a path you may write to, or change its permissions"),
    errno.EPERM: ("operation not permitted", "choose a path you may write to, or change its permissions"),
    errno.EIO: ("input/output error (a failing disk or a lost network mount)",
                "check the disk or the mount, or write the outputs elsewhere"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) or run fewer sources at once"),
    errno.ENFILE: ("too many open files on the system", "close other programs or run fewer sources at once"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.ENOTDIR: ("a part of the path is not a folder", "check the path"),
    errno.EISDIR: ("the path is a folder", "give a file name"),
    errno.EFBIG: ("the file grew too large for its file system", "write the outputs to another disk"),
}
"""Errors of the machine, not of vidwatch: what happened and what to do, by errno."""


def environment_problem(exc: OSError, outputs: dict[str, str]) -> str | None:
    """One line for an OSError the user's machine caused (a full disk, no permission), else None.

    The error names its file when the system call had one; a failed write to an open file has none,
    so the outputs the command was asked to write (``{flag: path}``) are named instead.
    """
    if exc.errno not in ENVIRONMENT_FAULTS:
        return None
    what, fix = ENVIRONMENT_FAULTS[exc.errno]
    if exc.filename is not None:
        where = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
    elif outputs:
        where = "the outputs (" + ", ".join(f"{flag} {path}" for flag, path in outputs.items()) + ")"
    else:
        where = "a file"
    return f"{what} while writing {where}; {fix}"
