"""`TrainConfig`: every setting of one training run, validated before anything starts.

Defaults are the paper's setup (SPEC.md §4): SGD, lr 1e-3, momentum 0.9 (a decision: the paper
does not give it), batch 60, early stopping on the validation loss. ``optimizer='rmsprop'`` is
SAM's own setup (lr 1e-4 when ``lr`` is left unset; Keras-1 RMSprop: rho 0.9, eps 1e-8);
``'adam'`` / ``'adamw'`` are PyTorch's Adam / AdamW (betas 0.9, 0.999; lr 1e-3 by default;
AdamW's decoupled ``weight_decay``, Adam's L2 ``weight_decay``).

A config is a frozen dataclass of plain values, so it round-trips through JSON/YAML and is stored
in every checkpoint: a run directory can only be resumed with the config that started it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from salloss.errors import ConfigError

# Optimizer name → its default learning rate (used when `lr` is None).
OPTIMIZERS: dict[str, float] = {"sgd": 1e-3, "rmsprop": 1e-4, "adam": 1e-3, "adamw": 1e-3}
AMP_MODES = ("off", "bf16", "fp16")
PRELOAD_MODES = ("auto", "yes", "no")
FINAL_CHECKPOINTS = ("slim", "full")
# Settings that choose hardware or disk use, not results: a run may resume with other values.
RUNTIME_KEYS = frozenset({"device", "preload", "num_workers", "checkpoint_every_s",
                          "final_checkpoint"})


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Sizes are (height, width) in pixels; ``lr`` None → the optimizer's
    default, ``input_size`` None → the architecture's default.

    ``loss_weights_lr``: learning rate of the learned log-variances of a ``learned(...)`` loss
    spec (a second parameter group of the same optimizer, no weight decay); None → ``lr``.
    Ignored by specs without a learned group.

    Early stopping ends the run after ``patience`` epochs without a validation improvement
    larger than ``min_delta`` + ``min_rel_delta`` × |best validation loss| (the relative part
    makes one tolerance fit every loss, whatever its scale: MSE ~0.01, KLD ~0.5, LC 1 ~ −3).
    ``lr_patience`` (None: a constant learning rate, the paper's setup) multiplies every
    learning rate by ``lr_factor`` after that many epochs without improvement
    (reduce-on-plateau); with ``patience`` > ``lr_patience`` a run then stops only once its
    validation loss has also stopped improving at the lower rate. ``warmup_epochs`` (0: none)
    raises the learning rate linearly from ~0 to its value over that many epochs, step by step:
    Adam's first steps move every weight by ~lr whatever its gradient, which on a small
    dataset throws the first epochs far off and leaves an early best that noise-free training
    needs many epochs to beat.

    ``ema_decay`` β (None: off, the paper's setup): validate, early-stop and keep as
    ``model.pt`` an exponential moving average of the weights, updated after every step
    (`salloss.training.ema`).

    ``checkpoint_every_s`` (0: after every epoch): write ``last.pt`` after an epoch only when
    this many seconds passed since the last write (and always at the end, and on SIGTERM /
    SIGUSR1). A checkpoint of Adam + the weight average is ~5 weight copies, so for epochs of
    well under a second writing it dominates; a kill then loses at most max(one epoch, this
    long) of training, and the resumed run is still bit-identical.

    ``final_checkpoint``: what ``last.pt`` keeps once the run has finished. ``slim`` (default):
    the final and best weights, the history and the run's metadata — everything a finished
    run's outputs are rebuilt from — without the optimizer, AMP scaler, weight-average and RNG
    states that only resuming needs (a finished run never resumes): 2 weight copies instead of
    ~5, which over a 27-loss grid is most of its disk. ``full``: keep everything.

    ``micro_batch`` (None: the whole batch): forward/backward that many images at a time and
    accumulate the gradients into the batch's one update (`salloss.training.step.Stepper`):
    the paper's batch of 60 with df/gm at 300×400 holds ~20 GB of VGG-16 activations at once.

    ``perceptual_size`` (None: the output size, the paper's): (height, width) that the maps
    are resized to before the perceptual terms (df, gm) run VGG-16 on them (see
    `salloss.losses.build`).
    """

    arch: str = "baseline"
    loss: str = "mse"
    weights: str = "imagenet"
    input_size: tuple[int, int] | None = None
    optimizer: str = "sgd"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 60
    max_epochs: int = 50
    patience: int = 5
    min_delta: float = 0.0
    min_rel_delta: float = 0.0
    lr_patience: int | None = None
    lr_factor: float = 0.1
    warmup_epochs: int = 0
    ema_decay: float | None = None
    perceptual_size: tuple[int, int] | None = None
    seed: int = 0
    train_split: str = "train"
    val_split: str = "val"
    model_options: dict[str, Any] = field(default_factory=dict)
    loss_weights_lr: float | None = None
    device: str = "auto"
    amp: str = "off"
    channels_last: bool = True
    deterministic: bool | None = None
    preload: str = "auto"
    num_workers: int = 1
    checkpoint_every_s: float = 0.0
    final_checkpoint: str = "slim"
    micro_batch: int | None = None

    def __post_init__(self) -> None:
        # Normalise types first (YAML/JSON give lists and ints), then validate.
        size = self.input_size
        if size is None:
            size = default_input_size(self.arch)
        if isinstance(size, str):
            size = parse_size(size)
        try:
            size = tuple(int(s) for s in size)
        except (TypeError, ValueError):
            raise ConfigError(
                f"input_size must be (height, width), got {self.input_size!r}"
            ) from None
        object.__setattr__(self, "input_size", size)
        if self.lr is None and self.optimizer in OPTIMIZERS:
            object.__setattr__(self, "lr", OPTIMIZERS[self.optimizer])
        object.__setattr__(self, "model_options", dict(self.model_options))
        if self.perceptual_size is not None:
            psize = self.perceptual_size
            if isinstance(psize, str):
                psize = parse_size(psize)
            try:
                psize = tuple(int(v) for v in psize)
            except (TypeError, ValueError):
                raise ConfigError(f"perceptual_size must be (height, width) or null, got "
                                  f"{self.perceptual_size!r}") from None
            object.__setattr__(self, "perceptual_size", psize)
        self.validate()

    def validate(self) -> None:
        """Raise `ConfigError` naming the first invalid key and its valid values."""
        from salloss.models import registry

        if self.arch not in registry.MODELS:
            raise ConfigError(
                f"arch: unknown architecture {self.arch!r}; valid choices: "
                f"{', '.join(registry.available()) or '(none registered)'}"
            )
        if not isinstance(self.loss, str) or not self.loss.strip():
            raise ConfigError(f"loss: expected a loss spec such as 'mse' or "
                              f"'10*kld - 2*cc - nss', got {self.loss!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer: unknown {self.optimizer!r}; valid choices: "
                              f"{', '.join(OPTIMIZERS)}")
        _positive_finite("lr", self.lr)
        if self.loss_weights_lr is not None:
            _positive_finite("loss_weights_lr", self.loss_weights_lr)
        if not (isinstance(self.momentum, int | float) and 0.0 <= self.momentum < 1.0):
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not (isinstance(self.weight_decay, int | float) and self.weight_decay >= 0
                and math.isfinite(self.weight_decay)):
            raise ConfigError(
                f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}"
            )
        if not (isinstance(self.min_delta, int | float) and self.min_delta >= 0):
            raise ConfigError(f"min_delta must be >= 0, got {self.min_delta!r}")
        if not (isinstance(self.min_rel_delta, int | float) and 0 <= self.min_rel_delta < 1):
            raise ConfigError(f"min_rel_delta must be in [0, 1), got {self.min_rel_delta!r}")
        if not (isinstance(self.checkpoint_every_s, int | float)
                and not isinstance(self.checkpoint_every_s, bool)
                and 0 <= self.checkpoint_every_s < math.inf):
            raise ConfigError(f"checkpoint_every_s must be a number >= 0, got "
                              f"{self.checkpoint_every_s!r}")
        for key in ("batch_size", "max_epochs", "patience", "num_workers"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{key} must be an integer >= 1, got {value!r}")
        if (not isinstance(self.warmup_epochs, int) or isinstance(self.warmup_epochs, bool)
                or self.warmup_epochs < 0):
            raise ConfigError(f"warmup_epochs must be an integer >= 0, got {self.warmup_epochs!r}")
        if self.micro_batch is not None and (
                not isinstance(self.micro_batch, int) or isinstance(self.micro_batch, bool)
                or self.micro_batch < 1):
            raise ConfigError(f"micro_batch must be an integer >= 1 or null, got "
                              f"{self.micro_batch!r}")
        if self.lr_patience is not None and (
                not isinstance(self.lr_patience, int) or isinstance(self.lr_patience, bool)
                or self.lr_patience < 1):
            raise ConfigError(f"lr_patience must be an integer >= 1 or null (constant learning "
                              f"rate), got {self.lr_patience!r}")
        if not (isinstance(self.lr_factor, int | float) and not isinstance(self.lr_factor, bool)
                and 0.0 < self.lr_factor < 1.0):
            raise ConfigError(f"lr_factor must be in (0, 1), got {self.lr_factor!r}")
        if self.ema_decay is not None and not (
                isinstance(self.ema_decay, int | float) and not isinstance(self.ema_decay, bool)
                and 0.0 < self.ema_decay < 1.0):
            raise ConfigError(f"ema_decay must be in (0, 1) or null (no weight average), got "
                              f"{self.ema_decay!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {self.seed!r}")
        if len(self.input_size) != 2 or min(self.input_size) < 32:
            raise ConfigError(
                f"input_size must be (height, width) with both >= 32 px, got {self.input_size!r}"
            )
        if self.perceptual_size is not None and (len(self.perceptual_size) != 2
                                                  or min(self.perceptual_size) < 32):
            raise ConfigError(f"perceptual_size must be (height, width) with both >= 32 px (VGG "
                              f"pools five times), got {self.perceptual_size!r}")
        if self.amp not in AMP_MODES:
            raise ConfigError(f"amp: unknown {self.amp!r}; valid choices: {', '.join(AMP_MODES)}")
        if self.final_checkpoint not in FINAL_CHECKPOINTS:
            raise ConfigError(f"final_checkpoint: unknown {self.final_checkpoint!r}; valid "
                              f"choices: {', '.join(FINAL_CHECKPOINTS)}")
        if self.preload not in PRELOAD_MODES:
            raise ConfigError(
                f"preload: unknown {self.preload!r}; valid choices: {', '.join(PRELOAD_MODES)}"
            )
        if not isinstance(self.weights, str) or not self.weights:
            raise ConfigError("weights: expected 'imagenet', 'none' or a path to a .pth file")
        if self.train_split == self.val_split:
            raise ConfigError(
                f"train_split and val_split are both {self.train_split!r}: early stopping needs "
                "a held-out split"
            )
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")
        ):
            raise ConfigError(f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got "
                              f"{self.device!r}")
        reserved = {"weights", "activation", "encoder"} & set(self.model_options)
        if reserved:
            raise ConfigError(
                f"model_options: {', '.join(sorted(reserved))} are set by the run itself "
                "('weights' key, activation from the loss, encoder from the feature cache); "
                "remove them from model_options"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (tuples become lists), as stored in checkpoints and summaries."""
        out = dataclasses.asdict(self)
        out["input_size"] = list(self.input_size)
        if self.perceptual_size is not None:
            out["perceptual_size"] = list(self.perceptual_size)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a mapping; unknown keys raise `ConfigError` listing the valid ones."""
        if not isinstance(data, dict):
            raise ConfigError(f"training config must be a mapping, got {type(data).__name__}")
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(
                f"unknown training config key(s) {', '.join(unknown)}; valid keys: "
                f"{', '.join(valid)}"
            )
        return cls(**data)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (validated again)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def result_dict(self) -> dict[str, Any]:
        """The settings that determine the result (everything but hardware choices)."""
        return {k: v for k, v in self.to_dict().items() if k not in RUNTIME_KEYS}


def default_input_size(arch: str) -> tuple[int, int]:
    """The architecture builder's own ``input_size`` default (baseline 300×400, SAM-VGG
    240×320), or the paper's 300×400 when the builder has none."""
    import inspect

    from salloss.models import registry

    builder = registry.MODELS.get(arch)
    if builder is not None:
        param = inspect.signature(builder).parameters.get("input_size")
        if param is not None and param.default is not inspect.Parameter.empty:
            return tuple(param.default)  # type: ignore[return-value]
    return (300, 400)


def parse_size(text: str) -> tuple[int, int]:
    """Parse 'HxW' (height × width, e.g. '300x400') into (300, 400)."""
    parts = str(text).lower().replace("×", "x").split("x")
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(
            f"size {text!r}: expected HEIGHTxWIDTH in pixels, e.g. 300x400"
        ) from None
    return height, width


def _positive_finite(key: str, value: Any) -> None:
    if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
            or value <= 0):
        raise ConfigError(f"{key} must be a finite number > 0, got {value!r}")
