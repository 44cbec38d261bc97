"""SAM-VGG (Cornia et al., "Predicting Human Eye Fixations via an LSTM-based Saliency Attentive
Model", TIP 2018), a PyTorch port of the released Keras model ``sam_vgg`` (SPEC.md §3).

Pipeline for a 240×320 input (all sizes are parameters):

1. Dilated VGG-16 (trainable): torchvision's 13 convs; pool1, pool2 as usual; pool3 2×2 stride 2
   and pool4 2×2 STRIDE 1, both with Keras 'same' padding; conv5_1–5_3 at dilation 2; no pool5
   → 512×30×40 (stride 8).
2. Attentive ConvLSTM (`salloss.models.convlstm`), T = 4 → 512×30×40.
3. concat(·, 16 learned priors) → conv 5×5 dilation 4, 512 ch, ReLU; again with a second set of
   16 priors (`salloss.models.priors`).
4. conv 1×1 → 1 channel, ReLU (``activation='sigmoid'`` for distribution-based losses).
5. bilinear ×16 → 480×640 (or to ``output_size``).

Trainable parameters, Keras bookkeeping: VGG-16 convs 14,714,688 + Attentive ConvLSTM
23,602,688 + prior convs 2 × 6,758,912 + final conv 513 + priors 2 × 64 = 51,835,841
(`SamVGG.param_counts`).

``keras_backend`` chooses the 'same'-pooling and upsampling semantics
(`salloss.models.keras_ops`): 'tensorflow' (default, SPEC.md: pools pad right/bottom) or
'theano' (what the released code ran on: pools pad top/left, Theano's bilinear kernel).

Deviations from the released code, all imposed by the project's contract: inputs are
ImageNet-normalised RGB (torchvision weights) instead of Caffe-style BGR minus the mean, and
the prior layers render at the feature map's size rather than from a separate input tensor
(the same maps). Prior convs and the final conv use Keras' default initialisation
(Glorot-uniform, zero bias).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import torch
from torch import Tensor, nn

from salloss.errors import ConfigError
from salloss.models import options as opt
from salloss.models.convlstm import AttentiveConvLSTM
from salloss.models.keras_ops import BACKENDS, SameMaxPool2x2, upsample
from salloss.models.priors import LearnedPriors
from salloss.models.registry import register
from salloss.models.vgg import BACKBONE_SEED, POOL_INDICES, describe_weights, vgg16_features

CONV5_INDICES = (24, 26, 28)  # conv5_1..conv5_3 in torchvision's vgg16().features
FEATURE_CHANNELS = 512
PRIOR_CONV_KERNEL, PRIOR_CONV_DILATION = 5, 4
MIN_INPUT = 8  # two floor pools and a ceil pool leave at least 1×1


def dilated_vgg16(
    weights: str = "imagenet", seed: int = 0, keras_backend: str = "tensorflow"
) -> nn.Sequential:
    """SAM's dilated VGG-16 (stride 8, 512 ch), keeping torchvision's layer indices.

    Indices are kept (``features.N.weight``) so a VGG-16 state dict loads unchanged.
    """
    features = vgg16_features(weights, seed=seed)
    layers = OrderedDict(
        (name, module) for name, module in features.named_children() if int(name) < POOL_INDICES[4]
    )
    layers[str(POOL_INDICES[2])] = SameMaxPool2x2(2, keras_backend)
    layers[str(POOL_INDICES[3])] = SameMaxPool2x2(1, keras_backend)
    for index in CONV5_INDICES:
        conv = layers[str(index)]
        assert isinstance(conv, nn.Conv2d)
        conv.dilation, conv.padding = (2, 2), (2, 2)
    return nn.Sequential(layers)


def feature_grid(input_size: tuple[int, int]) -> tuple[int, int]:
    """Feature-map ``(h, w)`` for an ``(H, W)`` input: two floor pools, then a 'same' (ceil) one."""
    h, w = opt.size_pair("input_size", input_size)
    return math.ceil(h // 2 // 2 / 2), math.ceil(w // 2 // 2 / 2)


def _keras_conv(cin: int, cout: int, kernel: int, dilation: int = 1) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, kernel, padding=dilation * (kernel // 2), dilation=dilation)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


@register("sam_vgg")
class SamVGG(nn.Module):
    """SAM-VGG; see the module docstring. ``forward(images) -> B×1×H'×W'``.

    Options: ``weights`` ('imagenet' | 'none' | path; VGG-16 part only), ``activation``
    ('relu' | 'sigmoid'), ``input_size`` (H, W) the pipeline feeds (default 240×320),
    ``upsampling`` (default 16), ``output_size`` (H', W'; overrides the ratio), ``timesteps``
    (4), ``n_gaussians`` (16 per prior layer), ``keras_backend`` ('tensorflow' | 'theano'),
    ``seed`` (initialisation of the trainable layers; a random-init backbone, ``weights='none'``,
    always starts from `BACKBONE_SEED`: it stands in for the same pretrained weights).
    """

    def __init__(
        self,
        weights: str = "imagenet",
        activation: str = "relu",
        input_size: tuple[int, int] = (240, 320),
        upsampling: int = 16,
        output_size: tuple[int, int] | None = None,
        timesteps: int = 4,
        n_gaussians: int = 16,
        keras_backend: str = "tensorflow",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.activation = opt.activation(activation)
        self.input_size = opt.size_pair("input_size", input_size)
        if min(self.input_size) < MIN_INPUT:
            raise ConfigError(
                f"input_size must be at least {MIN_INPUT}×{MIN_INPUT} pixels, got {input_size}"
            )
        self.upsampling = opt.positive_int("upsampling", upsampling)
        self.output_size = (
            None if output_size is None else opt.size_pair("output_size", output_size)
        )
        self.keras_backend = opt.choice("keras_backend", keras_backend, BACKENDS)
        if self.output_size is not None and self.keras_backend == "theano":
            raise ConfigError(
                "output_size needs keras_backend='tensorflow' (Theano's upsampling only "
                "multiplies by an integer ratio); use upsampling=<ratio> instead"
            )
        timesteps = opt.positive_int("timesteps", timesteps)
        n = opt.positive_int("n_gaussians", n_gaussians)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        self.backbone = dilated_vgg16(weights, seed=BACKBONE_SEED,
                                      keras_backend=self.keras_backend)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.convlstm = AttentiveConvLSTM(
                FEATURE_CHANNELS, FEATURE_CHANNELS, FEATURE_CHANNELS, 3, timesteps
            )
            self.priors1 = LearnedPriors(n)
            self.prior_conv1 = _keras_conv(
                FEATURE_CHANNELS + n, FEATURE_CHANNELS, PRIOR_CONV_KERNEL, PRIOR_CONV_DILATION
            )
            self.priors2 = LearnedPriors(n)
            self.prior_conv2 = _keras_conv(
                FEATURE_CHANNELS + n, FEATURE_CHANNELS, PRIOR_CONV_KERNEL, PRIOR_CONV_DILATION
            )
            self.final = _keras_conv(FEATURE_CHANNELS, 1, 1)
        self.weights_tag = describe_weights(weights)
        self.last_attention: Tensor | None = None
        self.config: dict[str, Any] = dict(
            weights=str(weights),
            activation=self.activation,
            input_size=self.input_size,
            upsampling=self.upsampling,
            output_size=self.output_size,
            timesteps=timesteps,
            n_gaussians=n,
            keras_backend=self.keras_backend,
            seed=seed,
        )

    def forward(
        self, images: Tensor, return_attention: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """B×3×H×W ImageNet-normalised images → B×1×H'×W' maps.

        With ``return_attention=True`` also returns the ConvLSTM's attention maps
        (B×T×1×h×w, float32, each summing to 1); the last ones are kept in ``last_attention``.
        """
        opt.check_images(images, MIN_INPUT, "SAM-VGG")
        x = self.backbone(images)
        h, attention = self.convlstm(x)
        b, _, height, width = h.shape
        y = h
        for priors, conv in ((self.priors1, self.prior_conv1), (self.priors2, self.prior_conv2)):
            maps = priors(height, width, dtype=y.dtype).expand(b, -1, -1, -1)
            y = torch.relu(conv(torch.cat([y, maps], dim=1)))
        y = opt.ACTIVATIONS[self.activation](self.final(y))
        out = upsample(y, self.upsampling, self.output_size, self.keras_backend)
        self.last_attention = attention.detach()
        return (out, attention) if return_attention else out

    def feature_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int, int]:
        """``(512, h, w)`` of the dilated VGG's output for ``input_size`` (default: own)."""
        return (FEATURE_CHANNELS, *feature_grid(input_size or self.input_size))

    def output_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int]:
        """The prediction's (H', W') for ``input_size``: ``output_size`` or features × ratio."""
        if self.output_size is not None:
            return self.output_size
        _, h, w = self.feature_shape(input_size)
        return h * self.upsampling, w * self.upsampling

    def param_counts(self) -> dict[str, int]:
        """Trainable parameters per block, named as in SPEC.md's Keras bookkeeping."""
        blocks = {
            "vgg16": self.backbone,
            "attentive_convlstm": self.convlstm,
            "prior_conv1": self.prior_conv1,
            "prior_conv2": self.prior_conv2,
            "final_conv": self.final,
            "priors1": self.priors1,
            "priors2": self.priors2,
        }
        return {
            name: sum(p.numel() for p in block.parameters() if p.requires_grad)
            for name, block in blocks.items()
        }
