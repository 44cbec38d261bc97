"""Saliency architectures of the study and their registry.

``build(name, **options)`` returns a ``torch.nn.Module`` whose ``forward(images)`` maps a
B×3×H×W batch of ImageNet-normalised RGB images to B×1×H'×W' saliency maps:

- ``'baseline'`` — the paper's frozen-VGG-16 + ASPP head (`Baseline`), 1,622,401 trainable
  parameters; H'×W' = H×W.
- ``'sam_vgg'`` — SAM-VGG (`SamVGG`), 51,835,841 trainable parameters; H'×W' = 2H×2W for the
  default ×16 upsampling of the stride-8 map.
- ``'encdec'`` — a torchvision backbone (``backbone='resnet50'``, ``'densenet161'``,
  ``'efficientnet_b0'``, ``'convnext_tiny'``; taps at strides 8/16/32) + the baseline's decoder
  (`EncDec`), frozen (``finetune=False``, feature-cache compatible) or fine-tuned; H'×W' = H×W.

Add an architecture with the `register` decorator (see `salloss.models.registry`).
"""

from salloss.models.baseline import Baseline, BaselineHead, FrozenVGGTaps
from salloss.models.encdec import EncDec
from salloss.models.registry import MODELS, available, build, count_trainable, register
from salloss.models.sam import SamVGG

__all__ = [
    "MODELS",
    "Baseline",
    "BaselineHead",
    "EncDec",
    "FrozenVGGTaps",
    "SamVGG",
    "available",
    "build",
    "count_trainable",
    "register",
]
