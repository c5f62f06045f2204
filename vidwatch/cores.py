"""How many CPU cores this process may use: the one number every thread-count decision starts from."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the system has one (a container pinned
    to two cores of a large host sees two), else every core the machine reports."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform (macOS, Windows)
        return os.cpu_count() or 1
