"""AUC-Judd, AUC-Borji, sAUC: pysaliency where it agrees, hand-computed ROC cases, MATLAB's
colon operator, the bucketed threshold counting, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from salloss.errors import ConfigError, DataError
from salloss.metrics import auc_borji, auc_judd, auc_shuffled, imresize
from salloss.metrics.auc import _split_aucs, count_at_least, matlab_colon

# --- MATLAB colon --------------------------------------------------------------------------

def test_colon_matches_matlab_documented_values():
    # MATLAB Answers "Floating point accuracy and COLON": (0:0.1:0.3) - (0:0.1:0.4)(1:4) is
    # [0 0 -2.7756e-17 -5.5511e-17], and the last element of 0:0.1:0.3 is exactly 0.3.
    x, y = matlab_colon(0, 0.1, 0.3), matlab_colon(0, 0.1, 0.4)
    np.testing.assert_array_equal(x - y[:4], [0, 0, -2.7755575615628914e-17,
                                              -5.551115123125783e-17])
    assert x[-1] == 0.3
    grid = matlab_colon(0, 0.1, 1.0)
    assert grid.size == 11 and grid[-1] == 1.0 and grid[5] == 0.5
    assert grid[6] == 0.6 and grid[7] == 0.7  # np.arange gives 0.6000000000000001 here
    assert 153 / 255 in grid  # an 8-bit map value that sits exactly on a threshold


@pytest.mark.parametrize("stop,n", [(0.95, 10), (0.05, 1), (0.0, 1), (0.999, 10), (1.0, 11)])
def test_colon_lengths(stop, n):
    v = matlab_colon(0, 0.1, stop)
    assert v.size == n and v[0] == 0 and v[-1] <= stop
    assert np.all(np.diff(v) > 0)


def test_colon_rejects_bad_step():
    with pytest.raises(ConfigError, match="step"):
        matlab_colon(0, 0, 1)


# --- threshold counting --------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_count_at_least_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    values = rng.random(20000)
    values[:500] = 0.0  # a crowded bucket at 0
    values[500:520] = 1.0
    values[520:600] = np.round(values[520:600], 2)  # ties
    thresholds = np.sort(np.concatenate([rng.choice(values, 300), [0.0, 1.0, 0.5, 0.5]]))
    expected = np.array([(values >= t).sum() for t in thresholds])
    np.testing.assert_array_equal(count_at_least(values, thresholds), expected)


# --- AUC-Judd ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_judd_matches_pysaliency_unique_fixations(pysaliency, maker, seed):
    sal, fix, _ = maker(seed)
    pos, neg = sal[fix].astype(float), sal[~fix].astype(float)
    ref = pysaliency.roc.general_roc(pos, neg, judd=1)[0]
    assert auc_judd(sal, fix, jitter=False) == pytest.approx(ref, abs=1e-12)
    # The 1e-7 jitter (seeded) barely moves a smooth map's score.
    assert auc_judd(sal, fix, jitter=True, seed=seed) == pytest.approx(ref, abs=1e-3)


def test_auc_judd_exact_ties_match_pysaliency(pysaliency, maker):
    sal, fix, _ = maker(7)
    q = np.round(sal * 20)  # heavy ties
    ref = pysaliency.roc.general_roc(q[fix], q[~fix], judd=1)[0]
    assert auc_judd(q, fix, jitter=False) == pytest.approx(ref, abs=1e-12)


def test_auc_judd_by_hand_with_ties():
    # Values [1, 1, 0]; pixel 0 fixated. One threshold (1): tp = 1, fp = 1/2
    # -> ROC (0,0), (0.5,1), (1,1): area 0.25 + 0.5.
    sal = np.array([[1.0, 1.0, 0.0]])
    fix = np.array([[1, 0, 0]])
    assert auc_judd(sal, fix, jitter=False) == pytest.approx(0.75, abs=1e-15)
    # Two fixations tied at the top, one non-fixated below: perfect separation.
    sal2 = np.array([[2.0, 2.0, 0.0, 1.0]])
    fix2 = np.array([[1, 1, 0, 0]])
    assert auc_judd(sal2, fix2, jitter=False) == pytest.approx(1.0, abs=1e-15)
    # Fixations at the minimum: the only threshold is the minimum -> (1,1) -> chance.
    assert auc_judd(-sal2, fix2, jitter=False) == pytest.approx(0.5, abs=1e-15)


def test_auc_judd_mit_rank_rule_with_jitter():
    # MIT's i-th threshold uses tp = i/Nf. Values 4 > 3 > 2 > 1 with fixations on 4 and 2:
    # th=1.0 (the 4): tp=1/2, fp=0; th=1/3 (the 2): tp=1, fp=(3-2)/2
    # -> ROC (0,0), (0,.5), (.5,1), (1,1): area .375 + .5.
    sal = np.array([[4.0, 3.0, 2.0, 1.0]])
    fix = np.array([[1, 0, 1, 0]])
    assert auc_judd(sal, fix, jitter=True, seed=3) == pytest.approx(0.875, abs=1e-6)


def test_auc_judd_constant_map():
    const = np.full((20, 30), 0.4)
    fix = np.zeros((20, 30), bool)
    rng = np.random.default_rng(0)
    fix[rng.integers(0, 20, 50), rng.integers(0, 30, 50)] = 1
    assert auc_judd(const, fix, jitter=False) == 0.5
    assert auc_judd(const, fix, jitter=True) == pytest.approx(0.5, abs=0.1)


def test_auc_judd_seeded_jitter_is_reproducible(maker):
    sal, fix, _ = maker(8)
    q = np.round(sal * 5)
    assert auc_judd(q, fix, seed=1) == auc_judd(q, fix, seed=1)
    assert auc_judd(q, fix, seed=1) != auc_judd(q, fix, seed=2)


# --- AUC-Borji -----------------------------------------------------------------------------

def test_borji_threshold_logic_with_fixed_sample_by_hand():
    # positives [0.95, 0.5], one split of negatives [0.05, 0.55]; thresholds 0.9 .. 0:
    # 0.9..0.6 -> (0, .5); 0.5..0.1 -> (.5, 1); 0 -> (1, 1). Area .375 + .5 = .875.
    pos = np.array([0.95, 0.5])
    neg = np.array([[0.05, 0.55]])
    assert _split_aucs(pos, neg, 0.1, 2) == pytest.approx(0.875, abs=1e-15)
    # Two splits with different maxima (11 vs 10 thresholds) are averaged.
    neg2 = np.array([[0.05, 0.55], [1.0, 0.0]])
    # split 2: negatives [1.0, 0.0]: th 1.0 -> (.5, 0); .9..0.6 -> (.5,.5); .5..0.1 -> (.5,1);
    # 0 -> (1,1). Area: 0 + 0 + .5*1 = .5 (the (0,0)->(.5,0) step adds none).
    assert _split_aucs(pos, neg2, 0.1, 2) == pytest.approx((0.875 + 0.5) / 2, abs=1e-15)


def test_borji_uses_exact_matlab_thresholds():
    # A positive exactly at 0.6 = 153/255 counts at threshold 0.6 (MATLAB's colon gives 0.6;
    # np.arange would give 0.6000000000000001 and drop it).
    pos = np.array([153 / 255, 1.0])
    neg = np.array([[0.65, 0.0]])
    # th 1.0 .. .7: (0, .5); .6: (.5, 1); .5 .. .1: (.5, 1); 0: (1, 1) -> .375 + .5.
    # (With th .6000000000000001 the point would be (.5, .5) and the area .25 + .5.)
    assert _split_aucs(pos, neg, 0.1, 2) == pytest.approx(0.375 + 0.5, abs=1e-15)


def test_borji_close_to_exact_auc_and_slightly_below(pysaliency, maker):
    sal, fix, _ = maker(9, shape=(80, 100), n_fix=150)
    norm = (sal - sal.min()) / (sal.max() - sal.min())
    exact = pysaliency.roc.general_roc(norm[fix], norm.ravel(), judd=0)[0]
    value = auc_borji(sal, fix, seed=0)
    assert exact - 0.05 < value < exact + 0.01
    assert auc_borji(sal, fix, seed=0) == value
    assert auc_borji(sal, fix, seed=1) != value


def test_borji_edge_cases():
    sal = np.random.default_rng(0).random((10, 12))
    one = np.zeros((10, 12))
    one[3, 4] = 1
    assert math.isnan(auc_borji(sal, one))  # fewer than 2 fixated pixels
    assert math.isnan(auc_borji(sal, np.zeros((10, 12))))
    two = one.copy()
    two[5, 5] = 1
    assert math.isnan(auc_borji(np.ones((10, 12)), two))  # constant map
    assert 0 <= auc_borji(sal, two) <= 1
    with pytest.raises(ConfigError, match="n_splits"):
        auc_borji(sal, two, n_splits=0)
    with pytest.raises(ConfigError, match="step"):
        auc_borji(sal, two, step=0)


# --- sAUC ----------------------------------------------------------------------------------

def test_shuffled_auc_discounts_centre_bias():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:60, :80]
    centre = np.exp(-((yy - 30) ** 2 + (xx - 40) ** 2) / (2 * 10**2))
    def centred_fixations(n):
        f = np.zeros((60, 80), bool)
        f[np.clip(rng.normal(30, 8, n).astype(int), 0, 59),
          np.clip(rng.normal(40, 8, n).astype(int), 0, 79)] = True
        return f
    fix, others = centred_fixations(60), centred_fixations(400)
    assert auc_borji(centre, fix) > 0.8
    assert abs(auc_shuffled(centre, fix, others) - 0.5) < 0.12


def test_shuffled_auc_edge_cases(maker):
    sal, fix, _ = maker(10)
    assert math.isnan(auc_shuffled(sal, fix, np.zeros_like(fix)))
    assert math.isnan(auc_shuffled(sal, np.zeros_like(fix), fix))
    assert 0 <= auc_shuffled(sal, fix, ~fix) <= 1
    with pytest.raises(DataError, match="other_fixations"):
        auc_shuffled(sal, fix, fix[:10])


# --- sizes and edge cases shared by the three ---------------------------------------------

@pytest.mark.parametrize("shape", [(20, 30), (150, 170)])
def test_prediction_of_other_size_is_resized(maker, shape):
    sal, fix, _ = maker(11)
    other = imresize(sal, size=shape)
    back = imresize(other, size=fix.shape)
    assert auc_judd(other, fix) == auc_judd(back, fix)
    assert auc_borji(other, fix) == auc_borji(back, fix)
    assert auc_shuffled(other, fix, ~fix) == auc_shuffled(back, fix, ~fix)


def test_no_fixations_nan_and_all_fixated_nan():
    sal = np.random.default_rng(0).random((5, 6))
    assert math.isnan(auc_judd(sal, np.zeros((5, 6))))
    assert math.isnan(auc_judd(sal, np.ones((5, 6))))


def test_bad_inputs_raise():
    with pytest.raises(DataError, match="2-D"):
        auc_judd(np.ones((3, 3)), np.ones(9))
    with pytest.raises(DataError, match="NaN"):
        auc_borji(np.array([[np.nan, 1.0]]), np.array([[1, 1]]))
