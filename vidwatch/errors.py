"""Errors a user can fix; the CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or configuration: the message names the problem and the fix."""


class ConfigError(UserError):
    """A YAML config or ``--set`` override is invalid (unknown key, wrong type, out of range)."""


class SourceError(UserError):
    """A video source cannot be opened or read."""
