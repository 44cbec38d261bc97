"""Two-level statistics of a crossed seeds × images design: every training seed of a loss is
scored on the same test images, so a table cell is a seeds × images matrix of scores.

- `pigeonhole_ci`: the cell's value and a percentile-bootstrap interval that resamples BOTH
  factors, seeds and images, independently (the "pigeonhole" bootstrap of Owen 2007).
- `welch_seed_test`: two losses compared with the seed as the unit of replication: Welch's
  two-sample t-test on their per-seed test-set means.

References: A. B. Owen (2007), "The pigeonhole bootstrap", Annals of Applied Statistics 1(2),
386–411; V. Saravanan, G. J. Berman, S. J. Sober (2020), "Application of the hierarchical
bootstrap to multi-level data in neuroscience", Neurons, Behavior, Data analysis, and Theory 3.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from salloss.errors import ConfigError, DataError
from salloss.stats.intervals import _CHUNK_ELEMENTS, bootstrap_ci, check_level

__all__ = ["PigeonholeCI", "WelchResult", "pigeonhole_ci", "pigeonhole_replicates",
           "seed_means", "welch_seed_test"]


class PigeonholeCI(NamedTuple):
    """Mean over seeds of the per-seed means, its percentile interval (`low`, `high`) at
    `level`; `n_seeds` / `n_images`: the seeds (rows) and images (columns) with at least one
    finite score, the ones resampled."""

    mean: float
    low: float
    high: float
    n_seeds: int
    n_images: int
    level: float


def _as_matrix(scores: ArrayLike) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise DataError(f"seeds × images scores must be 2-D; got shape {x.shape}")
    return x


def seed_means(scores: ArrayLike) -> np.ndarray:
    """Each seed's (row's) mean over its finite images; NaN for a row with none."""
    x = _as_matrix(scores)
    out = np.full(x.shape[0], np.nan)
    for s, row in enumerate(x):
        ok = row[np.isfinite(row)]
        if ok.size:
            out[s] = float(ok.mean())
    return out


def _trim(x: np.ndarray) -> np.ndarray:
    """Drop the seeds (rows) and images (columns) without a finite score."""
    finite = np.isfinite(x)
    return x[finite.any(axis=1)][:, finite.any(axis=0)]


def pigeonhole_replicates(scores: ArrayLike, n_boot: int = 10_000,
                          seed: int | Sequence[int] = 0) -> np.ndarray:
    """The `n_boot` bootstrap replicates of `pigeonhole_ci` (S ≥ 2 seeds after trimming; see
    there), in draw order; NaN for a replicate whose resampled cells are all NaN."""
    if int(n_boot) < 1:
        raise ConfigError(f"n_boot must be a positive number of resamples; got {n_boot}")
    n_boot = int(n_boot)
    x = _trim(_as_matrix(scores))
    n_seeds, n_images = x.shape
    if n_seeds == 0:
        return np.full(n_boot, np.nan)
    finite = np.isfinite(x)
    filled = np.where(finite, x, 0.0)
    weights = finite.astype(np.float64) if not finite.all() else None
    seed_rng, image_rng = (np.random.default_rng(s)
                           for s in np.random.SeedSequence(seed).spawn(2))
    seeds = seed_rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    out = np.empty(n_boot, dtype=np.float64)
    chunk = max(1, _CHUNK_ELEMENTS // n_images)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = image_rng.integers(0, n_images, size=(stop - start, n_images))
        # per replicate and seed: sum and count of the finite resampled images (plain NumPy
        # gathers and reductions, no BLAS: the result does not depend on the thread count)
        sums = np.stack([np.take(filled[s], idx).sum(axis=1) for s in range(n_seeds)], axis=1)
        counts = (np.full(sums.shape, float(n_images)) if weights is None else
                  np.stack([np.take(weights[s], idx).sum(axis=1) for s in range(n_seeds)],
                           axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            rows = sums / counts  # (replicates, seeds); NaN where a seed has no finite image
        picked = np.take_along_axis(rows, seeds[start:stop], axis=1)
        ok = np.isfinite(picked)
        n_ok = ok.sum(axis=1)
        total = np.where(ok, picked, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:stop] = np.where(n_ok > 0, total / np.maximum(n_ok, 1), np.nan)
    return out


def pigeonhole_ci(scores: ArrayLike, level: float = 0.95, n_boot: int = 10_000,
                  seed: int | Sequence[int] = 0) -> PigeonholeCI:
    """Mean over seeds of per-seed test-set means, with a two-way (pigeonhole) bootstrap CI.

    `scores`: S seeds × I images (a 1-D sequence is one seed), NaN where a metric is undefined.
    Seeds and images without any finite score are dropped first. The estimate is
    T(X) = mean over seeds s of m_s, m_s = mean of seed s's finite scores (a seed with none is
    left out). Each of the `n_boot` replicates draws S seed indices and I image indices with
    replacement, independently (seeds from the first, images from the second stream of
    ``np.random.SeedSequence(seed).spawn(2)``), and evaluates T on the S × I sub-matrix
    X[s*, i*] (repeats kept; NaN cells excluded from each row's mean, and a row left with no
    finite cell excluded from the mean over rows). The interval is the (1 − level)/2 and
    (1 + level)/2 quantiles (``np.quantile``, linear) of the finite replicates. This is Owen's
    (2007) pigeonhole bootstrap for crossed random effects: it resamples both sources of noise,
    training (seeds) and test data (images); like any bootstrap it is approximate with very few
    seeds. With one seed it IS the per-image bootstrap: exactly `bootstrap_ci` of its finite
    scores with the same `seed`. Results depend only on the data, `n_boot` and `seed`.
    """
    level = check_level(level)
    x = _trim(_as_matrix(scores))
    n_seeds, n_images = x.shape
    if n_seeds == 0:
        return PigeonholeCI(math.nan, math.nan, math.nan, 0, 0, level)
    if n_seeds == 1:
        row = x[0]
        ci = bootstrap_ci(row[np.isfinite(row)], level=level, n_boot=n_boot, seed=seed)
        return PigeonholeCI(ci.mean, ci.low, ci.high, 1, ci.n, level)
    means = seed_means(x)
    mean = float(means.mean())  # every trimmed row has a finite score
    reps = pigeonhole_replicates(x, n_boot=n_boot, seed=seed)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return PigeonholeCI(mean, math.nan, math.nan, n_seeds, n_images, level)
    low, high = np.quantile(reps, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return PigeonholeCI(mean, float(low), float(high), n_seeds, n_images, level)


class WelchResult(NamedTuple):
    """Welch's t-test of A vs B over seeds: `n_a`, `n_b` finite per-seed means, `mean_diff`
    = mean(A) − mean(B), `statistic` t, two-sided `pvalue` (NaN below two seeds a side)."""

    n_a: int
    n_b: int
    mean_diff: float
    statistic: float
    pvalue: float


def welch_seed_test(a: Sequence[float] | ArrayLike,
                    b: Sequence[float] | ArrayLike) -> WelchResult:
    """Welch's unequal-variance two-sample t-test (``scipy.stats.ttest_ind(equal_var=False)``)
    of the per-seed test-set means of two losses, NaN seeds left out: the seed is the unit of
    replication, so a difference passes only if it exceeds training (seed-to-seed) noise.
    Fewer than two finite means on either side: p is NaN (no test). Identical constant samples
    (t = 0/0): p = 1; different constant samples: p = 0 (SciPy's t = ±inf)."""
    from scipy import stats

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size < 2 or y.size < 2:
        diff = float(x.mean() - y.mean()) if x.size and y.size else math.nan
        return WelchResult(int(x.size), int(y.size), diff, math.nan, math.nan)
    diff = float(x.mean() - y.mean())
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(x, y, equal_var=False)
    t, p = float(res.statistic), float(res.pvalue)
    if math.isnan(p):
        t, p = 0.0, 1.0
    return WelchResult(int(x.size), int(y.size), diff, t, p)
