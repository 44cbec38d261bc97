"""Perceptual terms (SPEC.md §1, new in the paper): Deep Features (`df`) and Gram Matrices (`gm`).

φ_j, j = 1…5, are the activations of a frozen VGG-16 at its five pooling layers (64, 128, 256,
512, 512 channels = the paper's 1920 filters). A 1-channel map enters VGG replicated to 3
channels and ImageNet-normalised (decision: the paper does not say how). S is max-normalised per
image first (as in the pixel terms, so the value does not depend on the density's scale); P is
used as the model outputs it. Maps must be at least 32×32 (VGG halves them five times).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from salloss.errors import DataError
from salloss.losses.base import max_normalise
from salloss.models.vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    POOL_INDICES,
    describe_weights,
    freeze,
    vgg16_features,
)

log = logging.getLogger(__name__)

MIN_SIZE = 32  # 2**5: pool5 needs at least one pixel


class VGGPyramid(nn.Module):
    """Frozen VGG-16 returning its pool1…pool5 activations for a B×1×H×W saliency map.

    `weights_tag` says which weights it holds (`describe_weights`): every output that used
    `weights='none'` must carry it. Stays in eval mode and never needs gradients for itself.
    """

    def __init__(self, features: nn.Sequential, weights_tag: str) -> None:
        super().__init__()
        self.features = freeze(features[: POOL_INDICES[-1] + 1])
        self.weights_tag = weights_tag
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGGPyramid:
        """Frozen: always eval mode, whatever the caller asks."""
        return super().train(False)

    def prepare(self, saliency: Tensor) -> Tensor:
        """B×1×H×W map in [0, 1] → B×3×H×W ImageNet-normalised image in the weights' dtype."""
        if saliency.ndim != 4 or saliency.shape[1] != 1:
            raise DataError(f"VGG input: expected a B×1×H×W map, got {tuple(saliency.shape)}")
        h, w = saliency.shape[-2:]
        if h < MIN_SIZE or w < MIN_SIZE:
            raise DataError(
                f"df/gm need maps of at least {MIN_SIZE}×{MIN_SIZE} (VGG-16 pools five times); "
                f"got {h}×{w}"
            )
        x = saliency.to(self.mean.dtype).expand(-1, 3, -1, -1)
        return (x - self.mean) / self.std

    def forward(self, saliency: Tensor) -> list[Tensor]:
        """The five pooling-layer activations φ_1…φ_5 (each B×C_j×H_j×W_j)."""
        x = self.prepare(saliency)
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in POOL_INDICES:
                out.append(x)
        return out


@functools.lru_cache(maxsize=2)
def _cached_extractor(weights: str, seed: int) -> VGGPyramid:
    log.info("loading VGG-16 for the perceptual losses (weights: %s)", describe_weights(weights))
    return VGGPyramid(vgg16_features(weights, seed), describe_weights(weights))


def load_extractor(weights: str | Path = "imagenet", seed: int = 0) -> VGGPyramid:
    """The frozen VGG-16 pyramid for `weights` ('imagenet' | 'none' | a .pth path).

    Cached per (weights, seed) and shared by every loss built in the process (it is frozen;
    building a random VGG-16 costs seconds). Raises `WeightsError` when weights are unavailable.
    """
    key = str(weights) if str(weights) in ("imagenet", "none") else str(Path(weights).resolve())
    return _cached_extractor(key, seed)


def _wide(x: Tensor) -> Tensor:
    """Half-precision features (autocast) → float32 for the reductions; others unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def df_from_features(feats_pred: list[Tensor], feats_density: list[Tensor]) -> Tensor:
    """Σ_j ‖φ_j(S) − φ_j(P)‖² / (C_j·H_j·W_j), batch mean (computed in ≥ float32)."""
    total = _wide(feats_pred[0]).new_zeros(feats_pred[0].shape[0])
    for fp, fs in zip(feats_pred, feats_density, strict=True):
        total = total + ((_wide(fs) - _wide(fp)) ** 2).flatten(1).mean(dim=1)
    return total.mean()


def gram(features: Tensor) -> Tensor:
    """G = ψψᵀ / (C·H·W) with ψ the B×C×(H·W) reshaped features: B×C×C.

    Computed in ≥ float32 with autocast off: ψψᵀ sums H·W products and overflows float16.
    """
    b, c, h, w = features.shape
    with torch.autocast(features.device.type, enabled=False):
        psi = _wide(features).reshape(b, c, h * w)
        return psi @ psi.transpose(1, 2) / (c * h * w)


def gm_from_features(feats_pred: list[Tensor], feats_density: list[Tensor]) -> Tensor:
    """Σ_j ‖G_j(S) − G_j(P)‖²_F, batch mean."""
    total = _wide(feats_pred[0]).new_zeros(feats_pred[0].shape[0])
    for fp, fs in zip(feats_pred, feats_density, strict=True):
        total = total + ((gram(fs) - gram(fp)) ** 2).flatten(1).sum(dim=1)
    return total.mean()


def pyramids(
    pred: Tensor, density: Tensor, extractor: VGGPyramid, size: tuple[int, int] | None = None,
) -> tuple[list[Tensor], list[Tensor]]:
    """VGG features of P (as is) and of S (max-normalised), on pred's device; with `size`,
    both maps are first resized to (H, W) (bilinear, antialiased when shrinking)."""
    move_to(extractor, pred.device)
    if size is not None:
        pred, density = fit(pred, size), fit(density, size)
    return extractor(pred), extractor(max_normalise(density))


@torch.no_grad()
def target_pyramid(density: Tensor, extractor: VGGPyramid,
                   size: tuple[int, int] | None = None) -> list[Tensor]:
    """φ(S) of a batch of densities exactly as `pyramids` computes it (resized to ``size``,
    then max-normalised): the targets never change, so a trainer computes it once per image
    and passes it back as `TermInputs.density_features` (the perceptual terms then run VGG on
    the prediction only)."""
    move_to(extractor, density.device)
    if size is not None:
        density = fit(density, size)
    return extractor(max_normalise(density))


def fit(x: Tensor, size: tuple[int, int]) -> Tensor:
    """B×1×H×W resized to ``size`` (bilinear, align_corners=False, antialiased when shrinking);
    unchanged if it has that size already."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False,
                         antialias=shrink)


def move_to(module: nn.Module, device: torch.device) -> None:
    """Move `module` to `device` if its parameters live elsewhere (lazy device placement)."""
    param = next(module.parameters(), None)
    if param is not None and param.device != device:
        module.to(device)


def df(pred: Tensor, density: Tensor, extractor: VGGPyramid) -> Tensor:
    """Deep Features loss: Σ_j ‖φ_j(S) − φ_j(P)‖² / (C_j·H_j·W_j) over pool1…pool5."""
    return df_from_features(*pyramids(pred, density, extractor))


def gm(pred: Tensor, density: Tensor, extractor: VGGPyramid) -> Tensor:
    """Gram Matrices loss: Σ_j ‖G_j(S) − G_j(P)‖²_F over pool1…pool5, G = ψψᵀ/(C·H·W)."""
    return gm_from_features(*pyramids(pred, density, extractor))
