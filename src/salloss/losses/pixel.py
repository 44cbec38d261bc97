"""Pixel-based loss terms (SPEC.md §1): MSE, EAD, AE, ML-Net's weighted MSE, sigmoid-weighted MSE.

All take `pred` P and `density` S as B×1×H×W tensors and return the batch mean of a per-image
mean over pixels. S is max-normalised per image to [0, 1] first (decision), so the value does
not depend on the scale the density arrives in; P is used as the model outputs it (except in
`wmse`, which max-normalises P as ML-Net does, with a liveness offset).
"""

from __future__ import annotations

import torch
from torch import Tensor

from salloss.losses.base import max_normalise, per_image_mean

# Default liveness offset κ of `wmse` (in units of the model's output, whose targets are
# max-normalised to [0, 1]).
WMSE_KAPPA = 1e-3


def mse(pred: Tensor, density: Tensor) -> Tensor:
    """Mean squared error: mean((S − P)²)."""
    s = max_normalise(density)
    return per_image_mean((s - pred) ** 2).mean()


def ead(pred: Tensor, density: Tensor) -> Tensor:
    """Exponential absolute difference: mean(exp(|S − P|) − 1)."""
    s = max_normalise(density)
    return per_image_mean(torch.expm1((s - pred).abs())).mean()


def ae(pred: Tensor, density: Tensor) -> Tensor:
    """Absolute error: mean(|S − P|)."""
    s = max_normalise(density)
    return per_image_mean((s - pred).abs()).mean()


def wmse(pred: Tensor, density: Tensor, alpha: float = 1.1, kappa: float = WMSE_KAPPA) -> Tensor:
    """ML-Net's weighted MSE: mean((p − S)² / (α − S)), p = (P + κ) / (max(P) + κ), α = 1.1.

    The weight 1/(α − S) is 10 on the most salient pixels (S = 1) and 0.91 on the background;
    α must exceed 1 so α − S > 0. ML-Net (Cornia et al. 2016, Keras) max-normalises the
    prediction, p = P / max(P), so the loss ignores the map's scale.

    The liveness offset κ (decision, SPEC.md §1) keeps that scale-free normalisation from
    rewarding a dead map. Dividing by max(P) clamped at a tiny epsilon made an all-zero ReLU
    map a finite, LOW-loss state with zero gradient (on the demo: 0.064, below a centre-bias
    map's 0.080 and a trained map's 0.108), so training drifted there and early stopping kept
    it. With κ, a live map (max(P) ≫ κ) is normalised as ML-Net does (relative change
    ~ κ / max(P)), while a map fading out tends to the UNIFORM map p = 1 — the worst
    prediction W-MSE knows — so dying raises the loss and its gradient pushes the map back up.
    ``kappa=0`` is ML-Net's unguarded division: a dead map gives NaN (the trainer stops and
    names the term), as in the Keras original.
    """
    s = max_normalise(density)
    if kappa == 0:
        p = pred / pred.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
    else:
        p = (pred + kappa) / (pred.flatten(1).amax(dim=1).view(-1, 1, 1, 1) + kappa)
    return per_image_mean((p - s) ** 2 / (alpha - s)).mean()


def sigmse(pred: Tensor, density: Tensor, lam: float, k: float = 10.0) -> Tensor:
    """Sigmoid-weighted MSE: mean(w·(S − P)²), w = k / (1 + exp(−k(S − λ))).

    The weight rises from ≈0 below S = λ to k above it; the paper tests λ ∈ {0.25, 0.55, 0.75}.
    """
    s = max_normalise(density)
    w = k * torch.sigmoid(k * (s - lam))
    return per_image_mean(w * (s - pred) ** 2).mean()
