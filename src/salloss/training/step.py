"""One training or evaluation step on a batch — shared by the trainer and the benchmark, so the
benchmark times exactly what training runs.

CUDA options: ``amp`` ('bf16' | 'fp16' | 'off') autocasts the MODEL's forward pass; the loss
always runs in float32 outside autocast (several terms take logs of small numbers, and autocast
refuses some of them). 'fp16' scales the loss with a `GradScaler`, which skips steps whose
gradients overflow. ``channels_last`` keeps activations NHWC (faster convolutions on tensor
cores).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from salloss.errors import SallossError
from salloss.training import modelio

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class TrainingDiverged(SallossError, RuntimeError):  # noqa: N818 - reads better at call sites
    """The loss or the weights became NaN/inf; nothing was saved over the last good checkpoint."""


class Stepper:
    """Forward, loss (with the NaN guard) and optimizer update for batches from `ArraySource`.

    ``cached``: batches hold the backbone's features (``x`` = B×C×h×w) and only ``decode`` runs;
    otherwise ``x`` is B×H×W×3 uint8 images. ``note()`` is appended to divergence messages
    (the trainer says which checkpoint is kept). ``micro_batch``: forward and backward this
    many images at a time and accumulate the gradients before the one update of the batch
    (every loss term is a mean over images, so the update is the batch's, up to rounding and
    the dropout draws); None: the whole batch at once.
    """

    def __init__(self, model: nn.Module, loss_fn: Any, optimizer: torch.optim.Optimizer | None,
                 *, device: torch.device, out_size: tuple[int, int], cached: bool,
                 amp: str = "off", channels_last: bool = False, micro_batch: int | None = None,
                 note: Callable[[], str] = lambda: "") -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.device, self.out_size, self.cached = device, tuple(out_size), cached
        self.amp, self.channels_last, self.note = AMP_DTYPES.get(amp), channels_last, note
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")
        self.skipped_steps = 0  # fp16 updates the scaler skipped (inf/NaN gradients)
        self.micro_batch = micro_batch
        self.params = [p for p in model.parameters() if p.requires_grad]
        learned = getattr(loss_fn, "learned_parameters", None)
        self.params += list(learned()) if learned is not None else []  # learned loss weights

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        """Model output (float32, B×1×H×W)."""
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32,
                            enabled=self.amp is not None):
            if self.cached:
                x = batch["x"].float().contiguous(memory_format=fmt)
                pred = self.model.decode(x, self.out_size)  # type: ignore[operator]
            else:
                pred = self.model(modelio.to_input(batch["x"], self.channels_last))
        return pred.float()

    def loss(self, batch: dict[str, Tensor], where: str) -> tuple[Tensor, dict[str, Tensor]]:
        """Loss and (detached) raw term values; `TrainingDiverged` naming the term if non-finite."""
        pred = self.predict(batch)
        pyramid = [batch[f"vgg{j}"] for j in range(5)] if "vgg0" in batch else None
        total, parts = self.loss_fn.breakdown(
            pred, batch["density"].unsqueeze(1), batch["fixations"].unsqueeze(1).float(),
            density_features=pyramid,
        )
        if not math.isfinite(float(total.detach())):
            values = {label: float(v.detach()) for label, v in parts.items()}
            bad = [f"{label} = {v} (coefficient {self.loss_fn.terms[label]:g})"
                   for label, v in values.items() if not math.isfinite(v)]
            culprit = (f"offending term(s): {', '.join(bad)}" if bad else
                       f"every term is finite but the weighted sum is {float(total.detach())}")
            if not bool(torch.isfinite(pred).all()):
                culprit += " (the model output itself contains NaN/inf)"
            raise TrainingDiverged(
                f"loss {self.loss_fn.spec!r} became non-finite at {where}: {culprit}. "
                f"{self.note()}"
            )
        return total, {label: value.detach() for label, value in parts.items()}

    def train_batch(self, batch: dict[str, Tensor], where: str) -> tuple[float, dict[str, float]]:
        """One optimizer update; returns the batch loss and raw term values as floats.

        Raises `TrainingDiverged` if the loss, or the weights after the update, are NaN/inf.
        """
        assert self.optimizer is not None
        self.optimizer.zero_grad(set_to_none=True)
        n = int(batch["density"].shape[0])
        chunk = self.micro_batch or n
        total: Tensor | float = 0.0
        parts: dict[str, Tensor] = {}
        for start in range(0, n, chunk):  # gradient accumulation: the same update, less memory
            piece = {k: v[start:start + chunk] for k, v in batch.items()}
            weight = int(piece["density"].shape[0]) / n  # every term is a mean over images
            value, values = self.loss(piece, where)
            self.scaler.scale(value * weight).backward()
            total = total + value.detach() * weight
            for label, v in values.items():
                parts[label] = parts.get(label, 0.0) + v * weight
        scale = self.scaler.get_scale() if self.scaler.is_enabled() else None
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if scale is not None and self.scaler.get_scale() < scale:
            self.skipped_steps += 1  # fp16 overflow: GradScaler skipped this update
        if not bool(torch.stack([torch.isfinite(p).all() for p in self.params]).all()):
            raise TrainingDiverged(
                f"weights became NaN/inf after the update at {where} (loss "
                f"{float(total.detach()):.6g}; try a lower lr). {self.note()}")
        return float(total.detach()), {k: float(v) for k, v in parts.items()}

    @torch.no_grad()
    def eval_batch(self, batch: dict[str, Tensor], where: str) -> tuple[float, dict[str, float]]:
        """Loss and raw term values without gradients (call with the model in eval mode)."""
        total, parts = self.loss(batch, where)
        return float(total), {k: float(v) for k, v in parts.items()}
