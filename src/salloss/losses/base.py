"""Shared helpers of the loss terms: the epsilon, per-image normalisations and input checks.

Conventions (SPEC.md §1): maps are B×1×H×W tensors; every term reduces over the H×W pixels of
each image and returns the MEAN over the batch. Normalisations are per image. Helpers never
divide by zero: a sum or max below `EPS` is clamped to `EPS`, which leaves an all-zero map at
zero instead of turning it into NaN.
"""

from __future__ import annotations

import torch
from torch import Tensor

from salloss.errors import DataError

# Float32-safe epsilon of every term (SPEC.md §1, decision; Keras uses the same value).
EPS = 1e-7


def check_map(x: Tensor, what: str) -> None:
    """Raise `DataError` unless `x` is a B×1×H×W tensor (`what` names it in the message)."""
    if not isinstance(x, Tensor):
        raise DataError(f"{what}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != 1:
        raise DataError(f"{what}: expected shape B×1×H×W, got {tuple(x.shape)}")


def check_same_shape(pred: Tensor, other: Tensor, what: str) -> None:
    """Raise `DataError` unless `other` (named `what`) is B×1×H×W with pred's shape."""
    check_map(other, what)
    if other.shape != pred.shape:
        raise DataError(
            f"{what} has shape {tuple(other.shape)} but pred has {tuple(pred.shape)}; "
            "resize the ground truth to the model's output size first"
        )


def per_image_mean(x: Tensor) -> Tensor:
    """Mean over C×H×W of each image: B×1×H×W → B."""
    return x.flatten(1).mean(dim=1)


def per_image_sum(x: Tensor) -> Tensor:
    """Sum over C×H×W of each image: B×1×H×W → B."""
    return x.flatten(1).sum(dim=1)


def _per_image(stat: Tensor) -> Tensor:
    return stat.view(-1, 1, 1, 1)


def max_normalise(x: Tensor) -> Tensor:
    """Divide each image by its maximum (clamped to EPS): [0, a] → [0, 1]; zero stays zero."""
    peak = x.flatten(1).amax(dim=1).clamp_min(EPS)
    return x / _per_image(peak)


def sum_normalise(x: Tensor) -> Tensor:
    """Divide each image by its sum (clamped to EPS), making it a distribution over pixels."""
    return x / _per_image(per_image_sum(x).clamp_min(EPS))


def fixation_mask(fixations: Tensor, term: str, dtype: torch.dtype) -> Tensor:
    """The fixated pixels (`fixations > 0`) as a float mask, checking every image has one.

    Raises `DataError` naming the batch indices without fixations: NSS and NLL are undefined
    there (MIT returns NaN), and a NaN would poison the whole training step.
    """
    mask = (fixations > 0).to(dtype)
    counts = per_image_sum(mask)
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty:
        raise DataError(
            f"{term}: image(s) {empty} of the batch have no fixations; {term} is undefined "
            "without fixations. Drop such images from the split or use a density-based term."
        )
    return mask
