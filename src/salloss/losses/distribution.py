"""Distribution-based loss terms (SPEC.md §1): BCE, weighted BCE, focal, KLD, Bhattacharyya, NLL.

The model's last layer is a sigmoid for these (P in (0, 1)). BCE-family terms read each pixel as
an independent Bernoulli variable: S is max-normalised per image to [0, 1] and P is clipped to
[EPS, 1 − EPS] before the logs (Keras convention), so P = 0 or 1 gives a large finite value.
KLD, Bhat and NLL read the maps as distributions over pixels: each is divided by its sum.
"""

from __future__ import annotations

import torch
from torch import Tensor

from salloss.losses.base import (
    EPS,
    fixation_mask,
    max_normalise,
    per_image_mean,
    per_image_sum,
    sum_normalise,
)


def _bernoulli_logs(pred: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    p = pred.clamp(EPS, 1.0 - EPS)
    return p, torch.log(p), torch.log1p(-p)


def bce(pred: Tensor, density: Tensor) -> Tensor:
    """Binary cross-entropy: −mean(S·log P + (1 − S)·log(1 − P))."""
    s = max_normalise(density)
    _, log_p, log_q = _bernoulli_logs(pred)
    return -per_image_mean(s * log_p + (1 - s) * log_q).mean()


def wbce(pred: Tensor, density: Tensor, w: float) -> Tensor:
    """Weighted BCE: −mean(w·S·log P + (1 − w)·(1 − S)·log(1 − P)).

    w > 0.5 punishes missed salient pixels (S → 1, P → 0) more; w < 0.5 punishes false alarms.
    """
    s = max_normalise(density)
    _, log_p, log_q = _bernoulli_logs(pred)
    return -per_image_mean(w * s * log_p + (1 - w) * (1 - s) * log_q).mean()


def focal(pred: Tensor, density: Tensor, gamma: float = 2.0) -> Tensor:
    """Focal loss (Lin et al.): −mean((1 − P)^γ·S·log P + P^γ·(1 − S)·log(1 − P)).

    γ = 0 gives BCE; larger γ down-weights pixels that are already well predicted.
    """
    s = max_normalise(density)
    p, log_p, log_q = _bernoulli_logs(pred)
    return -per_image_mean((1 - p) ** gamma * s * log_p + p**gamma * (1 - s) * log_q).mean()


def kld(pred: Tensor, density: Tensor) -> Tensor:
    """Kullback-Leibler divergence KL(S‖P): Σ s·log(EPS + s/(p + EPS)), s = S/ΣS, p = P/ΣP.

    The MIT benchmark's direction and form (the ground truth is the reference distribution),
    natural log, but EPS = 1e-7 (float32-safe) where the benchmark uses 2.2e-16.
    """
    s = sum_normalise(density)
    p = sum_normalise(pred)
    return per_image_sum(s * torch.log(EPS + s / (p + EPS))).mean()


def bhat(pred: Tensor, density: Tensor) -> Tensor:
    """Bhattacharyya distance: −log Σ sqrt(s·p), s and p sum-normalised (0 when P ∝ S).

    sqrt is taken only where s·p > 0 (its gradient is infinite at 0), and the coefficient is
    clamped at EPS before the log, so maps with disjoint support give −log(EPS) ≈ 16.1.
    """
    sp = sum_normalise(density) * sum_normalise(pred)
    positive = sp > 0
    root = torch.where(positive, torch.sqrt(torch.where(positive, sp, torch.ones_like(sp))), 0.0)
    return -torch.log(per_image_sum(root).clamp_min(EPS)).mean()


def nll(pred: Tensor, fixations: Tensor) -> Tensor:
    """Negative log-likelihood of the fixations: −(1/N_F) Σ_{F=1} log(p + EPS), p = P/ΣP.

    Fixated pixels are `fixations > 0`, each counted once. Raises `DataError` for an image
    without fixations.
    """
    mask = fixation_mask(fixations, "nll", pred.dtype)
    log_p = torch.log(sum_normalise(pred) + EPS)
    return -(per_image_sum(mask * log_p) / per_image_sum(mask)).mean()
