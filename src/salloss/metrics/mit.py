"""The MIT benchmark's distribution and value metrics: CC, SIM, KL, NSS (and IG), line for line.

Conventions (see METRICS.md): ``sal`` is resized to the ground truth's size with the MATLAB
``imresize`` when the sizes differ; std is the sample std (N−1); ``EPS`` is MATLAB's eps.
Every function returns a Python float, NaN where the MIT code yields NaN.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from salloss.metrics.checks import EPS, as_fixations, as_map
from salloss.metrics.resize import resize_to

__all__ = ["cc", "similarity", "kl_div", "nss", "info_gain"]

log = logging.getLogger(__name__)
NAN = float("nan")


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum, not BLAS: single-threaded and deterministic (a multi-threaded BLAS dot changes
    # the last bits with the thread count, and stalls badly on a busy machine).
    return float(np.einsum("i,i->", a, b))


def _is_constant(x: np.ndarray) -> bool:
    return bool(x.min() == x.max())


def _zscore(x: np.ndarray) -> np.ndarray:
    """(x − mean) / std with the sample std (N−1), as MATLAB's ``std``; a new flat array."""
    d = x.ravel() - x.mean()
    d /= math.sqrt(_dot(d, d) / max(d.size - 1, 1))
    return d


def cc(sal: np.ndarray, density: np.ndarray) -> float:
    """Pearson's linear correlation coefficient between prediction and ground-truth density.

    MIT ``CC.m``: resize ``sal`` to ``density``'s size, z-score both (sample std), then
    ``corr2``. In [−1, 1], higher is better; NaN when either map is constant.
    """
    gt = as_map(density, "density")
    s = resize_to(as_map(sal, "sal"), gt.shape)
    if _is_constant(s) or _is_constant(gt):
        return NAN
    a = _zscore(s)
    b = _zscore(gt)
    # corr2: centre again, then normalised inner product.
    a -= a.mean()
    b -= b.mean()
    return float(_dot(a, b) / math.sqrt(_dot(a, a) * _dot(b, b)))


def _sim_distribution(x: np.ndarray) -> np.ndarray | None:
    """SIM's normalisation: a non-zero map is min-max scaled to [0, 1] then divided by its sum;
    an all-zero map stays zero. None where MATLAB gets all-NaN (constant non-zero map)."""
    if not x.any():
        return x
    lo, hi = x.min(), x.max()
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
    gt = as_map(density, "density")
    s = resize_to(as_map(sal, "sal"), gt.shape)
    p = _sim_distribution(s)
    q = _sim_distribution(gt)
    if p is None or q is None:
        return NAN
    return float(np.minimum(p, q).sum())


def kl_div(sal: np.ndarray, density: np.ndarray) -> float:
    """KL divergence KL(density ‖ sal), natural log, MIT regularisation.

    MIT ``KLdiv.m``: resize ``sal``; each map divided by its sum if it has a non-zero pixel (no
    min subtraction); score = Σ q·ln(eps + q/(p + eps)). ≥ 0, lower is better. Where the MATLAB
    code takes the log of a negative number (``sal`` with negative values at pixels the
    density covers) it returns a complex number; we return NaN and log a warning.
    """
    gt = as_map(density, "density")
    s = resize_to(as_map(sal, "sal"), gt.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = s / s.sum() if s.any() else s
        q = gt / gt.sum() if gt.any() else gt
        t = p + EPS
        np.divide(q, t, out=t)
        t += EPS
        np.log(t, out=t)
        t *= q
        score = float(t.sum())
    if not math.isfinite(score):
        log.warning("KL is undefined (log of a non-positive ratio): sal has negative values "
                    "where the density is positive, or a zero sum; returning NaN")
        return NAN
    return score


def nss(sal: np.ndarray, fixations: np.ndarray) -> float:
    """Normalized Scanpath Saliency: mean z-score (sample std) of ``sal`` at fixated pixels.

    MIT ``NSS.m``: resize ``sal`` to the fixation map's size, ``(map − mean)/std``, mean over
    pixels where ``fixations`` is non-zero. Higher is better; NaN with no fixations or a
    constant map. (pysaliency divides by the population std: its values are ours × √((N−1)/N).)
    """
    fix = as_fixations(fixations)
    s = resize_to(as_map(sal, "sal"), fix.shape)
    if not fix.any() or _is_constant(s):
        return NAN
    flat = s.ravel()
    mean = flat.mean()
    d = flat - mean
    std = math.sqrt(_dot(d, d) / max(d.size - 1, 1))
    return float(((flat[fix.ravel()] - mean) / std).mean())


def _minmax_distribution(x: np.ndarray) -> np.ndarray | None:
    lo, hi = x.min(), x.max()
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
    s = resize_to(as_map(sal, "sal"), fix.shape)
    b = resize_to(as_map(baseline, "baseline"), fix.shape)
    if not fix.any():
        return NAN
    p = _minmax_distribution(s)
    pb = _minmax_distribution(b)
    if p is None or pb is None:
        return NAN
    mask = fix.ravel()
    return float(np.mean(np.log2(EPS + p.ravel()[mask]) - np.log2(EPS + pb.ravel()[mask])))
