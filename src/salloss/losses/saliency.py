"""Saliency-inspired terms (SPEC.md §1): CC and NSS. Similarities — higher is better — so a spec
must give them a negative coefficient (`-cc`, `-nss`).

Both use the POPULATION standard deviation (divide by N). The MIT metrics use the sample std
(N − 1): CC is identical (the factor cancels), NSS differs by the factor sqrt(N/(N − 1)).
A constant map (max = min) gives exactly 0 with a zero gradient instead of the NaN (0/0) the
metrics return; variances are also clamped at EPS² so nothing divides by zero.
"""

from __future__ import annotations

import torch
from torch import Tensor

from salloss.losses.base import EPS, fixation_mask, per_image_mean, per_image_sum


def _centred(x: Tensor) -> Tensor:
    return x - per_image_mean(x).view(-1, 1, 1, 1)


def _std(centred: Tensor) -> Tensor:
    return torch.sqrt(per_image_mean(centred**2).clamp_min(EPS**2))


def _varying(x: Tensor) -> Tensor:
    """1.0 for images whose values are not all equal, else 0.0 (shape B).

    Needed because x − mean(x) of a constant map is float rounding noise (≈ 1e-8), which a
    std floor of EPS would turn into a spurious z-score of ≈ 0.3.
    """
    flat = x.flatten(1)
    return (flat.amax(dim=1) > flat.amin(dim=1)).to(x.dtype)


def cc(pred: Tensor, density: Tensor) -> Tensor:
    """Pearson correlation of P and S per image, in [−1, 1]; invariant to affine rescaling of
    either map (positive scale)."""
    p = _centred(pred)
    s = _centred(density)
    cov = per_image_mean(p * s)
    return (_varying(pred) * _varying(density) * cov / (_std(p) * _std(s))).mean()


def nss(pred: Tensor, fixations: Tensor) -> Tensor:
    """Normalised scanpath saliency: mean over fixated pixels of (P − mean(P)) / std(P).

    Divides by the number of fixated pixels (`fixations > 0`, each counted once), not by H·W.
    Raises `DataError` for an image without fixations.
    """
    mask = fixation_mask(fixations, "nss", pred.dtype)
    p = _centred(pred)
    z = p / _std(p).view(-1, 1, 1, 1)
    return (_varying(pred) * per_image_sum(mask * z) / per_image_sum(mask)).mean()
