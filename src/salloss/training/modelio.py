"""Building a run's model from its settings, and turning stored images into model input.

Every place that needs "the model of this run" (training, the feature cache, prediction) goes
through `build_model`, so the same settings always give the same network and initialisation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from salloss.errors import ConfigError
from salloss.models import registry
from salloss.models.vgg import IMAGENET_MEAN, IMAGENET_STD


def build_model(
    arch: str,
    *,
    weights: str | Path,
    activation: str,
    input_size: tuple[int, int],
    seed: int,
    options: dict[str, Any] | None = None,
    cached: bool = False,
) -> nn.Module:
    """``salloss.models.build`` with the run's settings.

    ``input_size`` and ``seed`` are passed only to builders that accept them; the global torch
    RNG is also seeded, so builders that initialise from it are deterministic too. ``cached``:
    the run reads a feature cache, so a model that can skip building its frozen encoder (an
    ``encoder`` option, e.g. the baseline) is built without it; the trainable part is
    initialised identically either way.
    """
    options = dict(options or {})
    try:
        builder = registry.MODELS[arch]
    except KeyError:
        raise ConfigError(
            f"arch: unknown architecture {arch!r}; valid choices: {', '.join(registry.available())}"
        ) from None
    accepted = registry.builder_options(builder)
    if cached and accepted is not None and "encoder" in accepted:
        options["encoder"] = False
    for key, value in (("input_size", tuple(input_size)), ("seed", seed)):
        if key not in options and (accepted is None or key in accepted):
            options[key] = value
    torch.manual_seed(seed)
    return registry.build(arch, weights=str(weights), activation=activation, **options)


def supports_feature_cache(model: nn.Module) -> bool:
    """True for models split into a frozen ``encode`` and a trainable ``decode`` (the baseline)."""
    if not (callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None))):
        return False
    encoder = getattr(model, "backbone", None)
    return encoder is None or not any(p.requires_grad for p in encoder.parameters())


def output_size(model: nn.Module, input_size: tuple[int, int]) -> tuple[int, int]:
    """The (H, W) of the model's prediction for ``input_size`` (asks the model, else runs it)."""
    shape = getattr(model, "output_shape", None)
    if callable(shape):
        return tuple(int(s) for s in shape(tuple(input_size)))  # type: ignore[return-value]
    param = next(model.parameters())
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, *input_size, device=param.device))
    model.train(was_training)
    return int(out.shape[-2]), int(out.shape[-1])


def to_input(images: Tensor, channels_last: bool = False) -> Tensor:
    """B×H×W×3 uint8 RGB (any device) → B×3×H×W float32 ImageNet-normalised model input."""
    x = images.permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return x.contiguous(memory_format=memory_format)


def resolve_device(name: str) -> torch.device:
    """'auto' → the first CUDA device if present, else CPU; 'cuda' without CUDA → ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available here; use 'auto' "
                          "or 'cpu'")
    return device
