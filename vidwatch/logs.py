"""How log lines look and where they go, the same in the main process and in ``--jobs`` workers.

Its own module so that the command line and the worker processes both set logging up from one
place without importing each other.
"""

from __future__ import annotations

import logging
import os
import sys

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
LOG_TIME = "%H:%M:%S"


def level_for(verbosity: int) -> int:
    """-1 (``-q``): warnings only; 0: info; 1 or more (``-v``): debug."""
    return logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO


def setup_logging(verbosity: int) -> None:
    """Log lines on stderr for the command line at the level ``-q`` / ``-v`` asked for."""
    if verbosity <= 0:  # OpenCV's and FFmpeg's own chatter (every failed reconnect) only with -v
        os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # our own one-line errors say what failed
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    logging.basicConfig(level=level_for(verbosity), format=LOG_FORMAT, datefmt=LOG_TIME, stream=sys.stderr,
                        force=True)


def setup_worker_logging(level: int) -> None:
    """A worker process logs like its parent: same format, same level (spawned workers start blank)."""
    logging.basicConfig(level=level, format=LOG_FORMAT, datefmt=LOG_TIME, stream=sys.stderr, force=True)
