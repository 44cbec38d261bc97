"""Statistics of the report: seed aggregation with a 95% t-interval, direction-aware ranks, and
a paired test between two losses.

A run's score for a metric is the mean over test images (MIT convention, from scores.csv).
Across seeds the cell is the mean of those per-seed means ± the half-width of the 95%
Student-t confidence interval of that mean (t_{0.975, n−1} · s / √n, s the sample std over
seeds); with one seed the half-width is None (no interval is claimed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Stat:
    """A table cell: mean over `n` seeds and the 95% t half-width (None with one seed)."""

    mean: float
    half_width: float | None
    n: int


def t_halfwidth(values: Sequence[float], confidence: float = CONFIDENCE) -> float | None:
    """Half-width of the two-sided `confidence` t-interval of the mean of `values` (None if
    fewer than two values)."""
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return None
    q = stats.t.ppf(0.5 + confidence / 2, df=x.size - 1)
    return float(q * x.std(ddof=1) / math.sqrt(x.size))


def seed_stat(per_seed: Sequence[float]) -> Stat:
    """Aggregate one metric's per-seed means; NaN seeds (metric undefined on every image) are
    left out, and a cell with no finite seed is NaN."""
    x = np.asarray(per_seed, dtype=np.float64)
    ok = x[np.isfinite(x)]
    if ok.size == 0:
        return Stat(math.nan, None, 0)
    return Stat(float(ok.mean()), t_halfwidth(ok), int(ok.size))


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
    """Per-image comparison of two runs on the same images: mean difference b − a, the share
    of images where b > a, and the two-sided Wilcoxon signed-rank p-value (NaN pairs dropped;
    p is NaN with fewer than 2 differing pairs)."""
    from scipy import stats

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    diff = y - x
    p = math.nan
    if np.count_nonzero(diff) >= 2:
        p = float(stats.wilcoxon(x, y).pvalue)
    return {
        "n": int(x.size),
        "mean_diff": float(diff.mean()) if diff.size else math.nan,
        "frac_better": float(np.mean(diff > 0)) if diff.size else math.nan,
        "p_wilcoxon": p,
    }
