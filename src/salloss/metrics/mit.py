"""The MIT benchmark's distribution and value metrics: CC, SIM, KL, NSS (and IG), line for line.

Conventions (see METRICS.md): ``sal`` is resized to the ground truth's size with the MATLAB
``imresize`` when the sizes differ; std is the sample std (N−1); ``EPS`` is MATLAB's eps.
Every function returns a Python float, NaN where the MIT code yields NaN.

Speed: the per-pixel arithmetic runs chunk by chunk (`salloss.metrics.resize.chunked_sum`,
summing exactly as NumPy sums the whole map) or in reused work arrays (SIM), and the input
checks ride on sums and minima the metrics need anyway (`require_finite`) instead of separate
passes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

from salloss.metrics.checks import EPS, _check_2d, as_fixations, as_map, as_map_range
from salloss.metrics.resize import chunked_sum, resize_to, work_arrays

__all__ = ["cc", "similarity", "kl_div", "nss", "info_gain"]

log = logging.getLogger(__name__)
NAN = float("nan")
_KL_WARNED = False  # warn once per process; later occurrences go to debug


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum, not BLAS: single-threaded and deterministic (a multi-threaded BLAS dot changes
    # the last bits with the thread count, and stalls badly on a busy machine).
    return float(np.einsum("i,i->", a, b))


def sal_at(sal: object, shape: tuple[int, int]) -> tuple[np.ndarray, float, float]:
    """The checked prediction resized (if needed) to ``shape``, with its min and max."""
    s, lo, hi = as_map_range(sal, "sal")
    if s.shape != tuple(shape):
        s = resize_to(s, shape)
        lo, hi = float(s.min()), float(s.max())
    return s, lo, hi


def unchecked_map(arr: object, name: str) -> np.ndarray:
    """``arr`` as a 2-D float64 array (no copy when it already is one) with its shape and dtype
    checked but NOT its values: a metric that needs no min/max checks them through a sum it
    computes anyway (`require_finite`), saving two passes over the map."""
    a = np.asarray(arr)
    if a.dtype == np.float64 and a.ndim == 2 and a.size:
        return a  # passes every check of _check_2d
    _check_2d(a, name)
    return a.astype(np.float64, copy=False)


def sal_at_unchecked(sal: object, shape: tuple[int, int]) -> np.ndarray:
    """The prediction at ``shape``: as is with its values unchecked (`unchecked_map`), or, when
    it must be resized, checked first (the resize costs more than the check, and a NaN or inf
    would smear)."""
    s = unchecked_map(sal, "sal")
    return s if s.shape == tuple(shape) else resize_to(as_map(s, "sal"), shape)


def require_finite(total: float, arr: object, name: str) -> None:
    """Raise `as_map`'s error unless ``total`` — a sum or extreme of ``arr``'s values, or of a
    map linearly resized from it — is finite. A NaN or ±inf value always makes it non-finite; a
    finite map that merely overflows the sum passes, as it passes `as_map`."""
    if not math.isfinite(total):
        as_map(arr, name)


def _is_constant(m: np.ndarray, centred_sq: float, mean: float) -> bool:
    """MIT's constant-map test (min == max) of a map whose values minus their computed
    ``mean`` square-sum to ``centred_sq``. A constant map's mean is off by at most ~n·eps
    relative (summation error), so its centred squares sum to ≤ n·(2n·eps·mean)²: above that
    the map is not constant, and only at or below (near-flat maps) is min == max checked."""
    n = m.size
    return not centred_sq > n * (2.0 * n * EPS * mean) ** 2 and m.min() == m.max()


def _pair_with(sal: object, density: object, stat: Callable[[np.ndarray], float]
               ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(prediction at the density's size, density, stat of each): the values checked finite
    through ``stat`` (a sum or mean the metric needs anyway, `require_finite`)."""
    gt = unchecked_map(density, "density")
    s = sal_at_unchecked(sal, gt.shape)
    g_stat = stat(gt)
    require_finite(g_stat, density, "density")
    s_stat = stat(s)
    require_finite(s_stat, sal, "sal")
    return s, gt, s_stat, g_stat


def cc(sal: np.ndarray, density: np.ndarray) -> float:
    """Pearson's linear correlation coefficient between prediction and ground-truth density.

    MIT ``CC.m``: resize ``sal`` to ``density``'s size, z-score both (sample std), then
    ``corr2``. corr2 is invariant to the z-scoring, so it is applied to the maps directly (the
    same value up to the last bits). In [−1, 1], higher is better; NaN when either map is
    constant.
    """
    s, gt, s_mean, g_mean = _pair_with(sal, density, np.mean)
    s_flat, g_flat = s.ravel(), gt.ravel()

    def dots(start: int, stop: int, bufs: list[np.ndarray]) -> np.ndarray:
        a = np.subtract(s_flat[start:stop], s_mean, out=bufs[0][: stop - start])
        b = np.subtract(g_flat[start:stop], g_mean, out=bufs[1][: stop - start])
        return np.array((_dot(a, b), _dot(a, a), _dot(b, b)))

    ab, aa, bb = chunked_sum(gt.size, dots, 2)
    if _is_constant(s, aa, s_mean) or _is_constant(gt, bb, g_mean):
        return NAN
    return float(ab / math.sqrt(aa * bb))


def _minmax_distribution(
    x: np.ndarray, source: object, name: str, out: np.ndarray | None = None
) -> np.ndarray | None:
    """MIT's "min-max normalise, then divide by the sum": ``(x − min) / Σ(x − min)`` (the max
    cancels, so it needs no pass), into ``out`` (a new array if None); the same numbers up to
    the last bit. None for a constant map (MATLAB: 0/0 → all NaN). The min and the sum also
    check the values (of ``source``, the map ``x`` was resized from, for the message)."""
    lo = x.min()
    require_finite(lo, source, name)
    y = np.subtract(x, lo, out=out)
    total = y.sum()  # > 0 unless every value equals the min
    require_finite(total, source, name)
    if not total:
        return None
    y /= total
    return y


