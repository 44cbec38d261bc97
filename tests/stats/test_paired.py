"""Paired tests: Wilcoxon against SciPy and an exact enumeration, permutation test against a
brute-force exact p-value computed here with exact fractions."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from salloss.errors import ConfigError, DataError
from salloss.stats import permutation_test, wilcoxon_test
from salloss.stats.paired import rank_biserial


def _fixed_tables():
    rng = np.random.default_rng(42)
    ids = [f"img{i:03d}" for i in range(40)]
    a = np.round(rng.normal(0.6, 0.1, size=40), 2)  # rounded: ties and zero differences
    b = np.round(a + rng.normal(0.03, 0.05, size=40), 2)
    a[3], b[7] = np.nan, np.nan
    ta = dict(zip(ids, a.tolist(), strict=True))
    order = rng.permutation(40)  # B's table in another order: alignment must go by id
    tb = {ids[i]: float(b[i]) for i in order}
    return ta, tb, a, b


def test_wilcoxon_matches_scipy_on_id_aligned_data_with_nans_dropped():
    ta, tb, a, b = _fixed_tables()
    res = wilcoxon_test(ta, tb)
    ok = np.isfinite(a) & np.isfinite(b)
    ref = stats.wilcoxon(a[ok], b[ok])
    assert np.count_nonzero(a[ok] == b[ok]) > 0  # the data do contain zero differences
    assert (res.n, res.n_dropped) == (38, 2)
    assert res.statistic == pytest.approx(float(ref.statistic))
    assert res.pvalue == pytest.approx(float(ref.pvalue), rel=1e-12)
    assert res.mean_diff == pytest.approx(float(np.mean(a[ok] - b[ok])))
    assert res.pvalue < 0.05 and res.mean_diff < 0


def test_wilcoxon_exact_p_equals_enumeration_of_signed_ranks():
    d = np.array([0.31, -0.12, 0.25, 0.44, -0.05, 0.18, 0.39, 0.07])  # distinct |d|, no zero
    res = wilcoxon_test(d, np.zeros_like(d))
    ranks = np.argsort(np.argsort(np.abs(d))) + 1
    t_obs = ranks[d > 0].sum()
    center = len(d) * (len(d) + 1) / 4
    extreme = sum(
        abs(sum(r for r, s in zip(ranks, signs, strict=True) if s) - center)
        >= abs(t_obs - center)
        for signs in itertools.product([False, True], repeat=len(d)))
    assert res.pvalue == pytest.approx(extreme / 2 ** len(d), rel=1e-12)
    assert res.statistic == min(t_obs, ranks.sum() - t_obs)


def _brute_force_p(d):
    """Exact two-sided sign-flip p-value of the mean, in exact rational arithmetic."""
    d = [Fraction(v).limit_denominator(10 ** 6) for v in d]
    t_obs = abs(sum(d))
    hits = sum(abs(sum(s * v for s, v in zip(signs, d, strict=True))) >= t_obs
               for signs in itertools.product([1, -1], repeat=len(d)))
    return hits / 2 ** len(d)


# Ties in |d| and a zero: the exact p needs exact equality handling.
D_TINY = [0.3, -0.1, 0.2, 0.1, -0.3, 0.25, 0.05, 0.0, 0.15]


def test_permutation_exact_equals_brute_force_enumeration():
    a = np.array(D_TINY) + 0.5
    b = np.full(len(D_TINY), 0.5)
    res = permutation_test(a, b)
    assert res.method == "exact"
    assert res.pvalue == pytest.approx(_brute_force_p(np.round(a - b, 12)), abs=1e-12)
    assert res.statistic == pytest.approx(np.mean(a - b))
    assert res.n == len(D_TINY)


def test_permutation_monte_carlo_approaches_exact_and_is_never_zero():
    a, b = np.array(D_TINY), np.zeros(len(D_TINY))
    exact = _brute_force_p(D_TINY)
    mc = permutation_test(a, b, n_resamples=20000, seed=1, exact_max=0)
    assert mc.method == "monte-carlo"
    assert mc.pvalue == pytest.approx(exact, abs=0.015)
    assert mc.pvalue == permutation_test(a, b, n_resamples=20000, seed=1, exact_max=0).pvalue
    far = permutation_test(np.full(30, 1.0) + np.arange(30) * 0.01, np.zeros(30),
                           n_resamples=999, seed=0)
    assert far.pvalue == pytest.approx(1 / 1000)  # (0 + 1) / (999 + 1)


def test_identical_models_and_rank_biserial():
    x = [0.1, 0.2, 0.3]
    for res in (wilcoxon_test(x, x), permutation_test(x, x)):
        assert res.pvalue == 1.0 and res.mean_diff == 0.0 and math.isnan(res.rank_biserial)
    # |d| ranks: 0.1→1, 0.2→2.5, −0.2→2.5, 0.4→4, zero dropped; T+ = 7.5, T− = 2.5.
    assert rank_biserial([0.1, 0.2, -0.2, 0.4, 0.0]) == pytest.approx((7.5 - 2.5) / 10)


def test_mismatched_ids_and_bad_options_raise_clear_errors():
    with pytest.raises(DataError, match="only in A"):
        wilcoxon_test({"a": 1.0, "b": 2.0}, {"a": 1.0, "c": 2.0})
    with pytest.raises(DataError, match="equal length"):
        permutation_test([1.0, 2.0], [1.0])
    with pytest.raises(ConfigError, match="zero_method"):
        wilcoxon_test([1.0, 2.0], [2.0, 3.0], zero_method="drop")
