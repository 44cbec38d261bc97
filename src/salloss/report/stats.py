"""Statistics of the report: the table cell (mean over seeds with a 95% interval over seeds
and images), direction-aware ranks, and a paired test between two losses (the tests themselves
come from `salloss.stats`).

A run's score for a metric is the mean over test images (MIT convention, from scores.csv).
The cell (`cell_stat`) is the mean over seeds of those per-seed means ± half the width of the
95% two-way (pigeonhole) percentile bootstrap interval, which resamples seeds and images
independently (`salloss.stats.pigeonhole_ci`, Owen 2007); with one seed that is the per-image
bootstrap of `bootstrap_stat`. `seed_stat` (the t-interval over seeds alone) is kept for
callers that have only per-seed means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Stat:
    """A table cell: mean over `n` seeds and the half-width of its 95% interval (None when no
    interval is claimed); `low`/`high`: the interval's ends where it is not symmetric (a
    percentile bootstrap), else None."""

    mean: float
    half_width: float | None
    n: int
    low: float | None = None
    high: float | None = None


def t_halfwidth(values: Sequence[float], confidence: float = CONFIDENCE) -> float | None:
    """Half-width of the two-sided `confidence` t-interval of the mean of the finite `values`
    (`salloss.stats.t_interval`); None when fewer than two are finite (no interval claimed)."""
    from salloss.stats import t_interval

    _, half = t_interval(np.asarray(values, dtype=np.float64), level=confidence)
    return None if math.isnan(half) else float(half)


def seed_stat(per_seed: Sequence[float]) -> Stat:
    """Aggregate one metric's per-seed means; NaN seeds (metric undefined on every image) are
    left out, and a cell with no finite seed is NaN."""
    x = np.asarray(per_seed, dtype=np.float64)
    ok = x[np.isfinite(x)]
    if ok.size == 0:
        return Stat(math.nan, None, 0)
    return Stat(float(ok.mean()), t_halfwidth(ok), int(ok.size))


BOOTSTRAP_RESAMPLES = 10_000


def bootstrap_stat(per_image: Sequence[float]) -> Stat:
    """One run's test-set mean (NaN images excluded) ± half the width of the 95% per-image
    percentile bootstrap CI (`salloss.stats.bootstrap_ci`, seeded); no interval below two
    finite images."""
    from salloss.stats import bootstrap_ci

    x = np.asarray(per_image, dtype=np.float64)
    ok = x[np.isfinite(x)]
    if ok.size == 0:
        return Stat(math.nan, None, 0)
    if ok.size < 2:
        return Stat(float(ok.mean()), None, 1)
    ci = bootstrap_ci(ok, level=CONFIDENCE, n_boot=BOOTSTRAP_RESAMPLES, seed=0)
    return Stat(float(ci.mean), float(ci.high - ci.low) / 2, 1, float(ci.low), float(ci.high))


def cell_stat(per_seed_images: Sequence[Sequence[float]]) -> Stat:
    """One metric's cell from its seeds × images scores (rows aligned on the same images):
    the mean over seeds of the per-seed test-set means (NaN images and NaN seeds left out)
    ± half the width of the 95% pigeonhole bootstrap interval (`salloss.stats.pigeonhole_ci`,
    `BOOTSTRAP_RESAMPLES`, seed 0); `n` = seeds with a finite mean. With one such seed it is
    exactly `bootstrap_stat` of that seed's images."""
    from salloss.stats import pigeonhole_ci, seed_means

    x = np.asarray(per_seed_images, dtype=np.float64)
    x = x[None, :] if x.ndim == 1 else x
    finite = np.isfinite(seed_means(x))
    if finite.sum() <= 1:
        return bootstrap_stat(x[finite][0] if finite.any() else [])
    ci = pigeonhole_ci(x, level=CONFIDENCE, n_boot=BOOTSTRAP_RESAMPLES, seed=0)
    half = float(ci.high - ci.low) / 2 if math.isfinite(ci.high - ci.low) else None
    return Stat(ci.mean, half, ci.n_seeds, ci.low, ci.high)


def ranks(values: Sequence[float | None], higher_is_better: bool) -> list[int | None]:
    """Competition ranks (1 = best; ties share a rank, '1 1 3') of the finite values; None
    for missing or NaN values."""
    finite = [(v, i) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    out: list[int | None] = [None] * len(values)
    ordered = sorted(finite, key=lambda p: -p[0] if higher_is_better else p[0])
    for v, i in ordered:
        out[i] = 1 + sum(1 for w, _ in ordered if (w > v if higher_is_better else w < v))
    return out


def paired_test(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Per-image comparison of run B against run A on the same images (NaN pairs dropped): mean
    difference b − a, the share of images where b > a, and the two-sided Wilcoxon signed-rank
    p-value (`salloss.stats.wilcoxon_test`; 1 when every difference is 0)."""
    from salloss.stats import wilcoxon_test

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    test = wilcoxon_test(y[ok], x[ok])
    return {
        "n": test.n,
        "mean_diff": test.mean_diff,
        "frac_better": float(np.mean(y[ok] > x[ok])) if test.n else math.nan,
        "p_wilcoxon": test.pvalue,
    }
