"""Model option checks: each raises `ConfigError` naming the option and what is valid."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import torch
from torch import Tensor

from salloss.errors import ConfigError

# Output activations a loss may ask for (SPEC.md §2): ReLU for pixel-based / saliency losses,
# sigmoid as soon as a distribution-based term is present.
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
}


def choice(option: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else `ConfigError` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{option}={value!r} is not valid; choose one of: {', '.join(choices)}")
    return value


def positive_int(option: str, value: Any) -> int:
    """``value`` as an int ≥ 1 (bools refused: ``True`` is not a size)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ConfigError(f"{option} must be a positive integer, got {value!r}")
    return int(value)


def size_pair(option: str, value: Any) -> tuple[int, int]:
    """An image size as ``(height, width)`` of positive ints; an int means a square."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise ConfigError(f"{option} must be (height, width) in pixels, got {value!r}")
    return positive_int(f"{option}[0] (height)", value[0]), positive_int(
        f"{option}[1] (width)", value[1]
    )


def fraction(option: str, value: Any, *, low: float = 0.0, high: float = 1.0) -> float:
    """A real number in ``[low, high)``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not low <= value < high:
        raise ConfigError(f"{option} must be a number in [{low}, {high}), got {value!r}")
    return float(value)


def positive_real(option: str, value: Any) -> float:
    """A finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < float("inf"):
        raise ConfigError(f"{option} must be a positive number, got {value!r}")
    return float(value)


def activation(value: Any) -> str:
    """A valid output activation name."""
    return choice("activation", value, tuple(ACTIVATIONS))


def check_images(images: Any, min_size: int, what: str) -> None:
    """``ValueError`` unless ``images`` is a B×3×H×W batch with H, W ≥ ``min_size``."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(
            f"expected a B×3×H×W batch of ImageNet-normalised RGB images, got shape "
            f"{tuple(images.shape)}"
        )
    if min(images.shape[-2:]) < min_size:
        raise ValueError(
            f"images of {tuple(images.shape[-2:])} px are too small for {what}; use at least "
            f"{min_size}×{min_size}"
        )
