"""The paper's baseline (Bruckert et al., Fig. 1): frozen VGG-16 taps + a small trainable head.

Split in two so the trainer can cache the frozen part:

- `Baseline.encode(images) -> B×1280×h×w`: VGG-16 conv3-pool (256 ch, stride 8), conv4-pool
  (512 ch) and conv5_3 after its ReLU (512 ch), the last two bilinearly resized to the
  conv3-pool grid and concatenated. Always in eval mode, never builds a graph.
- `Baseline.decode(features, out_size) -> B×1×H×W`: dropout 0.25 → conv 3×3 1280→128 + ReLU →
  ASPP (four 3×3 convs 128→32, dilation 1, 3, 6, 12, + ReLU, concatenated to 128) → conv 1×1
  128→1 → fixed 5×5 Gaussian (σ = 1, a buffer, not trained) → activation → bilinear upsampling
  to ``out_size``.

``forward(images) == decode(encode(images), images.shape[-2:])``. Trainable parameters:
1,474,688 + 4 × 36,896 + 129 = 1,622,401.

Stride-8 grid: torchvision's max-pools floor odd sizes, so a 300×400 (H×W) input gives a
37×50 grid (300 → 150 → 75 → 37; a ceil-mode / Keras-'same' pool would give 38). The grid is
``(H // 2 // 2 // 2, W // 2 // 2 // 2)``; see `feature_shape`.

Decisions (SPEC.md §3): taps are resized with ``align_corners=False``; the Gaussian pads by
replicating the border (``blur_padding='replicate'``), so it smooths a map without creating
spatial structure out of a constant: a spatially constant logit map — the 1×1 conv's bias
alone, at initialisation — stays constant. ``blur_padding='zeros'`` is a Keras 'same' conv
layer's zero padding; it blurs the bias into a frame (a logit(0.1) bias becomes ≈ −1.1 in the
corners and −1.5 on the edges vs −2.2 inside: P ≈ 0.25 at the border vs 0.10 in the centre, an
inverted centre bias the sigmoid-headed losses then train against) and is kept only to
reproduce that behaviour. The head's convs use Keras' default initialisation
(Glorot-uniform weights, zero biases), except that the final 1×1 conv's weights are made
non-negative (|Glorot|) so a ReLU output never starts dead (see `BaselineHead`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from salloss.errors import ConfigError
from salloss.models import options as opt
from salloss.models.registry import register
from salloss.models.split import EncoderHead
from salloss.models.vgg import (
    BACKBONE_SEED,
    CONV5_3_RELU,
    POOL_INDICES,
    describe_weights,
    freeze,
    vgg16_features,
)

# torchvision vgg16().features indices of the three taps.
TAP_INDICES = (POOL_INDICES[2], POOL_INDICES[3], CONV5_3_RELU)  # conv3-pool, conv4-pool, conv5_3
TAP_CHANNELS = (256, 512, 512)
FEATURE_CHANNELS = sum(TAP_CHANNELS)  # 1280
FEATURE_STRIDE = 8
ASPP_DILATIONS = (1, 3, 6, 12)
BLUR_PADDINGS = ("replicate", "zeros")


def feature_grid(input_size: tuple[int, int]) -> tuple[int, int]:
    """Stride-8 grid ``(h, w)`` of the conv3-pool tap for an ``(H, W)`` input (floor pooling)."""
    h, w = opt.size_pair("input_size", input_size)
    for _ in range(3):
        h, w = h // 2, w // 2
    return h, w


def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> Tensor:
    """A ``size×size`` isotropic Gaussian (float32) that sums to 1, centred on the middle pixel."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    k = torch.outer(g, g)
    return (k / k.sum()).to(torch.float32)


