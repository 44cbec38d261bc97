"""REGISTRY: every loss term of the study by its spec name, with what the spec parser, the
combined loss, the CLI table and the README need to know about it.

Adding a term = one function (in the module of its category) + one `TermInfo` entry here + one
test against an independent NumPy implementation (tests/losses/test_losses_numpy.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from torch import Tensor

from salloss.losses import distribution, perceptual, pixel, regularizers, saliency
from salloss.losses.perceptual import VGGPyramid

CATEGORIES = ("pixel", "distribution", "saliency", "perceptual", "regularizer")
# What a term can ask for besides `pred` (checked by the combined loss before calling it).
INPUTS = ("density", "fixations", "center_bias", "vgg")


@dataclass
class TermInputs:
    """Everything a term may read in one evaluation; VGG features are computed once, on demand,
    and shared by `df` and `gm`."""

    pred: Tensor
    density: Tensor | None = None
    fixations: Tensor | None = None
    center_bias: Tensor | None = None
    extractor: VGGPyramid | None = None
    perceptual_size: tuple[int, int] | None = None
    density_features: list[Tensor] | None = None  # φ(S), precomputed (`target_pyramid`)
    _features: tuple[list[Tensor], list[Tensor]] | None = field(default=None, repr=False)

    def features(self) -> tuple[list[Tensor], list[Tensor]]:
        """(φ(P), φ(S)) at pool1…pool5 (at `perceptual_size` if set), computed on first use;
        φ(S) is taken from `density_features` when the caller precomputed it."""
        if self._features is None:
            assert self.extractor is not None
            if self.density_features is not None:
                pred = self.pred
                if self.perceptual_size is not None:
                    pred = perceptual.fit(pred, self.perceptual_size)
                perceptual.move_to(self.extractor, pred.device)
                self._features = (self.extractor(pred), list(self.density_features))
            else:
                assert self.density is not None
                self._features = perceptual.pyramids(self.pred, self.density, self.extractor,
                                                     size=self.perceptual_size)
        return self._features


@dataclass(frozen=True)
class Param:
    """A numeric parameter of a term: default (None = required), validity rule and meaning."""

    default: float | None
    valid: Callable[[float], bool]
    rule: str  # the validity rule in words, for error messages, e.g. "0 <= lam <= 1"
    doc: str


@dataclass(frozen=True)
class TermInfo:
    """One registry entry. `call(inputs, **params)` evaluates the term on a `TermInputs`."""

    name: str
    fn: Callable[..., Tensor]
    category: str
    higher_is_better: bool
    activation: str  # output activation the term needs on its own: 'sigmoid' or 'relu'
    formula: str
    paper_row: str
    needs: tuple[str, ...]
    call: Callable[..., Tensor]
    params: Mapping[str, Param] = field(default_factory=dict)
    # Largest value a similarity can take (cc: 1); None = unbounded or not a similarity. In a
    # `learned(...)` group a bounded similarity is minimised as its loss form `upper_bound − x`.
    upper_bound: float | None = None

    @property
    def defaults(self) -> dict[str, float]:
        """Parameters with a default value (required ones are absent)."""
        return {k: p.default for k, p in self.params.items() if p.default is not None}

    @property
    def required(self) -> tuple[str, ...]:
        """Parameters a spec must give explicitly."""
        return tuple(k for k, p in self.params.items() if p.default is None)

    @property
    def learned_form(self) -> str | None:
        """The non-negative loss a `learned(...)` group weights for this term ('kld', '1 − cc'),
        or None when the term may not be learned (see `learned_refusal`)."""
        if self.learned_refusal is not None:
            return None
        return f"{self.upper_bound:g} − {self.name}" if self.higher_is_better else self.name

    @property
    def learned_refusal(self) -> str | None:
        """Why this term cannot go inside `learned(...)`, or None when it can.

        Uncertainty weighting minimises ½·exp(−s)·L + ½·s, which is bounded below only when
        L ≥ 0 and is driven to −∞ by any L the model can make 0. So: similarities need an
        upper bound (loss form bound − x ≥ 0; NSS, a z-score, has none) and regularizers are
        refused (r = 0 is reached by predicting the center bias itself, for any image).
        """
        if self.category == "regularizer":
            return (f"{self.name} is a regularizer: its learned weight ~1/{self.name} grows "
                    f"without bound as the prediction collapses onto the prior, so "
                    f"keep it outside with a fixed strength, e.g. 'learned(kld, cc) + "
                    f"{self.name}'")
        if self.higher_is_better and self.upper_bound is None:
            return (f"{self.name} is an unbounded similarity (no non-negative loss form "
                    f"makes ½·exp(−s)·L + ½·s bounded below), so keep it outside with a "
                    f"fixed coefficient, e.g. 'learned(kld, cc) - {self.name}'")
        return None


def _unit(name: str, doc: str, default: float | None = None) -> Param:
    return Param(default, lambda v: 0.0 <= v <= 1.0, f"0 <= {name} <= 1", doc)


def _positive(name: str, doc: str, default: float | None = None) -> Param:
    return Param(default, lambda v: v > 0.0, f"{name} > 0", doc)


_ENTRIES = (
    TermInfo(
        "mse", pixel.mse, "pixel", False, "relu", "mean((S−P)²)", "MSE", ("density",),
        lambda x: pixel.mse(x.pred, x.density),
    ),
    TermInfo(
        "ead", pixel.ead, "pixel", False, "relu", "mean(exp(|S−P|) − 1)", "EAD", ("density",),
        lambda x: pixel.ead(x.pred, x.density),
    ),
    TermInfo(
        "ae", pixel.ae, "pixel", False, "relu", "mean(|S−P|)", "AE", ("density",),
        lambda x: pixel.ae(x.pred, x.density),
    ),
    TermInfo(
        "wmse", pixel.wmse, "pixel", False, "relu",
        "mean(((P+κ)/(max P+κ) − S)² / (α − S))", "MLNET-MSE", ("density",),
        lambda x, alpha, kappa: pixel.wmse(x.pred, x.density, alpha=alpha, kappa=kappa),
        {"alpha": Param(1.1, lambda v: v > 1.0, "alpha > 1", "weight offset; 1/(α−S)"),
         "kappa": Param(pixel.WMSE_KAPPA, lambda v: v >= 0.0, "kappa >= 0",
                        "liveness offset: a fading map tends to the uniform map, not to a "
                        "low loss (0 = ML-Net's unguarded P/max P, NaN on a dead map)")},
    ),
    TermInfo(
        "sigmse", pixel.sigmse, "pixel", False, "relu", "mean(k·σ(k(S−λ))·(S−P)²)",
        "SIG-MSE (λ = …)", ("density",),
        lambda x, lam, k: pixel.sigmse(x.pred, x.density, lam=lam, k=k),
        {
            "lam": _unit("lam", "sigmoid threshold λ (paper: 0.25, 0.55, 0.75)"),
            "k": _positive("k", "sigmoid steepness and maximum weight", 10.0),
        },
    ),
    TermInfo(
        "bce", distribution.bce, "distribution", False, "sigmoid",
        "−mean(S·log P + (1−S)·log(1−P))", "BCE", ("density",),
        lambda x: distribution.bce(x.pred, x.density),
    ),
    TermInfo(
        "wbce", distribution.wbce, "distribution", False, "sigmoid",
        "−mean(w·S·log P + (1−w)·(1−S)·log(1−P))", "W-BCE w = …", ("density",),
        lambda x, w: distribution.wbce(x.pred, x.density, w=w),
        {"w": _unit("w", "weight of the salient class (paper: 0.9 … 0.4)")},
    ),
    TermInfo(
        "focal", distribution.focal, "distribution", False, "sigmoid",
        "−mean((1−P)^γ·S·log P + P^γ·(1−S)·log(1−P))", "Focal Loss", ("density",),
        lambda x, gamma: distribution.focal(x.pred, x.density, gamma=gamma),
        {"gamma": Param(2.0, lambda v: v >= 0.0, "gamma >= 0", "focusing power γ")},
    ),
    TermInfo(
        "kld", distribution.kld, "distribution", False, "sigmoid",
        "Σ s·log(ε + s/(p+ε)), s=S/ΣS, p=P/ΣP", "KLD", ("density",),
        lambda x: distribution.kld(x.pred, x.density),
    ),
    TermInfo(
        "bhat", distribution.bhat, "distribution", False, "sigmoid", "−log Σ sqrt(s·p)", "Bhat",
        ("density",),
        lambda x: distribution.bhat(x.pred, x.density),
    ),
    TermInfo(
        "nll", distribution.nll, "distribution", False, "sigmoid",
        "−(1/N_F) Σ_{F=1} log(p + ε), p=P/ΣP", "NLL", ("fixations",),
        lambda x: distribution.nll(x.pred, x.fixations),
    ),
    TermInfo(
        "cc", saliency.cc, "saliency", True, "relu", "cov(P,S) / (σ_P·σ_S)", "CC", ("density",),
        lambda x: saliency.cc(x.pred, x.density), upper_bound=1.0,
    ),
    TermInfo(
        "nss", saliency.nss, "saliency", True, "relu", "mean_{F=1}((P − μ_P)/σ_P)", "NSS",
        ("fixations",),
        lambda x: saliency.nss(x.pred, x.fixations),
    ),
    TermInfo(
        "df", perceptual.df, "perceptual", False, "relu",
        "Σ_j ‖φ_j(S) − φ_j(P)‖² / (C_j·H_j·W_j)", "Deep Features (DF)", ("density", "vgg"),
        lambda x: perceptual.df_from_features(*x.features()),
    ),
    TermInfo(
        "gm", perceptual.gm, "perceptual", False, "relu", "Σ_j ‖G_j(S) − G_j(P)‖²_F",
        "Gram Matrices (GM)", ("density", "vgg"),
        lambda x: perceptual.gm_from_features(*x.features()),
    ),
    TermInfo(
        "r", regularizers.center_bias_penalty, "regularizer", False, "relu", "α·mean((P − C)²)",
        "R", ("center_bias",),
        lambda x, alpha: regularizers.center_bias_penalty(x.pred, x.center_bias, alpha=alpha),
        {"alpha": _positive("alpha", "regularization strength", 0.1)},
    ),
)

REGISTRY: Mapping[str, TermInfo] = MappingProxyType({e.name: e for e in _ENTRIES})
