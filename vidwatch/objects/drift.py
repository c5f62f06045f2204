"""The drift of clutter: a crowd of tracks that come and go, all moving one way (snow, rain, blown dust).

Falling snow is made of real things that really travel: a flake, or a clump of flakes that the mask
joins into one region, falls steadily for seconds and crosses many of its own sizes, as a person does.
What gives it away is that it is one of a crowd: dozens of such pieces are in view at once, drift the
same way and come and go without becoming things. A track about to become a thing that moves as that
crowd does (along its common direction within the range of the pieces' speeds, across it within
their sway) and whose solid part is no larger than a few of theirs is taken for one of them, and the
travel it showed so far is the crowd's: should it stop moving as they do (a clump that settles, or
hops sideways between flakes), it must travel again, otherwise, to count.

The rule asks for all of it at once, so it stays out of the way elsewhere: pieces of foliage or a
dappled shadow come and go in every direction (no common drift); drifting cloud shadows move together
but are few; a person walking down the picture in snow has a solid silhouette many flakes large, and
one walking across it does not move with the flakes. What it cannot tell apart is a thing as faint
and small as a clump of flakes moving as they fall.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DRIFT_MEMORY = 10.0
"""Seconds over which tracks that came and went are remembered."""
MIN_PIECE_LIFE = 0.5
"""Seconds a track must have lived to show which way it drifts."""
CROWD = 50
"""Pieces (tracks that came and went over ``DRIFT_MEMORY``, and those in view that are not things) from
which they are a crowd: snow shows hundreds, drifting cloud shadows a few dozen in a whole clip. Until
the memory has run for its whole length, the share of it that has run is asked for (but never fewer
than ``FIRST_CROWD``)."""
FIRST_CROWD = 10
"""Pieces that make a crowd however early: fewer tell no common direction."""
COHERENCE = 0.7
"""Length of the mean of the pieces' unit directions above which they drift one way (1: all alike;
foliage and dappled shadows measure below 0.2, snow at 768x576 0.85-0.96)."""
SPREAD = (5.0, 95.0)
"""Percentiles of the pieces' velocities, along their common direction and across it, that bound how
the crowd moves: flakes fall at speeds that differ several times over, and wander from side to side."""
WANDER = 0.5
"""Share of the pieces' spread across the drift added on either side of it: a clump of flakes that the
mask joins and parts again sways more than the flakes that make it up."""
FASTER = 2.0
"""Times the faster pieces' speed along the drift (the upper percentile) up to which a track still
moves as they do: the larger flakes, which the mask joins into the larger regions, fall the fastest."""
PIECE_CORE = 6.0
"""Times the crowd's median core (the solid part of a change, source pixels², see ``Track.core``) that
a track's may be and still be one of them. Not the region's size: the mask joins neighbouring flakes
into regions several times larger than any flake, but the solid part of such a clump stays that of a
flake or two. Clumps that became tracks measure up to 4.5 of them, a person walking in snow 8 and more."""

Piece = tuple[float, float, float]
"""(vx, vy, core): a piece's velocity over its life (analysis pixels per second) and its core (0 where
it was never measured)."""


@dataclass(frozen=True, slots=True)
class Drift:
    """How the crowd moves and how large its pieces are."""

    direction: tuple[float, float]
    """Unit vector of the pieces' median velocity."""
    along: tuple[float, float]
    """Least and greatest speed along ``direction`` of a track moving as the crowd (analysis px/s)."""
    across: tuple[float, float]
    """Least and greatest speed across it (positive: 90 degrees clockwise from it in the picture)."""
    piece_core: float
    """The pieces' median core (0 where none was measured)."""


