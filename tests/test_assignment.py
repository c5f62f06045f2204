"""The tracker's assignment is optimal: checked against every permutation on small matrices."""
from __future__ import annotations

import itertools

import numpy as np

from vidwatch.objects.assignment import min_cost_assignment


def _cheapest_total(cost: np.ndarray) -> float:
    if cost.shape[0] > cost.shape[1]:
        cost = cost.T
    rows, cols = cost.shape
    return min(sum(cost[i, p[i]] for i in range(rows)) for p in itertools.permutations(range(cols), rows))


def test_assignment_is_one_to_one_and_cheapest() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        rows, cols = (int(n) for n in rng.integers(1, 6, 2))
        cost = rng.random((rows, cols)) * 10
        cost[rng.random((rows, cols)) < 0.3] = 1e6  # forbidden pairs, as the tracker marks them
        pairs = min_cost_assignment(cost)
        assert len(pairs) == min(rows, cols)
        assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
        assert sum(cost[i, j] for i, j in pairs) == np.float64(_cheapest_total(cost)) or \
            abs(sum(cost[i, j] for i, j in pairs) - _cheapest_total(cost)) < 1e-6


def test_greedy_choice_is_not_taken() -> None:
    # Greedy would pair (0, 0) at cost 1 and leave row 1 with 100; the optimum crosses over.
    cost = np.array([[1.0, 2.0], [3.0, 100.0]])
    assert min_cost_assignment(cost) == [(0, 1), (1, 0)]


def test_empty() -> None:
    assert min_cost_assignment(np.zeros((0, 3))) == []
