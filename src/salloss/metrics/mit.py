"""The MIT benchmark's distribution and value metrics: CC, SIM, KL, NSS (and IG), line for line.

Conventions (see METRICS.md): ``sal`` is resized to the ground truth's size with the MATLAB
``imresize`` when the sizes differ; std is the sample std (N−1); ``EPS`` is MATLAB's eps.
Every function returns a Python float, NaN where the MIT code yields NaN.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from salloss.metrics.checks import EPS, as_fixations, as_map, as_map_range
from salloss.metrics.resize import resize_to

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


def cc(sal: np.ndarray, density: np.ndarray) -> float:
    """Pearson's linear correlation coefficient between prediction and ground-truth density.

    MIT ``CC.m``: resize ``sal`` to ``density``'s size, z-score both (sample std), then
    ``corr2``. corr2 is invariant to the z-scoring, so it is applied to the maps directly (the
    same value up to the last bits). In [−1, 1], higher is better; NaN when either map is
    constant.
    """
    gt, glo, ghi = as_map_range(density, "density")
    s, slo, shi = sal_at(sal, gt.shape)
    if slo == shi or glo == ghi:
        return NAN
    a = s.ravel() - s.mean()
    b = gt.ravel() - gt.mean()
    return float(_dot(a, b) / math.sqrt(_dot(a, a) * _dot(b, b)))


def _sim_distribution(x: np.ndarray, lo: float, hi: float) -> np.ndarray | None:
    """SIM's normalisation: a non-zero map is min-max scaled to [0, 1] then divided by its sum;
    an all-zero map stays zero. None where MATLAB gets all-NaN (constant non-zero map)."""
    if lo == 0.0 and hi == 0.0:
        return x
    if lo == hi:
        return None
    y = x - lo
    y /= hi - lo
    y /= y.sum()
    return y


def similarity(sal: np.ndarray, density: np.ndarray) -> float:
    """Histogram intersection (SIM) of the two maps seen as distributions.

    MIT ``similarity.m``: resize ``sal`` to ``density``'s size; each map, if it has any
    non-zero pixel, is min-max normalised then divided by its sum; score = Σ min(p, q).
    In [0, 1], higher is better; an all-zero map scores 0; a constant non-zero map gives NaN.
    """
    gt, glo, ghi = as_map_range(density, "density")
    s, slo, shi = sal_at(sal, gt.shape)
    p = _sim_distribution(s, slo, shi)
    q = _sim_distribution(gt, glo, ghi)
    if p is None or q is None:
        return NAN
    if p is s:  # all-zero prediction: never write into the caller's array
        return float(np.minimum(p, q).sum())
    np.minimum(p, q, out=p)
    return float(p.sum())


def kl_div(sal: np.ndarray, density: np.ndarray) -> float:
    """KL divergence KL(density ‖ sal), natural log, MIT regularisation.

    MIT ``KLdiv.m``: resize ``sal``; each map divided by its sum if it has a non-zero pixel (no
    min subtraction); score = Σ q·ln(eps + q/(p + eps)). ≥ 0, lower is better. Where the MATLAB
    code takes the log of a negative number (``sal`` with negative values at pixels the
    density covers) it returns a complex number; we return NaN and log a warning.
    """
    gt, glo, ghi = as_map_range(density, "density")
    s, slo, shi = sal_at(sal, gt.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = s / s.sum() if (slo, shi) != (0.0, 0.0) else np.zeros_like(s)
        q = gt / gt.sum() if (glo, ghi) != (0.0, 0.0) else gt
        t += EPS
        np.divide(q, t, out=t)
        t += EPS
        np.log(t, out=t)
        t *= q
        score = float(t.sum())
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
    s, lo, hi = sal_at(sal, fix.shape)
    if lo == hi or not fix.any():
        return NAN
    flat = s.ravel()
    n = flat.size
    mean = flat.sum() / n  # (ndarray.mean is ~3x slower here; same value)
    d = flat - mean
    std = math.sqrt(_dot(d, d) / max(n - 1, 1))
    at_fixations = flat[fix.ravel()]
    # mean of the z-scores = (mean at fixations − mean) / std: one division, not one per pixel
    return float((at_fixations.sum() / at_fixations.size - mean) / std)


def _minmax_distribution(x: np.ndarray, lo: float, hi: float) -> np.ndarray | None:
    if lo == hi:
        return None  # MATLAB: 0/0 → all NaN
    y = x - lo
    y /= hi - lo
    y /= y.sum()
    return y


def info_gain(sal: np.ndarray, fixations: np.ndarray, baseline: np.ndarray) -> float:
    """Information gain (bits per fixation) of ``sal`` over a ``baseline`` map (e.g. centre bias).

    MIT ``InfoGain.m``: resize both maps to the fixation map's size, min-max normalise, divide
    by the sum, then mean over fixated pixels of log2(eps + p) − log2(eps + p_baseline).
    Higher is better; NaN with no fixations or a constant map.
    """
    fix = as_fixations(fixations)
    s, lo, hi = sal_at(sal, fix.shape)
    b = resize_to(as_map(baseline, "baseline"), fix.shape)
    if not fix.any():
        return NAN
    p = _minmax_distribution(s, lo, hi)
    pb = _minmax_distribution(b, float(b.min()), float(b.max()))
    if p is None or pb is None:
        return NAN
    mask = fix.ravel()
    return float(np.mean(np.log2(EPS + p.ravel()[mask]) - np.log2(EPS + pb.ravel()[mask])))
