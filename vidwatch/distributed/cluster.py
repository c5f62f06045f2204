"""Connecting to Ray: a local instance on this machine, or a cluster by address.

``--ray`` alone starts a private Ray instance here with as many CPUs as ``--jobs`` (one per core by
default); ``--ray auto`` joins the cluster this machine is part of (``ray start --head`` or
``ray start --address=...`` ran here), ``--ray HOST:PORT`` a cluster's head node from one of its
nodes, and ``--ray ray://HOST:10001`` connects as a client from outside the cluster. A Ray that is
already running in this process (a test, a notebook) is used as it is and left running.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from vidwatch.errors import UserError

log = logging.getLogger(__name__)

LOCAL = "local"
"""The address meaning: start a private Ray instance on this machine."""
_ADDRESS = re.compile(r"^(auto|local|ray://\S+|[A-Za-z0-9._-]+:\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5})$")


def require_ray(flag: str = "--ray") -> ModuleType:
    """The ``ray`` module, or one line saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise UserError(f"{flag} needs Ray, which cannot be imported here ({exc}); install it with: "
                        f"pip install 'vidwatch[ray]'") from None


def check_address(address: str) -> str:
    """``address`` if it names a Ray instance, else one line on what ``--ray`` takes.

    ``--ray`` takes an optional value, so ``vidwatch run --ray a.mp4`` would read the file's name as
    an address: that is caught here and explained.
    """
    if not _ADDRESS.match(address.strip()):
        raise UserError(f"--ray {address}: not a Ray address; give auto, HOST:PORT or ray://HOST:PORT, or nothing "
                        f"for a Ray instance on this machine (put --ray after the sources, or write --ray=ADDRESS)")
    return address.strip()


@dataclass(frozen=True, slots=True)
class Cluster:
    """What a run needs to know of the Ray it runs on."""

    address: str
    cpus: int
    """CPUs the cluster offers: how many pieces run at once, and how many pieces a long file is cut into."""
    nodes: int


@contextmanager
def connect(address: str = LOCAL, *, cpus: int = 1) -> Iterator[Cluster]:
    """Ray for the duration of a command: started here (``local``, with ``cpus`` CPUs) or joined by address.

    What this starts or joins it also shuts down or leaves; a Ray already initialised in this
    process is used as it is.
    """
    ray = require_ray()
    address = check_address(address)
    owned = not ray.is_initialized()
    if owned:
        handlers = _signal_handlers()
        try:
            if address == LOCAL:
                with _workers_at_our_priority():
                    ray.init(num_cpus=max(1, cpus), include_dashboard=False, logging_level=logging.WARNING)
            else:
                ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = "start a local one" if address == LOCAL else "check the address, or start a cluster with " \
                                                                 "`ray start --head` on its head node"
            raise UserError(f"cannot start or reach Ray at {address} ({first}); {where}") from None
        finally:
            _restore(handlers)
    try:
        resources = ray.cluster_resources()
        cluster = Cluster(address, max(1, int(resources.get("CPU", 1))), len(ray.nodes()))
        log.info("Ray at %s: %d CPUs on %d node%s", address, cluster.cpus, cluster.nodes,
                 "" if cluster.nodes == 1 else "s")
        yield cluster
    finally:
        if owned:
            ray.shutdown()


def _signal_handlers() -> dict[int, Any]:
    """The Python handlers of SIGINT and SIGTERM (vidwatch's, which close open events before exiting)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict[int, Any]) -> None:
    """Put vidwatch's handlers back: starting Ray installs its own, which end the process at once."""
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


NICENESS = "RAY_worker_niceness"


@contextmanager
def _workers_at_our_priority() -> Iterator[None]:
    """A Ray started here runs its workers at vidwatch's own priority.

    Ray starts workers at nice 15, behind everything else on the machine: on a machine that does
    other work too, ``--ray`` would crawl where ``--jobs`` does not. What the user set is kept.
    """
    if NICENESS in os.environ:
        yield
        return
    os.environ[NICENESS] = str(os.nice(0))
    try:
        yield
    finally:
        os.environ.pop(NICENESS, None)