def similarity(sal: np.ndarray, density: np.ndarray) -> float:
    """Histogram intersection (SIM) of the two maps seen as distributions.

    MIT ``similarity.m``: resize ``sal`` to ``density``'s size; each map, if it has any
    non-zero pixel, is min-max normalised then divided by its sum; score = Σ min(p, q).
    In [0, 1], higher is better; an all-zero map scores 0; a constant non-zero map gives NaN.
    """
    gt = unchecked_map(density, "density")
    s = sal_at_unchecked(sal, gt.shape)
    # Whole maps in work arrays: a chunked pass would have to compute x − min twice.
    with work_arrays(gt.shape, 2) as (a, b):
        # A constant map gives None; an all-zero one stays zero instead (MATLAB skips it).
        q = _minmax_distribution(gt, density, "density", b)
        q = gt if q is None and not gt.any() else q
        p = _minmax_distribution(s, sal, "sal", a)
        p = s if p is None and not s.any() else p
        if p is None or q is None:
            return NAN
        np.minimum(p, q, out=a)  # a is scratch even when p is the (all-zero) caller's array
        return float(a.sum())


def kl_div(sal: np.ndarray, density: np.ndarray) -> float:
    """KL divergence KL(density ‖ sal), natural log, MIT regularisation.

    MIT ``KLdiv.m``: resize ``sal``; each map divided by its sum if it has a non-zero pixel (no
    min subtraction); score = Σ q·ln(eps + q/(p + eps)). ≥ 0, lower is better. Where the MATLAB
    code takes the log of a negative number (``sal`` with negative values at pixels the
    density covers) it returns a complex number; we return NaN and log a warning.
    """
    s, gt, s_sum, g_sum = _pair_with(sal, density, np.sum)
    # A map is divided by its sum unless it is all zero (a zero sum may also be a cancellation,
    # hence the exact test then).
    s_zero, g_zero = not (s_sum or s.any()), not (g_sum or gt.any())
    s_flat, g_flat = s.ravel(), gt.ravel()

    def terms(start: int, stop: int, bufs: list[np.ndarray]) -> float:
        t, q = bufs[0][: stop - start], g_flat[start:stop]
        if s_zero:
            t.fill(0.0)
        else:
            np.divide(s_flat[start:stop], s_sum, out=t)
        if not g_zero:
            q = np.divide(q, g_sum, out=bufs[1][: stop - start])
        t += EPS
        np.divide(q, t, out=t)
        t += EPS
        np.log(t, out=t)
        t *= q
        return np.add.reduce(t)

    with np.errstate(all="ignore"):
        score = float(chunked_sum(gt.size, terms, 2))
    if not math.isfinite(score):
        global _KL_WARNED
        (log.debug if _KL_WARNED else log.warning)(
            "KL is undefined (log of a non-positive ratio): sal has negative values where the "
            "density is positive (clip bicubic ringing at 0?), or sums to 0; returning NaN"
        )
        _KL_WARNED = True
        return NAN
    return score


def nss(sal: np.ndarray, fixations: np.ndarray) -> float:
    """Normalized Scanpath Saliency: mean z-score (sample std) of ``sal`` at fixated pixels.

    MIT ``NSS.m``: resize ``sal`` to the fixation map's size, ``(map − mean)/std``, mean over
    pixels where ``fixations`` is non-zero. Higher is better; NaN with no fixations or a
    constant map. (pysaliency divides by the population std: its values are ours × √((N−1)/N).)
    """
    fix = as_fixations(fixations)
    s = sal_at_unchecked(sal, fix.shape)
    flat = s.ravel()
    n = flat.size
    mean = flat.sum() / n  # (ndarray.mean is ~3x slower here; same value)
    require_finite(mean, sal, "sal")
    fixed = np.flatnonzero(fix)
    if not fixed.size:
        return NAN

    def centred_squares(start: int, stop: int, bufs: list[np.ndarray]) -> float:
        d = np.subtract(flat[start:stop], mean, out=bufs[0][: stop - start])
        return _dot(d, d)

    centred_sq = chunked_sum(n, centred_squares)
    if _is_constant(s, centred_sq, mean):
        return NAN
    std = math.sqrt(centred_sq / max(n - 1, 1))
    at_fixations = flat[fixed]
    # mean of the z-scores = (mean at fixations − mean) / std: one division, not one per pixel
    return float((at_fixations.sum() / at_fixations.size - mean) / std)


def info_gain(sal: np.ndarray, fixations: np.ndarray, baseline: np.ndarray) -> float:
    """Information gain (bits per fixation) of ``sal`` over a ``baseline`` map (e.g. centre bias).

    MIT ``InfoGain.m``: resize both maps to the fixation map's size, min-max normalise, divide
    by the sum, then mean over fixated pixels of log2(eps + p) − log2(eps + p_baseline).
    Higher is better; NaN with no fixations or a constant map.
    """
    fix = as_fixations(fixations)
    s = sal_at(sal, fix.shape)[0]
    b = resize_to(as_map(baseline, "baseline"), fix.shape)
    if not fix.any():
        return NAN
    p = _minmax_distribution(s, sal, "sal")
    pb = _minmax_distribution(b, baseline, "baseline")
    if p is None or pb is None:
        return NAN
    mask = fix.ravel()
    return float(np.mean(np.log2(EPS + p.ravel()[mask]) - np.log2(EPS + pb.ravel()[mask])))
