"""Models split into an encoder (``backbone``) and a trainable head, so the trainer can cache a
frozen encoder's output (`salloss.training.features`) and train the head alone."""

from __future__ import annotations

from torch import Tensor, nn

from salloss.errors import ConfigError


class EncoderHead(nn.Module):
    """``forward(images) == decode(encode(images), images.shape[-2:])``.

    Subclasses set ``self.backbone`` (None when built without it, ``encoder=False``) and
    ``self.head`` (called as ``head(features, out_size)``); ``model_name`` names the model in
    errors.
    """

    model_name = "model"
    backbone: nn.Module | None
    head: nn.Module

    def encode(self, images: Tensor) -> Tensor:
        """B×3×H×W ImageNet-normalised images → the encoder's B×C×h×w features."""
        if self.backbone is None:
            raise ConfigError(f"this {self.model_name} was built without its encoder "
                              "(encoder=False, for a feature cache): decode cached features, "
                              "or build it with encoder=True")
        return self.backbone(images)

    def decode(self, features: Tensor, out_size: tuple[int, int]) -> Tensor:
        """Features from `encode` (or the cache) → B×1×out_size saliency maps."""
        return self.head(features, out_size)

    def forward(self, images: Tensor) -> Tensor:
        """B×3×H×W images → B×1×H×W saliency maps (same size as the input)."""
        return self.decode(self.encode(images), tuple(images.shape[-2:]))
