"""Webhook posts that failed, held in order and tried again later, so a server that is down a while loses nothing.

A post the webhook did not accept (no answer, a 5xx, a redirect, no answer in time) is held; the
held posts are tried again, oldest first, after 1 s, then after waits that double up to 60 s while
the server keeps failing, and once more in the hooks' grace period at exit. Posts that come while
some are held queue behind them (the server sees events in order, and a dead server costs one
``timeout`` per wait, not one per event). The backlog is bounded: when it is full the oldest post is
given up with a warning. Whatever is still held at the end, or was given up, is named in the
end-of-run summary and makes the exit code 3.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vidwatch.sinks.hook_process import HookAbandoned

log = logging.getLogger(__name__)

FIRST_WAIT = 1.0
"""Seconds before the first retry of a failed post."""
LONGEST_WAIT = 60.0
"""The wait between retries doubles up to this many seconds while the webhook keeps failing."""

Send = Callable[[dict[str, Any], threading.Event], None]
"""Posts one payload (raises when the webhook does not accept it; HookAbandoned when cancelled)."""


@dataclass(frozen=True, slots=True)
class HeldPost:
    """One event post the webhook has not accepted yet."""

    what: str
    """For messages: ``webhook for motion start``."""
    payload: dict[str, Any]


class WebhookBacklog:
    """Failed posts of one webhook, retried with a doubling wait; used by the hooks' worker thread only."""

    def __init__(self, where: str, limit: int, *, first_wait: float = FIRST_WAIT, longest_wait: float = LONGEST_WAIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.where = where
        self.limit = limit
        self.first_wait = first_wait
        self.longest_wait = longest_wait
        self.clock = clock
        self.held: deque[HeldPost] = deque()
        self.dropped: list[str] = []
        """Posts given up because the backlog was full."""
        self.reason = ""
        """Why the last attempt failed (for the summary)."""
        self.delivered_late = 0
        self._wait = first_wait
        self._retry_at = 0.0
        self._failing_since: float | None = None

    def __len__(self) -> int:
        return len(self.held)

    def failed(self, post: HeldPost, exc: BaseException) -> None:
        """A first attempt failed: hold ``post`` (behind any held already) and schedule the retry."""
        self._note_failure(exc)
        self._hold(post)

    def hold(self, post: HeldPost) -> None:
        """Queue ``post`` behind the held ones without sending it now (keeps the order)."""
        self._hold(post)

    @property
    def wait(self) -> float:
        """Seconds between the last failure and the next retry."""
        return self._wait

    def due(self) -> bool:
        return bool(self.held) and self.clock() >= self._retry_at

    def seconds_to_retry(self) -> float | None:
        """How long until the next retry is due (None when nothing is held)."""
        return max(0.0, self._retry_at - self.clock()) if self.held else None

    def retry(self, send: Send, cancelled: threading.Event, *, last: bool = False) -> None:
        """Send the held posts oldest first until one fails (then wait longer) or none is left.

        ``last``: the try at exit, after which nothing is tried again.

        HookAbandoned propagates (vidwatch stopped waiting at exit); the post stays held.
        """
        while self.held:
            post = self.held[0]
            try:
                send(post.payload, cancelled)
            except HookAbandoned:
                raise
            except Exception as exc:  # the webhook still refuses: try again later
                self._wait = min(self._wait * 2, self.longest_wait)
                self._note_failure(exc)
                held = f"{len(self.held)} post{'' if len(self.held) == 1 else 's'}"
                if last:
                    log.warning("webhook %s still failing at exit (%s); %s not delivered", self.where, self.reason,
                                held)
                else:
                    log.info("webhook %s still failing (%s); %s held, next try in %g s", self.where, self.reason,
                             held, self._wait)
                return
            self.held.popleft()
            self.delivered_late += 1
        if self._failing_since is not None:
            log.warning("webhook %s accepts posts again; the held ones were delivered after %.0f s", self.where,
                        self.clock() - self._failing_since)
        self._failing_since = None
        self._wait = self.first_wait

    def undelivered(self) -> list[str]:
        """Posts given up or still held, oldest first."""
        return [*self.dropped, *(post.what for post in self.held)]

    def _note_failure(self, exc: BaseException) -> None:
        self.reason = str(exc) or type(exc).__name__
        self._retry_at = self.clock() + self._wait
        if self._failing_since is None:
            self._failing_since = self.clock()

    def _hold(self, post: HeldPost) -> None:
        self.held.append(post)
        while len(self.held) > self.limit:
            oldest = self.held.popleft()
            self.dropped.append(oldest.what)
            if len(self.dropped) == 1 or len(self.dropped) % 100 == 0:
                log.warning("webhook %s: %d posts held to retry already; gave up the oldest (%s), named at the end "
                            "[%d given up]", self.where, self.limit, oldest.what, len(self.dropped))
