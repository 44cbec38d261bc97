"""The MIT benchmark's ROC metrics: AUC-Judd, AUC-Borji and shuffled AUC, line for line.

Each first resizes ``sal`` to the fixation map's size (only when they differ) and min-max
normalises it to [0, 1]. Random draws (the AUC-Judd jitter, the AUC-Borji / sAUC negatives) use
``numpy.random.default_rng(seed)``: MATLAB's ``rand`` stream cannot be reproduced, so single
scores differ from MATLAB's by the sampling noise (≈1e-3 for AUC-Borji), not by the algorithm.

Speed: AUC-Judd needs, for each fixated value, the number of pixels at or above it. Instead of
sorting all pixels, pixels are bucketed into 2^16 equal-width buckets; only pixels that share a
bucket with some threshold are compared exactly (see `count_at_least`).
"""

from __future__ import annotations

import math

import numpy as np

from salloss.errors import ConfigError
from salloss.metrics.checks import as_fixations, as_map, same_shape
from salloss.metrics.resize import resize_to

__all__ = ["auc_judd", "auc_borji", "auc_shuffled", "matlab_colon", "count_at_least"]

NAN = float("nan")
_BUCKET_BITS = 16
_ONE_BITS = np.int64(np.array(1.0).view(np.int64) >> (52 - _BUCKET_BITS))
_EPS = float(np.finfo(np.float64).eps)


def matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """MATLAB's ``start:step:stop`` for a positive step, bit for bit.

    MATLAB fills the first half as ``start + k·step`` and the second half as
    ``stop' − k·step`` (``stop'`` snapped to ``stop`` when within 2·eps), so e.g. ``0:0.1:1``
    holds exactly 0.6 and 0.7 where ``np.arange`` gives 0.6000000000000001. AUC-Borji's
    thresholds come from it, and pixel values like 153/255 sit exactly on them.
    """
    if not step > 0:
        raise ConfigError(f"AUC step must be positive, got {step!r}")
    if not (math.isfinite(start) and math.isfinite(stop)) or stop < start:
        return np.empty(0)
    tol = 2.0 * _EPS * max(abs(start), abs(stop))
    n = math.floor((stop - start) / step + 0.5)  # MATLAB round (half away from zero), ≥ 0
    if start + n * step - stop > tol:
        n -= 1
    end = start + n * step
    if end - stop > -tol:
        end = stop
    out = np.empty(n + 1)
    k = np.arange(n // 2 + 1, dtype=np.float64)
    ki = k.astype(np.intp)
    out[ki] = start + k * step
    out[n - ki] = end - k * step
    if n % 2 == 0:
        out[n // 2] = (start + end) / 2.0
    return out


def _buckets(x: np.ndarray) -> np.ndarray:
    """Bucket index in [0, 2^16] of each value in [0, 1], non-decreasing in the value.

    It is the top 16 mantissa bits of ``1 + x`` (doubles in [1, 2] order like their bit
    patterns): two integer passes, several times cheaper than ``floor(x · 2^16)`` → int64.
    """
    b = (x + 1.0).view(np.int64)
    b >>= 52 - _BUCKET_BITS
    b -= _ONE_BITS
    return b


def count_at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, how many of ``values`` are ≥ it (exact, ties included).

    ``values`` must lie in [0, 1] (a min-max normalised map, flattened); ``thresholds`` is
    sorted ascending. Cost ≈ a few passes over ``values`` instead of a full sort: the bucket
    index is monotone in the value, so only values in a bucket that also holds a threshold need
    an exact comparison.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    n_t = t.size
    n_buckets = (1 << _BUCKET_BITS) + 1
    bins = _buckets(np.asarray(values, dtype=np.float64))
    t_bins = _buckets(t)
    per_bin = np.bincount(bins, minlength=n_buckets)
    has_t = np.zeros(n_buckets, dtype=bool)
    has_t[t_bins] = True
    # rank(v) = #{t_j ≤ v}. In a bucket without thresholds it is the number of thresholds in
    # lower buckets; elsewhere it is computed exactly.
    free = ~has_t
    bucket_rank = np.searchsorted(t_bins, np.flatnonzero(free), side="left")
    rank_hist = np.bincount(bucket_rank, weights=per_bin[free], minlength=n_t + 1)
    rank_hist = np.rint(rank_hist).astype(np.int64)
    exact = np.compress(np.take(has_t, bins), values)
    rank_hist += np.bincount(np.searchsorted(t, exact, side="right"), minlength=n_t + 1)
    at_least_rank = np.cumsum(rank_hist[::-1])[::-1]  # [k] = #{v: rank(v) ≥ k}
    # v ≥ t_i  ⇔  rank(v) ≥ (first index of t_i's value) + 1
    first = np.searchsorted(t, t, side="left")
    return at_least_rank[first + 1]


def _normalised(sal: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """``sal`` resized to ``shape`` (if needed), min-max normalised, flattened; None if constant."""
    s = resize_to(sal, shape).ravel()
    lo, hi = s.min(), s.max()
    if lo == hi:
        return None
    out = s - lo
    out /= hi - lo
    return out


def auc_judd(
    sal: np.ndarray, fixations: np.ndarray, jitter: bool = True, seed: int = 0
) -> float:
    """AUC-Judd: ROC area with the fixated pixels' values as thresholds.

    MIT ``AUC_Judd.m``: NaN with no fixations; resize only if sizes differ; with ``jitter``,
    add uniform noise in [0, 1e-7) (seeded) before min-max normalising; for the i-th largest
    fixated value: tp = i/Nf, fp = (#{pixels ≥ it} − i)/(Np − Nf); trapezoid area with (0,0)
    and (1,1) added. ``jitter=False`` instead handles ties exactly (tp = #{fixated ≥ t}/Nf,
    one ROC point per distinct value — pysaliency's ``thresholds='fixations'``): a constant
    map then scores exactly 0.5 (MATLAB would give NaN). In [0, 1], higher is better.
    """
    fix = as_fixations(fixations)
    s = as_map(sal, "sal")
    if not fix.any():
        return NAN
    s = resize_to(s, fix.shape)
    mask = fix.ravel()
    n_pix = mask.size
    n_fix = int(np.count_nonzero(mask))
    if n_fix == n_pix:
        return NAN  # no non-fixated pixel: fp undefined
    if jitter:
        noise = np.random.default_rng(seed).random(s.shape)
        noise /= 10000000.0
        noise += s
        s = noise
    norm = _normalised(s, fix.shape)
    if norm is None:
        return 0.5 if not jitter else NAN
    fixated = np.sort(norm[mask])  # ascending
    if jitter:
        # Thresholds descending; MIT's tp uses the rank i, not a tie-aware count.
        above = count_at_least(norm, fixated)[::-1].astype(np.float64)
        i = np.arange(1, n_fix + 1, dtype=np.float64)
        tp = i / n_fix
        fp = (above - i) / (n_pix - n_fix)
    else:
        distinct = np.unique(fixated)[::-1]
        fix_above = n_fix - np.searchsorted(fixated, distinct, side="left")
        all_above = count_at_least(norm, distinct[::-1])[::-1]
        tp = fix_above / n_fix
        fp = (all_above - fix_above) / (n_pix - n_fix)
    tp = np.concatenate(([0.0], tp, [1.0]))
    fp = np.concatenate(([0.0], fp, [1.0]))
    return float(np.trapezoid(tp, fp))


def _check_split_args(n_splits: int, step: float) -> None:
    if int(n_splits) != n_splits or n_splits < 1:
        raise ConfigError(f"n_splits must be a positive integer, got {n_splits!r}")
    if not (step > 0 and math.isfinite(step)):
        raise ConfigError(f"step must be a positive number, got {step!r}")


def _split_aucs(
    positives: np.ndarray, negatives: np.ndarray, step: float, n_neg: int
) -> float:
    """Mean over splits (rows of ``negatives``) of the fixed-step ROC area (MIT AUC-Borji).

    Thresholds per split are ``fliplr(0:step:max([positives; split]))``; tp = mean(positives ≥
    t), fp = #{split ≥ t}/n_neg. Splits with fewer thresholds are padded with +inf at the top,
    which adds (0, 0) points of zero area.
    """
    n_pos = positives.size
    tops = np.maximum(positives.max(), negatives.max(axis=1))
    grids = {top: matlab_colon(0.0, step, top)[::-1] for top in np.unique(tops)}
    width = max(g.size for g in grids.values())
    thr = np.full((tops.size, width), np.inf)
    for top, grid in grids.items():
        thr[tops == top, width - grid.size :] = grid
    sorted_pos = np.sort(positives)
    tp = (n_pos - np.searchsorted(sorted_pos, thr, side="left")) / n_pos
    fp = (negatives[:, :, None] >= thr[:, None, :]).sum(axis=1) / n_neg
    rows = tops.size
    tp = np.hstack([np.zeros((rows, 1)), tp, np.ones((rows, 1))])
    fp = np.hstack([np.zeros((rows, 1)), fp, np.ones((rows, 1))])
    return float(np.mean(np.trapezoid(tp, fp, axis=1)))


def auc_borji(
    sal: np.ndarray,
    fixations: np.ndarray,
    n_splits: int = 100,
    step: float = 0.1,
    seed: int = 0,
) -> float:
    """AUC-Borji: ROC area against uniformly sampled pixels, fixed threshold step.

    MIT ``AUC_Borji.m``: NaN with fewer than 2 fixated pixels or a constant map; resize if
    needed; min-max normalise (no jitter); each of ``n_splits`` splits draws Nf pixel indices
    uniformly from ALL pixels with replacement; thresholds ``fliplr(0:step:max)``; mean AUC over
    splits. The coarse step biases it 0.01–0.03 below the exact AUC: that is the benchmark's
    number. In [0, 1], higher is better.
    """
    _check_split_args(n_splits, step)
    fix = as_fixations(fixations)
    s = as_map(sal, "sal")
    if np.count_nonzero(fix) <= 1:
        return NAN
    norm = _normalised(s, fix.shape)
    if norm is None:
        return NAN
    positives = norm[fix.ravel()]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, norm.size, size=(int(n_splits), positives.size))
    return _split_aucs(positives, norm[idx], step, positives.size)


def auc_shuffled(
    sal: np.ndarray,
    fixations: np.ndarray,
    other_fixations: np.ndarray,
    n_splits: int = 100,
    step: float = 0.1,
    seed: int = 0,
) -> float:
    """Shuffled AUC: as AUC-Borji, but the negatives are fixated pixels of other images.

    MIT ``AUC_shuffled.m``: ``other_fixations`` is a binary map of this image's size (the union
    of the fixations of M = 10 other images of the dataset, rescaled — see
    `salloss.metrics.scoring.shuffled_negatives`); each split takes min(Nf, #other) of its
    pixels without replacement. NaN with no fixations, no other fixations, or a constant map.
    """
    _check_split_args(n_splits, step)
    fix = as_fixations(fixations)
    other = as_fixations(other_fixations, "other_fixations")
    same_shape(fix, other, "fixations", "other_fixations")
    s = as_map(sal, "sal")
    if not fix.any():
        return NAN
    candidates = np.flatnonzero(other)
    norm = _normalised(s, fix.shape)
    if norm is None or candidates.size == 0:
        return NAN
    positives = norm[fix.ravel()]
    n_neg = min(positives.size, candidates.size)
    rng = np.random.default_rng(seed)
    picks = np.stack(
        [candidates[rng.permutation(candidates.size)[:n_neg]] for _ in range(int(n_splits))]
    )
    return _split_aucs(positives, norm[picks], step, n_neg)
