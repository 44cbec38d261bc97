"""The MIT benchmark's ROC metrics: AUC-Judd, AUC-Borji and shuffled AUC, line for line.

Each first resizes ``sal`` to the fixation map's size (only when they differ) and min-max
normalises it to [0, 1]. Random draws (the AUC-Judd jitter, the AUC-Borji / sAUC negatives) use
``numpy.random.default_rng(seed)``: MATLAB's ``rand`` stream cannot be reproduced, so single
scores differ from MATLAB's by the sampling noise (≈1e-3 for AUC-Borji), not by the algorithm.

Speed: AUC-Judd needs, for each fixated value, the number of pixels at or above it. Instead of
sorting all pixels, pixels are bucketed into 2^16 equal-width buckets; only pixels that share a
bucket with some threshold are compared exactly (`count_below`), and in the normalised space
without normalising the map. Its 1e-7 jitter only reorders pixels within 1e-7 of a fixated
value, so on smooth maps only those pixels' noise is drawn (`_jittered_above`). AUC-Borji and
sAUC normalise only the pixels they sample. All give the bits of the plain algorithm.
"""

from __future__ import annotations

import math

import numpy as np

from salloss.errors import ConfigError
from salloss.metrics.checks import as_fixations, as_map, same_shape
from salloss.metrics.mit import require_finite, sal_at, sal_at_unchecked
from salloss.metrics.resize import work_arrays

__all__ = ["auc_judd", "auc_borji", "auc_shuffled", "matlab_colon", "count_at_least",
           "count_below"]

NAN = float("nan")
_BUCKET_BITS = 16
_N_BUCKETS = (1 << _BUCKET_BITS) + 1
_SPAN = float((1 << _BUCKET_BITS) - 4)
_MAGIC = 2.0**52  # adding it rounds a double in [0, 2^52) to an integer
_MAGIC_BITS = np.int64(np.array(_MAGIC).view(np.int64))
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


def _bucket_ids(values: np.ndarray, lo: float, hi: float, out: np.ndarray) -> np.ndarray:
    """Bucket index in [0, 2^16] of each value in [``lo``, ``hi``], non-decreasing in the value.

    ``v·s + c`` (s = (2^16 − 4)/(hi − lo), bucket ≈ 2 at lo: a margin for the rounding at either
    end) is rounded to an integer by adding 2^52, which leaves that integer in the low mantissa
    bits: one integer subtraction then reads it. Three passes, several times cheaper than
    ``floor()`` → int64. Written into ``out`` (float64, ``values``' shape) and returned as its
    int64 view; values outside [lo, hi] give indices outside the range (clip them).
    """
    scale = _SPAN / (hi - lo)
    offset = 2.0 - lo * scale
    if abs(offset) < 2.0**40:
        np.multiply(values, scale, out=out)
        out += _MAGIC + offset
    else:  # values far from 0 for their range: v·s would round off the margin, so shift first
        np.subtract(values, lo, out=out)
        out *= scale
        out += _MAGIC + 2.0
    b = out.view(np.int64)
    b -= _MAGIC_BITS
    return b


