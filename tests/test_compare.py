"""`vidwatch.compare`: the classic norms and the histogram KL divergence, pinned to values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidwatch.compare import compare_images

A = np.array([[10, 20, 30], [40, 50, 60]], np.uint8)
B = np.array([[10, 25, 30], [0, 50, 70]], np.uint8)  # differences 0 5 0 / 40 0 10


def test_manhattan_and_zero_norms_by_hand() -> None:
    r = compare_images(A, B)
    assert r.pixels == 6
    assert r.manhattan == 55.0 and r.manhattan_per_pixel == pytest.approx(55 / 6)
    assert r.zero == 3 and r.zero_per_pixel == 0.5  # three pixels differ at all
    strict = compare_images(A, B, noise_level=5)
    assert strict.zero == 2 and strict.manhattan == 55.0  # 5 is not more than the noise level: 40 and 10 are


def test_zero_norm_counts_a_colour_pixel_once() -> None:
    a = np.zeros((1, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0] = (5, 6, 0)  # one pixel, two channels changed
    r = compare_images(a, b)
    assert r.manhattan == 11.0 and r.zero == 1 and r.zero_per_pixel == 0.5


def test_histogram_kl_divergence_by_hand() -> None:
    """32 bins of 8 levels, one count added to each bin (38 in all).

    A's values fall in bins 1 2 3 5 6 7 and B's in 1 3 3 0 6 8, so the smoothed counts are
    A: 2 in bins 1 2 3 5 6 7, else 1; B: 2 in bins 0 1 6 8, 3 in bin 3, else 1, and
    KL(A||B) = sum a/38 ln(a/b) = (ln 1/2 + 2 ln 2 + 2 ln 2/3 + 2 ln 2 + 2 ln 2 + ln 1/2) / 38.
    """
    expected = (4 * math.log(2) + 2 * math.log(2 / 3)) / 38
    assert compare_images(A, B).histogram_kl == pytest.approx(expected, rel=1e-12)
    assert compare_images(A, A).histogram_kl == 0.0
