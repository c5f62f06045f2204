"""The drift of clutter: a crowd of tracks that come and go, moving one way, and who moves as they do."""

from __future__ import annotations

import numpy as np

from vidwatch.objects.drift import CROWD, DRIFT_MEMORY, ClutterDrift

FLAKE_CORE = 40.0


def falling(drift: ClutterDrift, count: int, *, until: float, seed: int = 0) -> None:
    """``count`` pieces falling (vy 2-8 px/s, swaying ±1.5 px/s), ending evenly up to ``until``."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        end = until * (k + 1) / count
        life = 1.0
        vx, vy = rng.uniform(-1.5, 1.5), rng.uniform(2.0, 8.0)
        drift.remember(end, (vx, vy, FLAKE_CORE * rng.uniform(0.5, 1.5)), (end - life, end))


def nothing_in_view() -> list[tuple[float, float, float]]:
    return []


def test_a_flake_sized_track_falling_with_the_crowd_drifts_and_a_solid_or_crossing_one_does_not() -> None:
    drift = ClutterDrift()
    falling(drift, 2 * CROWD, until=DRIFT_MEMORY)
    now = DRIFT_MEMORY
    assert drift.carries(now, (0.3, 5.0), 2 * FLAKE_CORE, nothing_in_view) is True
    assert drift.carries(now, (0.3, 5.0), 20 * FLAKE_CORE, nothing_in_view) is False  # a person's silhouette
    assert drift.carries(now, (5.0, 0.0), FLAKE_CORE, nothing_in_view) is False  # walking across
    assert drift.carries(now, (0.0, -5.0), FLAKE_CORE, nothing_in_view) is False  # walking up
    assert drift.carries(now, (0.0, 0.3), FLAKE_CORE, nothing_in_view) is False  # standing about
    assert drift.carries(now, (0.3, 5.0), 0.0, nothing_in_view) is False  # never measured: not taken


def test_pieces_going_every_way_are_no_drift() -> None:
    # the pieces of foliage or a dappled shadow: many, but no common direction
    drift = ClutterDrift()
    rng = np.random.default_rng(1)
    for k in range(2 * CROWD):
        end, angle = DRIFT_MEMORY * (k + 1) / (2 * CROWD), rng.uniform(0, 2 * np.pi)
        drift.remember(end, (5 * np.cos(angle), 5 * np.sin(angle), FLAKE_CORE), (end - 1.0, end))
    assert drift.carries(DRIFT_MEMORY, (0.3, 5.0), FLAKE_CORE, nothing_in_view) is None


def test_a_few_pieces_drifting_one_way_are_no_crowd_and_the_memory_fades() -> None:
    # drifting cloud shadows: all one way, but a few dozen in a whole clip
    drift = ClutterDrift()
    drift.drift(0.0, nothing_in_view)  # watching from the start
    falling(drift, CROWD // 2, until=DRIFT_MEMORY)
    assert drift.carries(DRIFT_MEMORY, (0.3, 5.0), FLAKE_CORE, nothing_in_view) is None
    # in view now (tracks that are not things): a crowd with those remembered
    in_view = [(0.0, 5.0, FLAKE_CORE)] * CROWD
    assert drift.carries(DRIFT_MEMORY + 0.1, (0.3, 5.0), FLAKE_CORE, lambda: in_view) is True
    # a crowd remembered only: forgotten once the memory has passed
    drift = ClutterDrift()
    falling(drift, 2 * CROWD, until=DRIFT_MEMORY)
    assert drift.carries(DRIFT_MEMORY, (0.3, 5.0), FLAKE_CORE, nothing_in_view) is True
    assert drift.carries(3 * DRIFT_MEMORY, (0.3, 5.0), FLAKE_CORE, nothing_in_view) is None


def test_early_on_a_share_of_the_crowd_is_enough() -> None:
    # two seconds into snow, fewer pieces have come and gone than a whole memory's worth
    drift = ClutterDrift()
    drift.drift(0.0, nothing_in_view)
    falling(drift, CROWD // 4, until=2.0)
    assert drift.carries(2.0, (0.3, 5.0), FLAKE_CORE, nothing_in_view) is True
    assert drift.carries(2.0, (5.0, 0.0), FLAKE_CORE, nothing_in_view) is False