class ClutterDrift:
    """Remembers how the tracks that came and went moved, and says whether a track moves as they do."""

    def __init__(self) -> None:
        self._ended: deque[tuple[float, Piece]] = deque()
        """(time it ended, piece) of each track remembered."""
        self._cached: tuple[float, Drift | None] | None = None
        self._since: float | None = None
        """When it began to remember (its first question or piece since a reset)."""

    def reset(self) -> None:
        self._ended.clear()
        self._cached = None
        self._since = None

    def remember(self, time: float, piece: Piece, seen: tuple[float, float]) -> None:
        """Remember a track that ended at ``time`` without becoming a thing, ``seen`` from one time to another."""
        if self._since is None:
            self._since = seen[0]
        if seen[1] - seen[0] >= MIN_PIECE_LIFE - 1e-9:
            self._ended.append((time, piece))

    def _forget(self, time: float) -> None:
        """Let go of the pieces that ended longer than ``DRIFT_MEMORY`` before ``time``."""
        ended = self._ended
        while ended and ended[0][0] < time - DRIFT_MEMORY - 1e-9:
            ended.popleft()

    def remembered(self, time: float) -> int:
        """How many tracks that came and went are remembered at ``time``."""
        self._forget(time)
        return len(self._ended)

    def drift(self, time: float, in_view: Callable[[], list[Piece]]) -> Drift | None:
        """How the pieces remembered and those ``in_view`` (asked for once a frame) move at ``time``, or
        None where they are not a crowd drifting one way."""
        if self._cached is not None and self._cached[0] == time:
            return self._cached[1]
        if self._since is None:
            self._since = time
        found = self._measure(time, in_view, self._since)
        self._cached = (time, found)
        return found

    def crowd(self, time: float, in_view: Callable[[], list[Piece]]) -> bool:
        """Whether the pieces drift one way as a crowd, asked before the frame's tracks are updated (so
        the answer is not kept for the questions asked after)."""
        if self._cached is not None and self._cached[0] == time:
            return self._cached[1] is not None
        return self._measure(time, in_view, time if self._since is None else self._since) is not None

    def _measure(self, time: float, in_view: Callable[[], list[Piece]], since: float) -> Drift | None:
        """How the pieces move at ``time``, remembering since ``since`` (None: no crowd drifting one way)."""
        self._forget(time)
        pieces = [piece for _, piece in self._ended] + in_view()
        watched = min(max(time - since, 0.0) / DRIFT_MEMORY, 1.0)
        found: Drift | None = None
        if len(pieces) >= max(CROWD * watched, FIRST_CROWD):
            kept = np.array(pieces, np.float64)
            speeds = np.hypot(kept[:, 0], kept[:, 1])
            moving = speeds > 1e-6
            units = kept[moving, :2] / speeds[moving, None]
            median = np.median(kept[:, :2], axis=0)
            common = math.hypot(*median)
            if units.size and math.hypot(*units.mean(axis=0)) >= COHERENCE and common > 1e-6:
                dx, dy = median / common
                along = np.percentile(kept[:, 0] * dx + kept[:, 1] * dy, SPREAD)
                across = np.percentile(kept[:, 1] * dx - kept[:, 0] * dy, SPREAD)
                sway = WANDER * float(across[1] - across[0])
                cores = kept[kept[:, 2] > 0, 2]
                found = Drift((float(dx), float(dy)), (float(along[0]), FASTER * float(along[1])),
                              (float(across[0]) - sway, float(across[1]) + sway),
                              float(np.median(cores)) if cores.size else 0.0)
        return found

    def carries(self, time: float, velocity: tuple[float, float], core: float,
                in_view: Callable[[], list[Piece]]) -> bool | None:
        """Whether something with that ``core`` moving at ``velocity`` moves as the crowd does and is no
        more solid than its pieces (None: there is no crowd drifting one way)."""
        drift = self.drift(time, in_view)
        if drift is None:
            return None
        if not 0 < core <= PIECE_CORE * drift.piece_core:
            return False
        (dx, dy), (vx, vy) = drift.direction, velocity
        along, across = vx * dx + vy * dy, vy * dx - vx * dy
        return drift.along[0] <= along <= drift.along[1] and drift.across[0] <= across <= drift.across[1]
