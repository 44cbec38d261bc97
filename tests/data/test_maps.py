"""Fixations -> density (Gaussian), points <-> maps, map resizing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salloss.data.maps import (
    density_from_fixations,
    map_from_points,
    normalize_map,
    points_from_map,
    resize_map,
)
from salloss.errors import DataError


def test_single_fixation_gives_the_sampled_gaussian():
    fix = np.zeros((81, 81), bool)
    fix[40, 40] = True
    sigma = 5.0
    density = density_from_fixations(fix, sigma, normalize="none", mode="constant")
    yy, xx = np.mgrid[-40:41, -40:41]
    gauss = np.exp(-(yy**2 + xx**2) / (2 * sigma**2))
    np.testing.assert_allclose(density / density.max(), gauss / gauss.max(), atol=2e-3)
    assert density.sum() == pytest.approx(1.0, abs=1e-6)  # all mass kept away from borders


def test_sigma_controls_the_width():
    fix = np.zeros((101, 101), bool)
    fix[50, 50] = True
    narrow = density_from_fixations(fix, 3.0)
    wide = density_from_fixations(fix, 30.0)
    assert narrow.max() == wide.max() == 1.0  # max-normalised by default
    assert (wide > 0.5).sum() > 50 * (narrow > 0.5).sum()


def test_sum_normalisation_and_empty_map():
    fix = np.zeros((20, 30), bool)
    assert density_from_fixations(fix, 2.0).max() == 0.0
    fix[3, 4] = fix[15, 25] = True
    assert density_from_fixations(fix, 2.0, normalize="sum").sum() == pytest.approx(1.0)


def test_counts_weigh_the_density():
    counts = np.zeros((40, 80))
    counts[20, 20], counts[20, 60] = 3, 1
    density = density_from_fixations(counts, 3.0, normalize="none")
    assert density[20, 20] == pytest.approx(3 * density[20, 60])


def test_bad_inputs():
    with pytest.raises(DataError, match="sigma"):
        density_from_fixations(np.zeros((3, 3)), 0)
    with pytest.raises(DataError, match="2-D"):
        density_from_fixations(np.zeros((3, 3, 3)), 1)
    with pytest.raises(DataError, match="normalize"):
        normalize_map(np.ones((2, 2)), "l2")
    with pytest.raises(DataError, match="outside"):
        map_from_points(np.array([[0, 5]]), (3, 5))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_points_roundtrip(height, width, seed):
    fix = np.random.default_rng(seed).uniform(size=(height, width)) < 0.2
    points = points_from_map(fix)
    assert points.dtype == np.int32 and points.shape[1] == 2
    np.testing.assert_array_equal(map_from_points(points, (height, width)), fix)


def test_resize_map_is_area_aware_when_shrinking():
    checker = (np.indices((64, 64)).sum(axis=0) % 2).astype(np.float32)
    small = resize_map(checker, (8, 8))
    assert small.shape == (8, 8) and small.dtype == np.float32
    np.testing.assert_allclose(small, 0.5, atol=0.02)  # averaged, not aliased
