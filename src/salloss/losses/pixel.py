"""Pixel-based loss terms (SPEC.md §1): MSE, EAD, AE, ML-Net's weighted MSE, sigmoid-weighted MSE.

All take `pred` P and `density` S as B×1×H×W tensors and return the batch mean of a per-image
mean over pixels. S is max-normalised per image to [0, 1] first (decision), so the value does
not depend on the scale the density arrives in; P is used as the model outputs it (except in
`wmse`, which max-normalises P as ML-Net does).
"""

from __future__ import annotations

import torch
from torch import Tensor

from salloss.losses.base import max_normalise, per_image_mean


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


def wmse(pred: Tensor, density: Tensor, alpha: float = 1.1) -> Tensor:
    """ML-Net's weighted MSE: mean((P/max(P) − S)² / (α − S)), α = 1.1.

    The weight 1/(α − S) is 10 on the most salient pixels (S = 1) and 0.91 on the background.
    P is max-normalised per image (ML-Net's exact form); α must exceed 1 so α − S > 0.
    """
    s = max_normalise(density)
    p = max_normalise(pred)
    return per_image_mean((p - s) ** 2 / (alpha - s)).mean()


def sigmse(pred: Tensor, density: Tensor, lam: float, k: float = 10.0) -> Tensor:
    """Sigmoid-weighted MSE: mean(w·(S − P)²), w = k / (1 + exp(−k(S − λ))).

    The weight rises from ≈0 below S = λ to k above it; the paper tests λ ∈ {0.25, 0.55, 0.75}.
    """
    s = max_normalise(density)
    w = k * torch.sigmoid(k * (s - lam))
    return per_image_mean(w * (s - pred) ** 2).mean()