class FrozenVGGTaps(nn.Module):
    """VGG-16 up to conv5_3+ReLU, frozen; returns the three taps stacked on the stride-8 grid.

    ``train()`` never takes it out of eval mode (there is no dropout or batch-norm in VGG-16
    features today, but a frozen extractor must not change behaviour with the head's mode).
    """

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.features = freeze(features[: CONV5_3_RELU + 1])

    def train(self, mode: bool = True) -> FrozenVGGTaps:
        """Stay in eval mode whatever ``mode`` is asked for."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """B×3×H×W ImageNet-normalised images → B×1280×(H//8)×(W//8) features (no graph)."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"expected a B×3×H×W batch of ImageNet-normalised RGB images, got shape "
                f"{tuple(images.shape)}"
            )
        if min(images.shape[-2:]) < 16:
            raise ValueError(
                f"images of {tuple(images.shape[-2:])} px are too small for VGG-16's four "
                "pooling steps before conv5_3; use at least 16×16"
            )
        taps: list[Tensor] = []
        x = images
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in TAP_INDICES:
                taps.append(x)
        grid = taps[0].shape[-2:]
        resized = [taps[0]] + [
            F.interpolate(t, size=grid, mode="bilinear", align_corners=False) for t in taps[1:]
        ]
        return torch.cat(resized, dim=1)


# Initial output of a sigmoid head (see BaselineHead): about the mean of a max-normalised density.
SIGMOID_PRIOR = 0.1


