"""`build(spec)`: a loss spec turned into one callable module, with a per-term breakdown.

    loss = build("10*kld - 2*cc - nss + r", center_bias=C)
    total = loss(pred, density, fixations)   # scalar tensor to back-propagate
    loss.last_terms                           # {'kld': 0.41, 'cc': 0.62, 'nss': 1.9, 'r': 0.003}
    total, parts = loss.breakdown(pred, density, fixations)   # parts keep their graph

The breakdown holds each term's RAW value (before its coefficient), so mis-scaled combinations
are visible: total = Σ loss.terms[label] · parts[label].

A spec with a `learned(...)` group (see `salloss.losses.learned`) also owns the learned
log-variances: `loss.weighting` is an `UncertaintyWeights` submodule whose `log_vars` the
trainer optimises with the model; its terms add Σ ½·exp(−s)·L + ½·s (L = 1 − cc for cc) to
the fixed terms' Σ coef·term, and the breakdown still holds their raw values.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from salloss.errors import ConfigError, DataError
from salloss.losses.base import check_map, check_same_shape
from salloss.losses.learned import UncertaintyWeights, combination
from salloss.losses.perceptual import VGGPyramid, load_extractor
from salloss.losses.registry import REGISTRY, TermInputs
from salloss.losses.regularizers import as_center_bias, fit_center_bias
from salloss.losses.spec import Term, format_terms, parse, spec_id

log = logging.getLogger(__name__)


class CombinedLoss(nn.Module):
    """Σ coef·term over the terms of a parsed spec; call it as `loss(pred, density, fixations)`.

    Attributes: `spec` (canonical text), `id` (filesystem-safe, see `spec_id`), `components`
    (the `Term`s), `terms` (label → coefficient), `params` (label → all parameters, defaults
    filled), `activation` ('sigmoid' if any term is distribution-based, else 'relu'),
    `vgg_weights` (the perceptual VGG's weights tag, None without df/gm), `perceptual_size`
    (the (H, W) maps are resized to before the perceptual VGG; None: as they come), `last_terms`,
    `weighting` (the `UncertaintyWeights` of a `learned(...)` group, else None). In `terms`, a
    learned term's coefficient is its direction (±1); its weight is in `weighting`.
    """

    def __init__(
        self,
        components: tuple[Term, ...],
        center_bias: Tensor | None = None,
        extractor: VGGPyramid | None = None,
        perceptual_size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.perceptual_size = tuple(perceptual_size) if perceptual_size is not None else None
        self.components = components
        self.spec = format_terms(components)
        self.id = spec_id(self.spec)
        self.terms = {t.label: t.coef for t in components}
        self.params = {t.label: dict(t.params) for t in components}
        infos = [REGISTRY[t.name] for t in components]
        self.activation = "sigmoid" if any(i.activation == "sigmoid" for i in infos) else "relu"
        self.needs = frozenset(n for i in infos for n in i.needs)
        self.extractor = extractor
        self.vgg_weights = extractor.weights_tag if extractor is not None else None
        self.register_buffer(
            "center_bias", as_center_bias(center_bias) if center_bias is not None else None,
            persistent=False,
        )
        self._fitted: tuple[tuple[Any, ...], Tensor] | None = None
        self._last: dict[str, Tensor] = {}
        learned = [t for t in components if t.learned]
        self.weighting = UncertaintyWeights(learned) if learned else None

    def forward(
        self, pred: Tensor, density: Tensor | None = None, fixations: Tensor | None = None
    ) -> Tensor:
        """The total loss (scalar tensor); the per-term values land in `last_terms`."""
        return self.breakdown(pred, density, fixations)[0]

    def breakdown(
        self, pred: Tensor, density: Tensor | None = None, fixations: Tensor | None = None,
        density_features: list[Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """(total, {label: raw term value}) — the values keep their autograd graph.

        pred, density: B×1×H×W float; fixations: B×1×H×W, a pixel is fixated where > 0.
        `density`/`fixations` may be None when no term reads them. Half-precision inputs
        (autocast) are evaluated in float32; the VGG of df/gm still runs under autocast.
        `density_features`: φ(S) of this batch from `target_pyramid` (df/gm then skip the
        density's VGG pass; same values)."""
        self._check(pred, density, fixations)
        pred = _float32_if_half(pred)
        density = _float32_if_half(density) if density is not None else None
        inputs = TermInputs(
            pred, density, fixations, center_bias=self._center_bias_for(pred),
            extractor=self.extractor, perceptual_size=self.perceptual_size,
            density_features=density_features,
        )
        parts: dict[str, Tensor] = {}
        learned: list[Tensor] = []
        total: Tensor | None = None
        for term in self.components:
            value = REGISTRY[term.name].call(inputs, **term.params)
            parts[term.label] = value
            if term.learned:
                learned.append(value)
                continue
            total = term.coef * value if total is None else total + term.coef * value
        if self.weighting is not None:
            group = self.weighting(learned)
            total = group if total is None else total + group
        assert total is not None
        self._last = {k: v.detach() for k, v in parts.items()}
        return total, parts

    @property
    def last_terms(self) -> dict[str, float]:
        """Raw value of each term (label → float, before its coefficient) at the last call.

        Converted to floats only when read, so training steps do not wait on the device.
        """
        return {k: float(v) for k, v in self._last.items()}

    def criterion(self, means: dict[str, float]) -> float:
        """The value early stopping compares, from the split means of the raw terms.

        Fixed terms: Σ coef·mean. A learned group adds its s-free profile ½·Σ (1 + log L̄)
        (`UncertaintyWeights.profile`), so moving log-variances cannot lower it.
        """
        fixed = sum(t.coef * means[t.label] for t in self.components if not t.learned)
        if self.weighting is None:
            return fixed
        return fixed + self.weighting.profile(means)

    def combination(self) -> dict[str, Any] | None:
        """The current learned combination (`salloss.losses.learned.combination`); None for
        a spec without a learned group."""
        if self.weighting is None:
            return None
        return combination(self.components, self.weighting.log_var_values())

    def learned_parameters(self) -> list[nn.Parameter]:
        """The parameters the trainer must optimise besides the model's ([] for fixed specs)."""
        return [self.weighting.log_vars] if self.weighting is not None else []

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for run records: spec, id, terms, params, activation, weights
        (and, for a learned spec, the current `combination`)."""
        out = {
            "spec": self.spec,
            "id": self.id,
            "terms": dict(self.terms),
            "params": {k: dict(v) for k, v in self.params.items()},
            "activation": self.activation,
            "vgg_weights": self.vgg_weights,
            "center_bias_shape": (
                list(self.center_bias.shape[-2:]) if self.center_bias is not None else None
            ),
        }
        if self.weighting is not None:
            out["learned"] = self.combination()
        return out

    def extra_repr(self) -> str:
        return f"spec={self.spec!r}, activation={self.activation!r}"

    def _check(self, pred: Tensor, density: Tensor | None, fixations: Tensor | None) -> None:
        check_map(pred, "pred")
        if not pred.is_floating_point():
            raise DataError(f"pred must be a float tensor, got {pred.dtype}")
        for name, value in (("density", density), ("fixations", fixations)):
            users = [t.label for t in self.components if name in REGISTRY[t.name].needs]
            if value is None:
                if users:
                    raise DataError(f"loss {self.spec!r}: {', '.join(users)} need(s) the "
                                    f"{name} map, got None")
                continue
            check_same_shape(pred, value, name)

    def _center_bias_for(self, pred: Tensor) -> Tensor | None:
        if self.center_bias is None:
            return None
        key = (tuple(pred.shape[-2:]), pred.device, pred.dtype)
        if self._fitted is None or self._fitted[0] != key:
            self._fitted = (key, fit_center_bias(self.center_bias, pred))
        return self._fitted[1]


def _float32_if_half(x: Tensor) -> Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def build(
    spec: str,
    center_bias: Tensor | None = None,
    vgg_weights: str | Path = "imagenet",
    vgg_seed: int = 0,
    perceptual_size: tuple[int, int] | None = None,
) -> CombinedLoss:
    """Parse `spec` and return the loss module (see `CombinedLoss`).

    center_bias: H×W (or 1×1×H×W) prior C, required by `r`; resized bilinearly to the
    prediction's size when they differ. vgg_weights: 'imagenet' | 'none' | path of a .pth, for
    `df`/`gm` only (loaded once per process, moved to pred's device on first use); the built
    loss reports it in `vgg_weights`. perceptual_size: (H, W) that P and S are resized to
    (bilinear, antialiased when shrinking) before `df`/`gm` run VGG on them; None (default,
    the paper's) uses the maps as they come. A baseline map holds no more detail than its
    stride-8 grid, so a size a few times that grid changes the terms little and cuts their
    cost (VGG-16 on the map dominates a perceptual run). Raises `ConfigError` for a bad spec,
    a missing center bias or a perceptual_size below 32×32, `WeightsError` when the VGG
    weights are unavailable.
    """
    if perceptual_size is not None:
        perceptual_size = _perceptual_size(perceptual_size)
    components = parse(spec)
    needs = {n for t in components for n in REGISTRY[t.name].needs}
    if "center_bias" in needs and center_bias is None:
        raise ConfigError(
            f"loss spec {spec!r} uses r (center-bias regularizer) but no center-bias map was "
            "given: pass build(spec, center_bias=C) with the training split's center-bias map"
        )
    extractor = load_extractor(vgg_weights, vgg_seed) if "vgg" in needs else None
    if extractor is not None and extractor.weights_tag != "imagenet":
        log.warning("perceptual terms use VGG-16 weights %s", extractor.weights_tag)
    return CombinedLoss(components, center_bias=center_bias, extractor=extractor,
                        perceptual_size=perceptual_size)


def _perceptual_size(size: Any) -> tuple[int, int]:
    from salloss.losses.perceptual import MIN_SIZE

    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ConfigError(f"perceptual_size must be (height, width), got {size!r}") from None
    if min(h, w) < MIN_SIZE:
        raise ConfigError(f"perceptual_size must be at least {MIN_SIZE}×{MIN_SIZE} (VGG-16 pools "
                          f"five times), got {h}×{w}")
    return h, w
