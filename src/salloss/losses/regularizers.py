"""The center-bias regularizer `r` (SPEC.md §1): α·mean((P − C)²), α = 0.1.

C is the center-bias prior: the mean of the training split's max-normalised density maps,
itself max-normalised, computed once per (dataset, split) by the data part and passed to
`salloss.losses.build(spec, center_bias=C)`. It is used as given (not re-normalised here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from salloss.errors import ConfigError
from salloss.losses.base import per_image_mean


def as_center_bias(center_bias: Tensor) -> Tensor:
    """Check and reshape a center-bias map (H×W, 1×H×W or 1×1×H×W) to 1×1×H×W float."""
    if not isinstance(center_bias, Tensor):
        raise ConfigError(
            f"center_bias: expected a torch.Tensor (H×W), got {type(center_bias).__name__}"
        )
    if center_bias.ndim < 2 or center_bias.ndim > 4 or any(n != 1 for n in center_bias.shape[:-2]):
        raise ConfigError(
            f"center_bias: expected an H×W (or 1×1×H×W) map, got shape {tuple(center_bias.shape)}"
        )
    c = center_bias.reshape(1, 1, *center_bias.shape[-2:])
    if not c.is_floating_point():
        c = c.to(torch.get_default_dtype())
    if not bool(torch.isfinite(c).all()):
        raise ConfigError("center_bias: the map contains NaN or infinite values")
    return c


def fit_center_bias(center_bias: Tensor, like: Tensor) -> Tensor:
    """`center_bias` as 1×1×H×W on `like`'s device/dtype, bilinearly resized to like's H×W
    (align_corners=False) when the sizes differ."""
    c = as_center_bias(center_bias).to(device=like.device, dtype=like.dtype)
    if c.shape[-2:] != like.shape[-2:]:
        c = F.interpolate(c, size=like.shape[-2:], mode="bilinear", align_corners=False)
    return c


def center_bias_penalty(pred: Tensor, center_bias: Tensor, alpha: float = 0.1) -> Tensor:
    """α·mean((P − C)²): pulls the prediction towards the dataset's center-bias prior C.

    `center_bias` is H×W (or 1×1×H×W); if its size differs from pred's it is resized
    bilinearly here (the built loss caches the resized map).
    """
    c = fit_center_bias(center_bias, pred)
    return alpha * per_image_mean((pred - c) ** 2).mean()
