"""Multiple-comparison correction: Holm–Bonferroni step-down adjusted p-values.

A results table asks many questions at once (26 losses vs the MSE baseline, LC1 vs LC2, per
metric); at α = 0.05 one comparison in twenty looks "significant" by chance. Holm's procedure
controls the family-wise error rate at α without assuming independence and is uniformly more
powerful than plain Bonferroni.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from salloss.errors import DataError

__all__ = ["holm"]


def holm(pvalues: Sequence[float] | ArrayLike) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values, in the input order.

    With the m finite p-values sorted ascending, p_(1) ≤ … ≤ p_(m), the adjusted values are
    ``p̃_(i) = min(1, max_{j ≤ i} (m − j + 1) · p_(j))``: monotone in the raw p-values and capped
    at 1. Rejecting the hypotheses with p̃ < α controls the family-wise error rate at α. NaN
    entries (a comparison that could not be made) stay NaN and are not counted in m. Values
    outside [0, 1] raise `DataError`.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise DataError(f"holm expects a 1-D list of p-values; got shape {p.shape}")
    finite = np.isfinite(p)
    bad = ~np.isnan(p) & ((p < 0) | (p > 1) | ~finite)
    if np.any(bad):
        raise DataError(f"p-values must lie in [0, 1]; got {p[bad].tolist()[:5]}")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(finite)
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out
