"""The two-level statistics: the pigeonhole bootstrap over seeds × images (against a naive
per-replicate loop, its one-seed reduction to the per-image bootstrap, how its width follows
each source of noise, determinism, NaN handling) and Welch's t over per-seed means."""

import math

import numpy as np
import pytest
from scipy import stats

from salloss.stats import (
    bootstrap_ci,
    pigeonhole_ci,
    pigeonhole_replicates,
    seed_means,
    welch_seed_test,
)


def _naive(x: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """The documented definition, one replicate at a time, on the trimmed matrix."""
    finite = np.isfinite(x)
    x = x[finite.any(axis=1)][:, finite.any(axis=0)]
    s, n = x.shape
    seed_rng, image_rng = (np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(2))
    rows = seed_rng.integers(0, s, size=(n_boot, s))
    out = []
    for b in range(n_boot):
        cols = image_rng.integers(0, n, size=n)
        sub = x[rows[b]][:, cols]
        means = [r[np.isfinite(r)].mean() for r in sub if np.isfinite(r).any()]
        out.append(np.mean(means) if means else math.nan)
    return np.array(out)


def _crossed(seed_sd: float, image_sd: float, n_seeds: int = 4, n_images: int = 60,
             seed: int = 1) -> np.ndarray:
    """A crossed design: score = image effect + seed effect + a small interaction."""
    rng = np.random.default_rng(seed)
    image = rng.normal(size=n_images)
    seeds = rng.normal(size=n_seeds)
    noise = rng.normal(size=(n_seeds, n_images))
    return 0.5 + image_sd * image[None, :] + seed_sd * seeds[:, None] + 0.001 * noise


def test_replicates_follow_the_documented_definition():
    x = _crossed(0.05, 0.1, n_seeds=3, n_images=9)
    x[0, 2] = x[1, 5] = math.nan  # NaN cells inside a row: excluded from that row's mean
    x[:, 7] = math.nan  # an image undefined for every seed: dropped before resampling
    got = pigeonhole_replicates(x, n_boot=200, seed=3)
    assert np.allclose(got, _naive(x, 200, 3), rtol=1e-13, atol=0)


def test_mean_is_the_mean_of_the_per_seed_means():
    x = _crossed(0.05, 0.1)
    x[1, :10] = math.nan
    ci = pigeonhole_ci(x)
    want = np.mean([np.nanmean(r) for r in x])
    assert ci.mean == pytest.approx(want, rel=1e-14)
    assert np.array_equal(seed_means(x), [np.nanmean(r) for r in x])
    assert ci.low < ci.mean < ci.high and (ci.n_seeds, ci.n_images) == (4, 60)


def test_one_seed_is_exactly_the_per_image_bootstrap():
    rng = np.random.default_rng(0)
    row = rng.normal(size=50)
    row[[3, 17]] = math.nan
    for seed in (0, 5):
        ci = pigeonhole_ci(row[None, :], n_boot=2000, seed=seed)
        ref = bootstrap_ci(row, n_boot=2000, seed=seed)
        assert (ci.mean, ci.low, ci.high) == (ref.mean, ref.low, ref.high)
        assert (ci.n_seeds, ci.n_images) == (1, 48)
    # a 1-D sequence is one seed; a second seed with no finite score is no seed at all
    assert pigeonhole_ci(row, n_boot=2000) == pigeonhole_ci(row[None, :], n_boot=2000)
    two = np.vstack([row, np.full(row.size, math.nan)])
    assert pigeonhole_ci(two, n_boot=2000) == pigeonhole_ci(row, n_boot=2000)


def _width(x: np.ndarray) -> float:
    ci = pigeonhole_ci(x, n_boot=4000, seed=0)
    return ci.high - ci.low


def test_width_grows_with_seed_noise_at_fixed_image_noise():
    widths = [_width(_crossed(s, 0.05)) for s in (0.0, 0.02, 0.08)]
    assert widths[0] < widths[1] < widths[2]
    # and the seed-level noise is what a per-image bootstrap of the seed average misses
    x = _crossed(0.08, 0.05)
    images_only = bootstrap_ci(x.mean(axis=0), n_boot=4000, seed=0)
    assert _width(x) > 2 * (images_only.high - images_only.low)


def test_width_grows_with_image_noise_at_fixed_seed_noise():
    widths = [_width(_crossed(0.02, s)) for s in (0.0, 0.05, 0.2)]
    assert widths[0] < widths[1] < widths[2]


def test_deterministic_for_a_seed_and_changes_with_it():
    x = _crossed(0.03, 0.1)
    assert pigeonhole_ci(x, seed=7) == pigeonhole_ci(x.copy(), seed=7)
    assert pigeonhole_ci(x, seed=7).low != pigeonhole_ci(x, seed=8).low


def test_nan_handling():
    x = _crossed(0.03, 0.1)
    with_nan = np.vstack([x, np.full(x.shape[1], math.nan)])  # a seed undefined everywhere
    with_nan = np.hstack([with_nan, np.full((with_nan.shape[0], 1), math.nan)])  # an image
    assert pigeonhole_ci(with_nan) == pigeonhole_ci(x)
    empty = pigeonhole_ci(np.full((3, 4), math.nan))
    assert math.isnan(empty.mean) and math.isnan(empty.low) and empty.n_seeds == 0
    # sparse NaN cells: every replicate still has a finite cell, the interval is finite
    x[0, ::3] = math.nan
    ci = pigeonhole_ci(x)
    assert np.isfinite([ci.low, ci.high]).all() and ci.n_images == 60


def test_welch_matches_scipy_and_needs_two_seeds_a_side():
    a, b = [0.61, 0.63, 0.66], [0.52, 0.58, 0.55, math.nan]
    res = welch_seed_test(a, b)
    ref = stats.ttest_ind(a, [0.52, 0.58, 0.55], equal_var=False)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert (res.n_a, res.n_b) == (3, 3) and res.mean_diff == pytest.approx(np.mean(a) - 0.55)
    lone = welch_seed_test([0.6], [0.5, 0.55])
    assert math.isnan(lone.pvalue) and lone.n_a == 1
    assert math.isnan(welch_seed_test([0.6, math.nan], [0.5, 0.55]).pvalue)
    assert welch_seed_test([0.5, 0.5], [0.5, 0.5]).pvalue == 1.0
    assert welch_seed_test([0.6, 0.6], [0.5, 0.5]).pvalue == 0.0
