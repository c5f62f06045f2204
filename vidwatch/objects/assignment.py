"""Minimum-cost one-to-one assignment (the Hungarian method) for the few tracks that compete.

The tracker needs it only where several tracks could take the same region, a handful of rows and
columns at a time, so a plain O(n³) implementation is fast enough and keeps the core free of a
scientific-computing dependency loaded for one call.
"""
from __future__ import annotations

import numpy as np


def min_cost_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (row, column) covering min(rows, columns) entries with the least total cost.

    Rectangular matrices are handled by assigning the shorter side; every row (or column, if there
    are fewer columns) gets exactly one partner. Costs must be finite.
    """
    cost = np.asarray(cost, dtype=float)
    if cost.size == 0:
        return []
    transposed = cost.shape[0] > cost.shape[1]
    matrix = cost.T if transposed else cost
    rows, cols = matrix.shape
    # Potentials u (rows) and v (columns), 1-based with a virtual column 0, as in the classic
    # shortest-augmenting-path formulation.
    u = np.zeros(rows + 1)
    v = np.zeros(cols + 1)
    owner = np.zeros(cols + 1, dtype=int)  # owner[j]: row (1-based) assigned to column j, 0 if none
    way = np.zeros(cols + 1, dtype=int)
    for row in range(1, rows + 1):
        owner[0] = row
        column = 0
        slack = np.full(cols + 1, np.inf)
        used = np.zeros(cols + 1, dtype=bool)
        while True:
            used[column] = True
            current = owner[column]
            free = ~used[1:]
            reduced = matrix[current - 1] - u[current] - v[1:]
            better = free & (reduced < slack[1:])
            slack[1:][better] = reduced[better]
            way[1:][better] = column
            candidates = np.where(free, slack[1:], np.inf)
            nearest = int(np.argmin(candidates)) + 1
            delta = candidates[nearest - 1]
            u[owner[used]] += delta
            v[used] -= delta
            slack[1:][free] -= delta
            column = nearest
            if owner[column] == 0:
                break
        while column:
            previous = way[column]
            owner[column] = owner[previous]
            column = previous
    pairs = [(int(owner[j]) - 1, j - 1) for j in range(1, cols + 1) if owner[j]]
    if transposed:
        pairs = [(j, i) for i, j in pairs]
    return sorted(pairs)
