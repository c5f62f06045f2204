"""A hook command and every process it starts, held to one hard deadline and killed together.

Killing the command's process group is not enough: anything in it may call ``setsid`` (or
daemonise) and leave both the group and the session, and a child that kept the command's stderr
pipe open used to hold the hook worker until it exited. So each run carries a random marker in its
environment (``VIDWATCH_HOOK_RUN``), which every descendant inherits however it detaches, and the
kill walks ``/proc`` for the processes that carry it (the way Jenkins' process-tree killer finds a
build's leftovers). A session or group id cannot do this (``setsid`` changes both), nor can the
parent/child tree (a daemon is re-parented to init once its parent exits). Only a process that
deliberately clears its environment escapes; where there is no ``/proc``, the group kill is all.

stderr goes to an unlinked temporary file rather than a pipe, so a descendant that keeps it open
cannot make anyone wait for end-of-file.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

MARKER_VARIABLE = "VIDWATCH_HOOK_RUN"
"""Environment variable that tags every process a hook run starts."""

POLL = 0.1
"""Seconds between looks at the exit request while a command runs."""
SETTLE = 0.05
"""Seconds after which a command that exited is looked at again for what it started, when a first look
found nothing: a child forked just before the command exited may be in the middle of ``exec``, when
its environment (and so its marker) cannot be read."""
STDERR_TAIL = 4096
"""Bytes of a failed command's stderr kept to quote its last line."""


class HookAbandoned(Exception):
    """vidwatch is exiting and stopped waiting for this hook (it was killed or not sent)."""


class CommandNotStarted(Exception):
    """The command could not be run at all (no such program, no permission): nothing of it happened."""


SHELL_COULD_NOT_RUN = (126, 127)
"""Exit codes a POSIX shell gives when it cannot run the command (not executable, not found)."""


def processes_marked(marker: str) -> list[int]:
    """Ids of the processes whose environment holds ``VIDWATCH_HOOK_RUN=<marker>`` (Linux; [] elsewhere)."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(name))
    return found


class HookProcess:
    """One run of a hook command: started at once, waited for, killed with all it started."""

    def __init__(self, command: str | tuple[str, ...], env: dict[str, str], timeout: float) -> None:
        self.command = command
        self.marker = secrets.token_hex(12)
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()
        self.shell = isinstance(command, str)
        try:
            self.proc = subprocess.Popen(command if self.shell else list(command), shell=self.shell,
                                         env={**env, MARKER_VARIABLE: self.marker}, stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise CommandNotStarted(f"could not start: {exc.strerror or exc}") from None

    def wait(self, stdin: bytes, cancelled: threading.Event | None = None) -> None:
        """Feed ``stdin`` and wait for the command itself (not its leftovers) until the deadline.

        Raises TimeoutError (after killing everything it started), HookAbandoned when ``cancelled``
        is set meanwhile (also after killing), CommandNotStarted when the shell could not run the
        command, or RuntimeError for another non-zero exit.
        """
        data: bytes | None = stdin
        while True:
            left = self.deadline - time.monotonic()
            try:
                self.proc.communicate(data, timeout=max(0.0, min(left, POLL)))
                break
            except subprocess.TimeoutExpired:
                data = None  # sent (or being sent) already; a retry must not pass it again
                if cancelled is not None and cancelled.is_set():
                    self.kill()
                    raise HookAbandoned("killed at exit") from None
                if left <= POLL:
                    self.kill()
                    raise TimeoutError(f"still running after {self.timeout:g} s; killed with everything "
                                       f"it started") from None
        if self.proc.returncode != 0:
            tail = self._stderr_tail()
            if self.shell and self.proc.returncode in SHELL_COULD_NOT_RUN:
                raise CommandNotStarted(f"the shell could not run it (exit code {self.proc.returncode})"
                                        + (f": {tail[:200]}" if tail else ""))
            raise RuntimeError(f"exit code {self.proc.returncode}" + (f": {tail[:200]}" if tail else ""))

    def _stderr_tail(self) -> str:
        try:
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - STDERR_TAIL))
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1] if lines else ""

    def leftovers(self) -> list[int]:
        """Processes this run started that are still running (the command itself included)."""
        return processes_marked(self.marker)

    def left_running(self) -> bool:
        """Whether the command, once it exited, left anything running: looked at twice, ``SETTLE`` apart,
        before saying no."""
        if self.leftovers():
            return True
        time.sleep(SETTLE)
        return bool(self.leftovers())

    def kill(self) -> int:
        """SIGKILL the command's group and every marked process until none is left; how many were hit."""
        hit = 0
        if self.proc.poll() is None:  # once the command is reaped its id may be reused: the scan covers the rest
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
                hit += 1
            except OSError:
                pass
        for _ in range(20):  # a process may fork while we kill: repeat until the scan comes back empty
            pids = processes_marked(self.marker)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    hit += 1
                except OSError:
                    pass
            time.sleep(0.01)
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            pass
        self.close()
        return hit

    def close(self) -> None:
        self._stderr.close()


def command_stdin(payload: dict[str, Any]) -> bytes:
    """The event JSON a command reads on stdin."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