class BaselineHead(nn.Module):
    """The trainable decoder: ``in_channels``-channel features → one saliency map (module
    docstring). 1280 = VGG-16's taps; the `encdec` family uses the same head on other encoders'
    taps, so only its first conv's input width differs."""

    def __init__(
        self,
        activation: str = "relu",
        dropout: float = 0.25,
        blur_size: int = 5,
        blur_sigma: float = 1.0,
        blur_padding: str = "replicate",
        in_channels: int = FEATURE_CHANNELS,
    ) -> None:
        super().__init__()
        self.in_channels = opt.positive_int("in_channels", in_channels)
        self.activation = opt.activation(activation)
        self.blur_padding = opt.choice("blur_padding", blur_padding, BLUR_PADDINGS)
        blur_size = opt.positive_int("blur_size", blur_size)
        if blur_size % 2 == 0:
            raise ConfigError(f"blur_size must be odd (centred kernel), got {blur_size}")
        self.dropout = nn.Dropout(opt.fraction("dropout", dropout))
        self.conv = nn.Conv2d(self.in_channels, 128, 3, padding=1)
        self.aspp = nn.ModuleList(
            nn.Conv2d(128, 32, 3, padding=d, dilation=d) for d in ASPP_DILATIONS
        )
        self.out = nn.Conv2d(32 * len(ASPP_DILATIONS), 1, 1)
        kernel = gaussian_kernel(blur_size, opt.positive_real("blur_sigma", blur_sigma))
        # A buffer, not a parameter: never trained, follows .to(device/dtype), and is rebuilt
        # from (blur_size, blur_sigma) rather than stored in checkpoints.
        self.register_buffer("gaussian", kernel[None, None], persistent=False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        # The 1×1 output conv sees non-negative (post-ReLU) inputs, so with symmetric weights
        # its logits share one sign over the whole map: for about half of the seeds a ReLU
        # output would start dead (all zeros, no gradient). Non-negative weights keep it alive.
        with torch.no_grad():
            self.out.weight.abs_()
            if self.activation == "sigmoid":
                # Prior-probability init (Lin et al. 2017, the focal-loss paper): start the map
                # at P ≈ SIGMOID_PRIOR instead of 0.5 everywhere — saliency targets are mostly
                # near 0, and from 0.5 the BCE family spends its first epochs lowering the
                # background rather than learning where people look.
                self.out.bias.fill_(math.log(SIGMOID_PRIOR / (1 - SIGMOID_PRIOR)))

    def blur(self, x: Tensor) -> Tensor:
        """Convolve B×1×h×w maps with the fixed Gaussian ('same' size, ``blur_padding``).

        With the default 'replicate' padding a constant map comes out unchanged (the kernel
        sums to 1), so the blur adds no spatial structure of its own."""
        pad = self.gaussian.shape[-1] // 2
        if self.blur_padding == "replicate":
            x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
            pad = 0
        return F.conv2d(x, self.gaussian.to(x.dtype), padding=pad)

    def forward(self, features: Tensor, out_size: tuple[int, int]) -> Tensor:
        """B×C×h×w features → B×1×out_size maps (activation applied before upsampling)."""
        if features.ndim != 4 or features.shape[1] != self.in_channels:
            raise ValueError(
                f"expected B×{self.in_channels}×h×w features (the encoder's taps), got shape "
                f"{tuple(features.shape)}"
            )
        x = torch.relu(self.conv(self.dropout(features)))
        x = torch.cat([torch.relu(branch(x)) for branch in self.aspp], dim=1)
        x = opt.ACTIVATIONS[self.activation](self.blur(self.out(x)))
        size = opt.size_pair("out_size", tuple(out_size))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@register("baseline")
class Baseline(EncoderHead):
    """The paper's baseline: frozen VGG-16 encoder (`encode`) + trainable head (`decode`).

    Options: ``weights`` ('imagenet' | 'none' | path to a VGG-16 .pth), ``activation``
    ('relu' | 'sigmoid'), ``input_size`` (H, W) the pipeline resizes images to (default the
    paper's 300×400; forward accepts any size ≥ 16×16), ``dropout``, ``blur_size``,
    ``blur_sigma``, ``blur_padding``, ``seed`` (the head's initialisation; a random-init
    backbone, ``weights='none'``, always uses `BACKBONE_SEED`), ``encoder`` (False: build the
    head only, for training and predicting from a feature cache — the frozen VGG-16 is neither
    built nor loaded, ~1 s per job, and `encode` refuses). Save ``model.head.state_dict()`` to
    keep only what is trained.
    """

    def __init__(
        self,
        weights: str = "imagenet",
        activation: str = "relu",
        input_size: tuple[int, int] = (300, 400),
        dropout: float = 0.25,
        blur_size: int = 5,
        blur_sigma: float = 1.0,
        blur_padding: str = "replicate",
        seed: int = 0,
        encoder: bool = True,
    ) -> None:
        super().__init__()
        self.input_size = opt.size_pair("input_size", input_size)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        head_options = dict(
            activation=activation,
            dropout=dropout,
            blur_size=blur_size,
            blur_sigma=blur_sigma,
            blur_padding=blur_padding,
        )
        # Validate the cheap options before loading (possibly downloading) weights.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.head = BaselineHead(**head_options)
        if not isinstance(encoder, bool):
            raise ConfigError(f"encoder must be True or False, got {encoder!r}")
        self.backbone = (FrozenVGGTaps(vgg16_features(weights, seed=BACKBONE_SEED)) if encoder
                         else None)
        self.weights_tag = describe_weights(weights)
        self.config: dict[str, Any] = dict(
            weights=str(weights), input_size=self.input_size, seed=seed, **head_options
        )

    @property
    def activation(self) -> str:
        """The output activation ('relu' or 'sigmoid')."""
        return self.head.activation

    def train(self, mode: bool = True) -> Baseline:
        """Switch the head's mode; the frozen VGG stays in eval mode."""
        super().train(mode)
        if self.backbone is not None:
            self.backbone.eval()
        return self

    model_name = "baseline"  # in EncoderHead.encode's error
    # encode (B×3×H×W → B×1280×(H//8)×(W//8) frozen features), decode, forward: EncoderHead

    def feature_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int, int]:
        """``(1280, h, w)`` that `encode` returns for ``input_size`` (default: ``input_size``)."""
        return (FEATURE_CHANNELS, *feature_grid(input_size or self.input_size))

    def output_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int]:
        """The prediction's (H, W): the input size."""
        return opt.size_pair("input_size", input_size or self.input_size)
