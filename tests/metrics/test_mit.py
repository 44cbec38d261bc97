"""CC, SIM, KL, NSS, IG: pysaliency where it agrees with MIT, hand-computed cases, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from salloss.errors import DataError
from salloss.metrics import cc, imresize, info_gain, kl_div, nss, similarity


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cc_matches_pysaliency(pysaliency, maker, seed):
    sal, _, density = maker(seed)
    assert cc(sal, density) == pytest.approx(pysaliency.metrics.CC(sal, density), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_kl_matches_pysaliency_mit_kldiv(pysaliency, maker, seed):
    sal, _, density = maker(seed)
    ref = pysaliency.metrics.MIT_KLDiv(sal, density)
    assert kl_div(sal, density) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nss_is_pysaliency_times_sample_std_factor(pysaliency, maker, seed):
    sal, fix, _ = maker(seed)
    ys, xs = np.nonzero(fix)
    n = sal.size
    ref = pysaliency.metrics.NSS(sal, xs, ys).mean() * math.sqrt((n - 1) / n)
    assert nss(sal, fix) == pytest.approx(ref, rel=1e-12)


def test_sim_equals_pysaliency_when_min_is_zero(pysaliency, maker):
    sal, _, density = maker(3)
    sal = sal - sal.min()  # min-max normalisation is then only a scaling
    density = density - density.min()
    assert similarity(sal, density) == pytest.approx(
        pysaliency.metrics.SIM(sal, density), abs=1e-12
    )


def test_sim_min_max_path_by_hand():
    sal = np.array([[1.0, 2.0], [3.0, 4.0]])  # -> [0, 1/3, 2/3, 1] / 2
    gt = np.array([[0.0, 0.0], [0.0, 5.0]])  # -> [0, 0, 0, 1]
    assert similarity(sal, gt) == pytest.approx(0.5, abs=1e-15)
    # Without min-max (pysaliency's way) it would be 4/10.
    gt2 = np.array([[1.0, 1.0], [1.0, 3.0]])  # -> [0, 0, 0, 1]
    assert similarity(sal, gt2) == pytest.approx(0.5, abs=1e-15)
    assert similarity(gt2, gt2) == pytest.approx(1.0, abs=1e-15)


def test_cc_by_hand():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[2.0, 4.0], [6.0, 9.0]])
    am, bm = a - a.mean(), b - b.mean()
    expected = (am * bm).sum() / math.sqrt((am**2).sum() * (bm**2).sum())
    assert cc(a, b) == pytest.approx(expected, abs=1e-15)
    assert cc(a, -a) == pytest.approx(-1.0, abs=1e-15)


def test_kl_by_hand():
    eps = np.finfo(float).eps
    s = np.array([[1.0, 3.0]])  # -> [0.25, 0.75]
    g = np.array([[1.0, 1.0]])  # -> [0.5, 0.5]
    expected = 0.5 * math.log(eps + 0.5 / (0.25 + eps)) + 0.5 * math.log(eps + 0.5 / (0.75 + eps))
    assert kl_div(s, g) == pytest.approx(expected, rel=1e-14)


def test_nss_one_fixation_by_hand():
    sal = np.array([[0.0, 1.0, 2.0, 5.0]])
    fix = np.array([[0, 0, 0, 1]])
    expected = (5.0 - 2.0) / np.std(sal, ddof=1)
    assert nss(sal, fix) == pytest.approx(expected, rel=1e-14)


def test_info_gain_by_hand_and_zero_against_itself(maker):
    eps = np.finfo(float).eps
    sal = np.array([[0.0, 1.0, 3.0]])  # min-max [0, 1/3, 1] -> /(4/3) -> [0, .25, .75]
    base = np.array([[0.0, 1.0, 1.0]])  # -> [0, .5, .5]
    fix = np.array([[0, 1, 1]])
    expected = np.mean([math.log2(eps + 0.25) - math.log2(eps + 0.5),
                        math.log2(eps + 0.75) - math.log2(eps + 0.5)])
    assert info_gain(sal, fix, base) == pytest.approx(expected, rel=1e-13)
    s, f, _ = maker(4)
    assert info_gain(s, f, s) == 0.0
    assert info_gain(s, f, s[::-1]) != 0.0


# --- edge cases (METRICS.md) -------------------------------------------------------------

def test_constant_maps():
    const = np.full((8, 9), 0.3)
    other = np.random.default_rng(0).random((8, 9))
    fix = np.zeros((8, 9), bool)
    fix[2, 3] = True
    assert math.isnan(cc(const, other)) and math.isnan(cc(other, const))
    assert math.isnan(similarity(const, other))  # constant non-zero -> NaN
    assert math.isnan(nss(const, fix))
    assert math.isnan(info_gain(const, fix, other))
    assert math.isfinite(kl_div(const, other))  # KL has no min-max: a flat prediction is fine


def test_all_zero_maps():
    zero = np.zeros((6, 7))
    other = np.random.default_rng(1).random((6, 7))
    assert similarity(zero, other) == 0.0
    assert similarity(other, zero) == 0.0
    assert kl_div(other, zero) == 0.0  # nothing to explain
    assert math.isnan(cc(zero, other))


def test_no_fixations_gives_nan():
    sal = np.random.default_rng(2).random((6, 7))
    empty = np.zeros((6, 7), dtype=np.uint8)
    assert math.isnan(nss(sal, empty))
    assert math.isnan(info_gain(sal, empty, sal))


@pytest.mark.parametrize("shape", [(30, 40), (120, 160)])
def test_prediction_of_other_size_is_resized(maker, shape):
    sal, fix, density = maker(5)
    small = imresize(sal, size=shape)
    resized = imresize(small, size=density.shape)
    assert cc(small, density) == pytest.approx(cc(resized, density), abs=1e-14)
    assert similarity(small, density) == pytest.approx(similarity(resized, density), abs=1e-14)
    assert kl_div(small, density) == pytest.approx(kl_div(resized, density), abs=1e-14)
    assert nss(small, fix) == pytest.approx(nss(resized, fix), abs=1e-13)


def test_kl_negative_prediction_is_nan_not_crash():
    sal = np.array([[1.0, -0.5, 2.0]])
    gt = np.array([[1.0, 1.0, 1.0]])
    assert math.isnan(kl_div(sal, gt))


def test_returns_python_floats(maker):
    sal, fix, density = maker(6)
    for value in (cc(sal, density), similarity(sal, density), kl_div(sal, density),
                  nss(sal, fix), info_gain(sal, fix, density)):
        assert type(value) is float


@pytest.mark.parametrize(
    "bad,msg",
    [(np.ones(5), "2-D"), (np.ones((2, 2, 2)), "2-D"), (np.ones((0, 4)), "empty"),
     (np.array([[1.0, np.nan]]), "NaN"), (np.array([[1.0, np.inf]]), "NaN/inf"),
     (np.array([["a", "b"]]), "numeric")],
)
def test_bad_prediction_raises_clear_error(bad, msg):
    gt = np.ones((1, 2)) if bad.ndim == 2 and bad.size else np.ones((3, 3))
    with pytest.raises(DataError, match=msg) as info:
        cc(bad, gt)
    assert "sal" in str(info.value)


def test_bad_ground_truth_names_argument():
    with pytest.raises(DataError, match="density"):
        kl_div(np.ones((3, 3)), np.full((3, 3), np.nan))
    with pytest.raises(DataError, match="fixations"):
        nss(np.ones((3, 3)), np.array([[np.nan, 1.0]]))
