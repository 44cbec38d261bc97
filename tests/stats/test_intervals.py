"""Confidence intervals: t-interval against scipy.stats.t, bootstrap coverage and NaN handling."""

import math

import numpy as np
import pytest
from scipy import stats

from salloss.errors import ConfigError
from salloss.stats import bootstrap_ci, t_interval


@pytest.mark.parametrize("level", [0.95, 0.9, 0.99])
def test_t_interval_matches_scipy_t(level):
    x = np.array([0.61, 0.58, 0.64, 0.60, 0.57])
    mean, half = t_interval(x, level)
    lo, hi = stats.t.interval(level, df=x.size - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean == pytest.approx((lo + hi) / 2, rel=1e-12)
    assert half == pytest.approx((hi - lo) / 2, rel=1e-10)


def test_t_interval_one_value_has_nan_half_width_and_nans_are_excluded():
    mean, half = t_interval([0.7])
    assert mean == 0.7 and math.isnan(half)
    mean, half = t_interval([0.5, math.nan, 0.7])
    ref_mean, ref_half = t_interval([0.5, 0.7])
    assert (mean, half) == (ref_mean, ref_half) and mean == pytest.approx(0.6)
    assert all(math.isnan(v) for v in t_interval([math.nan]))


def test_bad_level_names_the_problem():
    with pytest.raises(ConfigError, match="level"):
        t_interval([1.0, 2.0], level=95)
    with pytest.raises(ConfigError, match="n_boot"):
        bootstrap_ci([1.0, 2.0], n_boot=0)


def test_bootstrap_coverage_on_a_known_distribution():
    # 300 samples of 40 draws from an exponential (skewed, true mean 2): the 90% percentile
    # interval should cover the true mean close to 90% of the time.
    rng = np.random.default_rng(123)
    covered = 0
    trials = 300
    for t in range(trials):
        ci = bootstrap_ci(rng.exponential(2.0, size=40), level=0.9, n_boot=1000, seed=t)
        covered += ci.low <= 2.0 <= ci.high
    assert 0.82 <= covered / trials <= 0.95


def test_bootstrap_width_matches_normal_theory_for_a_large_sample():
    x = np.random.default_rng(7).normal(0.5, 0.2, size=300)
    ci = bootstrap_ci(x, n_boot=10000, seed=0)
    half = 1.959964 * x.std(ddof=1) / math.sqrt(x.size)
    assert ci.mean == pytest.approx(x.mean())
    assert ci.low < ci.mean < ci.high
    assert (ci.high - ci.low) / 2 == pytest.approx(half, rel=0.08)
    assert (ci.low + ci.high) / 2 == pytest.approx(x.mean(), abs=0.1 * half)


def test_bootstrap_excludes_and_counts_nans_and_is_seeded():
    x = np.random.default_rng(3).normal(size=50)
    with_nan = np.concatenate([x[:20], [np.nan, np.inf], x[20:], [np.nan]])
    a = bootstrap_ci(with_nan, n_boot=2000, seed=5)
    b = bootstrap_ci(x, n_boot=2000, seed=5)
    assert (a.n, a.n_excluded) == (50, 3)
    assert (a.mean, a.low, a.high) == (b.mean, b.low, b.high)
    assert bootstrap_ci(x, n_boot=2000, seed=6).low != b.low
    empty = bootstrap_ci([np.nan, np.nan])
    assert empty.n == 0 and empty.n_excluded == 2 and math.isnan(empty.low)
