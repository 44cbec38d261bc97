"""Paired tests across test images: is model A's score on one metric different from model B's?

Both models are scored on the same images; the unit of analysis is the per-image difference
``d_i = a_i − b_i``. Pairs where either score is NaN (metric undefined on that image) are
dropped and counted. Two tests are offered, both two-sided:

- `wilcoxon_test`: Wilcoxon signed-rank test (SciPy), a test of symmetry of d about 0 that is
  robust to outlying images;
- `permutation_test`: sign-flip permutation test of the mean difference (exact enumeration of
  all 2^m sign patterns for small m, seeded Monte Carlo otherwise), which tests exactly the
  quantity the tables show (a difference of means).

Both report the same effect sizes: the mean difference and the matched-pairs rank-biserial
correlation (Kerby 2014) ``r = (T+ − T−) / (T+ + T−)``, where T± are the sums of the ranks of
|d_i| (ties averaged, zero differences dropped) over the positive / negative d_i; r ∈ [−1, 1],
+1 when A is higher on every image that differs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from salloss.errors import ConfigError, DataError

__all__ = [
    "PairedResult",
    "align_pairs",
    "rank_biserial",
    "wilcoxon_test",
    "permutation_test",
    "EXACT_MAX",
]

# Largest number of non-zero differences for which the permutation test enumerates all 2^m
# sign patterns (2^16 = 65536 patterns, milliseconds); above it, Monte Carlo.
EXACT_MAX = 16
# Sign patterns evaluated per vectorised block (bounds memory to a few tens of MiB).
_BLOCK_ROWS = 1 << 15

Paired = Mapping[str, float] | Sequence[float] | np.ndarray


@dataclass(frozen=True)
class PairedResult:
    """Outcome of one paired test of A vs B (differences d = a − b).

    `statistic`: the test's statistic (Wilcoxon: min(T+, T−) as SciPy reports it; permutation:
    the mean difference). `pvalue`: two-sided. `n`: pairs used; `n_dropped`: pairs left out
    because a score was NaN; `mean_diff`: mean of a − b over the n pairs; `rank_biserial`: the
    matched-pairs rank-biserial correlation (NaN when every difference is 0); `method`: how the
    p-value was obtained ('exact', 'monte-carlo', or SciPy's method name).
    """

    test: str
    statistic: float
    pvalue: float
    n: int
    n_dropped: int
    mean_diff: float
    rank_biserial: float
    method: str

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for JSON/CSV)."""
        return asdict(self)


def align_pairs(a: Paired, b: Paired) -> tuple[np.ndarray, np.ndarray, int]:
    """Paired finite scores of A and B and the number of pairs dropped for NaN.

    `a` and `b` are either mappings image id → score (aligned by id; the id sets must be equal,
    otherwise a `DataError` lists ids missing on either side) or equal-length 1-D sequences
    already in the same image order. Returns ``(x, y, n_dropped)`` with x, y float64 arrays.
    """
    if isinstance(a, Mapping) != isinstance(b, Mapping):
        raise DataError("align_pairs needs both inputs as id → score mappings or both as "
                        "sequences in the same image order; got one of each")
    if isinstance(a, Mapping):
        assert isinstance(b, Mapping)
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        if only_a or only_b:
            raise DataError(
                "paired comparison needs the same test images for both models: "
                f"{len(only_a)} id(s) only in A (e.g. {only_a[:5]}), "
                f"{len(only_b)} only in B (e.g. {only_b[:5]})")
        ids = list(a)
        x = np.array([a[i] for i in ids], dtype=np.float64)
        y = np.array([b[i] for i in ids], dtype=np.float64)
    else:
        x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape:
            raise DataError(f"paired scores must be two 1-D arrays of equal length; got shapes "
                            f"{x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok], int(ok.size - np.count_nonzero(ok))


def rank_biserial(d: ArrayLike) -> float:
    """Matched-pairs rank-biserial correlation of differences `d` (zeros dropped, ties of |d|
    get average ranks): (T+ − T−) / (T+ + T−); NaN when no difference is non-zero."""
    from scipy import stats

    d = np.asarray(d, dtype=np.float64)
    d = d[d != 0]
    if d.size == 0:
        return math.nan
    r = stats.rankdata(np.abs(d))
    t_plus, t_minus = float(r[d > 0].sum()), float(r[d < 0].sum())
    return (t_plus - t_minus) / (t_plus + t_minus)


def wilcoxon_test(a: Paired, b: Paired, zero_method: str = "wilcox",
                  method: str = "auto") -> PairedResult:
    """Two-sided Wilcoxon signed-rank test of d = a − b via ``scipy.stats.wilcoxon``.

    Zero differences (both models score an image identically): with the default
    ``zero_method='wilcox'`` they are discarded before ranking (Wilcoxon's original rule; they
    still count in `n` and in `mean_diff`); 'pratt' ranks them and then drops their ranks (more
    conservative), 'zsplit' splits their ranks between the signs. ``method='auto'`` is SciPy's
    choice: the exact null distribution for ≤ 50 differences without ties or zeros, exhaustive
    permutations for ≤ 13 with ties/zeros, otherwise the normal approximation (tie-corrected,
    no continuity correction) — with ~300 test images it is the normal approximation.
    If every difference is zero the models agree on every image: statistic 0, p = 1.
    With no pair left, statistic and p are NaN.
    """
    from scipy import stats

    if zero_method not in ("wilcox", "pratt", "zsplit"):
        raise ConfigError(f"unknown zero_method {zero_method!r}; choose wilcox, pratt or zsplit")
    x, y, dropped = align_pairs(a, b)
    d = x - y
    n = int(d.size)
    mean_diff = float(d.mean()) if n else math.nan
    rb = rank_biserial(d)
    if n == 0:
        return PairedResult("wilcoxon", math.nan, math.nan, 0, dropped, mean_diff, rb, method)
    if not np.any(d != 0):
        return PairedResult("wilcoxon", 0.0, 1.0, n, dropped, mean_diff, rb, "all-zero")
    res = stats.wilcoxon(d, zero_method=zero_method, alternative="two-sided", method=method)
    return PairedResult("wilcoxon", float(res.statistic), float(res.pvalue), n, dropped,
                        mean_diff, rb, method)


def _sign_blocks_exact(m: int) -> Iterator[np.ndarray]:
    """Yield all 2^m sign patterns (±1, float64) in blocks of rows."""
    bits = np.arange(m, dtype=np.int64)
    total = 1 << m
    for start in range(0, total, _BLOCK_ROWS):
        codes = np.arange(start, min(total, start + _BLOCK_ROWS), dtype=np.int64)
        yield 1.0 - 2.0 * ((codes[:, None] >> bits) & 1)


def permutation_test(a: Paired, b: Paired, n_resamples: int = 10000,
                     seed: int | Sequence[int] = 0, exact_max: int = EXACT_MAX) -> PairedResult:
    """Two-sided paired sign-flip permutation test of the mean difference d̄ = mean(a − b).

    Under H0 (no difference between the models on an image, so each d_i is as likely to be
    −d_i) every sign pattern s ∈ {±1}^n is equally likely; T(s) = Σ s_i d_i.
    p = P(|T(s)| ≥ |T_obs|) (with a relative tolerance of 1e-12 · Σ|d_i| for floating-point
    ties). Zero differences cannot change T, so only the m non-zero ones are flipped (the p-value
    is unchanged). If m ≤ `exact_max` all 2^m patterns are enumerated and p is exact (the
    observed pattern included). Otherwise `n_resamples` random patterns are drawn with
    ``default_rng(seed)`` and p = (k + 1) / (n_resamples + 1), k the number of resampled |T| ≥
    |T_obs| (the observed statistic counted as one of the permutations, so p is never 0 and the
    test stays valid). Vectorised in blocks of sign patterns. If every difference is zero p = 1;
    with no pair, NaN.
    """
    if int(n_resamples) < 1:
        raise ConfigError(f"n_resamples must be a positive integer; got {n_resamples}")
    if not 0 <= int(exact_max) <= 24:
        raise ConfigError(f"exact_max must be between 0 and 24 (2^24 patterns); got {exact_max}")
    x, y, dropped = align_pairs(a, b)
    d = x - y
    n = int(d.size)
    mean_diff = float(d.mean()) if n else math.nan
    rb = rank_biserial(d)
    if n == 0:
        return PairedResult("permutation", math.nan, math.nan, 0, dropped, mean_diff, rb,
                            "none")
    dn = d[d != 0]
    m = int(dn.size)
    if m == 0:
        return PairedResult("permutation", mean_diff, 1.0, n, dropped, mean_diff, rb,
                            "all-zero")
    t_obs = abs(float(dn.sum()))
    threshold = t_obs - 1e-12 * float(np.abs(dn).sum())
    if m <= int(exact_max):
        hits = sum(int(np.count_nonzero(np.abs(s @ dn) >= threshold))
                   for s in _sign_blocks_exact(m))
        p, method = hits / float(1 << m), "exact"
    else:
        rng = np.random.default_rng(seed)
        n_resamples = int(n_resamples)
        rows = max(1, min(_BLOCK_ROWS, (1 << 22) // m))
        hits = 0
        for start in range(0, n_resamples, rows):
            size = min(rows, n_resamples - start)
            signs = 1.0 - 2.0 * rng.integers(0, 2, size=(size, m), dtype=np.int8)
            hits += int(np.count_nonzero(np.abs(signs @ dn) >= threshold))
        p, method = (hits + 1) / (n_resamples + 1), "monte-carlo"
    return PairedResult("permutation", mean_diff, float(p), n, dropped, mean_diff, rb, method)
