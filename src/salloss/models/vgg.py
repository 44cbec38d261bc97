"""VGG-16 backbone loading, shared by the models (baseline, SAM-VGG) and the perceptual losses.

`weights` is one of:
- ``"imagenet"``: torchvision's ImageNet weights (``VGG16_Weights.IMAGENET1K_V1``, file
  ``vgg16-397923af.pth`` in ``<torch hub dir>/checkpoints``); downloaded when missing.
- ``"none"``: random initialisation (seeded), for offline runs. Results that used it must say
  so: `describe_weights` returns a tag that every summary records.
- a path to a local ``.pth`` file holding a full VGG-16 state dict or its ``features`` part.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from salloss.errors import ConfigError, WeightsError

IMAGENET_FILE = "vgg16-397923af.pth"
IMAGENET_URL = f"https://download.pytorch.org/models/{IMAGENET_FILE}"
# Index of each pooling layer in torchvision's vgg16().features (pool1 … pool5).
POOL_INDICES = (4, 9, 16, 23, 30)
# Index of conv5_3's ReLU.
CONV5_3_RELU = 29
# Seed of every random-init (weights 'none') backbone, whatever the training seed: it stands in
# for pretrained weights, which are the same for every seed of a study (the training seed
# draws the trainable head's initialisation, dropout and batch order). One value also lets all
# seeds of a run share one feature cache.
BACKBONE_SEED = 0
# torchvision's ImageNet normalisation (RGB, inputs in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_cache_path() -> Path:
    """Where torchvision looks for (and downloads) the ImageNet VGG-16 weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_FILE


def describe_weights(weights: str | Path) -> str:
    """A short tag for run summaries: 'imagenet', 'none (random init, …)', or 'file:<abs path>'."""
    if weights == "imagenet":
        return "imagenet"
    if weights == "none":
        return "none (random init, seeded — NOT ImageNet features)"
    return f"file:{Path(weights).resolve()}"


def vgg16_features(weights: str | Path = "imagenet", seed: int = 0) -> nn.Sequential:
    """Return torchvision's VGG-16 ``features`` (13 convs + 5 max-pools) with the requested weights.

    Raises `WeightsError` naming the exact file and folder when ImageNet weights cannot be
    downloaded, or when a local file is missing or does not fit VGG-16.
    """
    if not isinstance(weights, str | Path):
        raise ConfigError(
            f"weights={weights!r} is not valid; choose 'imagenet', 'none', or the path of a "
            "VGG-16 .pth state dict"
        )
    if weights == "none":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _init_features(_empty_features())
    if weights == "imagenet":
        target = imagenet_cache_path()
        if not target.exists():
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                torch.hub.download_url_to_file(IMAGENET_URL, str(target), progress=True)
            except Exception as exc:  # network errors come in many types
                raise WeightsError(
                    f"cannot download the ImageNet VGG-16 weights ({exc.__class__.__name__}: "
                    f"{exc}). Download {IMAGENET_URL} on a machine with internet and place it "
                    f"as {target} (file name {IMAGENET_FILE}, folder {target.parent}), or use "
                    "weights='none' for an offline run with a random backbone."
                ) from exc
        state = _load_state(target)
    else:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(
                f"VGG-16 weights file not found: {path}. Valid choices: 'imagenet', 'none', "
                "or the path of a .pth state dict."
            )
        state = _load_state(path)
    feats = _empty_features()
    feat_state = {
        k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")
    }
    try:
        feats.load_state_dict(feat_state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{weights}: not a VGG-16 state dict ({exc})") from exc
    return feats


# VGG-16 ("configuration D"): output channels of each 3×3 conv, "M" = 2×2 max-pool.
_VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                 512, 512, 512, "M")


def _empty_features() -> nn.Sequential:
    """torchvision's VGG-16 ``features``, module for module (same indices and state-dict keys,
    so torchvision's checkpoints load into it), with uninitialised CPU storage.

    Built here rather than with ``torchvision.models.vgg16``: importing torchvision.models
    pulls in torch._dynamo (about 3 s), paid by every pipeline job. tests/models checks that the
    two modules are identical.
    """
    layers: list[nn.Module] = []
    channels = 3
    with torch.device("meta"):
        for item in _VGG16_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1),
                           nn.ReLU(inplace=True)]
                channels = int(item)
        features = nn.Sequential(*layers)
    return features.to_empty(device="cpu")


def _init_features(features: nn.Sequential) -> nn.Sequential:
    """torchvision's VGG initialisation for convs: Kaiming-normal (fan_out, ReLU), zero bias."""
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return features


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read VGG-16 weights file {path}: {exc}") from exc
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


def freeze(module: nn.Module) -> nn.Module:
    """Turn off gradients and put the module in eval mode (frozen feature extractor)."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