def _bucket_split(
    v: np.ndarray, lo: float, hi: float, marked: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One bucketing pass over the flat ``v`` (within [lo, hi]): ``(below, exact)`` where
    ``below[b]`` counts the values in UNMARKED buckets below bucket ``b`` (for a marked ``b``)
    and ``exact`` holds the indices of the values in ``marked`` buckets, to compare exactly."""
    with work_arrays(v.shape) as (buf,), work_arrays(v.shape, dtype=np.bool_) as (pick,):
        bins = _bucket_ids(v, lo, hi, buf)
        per_bin = np.bincount(bins, minlength=_N_BUCKETS)
        exact = np.flatnonzero(np.take(marked, bins, out=pick, mode="clip"))
    per_bin[marked] = 0
    return np.cumsum(per_bin, out=per_bin), exact


def _point_buckets(points: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """`_bucket_ids` of (few) points, which may lie outside [lo, hi]: clipped to the end
    buckets, which keeps the map monotone."""
    b = _bucket_ids(points, lo, hi, np.empty(points.shape))
    return np.minimum(np.maximum(b, 0, out=b), _N_BUCKETS - 1, out=b)


def count_below(
    values: np.ndarray,
    points: np.ndarray,
    lo: float = 0.0,
    hi: float = 1.0,
    *,
    scaled: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``points`` (any order, repeats allowed): ``(#{values < p}, #{values ≤ p})``,
    exact, as int64 arrays.

    ``values``: finite float64, all within [``lo``, ``hi``] (their min and max; lo < hi, a
    finite span); points may lie outside. With ``scaled``, values and points are compared as
    MIT's min-max normalisation ``(v − lo)/(hi − lo)`` (`_scaled`) makes them — the same counts
    as normalising the whole map first, without doing so. Cost ≈ a few passes over ``values``
    and one bincount instead of a sort: values are bucketed by a monotone map, and only those
    sharing a bucket with some point are compared exactly (sorted, then searched).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    pts = np.asarray(points, dtype=np.float64).ravel()

    def key(x: np.ndarray) -> np.ndarray:
        return _scaled(x, lo, hi) if scaled else x

    if not math.isfinite(_SPAN / (hi - lo)):  # a span of subnormals: sort instead
        ordered, keys = np.sort(key(v)), key(pts)
        return ordered.searchsorted(keys, side="left"), ordered.searchsorted(keys, side="right")
    p_bins = _point_buckets(pts, lo, hi)
    marked = np.zeros(_N_BUCKETS, dtype=bool)
    marked[p_bins] = True
    if scaled:  # rounding may merge a value just below a point with it: compare those too
        marked[np.maximum(p_bins - 1, 0)] = True
        marked[np.minimum(p_bins + 1, _N_BUCKETS - 1)] = True
    # A value in a bucket without points is below every point of a higher bucket and above
    # every point of a lower one; the rest are counted exactly.
    below, exact = _bucket_split(v, lo, hi, marked)
    exact = key(v[exact])
    exact.sort()
    base, keys = below[p_bins], key(pts)
    return (base + exact.searchsorted(keys, side="left"),
            base + exact.searchsorted(keys, side="right"))


def count_at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, how many of ``values`` are ≥ it (exact, ties included).

    ``values`` must lie in [0, 1] (a min-max normalised map, flattened); ``thresholds`` in any
    order. Cost ≈ a few passes over ``values`` instead of a full sort (`count_below`).
    """
    below, _ = count_below(values, thresholds)
    return np.asarray(values).size - below


def _scaled(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """MIT's min-max normalisation ``(v − lo)/(hi − lo)`` of just the pixels a metric reads (the
    same numbers as normalising the whole map, without the full-map passes)."""
    out = values - lo
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
    fixed = np.flatnonzero(fix)
    n_pix = fix.size
    n_fix = fixed.size
    if n_fix == 0 or n_fix == n_pix:
        as_map(sal, "sal")
        return NAN  # no fixations, or no non-fixated pixel: fp undefined
    if jitter:
        # #{pixels ≥ t} for the thresholds, descending; MIT's tp uses the rank i, not a
        # tie-aware count.
        above = _jittered_above(sal_at_unchecked(sal, fix.shape).ravel(), fixed, seed, sal)
        if above is None:
            return NAN  # constant even with the noise
        i = np.arange(1, n_fix + 1, dtype=np.float64)
        tp = i / n_fix
        fp = (above - i) / (n_pix - n_fix)
    else:
        s, lo, hi = sal_at(sal, fix.shape)
        flat = s.ravel()
        if lo == hi:
            return 0.5
        # Counted as if the whole map were min-max normalised (count_below(scaled=True)).
        x_fixated = np.sort(flat[fixed])
        fixated = _scaled(x_fixated, lo, hi)  # the thresholds, ascending
        distinct, first = np.unique(fixated, return_index=True)
        distinct, first = distinct[::-1], first[::-1]
        fix_above = n_fix - np.searchsorted(fixated, distinct, side="left")
        below, _ = count_below(flat, x_fixated[first], lo, hi, scaled=True)
        tp = fix_above / n_fix
        fp = (n_pix - below - fix_above) / (n_pix - n_fix)
    tp = np.concatenate(([0.0], tp, [1.0]))
    fp = np.concatenate(([0.0], fp, [1.0]))
    return float(np.trapezoid(tp, fp))


_JITTER = 10000000.0  # MIT adds rand/1e7: noise in [0, 1e-7]
_SPARSE_EXACT_MAX = 1 << 16  # pixels near a threshold or an extreme, at most (else: full noise)
_SPARSE_DRAWS_MAX = 6000  # noise values drawn, at most (else: draw the whole map)
_SPARSE_DRAWS_EXPECTED = 3000  # ... and expected, to try at all (~1-4 ms vs ~5 ms for all)


def _jittered_above(
    s: np.ndarray, fixed: np.ndarray, seed: object, source: object
) -> np.ndarray | None:
    """For MIT's jittered map ``x = s + rand/1e7`` (rand: ``default_rng(seed).random``, one per
    pixel in C order), min-max normalised: #{pixels ≥ t} for each fixated value t, descending
    thresholds, as float64. None when the jittered map is constant (MATLAB: NaN).

    The noise is below 1e-7, so it decides a comparison only between pixels whose values lie
    within ~1e-7 of each other: where no other pixel lies that close to a fixated value (a
    smooth map: nearly always), the counts follow from ``s`` alone, and only the few pixels
    near a crowded threshold or the min/max get their noise (`_uniform_at`). Maps with
    plateaus or heavy ties take the full route: the whole noise map, as MIT does. The values
    (of ``s``, resized from ``source``) are checked through the min and max either route takes.
    """
    if isinstance(seed, int | np.integer):
        sparse = _sparse_jitter_above(s, fixed, int(seed), source)
        if sparse is not None:
            return sparse
    with work_arrays(s.shape) as (noisy,):
        np.random.default_rng(seed).random(out=noisy)
        noisy /= _JITTER
        noisy += s
        x_lo, x_hi = noisy.min(), noisy.max()
        require_finite(x_lo - x_hi, source, "sal")
        if x_lo == x_hi:
            return None
        x_fixated = np.sort(noisy[fixed])
        below, _ = count_below(noisy, x_fixated, x_lo, x_hi, scaled=True)
    return (s.size - below)[::-1].astype(np.float64)


def _sparse_jitter_above(
    s: np.ndarray, fixed: np.ndarray, seed: int, source: object
) -> np.ndarray | None:
    """`_jittered_above` drawing only the noise it needs; None where that is not cheap.

    A pixel k is "near" fixated value s_f if |s_k − s_f| ≤ w = 1e-7 + margin (the margin covers
    the rounding of the addition and of the min-max normalisation). Outside that window the
    jittered order equals the order of s (x_k ∈ [s_k, s_k + 1e-7]). So #{x ≥ x_f} = #{s >
    s_f + w} + #{window members whose normalised x ≥ t_f}, the latter only where the window
    holds another pixel; then the extremes (within w of the min/max) fix the normalisation.
    """
    if not _SPARSE_OK:
        return None
    # A dense map (many values within 1e-7 of each other) would need too many draws: a look at
    # a sample's spread first, then at the exact one (whose min and max check the values).
    sample = s[:: max(1, s.size // 4096)]
    if _expected_draws(fixed.size, s.size, sample.min(), sample.max()) > _SPARSE_DRAWS_EXPECTED:
        return None
    lo, hi = s.min(), s.max()
    require_finite(lo - hi, source, "sal")
    if _expected_draws(fixed.size, s.size, lo, hi) > _SPARSE_DRAWS_EXPECTED:
        return None
    n = s.size
    w = _window(lo, hi)
    s_fix = s[fixed]
    # Bucket pass over s: the buckets touching a window or the ends are compared exactly.
    starts = np.concatenate((s_fix - w, [lo, hi - w]))
    ends = np.concatenate((s_fix + w, [lo + w, hi]))
    edge = np.bincount(_point_buckets(starts, lo, hi), minlength=_N_BUCKETS + 1)
    edge[: _N_BUCKETS + 1] -= np.bincount(_point_buckets(ends, lo, hi) + 1,
                                          minlength=_N_BUCKETS + 1)
    marked = np.cumsum(edge)[:_N_BUCKETS] > 0
    below, near = _bucket_split(s, lo, hi, marked)
    if near.size > _SPARSE_EXACT_MAX:
        return None
    s_near = s[near]
    order = np.argsort(s_near, kind="stable")
    near, s_near = near[order], s_near[order]
    upper = s_fix + w
    count = n - (below[_point_buckets(upper, lo, hi)]
                 + np.searchsorted(s_near, upper, side="right")) + 1
    first = np.searchsorted(s_near, s_fix - w, side="left")
    last = np.searchsorted(s_near, upper, side="right")
    key = s_fix.copy()  # sort key of the thresholds: s, or x where drawn (the same order)
    crowded = np.flatnonzero(last - first > 1)
    if crowded.size:
        size = last[crowded] - first[crowded]
        group = np.repeat(np.arange(crowded.size), size)
        members = near[np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
                       + np.repeat(first[crowded], size)]
        lows = near[: np.searchsorted(s_near, lo + w, side="right")]
        highs = near[np.searchsorted(s_near, hi - w, side="left") :]
        drawn = np.unique(np.concatenate((members, lows, highs)))
        if drawn.size > _SPARSE_DRAWS_MAX:
            return None
        x = _uniform_at(seed, drawn)
        x /= _JITTER
        x += s[drawn]
        x_lo = x[np.searchsorted(drawn, lows)].min()
        x_hi = x[np.searchsorted(drawn, highs)].max()
        norm = _scaled(x, x_lo, x_hi)
        at = np.searchsorted(drawn, fixed[crowded])
        member_norm = norm[np.searchsorted(drawn, members)]
        # count = #{s > s_f + w} + #{members with normalised x ≥ t_f} (itself included)
        count[crowded] += np.bincount(group, weights=member_norm >= norm[at][group],
                                      minlength=crowded.size).astype(np.int64) - 1
        key[crowded] = x[at]
    return count[np.argsort(key, kind="stable")][::-1].astype(np.float64)


def _window(lo: float, hi: float) -> float:
    """Half-width of the values the 1e-7 noise can reorder or merge with a value in [lo, hi]:
    1e-7 plus a margin for the rounding of the addition and of the min-max normalisation."""
    return 1e-7 + 64.0 * _EPS * (max(abs(lo), abs(hi)) + 1e-7)


def _expected_draws(n_fix: int, n: int, lo: float, hi: float) -> float:
    """Noise draws `_sparse_jitter_above` would need were the values spread evenly over [lo,
    hi]: λ other pixels per window, crowded with probability ≈ 1 − e^−λ (inf if lo == hi or
    a bound is not finite)."""
    if not (hi > lo and math.isfinite(hi - lo)):
        return math.inf
    lam = n * 2.0 * _window(lo, hi) / (hi - lo)
    return n_fix * -math.expm1(-lam) * (1.0 + lam)


def _uniform_at(seed: int, indices: np.ndarray) -> np.ndarray:
    """``numpy.random.default_rng(seed).random(N)[indices]`` (``indices`` sorted, unique)
    without drawing the rest. A double is ``(64-bit output >> 11)·2^-53``, one output per
    double; PCG64 jumps ahead to each index, one by one for a few, all at once for many
    (`_pcg64_at`)."""
    if indices.size > _JUMP_ONE_BY_ONE:
        raw = _pcg64_at(seed, indices)
    else:
        gen = np.random.PCG64(seed)
        raw = np.empty(indices.size, dtype=np.uint64)
        pos = 0
        for i, k in enumerate(indices.tolist()):
            if k > pos:
                gen.advance(k - pos)
            raw[i] = gen.random_raw()
            pos = k + 1
    return (raw >> np.uint64(11)) * (1.0 / 9007199254740992.0)


_JUMP_ONE_BY_ONE = 256  # more indices than this: jump all at once (~1 ms fixed, then cheap)
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG64's 128-bit LCG multiplier
_U64 = (1 << 64) - 1
_U128 = (1 << 128) - 1


def _pcg64_at(seed: int, indices: np.ndarray) -> np.ndarray:
    """The ``indices``-th 64-bit outputs of ``numpy.random.PCG64(seed)``, vectorised: output k
    is XSL-RR of the state after k + 1 LCG steps ``s ← s·M + inc (mod 2^128)``, and k + 1
    steps compose from the steps of 2^b, one masked 128-bit affine update per bit of k + 1
    (on two uint64 limbs). `_check_uniform_at` verifies it against NumPy at import."""
    state = np.random.PCG64(seed).state["state"]
    s, inc = state["state"], state["inc"]
    steps = indices.astype(np.uint64) + np.uint64(1)
    hi = np.full(indices.size, s >> 64, dtype=np.uint64)
    lo = np.full(indices.size, s & _U64, dtype=np.uint64)
    mult, add = _PCG_MULT, inc  # the map of 2^bit steps: s ← s·mult + add
    for bit in range(int(steps.max()).bit_length()):
        sel = (steps >> np.uint64(bit)) & np.uint64(1) == 1
        if sel.any():
            hi[sel], lo[sel] = _affine128(hi[sel], lo[sel], mult, add)
        mult, add = mult * mult & _U128, (mult * add + add) & _U128
    v = hi ^ lo
    rot = hi >> np.uint64(58)  # the state's top 6 bits
    return (v >> rot) | (v << ((np.uint64(64) - rot) & np.uint64(63)))


def _affine128(
    hi: np.ndarray, lo: np.ndarray, mult: int, add: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(hi·2^64 + lo)·mult + add mod 2^128`` for uint64 limb arrays (wrapping arithmetic),
    the low limbs' full 128-bit product from 32-bit halves."""
    u32 = np.uint64(32)
    low32 = np.uint64(0xFFFFFFFF)
    m_hi, m_lo = np.uint64(mult >> 64), np.uint64(mult & _U64)
    a_hi, a_lo = np.uint64(add >> 64), np.uint64(add & _U64)
    l1, l0 = lo >> u32, lo & low32
    b1, b0 = m_lo >> u32, m_lo & low32
    p00, p01, p10, p11 = l0 * b0, l0 * b1, l1 * b0, l1 * b1
    mid = (p00 >> u32) + (p01 & low32) + (p10 & low32)
    prod_lo = (p00 & low32) | (mid << u32)
    prod_hi = p11 + (p01 >> u32) + (p10 >> u32) + (mid >> u32) + hi * m_lo + lo * m_hi
    out_lo = prod_lo + a_lo
    return prod_hi + a_hi + (out_lo < prod_lo), out_lo


def _check_uniform_at() -> bool:
    """Whether `_uniform_at`, both ways, reproduces this NumPy's ``Generator.random`` (else the
    sparse jitter route is off and AUC-Judd draws the whole noise map)."""
    picks = np.array([0, 3, 1000, 4095])
    want = np.random.default_rng(7).random(4096)[picks]
    raw = _pcg64_at(7, picks) >> np.uint64(11)
    return bool(np.array_equal(_uniform_at(7, picks), want)
                and np.array_equal(raw * (1.0 / 9007199254740992.0), want))


_SPARSE_OK = _check_uniform_at()


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
    rows = negatives.shape[0]
    tops = np.maximum(positives.max(), negatives.max(axis=1))
    grids = [(matlab_colon(0.0, step, float(tops[members[0]])), members)
             for members in _same_colon(tops, step)]
    width = max(grid.size for grid, _ in grids)
    thr = np.full((rows, width), np.inf)
    fp = np.zeros((rows, width))
    for grid, members in grids:
        thr[members, width - grid.size :] = grid[::-1]
        # #{split ≥ t} per threshold, from each value's rank in the (ascending) grid
        rank = np.searchsorted(grid, negatives[members], side="right")
        rank += (grid.size + 1) * np.arange(members.size)[:, None]
        per_rank = np.bincount(rank.ravel(), minlength=members.size * (grid.size + 1))
        at_least = np.cumsum(per_rank.reshape(members.size, -1)[:, :0:-1], axis=1)
        fp[members, width - grid.size :] = at_least
    fp /= n_neg
    sorted_pos = np.sort(positives)
    tp = (n_pos - np.searchsorted(sorted_pos, thr, side="left")) / n_pos
    tp = np.hstack([np.zeros((rows, 1)), tp, np.ones((rows, 1))])
    fp = np.hstack([np.zeros((rows, 1)), fp, np.ones((rows, 1))])
    return float(np.mean(np.trapezoid(tp, fp, axis=1)))


def _same_colon(tops: np.ndarray, step: float) -> list[np.ndarray]:
    """Indices of ``tops`` grouped by their grid ``matlab_colon(0, step, top)``, which depends
    on ``top`` only through its length n and last value: `matlab_colon`'s n and end, computed
    for all tops at once (one grid per group instead of one per split)."""
    tol = 2.0 * _EPS * tops
    n = np.floor(tops / step + 0.5)
    n -= n * step - tops > tol
    end = n * step
    end = np.where(end - tops > -tol, tops, end)
    _, inverse = np.unique(np.stack([n, end]), axis=1, return_inverse=True)
    inverse = inverse.ravel()
    return [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]


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
    s, lo, hi = sal_at(sal, fix.shape)
    fixed = np.flatnonzero(fix)
    if fixed.size <= 1 or lo == hi:
        return NAN
    flat = s.ravel()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, flat.size, size=(int(n_splits), fixed.size))
    return _split_aucs(_scaled(flat[fixed], lo, hi), _scaled(flat[idx], lo, hi), step,
                       fixed.size)


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
    s, lo, hi = sal_at(sal, fix.shape)
    fixed = np.flatnonzero(fix)
    candidates = np.flatnonzero(other)
    if fixed.size == 0 or candidates.size == 0 or lo == hi:
        return NAN
    flat = s.ravel()
    n_neg = min(fixed.size, candidates.size)
    rng = np.random.default_rng(seed)
    picks = np.stack(
        [candidates[rng.permutation(candidates.size)[:n_neg]] for _ in range(int(n_splits))]
    )
    return _split_aucs(_scaled(flat[fixed], lo, hi), _scaled(flat[picks], lo, hi), step, n_neg)
