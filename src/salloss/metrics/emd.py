"""Earth Mover's Distance the way the MIT benchmark computes it (``EMD.m`` + FastEMD).

MIT: downsample the density by 1/32 (``imresize``, output ``ceil(size/32)``), resize the
prediction to exactly that size, divide each by its sum (bicubic ringing can leave small
negative bins: they are kept), and call FastEMD's ``emd_hat_gd_metric`` with the Euclidean
distance between bin centres (in downsampled pixels) and extra-mass penalty 0.

``gd_metric`` first cancels the mass two histograms share inside each bin (free, since
d(i, i) = 0) and then transports the remainder: supply max(P−Q, 0) to demand max(Q−P, 0). The
remainders are non-negative even where P or Q has negative bins, so the transport is an ordinary
balanced problem, solved exactly by POT's network simplex over the supply × demand bins only.
(Plain ``ot.emd2`` on P and Q themselves reports negative bins as infeasible and returns 0.)

FastEMD converts its double inputs to integers (mass × 10^6 / max(ΣP, ΣQ), distances ×
10^6 / max distance, rounded half up) before solving; ``quantize=True`` (default) reproduces
that step, so the score matches MATLAB's to the precision of the inputs. ``quantize=False``
solves the unquantised problem (differs by ~1e-5 relative).
"""

from __future__ import annotations

import logging
import math
import os
from functools import lru_cache
from typing import Any

import numpy as np

from salloss.errors import ConfigError
from salloss.metrics.mit import require_finite, unchecked_map
from salloss.metrics.resize import imresize

__all__ = ["emd", "gd_metric_emd", "grid_distances"]

log = logging.getLogger(__name__)
NAN = float("nan")
_FASTEMD_MULT = 1_000_000.0  # FastEMD's MULT_FACTOR
_MAX_ITER = 10_000_000


@lru_cache(maxsize=16)
def grid_distances(shape: tuple[int, int]) -> np.ndarray:
    """Euclidean distances between the bin centres of a rows × cols grid, (n × n), row-major
    bin order. Cached per grid shape; do not modify the returned array."""
    rows, cols = shape
    r, c = np.divmod(np.arange(rows * cols), cols)
    dist = np.hypot(r[:, None] - r[None, :], c[:, None] - c[None, :]).astype(np.float64)
    dist.setflags(write=False)
    return dist


def solver() -> Any:
    """The POT module, imported on first use (it pulls in scipy.stats, ~0.5-3 s) with its
    optional GPU backends switched off: EMD only solves NumPy problems, and POT's torch backend
    would otherwise initialise CUDA at import (slow, and it breaks a process that forks
    afterwards, see `salloss.warm`). A user's own setting of these variables wins."""
    for backend in ("PYTORCH", "JAX", "CUPY", "TENSORFLOW"):
        os.environ.setdefault(f"POT_BACKEND_DISABLE_{backend}", "1")
    import ot

    return ot


def _transport(supply: np.ndarray, demand: np.ndarray, cost: np.ndarray) -> float:
    """Min-cost flow of min(Σsupply, Σdemand) mass (the surplus is dropped at no cost, i.e.
    FastEMD with extra-mass penalty 0), exact network simplex."""
    excess = float(supply.sum() - demand.sum())
    if excess > 0:  # dummy sink absorbs the surplus for free
        demand = np.append(demand, excess)
        cost = np.hstack([cost, np.zeros((cost.shape[0], 1))])
    elif excess < 0:
        supply = np.append(supply, -excess)
        cost = np.vstack([cost, np.zeros((1, cost.shape[1]))])
    value, info = solver().emd2(
        supply, demand, np.ascontiguousarray(cost), numItermax=_MAX_ITER, log=True,
        check_marginals=False,
    )
    if info.get("warning"):
        log.warning("EMD solver did not reach the optimum (%s); returning NaN", info["warning"])
        return NAN
    return float(value)


def gd_metric_emd(p: np.ndarray, q: np.ndarray, dist: np.ndarray, quantize: bool = True) -> float:
    """FastEMD ``emd_hat_gd_metric(p, q, dist, extra_mass_penalty=0)`` for 1-D histograms.

    ``p``/``q`` may hold negative entries; ``dist`` must be a metric (zero diagonal).
    """
    p = np.asarray(p, dtype=np.float64).ravel()
    q = np.asarray(q, dtype=np.float64).ravel()
    diff = p - q  # after the in-bin cancellation: supply = diff⁺, demand = diff⁻
    src = np.flatnonzero(diff > 0)
    dst = np.flatnonzero(diff < 0)
    if quantize:
        max_sum = max(float(p.sum()), float(q.sum()))
        max_dist = float(dist.max())
        if not (max_sum > 0 and max_dist > 0):
            return 0.0 if max_dist == 0 else NAN
        mass_scale = _FASTEMD_MULT / max_sum
        dist_scale = _FASTEMD_MULT / max_dist
        supply = np.floor(diff[src] * mass_scale + 0.5)
        demand = np.floor(-diff[dst] * mass_scale + 0.5)
        keep_s, keep_d = supply > 0, demand > 0
        src, supply = src[keep_s], supply[keep_s]
        dst, demand = dst[keep_d], demand[keep_d]
        if src.size == 0 or dst.size == 0:
            return 0.0
        cost = np.floor(dist[np.ix_(src, dst)] * dist_scale + 0.5)
        return _transport(supply, demand, cost) / mass_scale / dist_scale
    if src.size == 0 or dst.size == 0:
        return 0.0
    return _transport(diff[src], -diff[dst], dist[np.ix_(src, dst)])


def emd(
    sal: np.ndarray, density: np.ndarray, downsize: int = 32, *, quantize: bool = True
) -> float:
    """Earth Mover's Distance between prediction and density, MIT ``EMD.m`` semantics.

    Both maps are brought to ``ceil(density.shape / downsize)`` bins (MATLAB imresize; the
    density by ``scale=1/downsize``, the prediction to that exact size), divided by their sums,
    and compared with FastEMD ``gd_metric`` semantics (see the module doc). Units: downsampled
    pixels. ≥ 0, lower is better; NaN when a map sums to ≤ 0 (no mass to move).
    """
    if int(downsize) != downsize or downsize < 1:
        raise ConfigError(f"EMD downsize must be a positive integer, got {downsize!r}")
    # Values are checked through the downsampled sums: every input pixel has a stored weight
    # in the resize matrices, so a NaN or ±inf anywhere makes its map's sum non-finite.
    gt = unchecked_map(density, "density")
    s = unchecked_map(sal, "sal")
    with np.errstate(invalid="ignore"):  # inf − inf of a bad map: reported just below
        small_gt = imresize(gt, scale=1.0 / downsize)
        small_s = imresize(s, size=small_gt.shape)
        gt_sum = float(small_gt.sum())
        s_sum = float(small_s.sum())
    require_finite(gt_sum, density, "density")
    require_finite(s_sum, sal, "sal")
    if not (gt_sum > 0 and s_sum > 0 and math.isfinite(gt_sum) and math.isfinite(s_sum)):
        log.debug("EMD undefined: a downsampled map sums to %s / %s", gt_sum, s_sum)
        return NAN
    if small_gt.size == 1:
        return 0.0
    p = small_gt / gt_sum
    q = small_s / s_sum
    return gd_metric_emd(p, q, grid_distances(small_gt.shape), quantize=quantize)
