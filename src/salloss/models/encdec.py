"""Encoder–decoder family (issue 13): a torchvision backbone's multi-level taps + the baseline's
decoder, registered as ``'encdec'``.

``build("encdec", backbone="resnet50", weights="none", activation="relu", finetune=False)``.
Only the encoder changes between backbones: three taps at strides 8, 16 and 32, the last two
bilinearly resized (``align_corners=False``) to the stride-8 tap's grid and concatenated —
as the baseline stacks its VGG-16 taps, except that each tap is first divided by its RMS over
the image (`rms_normalise`: one feature scale for every encoder; without it a random ResNet-50
saturated the shared head's sigmoid at initialisation) — then the baseline's decoder (`EncDecHead`:
`salloss.models.baseline.BaselineHead` with only its input channel count changed: dropout →
conv 3×3 C→128 + ReLU → ASPP 4 × (3×3 128→32, dilation 1/3/6/12) → 1×1 → fixed Gaussian →
activation → bilinear upsampling to the input size). Decoder parameters for C input channels:
``9·C·128 + 128 + 4·(9·128·32 + 32) + 129`` (C = 1280 gives the baseline's 1,622,401).

Taps — the torchvision module whose output is taken at strides 8 / 16 / 32, its channels, the
concatenated C, and the stride-8 grid (h, w) of an H×W input (the same rule for W):

- ``resnet50``: ``layer2`` / ``layer3`` / ``layer4`` → 512 / 1024 / 2048, C = 3584;
  grid ⌈H/8⌉.
- ``resnet18``: the same taps → 128 / 256 / 512, C = 896 (the cheap ResNet: the demo's, whose
  CPU budget a 3584-channel head does not fit); grid ⌈H/8⌉.
- ``densenet161``: ``features.transition2.relu`` / ``features.transition3.relu`` /
  ``features.norm5`` + ReLU → 768 / 2112 / 2208, C = 5088; grid ⌊⌈H/4⌉/2⌋.
- ``efficientnet_b0``: ``features.3`` / ``features.5`` / ``features.8`` → 40 / 112 / 1280,
  C = 1432; grid ⌈H/8⌉.
- ``convnext_tiny``: ``features.3`` / ``features.5`` / ``features.7`` → 192 / 384 / 768,
  C = 1344; grid ⌊H/8⌋.

Every tap is the last output at its stride: ResNet's stages end in a ReLU; DenseNet's dense
blocks are tapped after the next transition's BatchNorm + ReLU (the normalised block output,
before the 1×1 conv and 2×2 average pool that halve it) and the last one after ``norm5`` + ReLU,
as torchvision's ``DenseNet.forward`` does; EfficientNet's ``features.8`` is its 1×1 320→1280
conv + BN + SiLU, the end of torchvision's ``features``; ConvNeXt's taps are its stage outputs
(``features.2/4/6`` are the downsampling layers). Grids: ResNet's and EfficientNet's stride-2
convs/pools (kernel k, padding k//2) give ⌈n/2⌉ at each step, hence ⌈H/8⌉ (300×400 → 38×50,
97×131 → 13×17); DenseNet's stem conv and max-pool give ⌈n/2⌉ twice and its transition's 2×2
average pool ⌊n/2⌋ (300×400 → 37×50, 97×131 → 12×16); ConvNeXt's 4×4 / 2×2 patchify convs floor
(300×400 → 37×50, 97×131 → 12×16). See
`feature_grid`. Inputs must be at least 32×32 (the stride-32 tap must exist). A float16
feature cache holds C·h·w·2 bytes per image: at 300×400, 3.4 MB (ResNet-18, 896×38×50),
13.6 MB (ResNet-50, 3584×38×50), 18.8 MB (DenseNet-161, 5088×37×50), 5.4 MB (EfficientNet-B0,
1432×38×50), 5.0 MB (ConvNeXt-T, 1344×37×50), vs the baseline's 4.7 MB (1280×37×50).

Trainable parameters, frozen (decoder only) / fine-tuned (+ the whole backbone without its
classifier): ResNet-18 1,180,033 / 12,356,545; ResNet-50 4,276,609 / 27,784,641;
DenseNet-161 6,009,217 / 32,481,217; EfficientNet-B0 1,797,505 / 5,805,053; ConvNeXt-T
1,696,129 / 29,514,721 (derived from the layer shapes in tests/models/test_encdec.py).

Weights (`load_backbone`): ``'imagenet'`` = torchvision's ``get_model_weights(name).DEFAULT``
(e.g. ``ResNet50_Weights.IMAGENET1K_V2``), read from ``<torch hub dir>/checkpoints/<file>`` and
downloaded there when missing; ``'none'`` = torchvision's own random initialisation, seeded
(offline runs; NOT ImageNet features); or the path of a local state-dict file with the keys of
``torchvision.models.<name>().state_dict()`` (classifier keys — ``fc.*`` / ``classifier.*`` —
ignored; DenseNet's old ``norm.1``-style keys accepted). The pipeline passes one global
``weights`` (for the baseline, possibly a VGG-16 file); ``backbone_weights`` overrides it for
this backbone. Inputs are ImageNet-normalised RGB (`salloss.training.modelio.to_input`), the
normalisation all four ImageNet weights were trained with.

Modes:

- ``finetune=False`` (default): the encoder is frozen (no gradients, always in eval mode,
  `encode` builds no graph) and its BatchNorm layers become fixed affine maps
  (`FrozenBatchNorm`) whose statistics, like the frozen convolutions, come from ``weights``:
  not from the checkpoint. ``state_dict`` keys of the trainable part are ``head.*`` only, so a
  model trained live loads into one built without its encoder (``encoder=False``, for the
  feature cache) and back. ``encode``/``decode`` split the model for the feature cache
  (`salloss.training.features`), as for the baseline.
- ``finetune=True``: the whole backbone trains (like SAM-VGG's VGG-16), BatchNorm affine
  parameters included, but every BatchNorm layer stays in eval mode — it normalises with the
  pretrained running statistics and never updates them. Batches of 10 images (the paper's
  setting) give noisy per-batch means and variances, which would replace ImageNet's estimates
  and differ between training and evaluation; in eval mode the normalisation is the same fixed
  map in both. Dropout-like layers of the backbone (EfficientNet's and ConvNeXt's stochastic
  depth) follow the model's train/eval mode as in torchvision. No feature cache
  (``supports_feature_cache`` is False) and ``encoder=False`` is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from salloss.errors import ConfigError, WeightsError
from salloss.models import options as opt
from salloss.models.baseline import BaselineHead
from salloss.models.registry import register
from salloss.models.split import EncoderHead
from salloss.models.vgg import BACKBONE_SEED, describe_weights, freeze

MIN_INPUT = 32  # the stride-32 tap needs at least one pixel (ConvNeXt/DenseNet floor)
FEATURE_STRIDE = 8
HEAD_CHANNELS = 128  # the decoder's first conv, as in the baseline


class BackboneWeightsError(WeightsError, ConfigError):
    """Backbone weights unavailable or unusable. Both a `ConfigError` (the run's ``weights`` /
    ``backbone_weights`` setting must change) and a `WeightsError` (as VGG-16's are)."""


# -- taps ------------------------------------------------------------------------------------


def _resnet_taps(net: nn.Module, x: Tensor) -> list[Tensor]:
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    c3 = net.layer2(net.layer1(x))
    c4 = net.layer3(c3)
    return [c3, c4, net.layer4(c4)]


def _densenet_taps(net: nn.Module, x: Tensor) -> list[Tensor]:
    f = net.features
    x = f.pool0(f.relu0(f.norm0(f.conv0(x))))
    x = f.transition1(f.denseblock1(x))
    t8 = f.transition2.relu(f.transition2.norm(f.denseblock2(x)))
    x = f.transition2.pool(f.transition2.conv(t8))
    t16 = f.transition3.relu(f.transition3.norm(f.denseblock3(x)))
    x = f.transition3.pool(f.transition3.conv(t16))
    return [t8, t16, torch.relu(f.norm5(f.denseblock4(x)))]


def _sequential_taps(indices: tuple[int, int, int]) -> Callable[[nn.Module, Tensor], list]:
    def taps(net: nn.Module, x: Tensor) -> list[Tensor]:
        out = []
        for index, block in enumerate(net.features[: indices[-1] + 1]):
            x = block(x)
            if index in indices:
                out.append(x)
        return out

    return taps


def _ceil8(n: int) -> int:
    return -(-n // 8)


def _floor8(n: int) -> int:
    return n // 8


def _densenet_grid(n: int) -> int:
    return -(-n // 4) // 2


@dataclass(frozen=True)
class BackboneSpec:
    """One supported torchvision backbone: its taps, channels, grid and the parts it drops."""

    name: str
    taps: tuple[str, str, str]  # torchvision module names whose outputs are the taps
    channels: tuple[int, int, int]
    dropped: tuple[str, ...]  # torchvision attributes not used (global pool + classifier)
    grid_rule: str
    grid: Callable[[int], int]  # stride-8 size of one input dimension
    forward_taps: Callable[[nn.Module, Tensor], list[Tensor]]

    @property
    def feature_channels(self) -> int:
        """C of the concatenated features (the decoder's input channels)."""
        return sum(self.channels)


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec("resnet18", ("layer2", "layer3", "layer4"), (128, 256, 512),
                     ("avgpool", "fc"), "ceil(n/8)", _ceil8, _resnet_taps),
        BackboneSpec("resnet50", ("layer2", "layer3", "layer4"), (512, 1024, 2048),
                     ("avgpool", "fc"), "ceil(n/8)", _ceil8, _resnet_taps),
        BackboneSpec("densenet161", ("features.transition2.relu", "features.transition3.relu",
                                     "features.norm5+relu"), (768, 2112, 2208),
                     ("classifier",), "floor(ceil(n/4)/2)", _densenet_grid,
                     _densenet_taps),
        BackboneSpec("efficientnet_b0", ("features.3", "features.5", "features.8"),
                     (40, 112, 1280), ("avgpool", "classifier"), "ceil(n/8)", _ceil8,
                     _sequential_taps((3, 5, 8))),
        BackboneSpec("convnext_tiny", ("features.3", "features.5", "features.7"),
                     (192, 384, 768), ("avgpool", "classifier"), "floor(n/8)", _floor8,
                     _sequential_taps((3, 5, 7))),
    )
}
_CLASSIFIER_PREFIXES = ("fc.", "classifier.")
# DenseNet checkpoints (torchvision's own included) name dense-layer modules 'norm.1', 'conv.2'…
_OLD_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def backbone_spec(name: Any) -> BackboneSpec:
    """The `BackboneSpec` of ``name``; `ConfigError` listing the supported ones otherwise."""
    return BACKBONES[opt.choice("backbone", name, tuple(BACKBONES))]


def feature_grid(backbone: str, input_size: tuple[int, int]) -> tuple[int, int]:
    """Stride-8 grid ``(h, w)`` of ``backbone``'s features for an ``(H, W)`` input."""
    spec = backbone_spec(backbone)
    h, w = opt.size_pair("input_size", input_size)
    return spec.grid(h), spec.grid(w)


# -- weights ---------------------------------------------------------------------------------


def imagenet_weights(backbone: str) -> Any:
    """torchvision's DEFAULT ImageNet weights enum of ``backbone`` (e.g. IMAGENET1K_V2)."""
    from torchvision.models import get_model_weights

    return get_model_weights(backbone_spec(backbone).name).DEFAULT


def imagenet_cache_path(backbone: str) -> Path:
    """Where torchvision keeps (and this module downloads) ``backbone``'s ImageNet weights."""
    url = imagenet_weights(backbone).url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def effective_weights(weights: Any, backbone_weights: Any = None) -> str:
    """The backbone's weights setting: ``backbone_weights`` when given, else ``weights``."""
    chosen = weights if backbone_weights is None else backbone_weights
    if not isinstance(chosen, str | Path) or not str(chosen):
        which = "weights" if backbone_weights is None else "backbone_weights"
        raise ConfigError(f"{which}={chosen!r} is not valid; choose 'imagenet', 'none', or the "
                          "path of a backbone state-dict file")
    return str(chosen)


def weights_version(backbone: str, weights: str) -> str | None:
    """The torchvision weights enum (``'ResNet50_Weights.IMAGENET1K_V2'``) for 'imagenet'."""
    return str(imagenet_weights(backbone)) if weights == "imagenet" else None


def describe_backbone_weights(backbone: str, weights: str) -> str:
    """A tag for summaries and cache manifests: ``'<backbone>: <weights>'``, e.g.
    ``'resnet50: imagenet (ResNet50_Weights.IMAGENET1K_V2)'`` or
    ``'efficientnet_b0: none (random init, seeded — NOT ImageNet features)'``."""
    tag = describe_weights(weights)
    version = weights_version(backbone, weights)
    return f"{backbone}: {tag} ({version})" if version else f"{backbone}: {tag}"


def load_backbone(backbone: str, weights: str = "imagenet", seed: int = 0) -> nn.Module:
    """torchvision's ``backbone`` without its global pool and classifier, with ``weights``.

    Raises `BackboneWeightsError` naming the cache file and URL when ImageNet weights are
    missing and cannot be downloaded, or naming the file when a local one is missing, corrupt
    or does not fit the architecture.
    """
    from torchvision.models import get_model

    spec = backbone_spec(backbone)
    weights = effective_weights(weights)
    if weights == "none":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _drop_head(get_model(spec.name, weights=None), spec)
    if weights == "imagenet":
        enum = imagenet_weights(spec.name)
        path = imagenet_cache_path(spec.name)
        if not path.is_file():
            _download(spec.name, enum, path)
    else:
        path = Path(weights)
        if not path.is_file():
            raise BackboneWeightsError(
                f"{spec.name} weights file not found: {path}. Valid choices for "
                "weights/backbone_weights: 'imagenet', 'none', or the path of a state-dict file "
                f"with the keys of torchvision.models.{spec.name}().state_dict()."
            )
    state = _read_state(path, spec.name)
    with torch.device("meta"):  # no random init: every tensor comes from the file
        net = _drop_head(get_model(spec.name, weights=None), spec)
    net.to_empty(device="cpu")
    for buffer in net.buffers():  # e.g. num_batches_tracked, which old checkpoints lack
        buffer.zero_()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BackboneWeightsError(
            f"{path}: not a {spec.name} state dict ({_short(exc)}); expected the keys of "
            f"torchvision.models.{spec.name}().state_dict() (classifier keys are ignored). "
            "If this is the VGG-16 file of the global 'weights', set backbone_weights for the "
            "encdec model."
        ) from exc
    return net


def _download(backbone: str, enum: Any, path: Path) -> None:
    url = enum.url
    match = torch.hub.HASH_REGEX.search(path.name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(path), hash_prefix=match.group(1) if match
                                       else None, progress=True)
    except Exception as exc:  # network errors come in many types
        raise BackboneWeightsError(
            f"cannot download the ImageNet {backbone} weights {enum} "
            f"({exc.__class__.__name__}: {exc}). Download {url} on a machine with internet and "
            f"place it as {path} (file name {path.name}, folder {path.parent}), or pass its path "
            "as backbone_weights; weights='none' runs offline with a random backbone."
        ) from exc


def _read_state(path: Path, backbone: str) -> dict[str, Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BackboneWeightsError(f"cannot read {backbone} weights file {path}: "
                                   f"{_short(exc)}") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise BackboneWeightsError(f"{path}: expected a {backbone} state dict (name → tensor), "
                                   f"got {type(state).__name__}")
    out = {}
    for key, value in state.items():
        if key.startswith(_CLASSIFIER_PREFIXES):
            continue
        match = _OLD_DENSENET_KEY.match(key)
        out[match.group(1) + match.group(2) if match else key] = value
    return out


def _drop_head(net: nn.Module, spec: BackboneSpec) -> nn.Module:
    for name in spec.dropped:
        delattr(net, name)
    return net


def _short(exc: BaseException, limit: int = 400) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + " …"


# -- modules ---------------------------------------------------------------------------------


class FrozenBatchNorm(nn.Module):
    """An eval-mode BatchNorm2d as the per-channel affine map it computes, ``x·scale + shift``.

    Used in a frozen encoder: nothing in it can change, and its (non-persistent) buffers are
    rebuilt from the weights rather than stored in checkpoints."""

    def __init__(self, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        with torch.no_grad():
            var = bn.running_var.double() if bn.running_var is not None else 1.0
            mean = bn.running_mean.double() if bn.running_mean is not None else 0.0
            weight = bn.weight.double() if bn.weight is not None else 1.0
            bias = bn.bias.double() if bn.bias is not None else 0.0
            scale = weight / torch.sqrt(torch.as_tensor(var) + bn.eps)
            shift = bias - mean * scale
        shape = (1, -1, 1, 1)
        self.register_buffer("scale", scale.float().reshape(shape), persistent=False)
        self.register_buffer("shift", shift.float().reshape(shape), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """``x·scale + shift`` per channel."""
        return x * self.scale.to(x.dtype) + self.shift.to(x.dtype)


def _freeze_batchnorm(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, FrozenBatchNorm(child))
        else:
            _freeze_batchnorm(child)


TAP_EPS = 1e-30  # a random EfficientNet-B0's taps have RMS ~1e-14
TAPS_VERSION = "rms-normalised-v1"  # what `encode` computes; part of a feature-cache key


def rms_normalise(tap: Tensor) -> Tensor:
    """Each image's tap divided by its root mean square over channels and positions (B×c×h×w
    → same), so every encoder hands the shared head features on one scale, whatever the
    backbone and its weights; spatial structure and channel ratios are unchanged.

    Why: the head (the baseline's, initialised for VGG-16's taps) starts its sigmoid at the
    prior P = 0.1 only if its weighted inputs are small. Measured on the demo's 64×80 images,
    random-init taps have RMS 0.04 for VGG-16 but ~7.8 for ResNet-50 (eval-mode BatchNorm with
    torchvision's placeholder statistics is the identity, so its residual stream grows) and
    ~1e-6 for EfficientNet-B0: the un-normalised ResNet-50 head started with sigmoid logits 11–47
    (P ≡ 1), so KLD's gradient was zero and its loss stayed at 1.253 from epoch 1.
    """
    rms = tap.float().pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt()
    return tap / rms.clamp_min(TAP_EPS).to(tap.dtype)


class BackboneTaps(nn.Module):
    """A torchvision backbone (``net``) returning its three taps stacked on the stride-8 grid.

    ``frozen``: no gradients, always in eval mode (``train()`` cannot change it), BatchNorm as
    `FrozenBatchNorm`, `forward` builds no graph. Otherwise trainable, with every BatchNorm
    layer kept in eval mode (see the module docstring).
    """

    def __init__(self, spec: BackboneSpec, net: nn.Module, frozen: bool) -> None:
        super().__init__()
        self.spec = spec
        self.frozen = frozen
        if frozen:
            _freeze_batchnorm(net)
            freeze(net)
        self.net = net
        self.train(not frozen)

    def train(self, mode: bool = True) -> BackboneTaps:
        """Frozen: stay in eval mode. Fine-tuned: follow ``mode``, BatchNorm always in eval."""
        super().train(mode and not self.frozen)
        for m in self.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        return self

    def forward(self, images: Tensor) -> Tensor:
        """B×3×H×W ImageNet-normalised images → B×C×h×w features on the stride-8 grid."""
        opt.check_images(images, MIN_INPUT, f"{self.spec.name}'s stride-32 tap")
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            taps = self.spec.forward_taps(self.net, images)
            grid = taps[0].shape[-2:]
            resized = [taps[0]] + [
                F.interpolate(t, size=grid, mode="bilinear", align_corners=False)
                for t in taps[1:]
            ]
            return torch.cat([rms_normalise(t) for t in resized], dim=1)


class EncDecHead(BaselineHead):
    """The baseline's decoder (`BaselineHead`) on ``in_channels`` input channels: identical
    layers, initialisation and forward computation (kept as a name for the family)."""

    def __init__(self, in_channels: int, **options: Any) -> None:
        super().__init__(in_channels=in_channels, **options)


def decoder_parameters(in_channels: int) -> int:
    """Trainable parameters of `EncDecHead` for C input channels (1280 → 1,622,401)."""
    return 9 * in_channels * HEAD_CHANNELS + HEAD_CHANNELS + 4 * (9 * 128 * 32 + 32) + 129


@register("encdec")
class EncDec(EncoderHead):
    """A torchvision backbone's taps (`encode`) + the baseline's decoder (`decode`).

    Options: ``backbone`` ('resnet18' | 'resnet50' | 'densenet161' | 'efficientnet_b0' |
    'convnext_tiny'),
    ``weights`` ('imagenet' | 'none' | path of a backbone state dict), ``backbone_weights``
    (overrides ``weights`` for the backbone; None: use ``weights``), ``activation``
    ('relu' | 'sigmoid', from the loss, as for the baseline), ``finetune`` (False: frozen
    encoder, feature-cache compatible; True: the encoder trains, BatchNorm in eval mode),
    ``input_size`` (default 300×400; forward accepts any size ≥ 32×32), the baseline head's
    ``dropout``, ``blur_size``, ``blur_sigma``, ``blur_padding``, ``seed`` (the head's
    initialisation; 'none' backbone weights always use `BACKBONE_SEED`), ``encoder`` (False:
    decoder only, for training and predicting from a feature cache; refused with
    ``finetune=True``). See the module docstring for the taps, grids and weights.
    """

    def __init__(
        self,
        backbone: str = "resnet50",
        weights: str = "imagenet",
        backbone_weights: str | None = None,
        activation: str = "relu",
        finetune: bool = False,
        input_size: tuple[int, int] = (300, 400),
        dropout: float = 0.25,
        blur_size: int = 5,
        blur_sigma: float = 1.0,
        blur_padding: str = "replicate",
        seed: int = 0,
        encoder: bool = True,
    ) -> None:
        super().__init__()
        self.spec = backbone_spec(backbone)
        self.input_size = opt.size_pair("input_size", input_size)
        if min(self.input_size) < MIN_INPUT:
            raise ConfigError(
                f"input_size must be at least {MIN_INPUT}×{MIN_INPUT} pixels, got {input_size}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        for name, flag in (("finetune", finetune), ("encoder", encoder)):
            if not isinstance(flag, bool):
                raise ConfigError(f"{name} must be True or False, got {flag!r}")
        if finetune and not encoder:
            raise ConfigError(
                "finetune=True trains the encoder, so it cannot be built without it "
                "(encoder=False is for a feature cache of a frozen encoder): train it from "
                "images, without a feature cache"
            )
        self.finetune = finetune
        self.backbone_weights = effective_weights(weights, backbone_weights)
        head_options = dict(activation=activation, dropout=dropout, blur_size=blur_size,
                            blur_sigma=blur_sigma, blur_padding=blur_padding)
        # Validate the cheap options before loading (possibly downloading) weights.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.head = EncDecHead(self.spec.feature_channels, **head_options)
        self.backbone = (
            BackboneTaps(self.spec,
                         load_backbone(self.spec.name, self.backbone_weights, BACKBONE_SEED),
                         frozen=not finetune)
            if encoder else None
        )
        self.weights_tag = describe_backbone_weights(self.spec.name, self.backbone_weights)
        self.config: dict[str, Any] = dict(
            backbone=self.spec.name, weights=str(weights),
            backbone_weights=None if backbone_weights is None else str(backbone_weights),
            finetune=finetune, input_size=self.input_size, seed=seed, **head_options,
        )

    @staticmethod
    def cache_identity(weights: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """What identifies this model's frozen features for a feature-cache key (used by
        `salloss.training.features.cache_key`): the backbone name, its effective weights
        (``backbone_weights`` or ``weights``) and, for 'imagenet', torchvision's weights enum.
        ``options`` are the model options of the run (defaults for missing keys)."""
        backbone = backbone_spec(options.get("backbone", "resnet50")).name
        chosen = effective_weights(weights, options.get("backbone_weights"))
        return {"backbone": backbone, "weights": chosen,
                "version": weights_version(backbone, chosen), "taps": TAPS_VERSION}

    @property
    def activation(self) -> str:
        """The output activation ('relu' or 'sigmoid')."""
        return self.head.activation

    @property
    def feature_channels(self) -> int:
        """C of `encode`'s output (the decoder's input channels)."""
        return self.spec.feature_channels

    model_name = "encdec model"  # in EncoderHead.encode's error
    # encode (B×C×h×w features, no graph when frozen), decode, forward: EncoderHead

    def feature_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int, int]:
        """``(C, h, w)`` that `encode` returns for ``input_size`` (default: ``input_size``)."""
        return (self.feature_channels,
                *feature_grid(self.spec.name, input_size or self.input_size))

    def output_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int]:
        """The prediction's (H, W): the input size."""
        return opt.size_pair("input_size", input_size or self.input_size)

    def param_counts(self) -> dict[str, int]:
        """Trainable parameters of the encoder and the decoder."""
        return {
            "encoder": sum(p.numel() for p in (self.backbone.parameters() if self.backbone
                                               is not None else ()) if p.requires_grad),
            "decoder": sum(p.numel() for p in self.head.parameters() if p.requires_grad),
        }


__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "BackboneTaps",
    "BackboneWeightsError",
    "EncDec",
    "EncDecHead",
    "FrozenBatchNorm",
    "decoder_parameters",
    "describe_backbone_weights",
    "feature_grid",
    "imagenet_cache_path",
    "load_backbone",
]
