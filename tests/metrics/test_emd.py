"""EMD: exact linear programs (scipy linprog) on tiny grids, FastEMD semantics, edge cases."""

from __future__ import annotations

import math

import numpy as np
import ot
import pytest
from scipy.optimize import linprog

from salloss.errors import ConfigError, DataError
from salloss.metrics import emd, imresize
from salloss.metrics.emd import gd_metric_emd, grid_distances


def lp_gd_metric(p: np.ndarray, q: np.ndarray, dist: np.ndarray) -> float:
    """FastEMD gd_metric with zero extra-mass penalty as a plain LP over ALL bin pairs:
    cancel in-bin mass, then move min(Σsupply, Σdemand) at least cost."""
    d = p - q
    supply, demand = np.clip(d, 0, None), np.clip(-d, 0, None)
    n = p.size
    flow_mass = min(supply.sum(), demand.sum())
    a_ub = np.zeros((2 * n, n * n))
    for i in range(n):
        a_ub[i, i * n:(i + 1) * n] = 1  # out of i <= supply_i
        a_ub[n + i, i::n] = 1  # into i <= demand_i
    res = linprog(dist.ravel(), A_ub=a_ub, b_ub=np.concatenate([supply, demand]),
                  A_eq=np.ones((1, n * n)), b_eq=[flow_mass], bounds=(0, None), method="highs")
    assert res.success
    return float(res.fun)


@pytest.mark.parametrize("shape", [(1, 4), (2, 3), (3, 3), (3, 4)])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_linear_program_with_negative_bins(shape, seed):
    rng = np.random.default_rng(seed)
    n = shape[0] * shape[1]
    p, q = rng.random(n), rng.random(n)
    q[rng.integers(n)] = -0.08  # bicubic ringing leaves small negative bins
    p[rng.integers(n)] = -0.03
    p, q = p / p.sum(), q / q.sum()
    dist = grid_distances(shape)
    exact = lp_gd_metric(p, q, dist)
    assert gd_metric_emd(p, q, dist, quantize=False) == pytest.approx(exact, rel=1e-9, abs=1e-12)
    # FastEMD's integer quantisation moves it by ~1e-6 relative.
    assert gd_metric_emd(p, q, dist, quantize=True) == pytest.approx(exact, rel=1e-4)


def test_plain_pot_fails_silently_on_negative_bins_we_do_not():
    p = np.array([0.6, 0.5, -0.1])
    q = np.array([0.0, 0.2, 0.8])
    dist = grid_distances((1, 3))
    with pytest.warns(UserWarning):
        naive = ot.emd2(p, q, dist)
    ours = gd_metric_emd(p, q, dist, quantize=False)
    assert naive == 0.0 and ours > 0
    assert ours == pytest.approx(lp_gd_metric(p, q, dist), rel=1e-9)


def test_hand_cases():
    dist = grid_distances((2, 4))
    p, q = np.zeros(8), np.zeros(8)
    p[0], q[3] = 1.0, 1.0  # (0,0) -> (0,3)
    assert gd_metric_emd(p, q, dist) == pytest.approx(3.0, rel=1e-6)
    q[:] = 0
    q[7] = 1.0  # (0,0) -> (1,3): sqrt(1 + 9)
    assert gd_metric_emd(p, q, dist, quantize=False) == pytest.approx(math.sqrt(10), rel=1e-12)
    # Shared mass is cancelled in place: half stays, half moves 1 bin.
    p = np.array([1.0, 0, 0, 0, 0, 0, 0, 0])
    q = np.array([0.5, 0.5, 0, 0, 0, 0, 0, 0])
    assert gd_metric_emd(p, q, dist, quantize=False) == pytest.approx(0.5, rel=1e-12)


def test_grid_distances():
    d = grid_distances((2, 3))
    assert d.shape == (6, 6) and d[0, 5] == pytest.approx(math.sqrt(1 + 4))
    np.testing.assert_array_equal(d, d.T)
    assert not d.flags.writeable


def test_emd_pipeline_downsamples_like_mit(maker):
    rng = np.random.default_rng(0)
    sal = rng.random((100, 130))
    density = rng.random((100, 130))
    small_gt = imresize(density, scale=1 / 32)
    assert small_gt.shape == (4, 5)
    dist = grid_distances((4, 5))
    p = small_gt / small_gt.sum()
    # The prediction, whatever its size, is resized straight to the small grid.
    for pred in (sal, imresize(sal, size=(50, 61))):
        small_sal = imresize(pred, size=small_gt.shape)
        q = small_sal / small_sal.sum()
        expected = lp_gd_metric(p.ravel(), q.ravel(), dist)
        assert emd(pred, density, quantize=False) == pytest.approx(expected, rel=1e-9)
        # Quantisation error is absolute (~1e-6 of the mass per bin): relative 1e-3 here.
        assert emd(pred, density) == pytest.approx(expected, rel=1e-3)


def test_emd_properties(maker):
    sal, _, density = maker(1, shape=(160, 224))
    assert emd(density, density) == 0.0
    assert emd(sal, density) > 0
    assert emd(sal, density) == pytest.approx(emd(density, sal), rel=1e-9)
    assert emd(3 * sal, density) == pytest.approx(emd(sal, density), rel=1e-9)
    assert emd(sal, density, downsize=16) != emd(sal, density)
    assert type(emd(sal, density)) is float


def test_emd_edge_cases():
    rng = np.random.default_rng(2)
    sal = rng.random((64, 64))
    assert math.isnan(emd(sal, np.zeros((64, 64))))  # no mass
    assert math.isnan(emd(np.zeros((64, 64)), sal))
    assert emd(sal, rng.random((20, 20))) == 0.0  # one bin: nothing to move
    with pytest.raises(ConfigError, match="downsize"):
        emd(sal, sal, downsize=0)
    with pytest.raises(DataError, match="density"):
        emd(sal, np.full((64, 64), np.inf))
