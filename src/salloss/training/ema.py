"""Exponential moving average (Polyak averaging) of the trainable weights.

With ``ema_decay`` β set, after every optimizer step ``ema ← β·ema + (1 − β)·weights``, and
validation, early stopping and ``model.pt`` use the AVERAGED weights. On a small dataset the raw
weights' validation loss jumps from epoch to epoch by more than it improves, so patience-based
early stopping fires on noise; the average follows the same trajectory without the jitter (it
averages ~1/(1 − β) steps) and usually generalises a little better. Off by default (the paper
trains plain SGD); the demo preset turns it on. The average lives in the checkpoint, so a
resumed run continues it exactly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


class WeightAverage:
    """The running average of ``model``'s trainable parameters (float32 copies)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        """Move the average towards the current weights (call after each optimizer step)."""
        for avg, p in zip(self.shadow, self.params, strict=True):
            avg.lerp_(p.detach(), 1.0 - self.decay)

    @contextlib.contextmanager
    @torch.no_grad()
    def applied(self) -> Iterator[None]:
        """Inside the block the model holds the averaged weights; the raw ones come back after."""
        raw = [p.detach().clone() for p in self.params]
        for p, avg in zip(self.params, self.shadow, strict=True):
            p.copy_(avg)
        try:
            yield
        finally:
            for p, r in zip(self.params, raw, strict=True):
                p.copy_(r)

    def state(self) -> dict[str, torch.Tensor]:
        """The averaged weights by parameter name (for the checkpoint)."""
        return {n: t.detach().clone() for n, t in zip(self.names, self.shadow, strict=True)}

    def load_state(self, state: dict[str, torch.Tensor], source: str) -> None:
        """Restore `state`; raises ValueError naming ``source`` if it does not fit."""
        if sorted(state) != sorted(self.names):
            raise ValueError(f"{source}: the weight average does not fit this model")
        with torch.no_grad():
            for name, avg in zip(self.names, self.shadow, strict=True):
                avg.copy_(state[name])
