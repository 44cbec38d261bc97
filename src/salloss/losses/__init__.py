"""The loss library of the study (SPEC.md §1–2): 15 terms + the center-bias regularizer, and
linear combinations written as spec strings.

    from salloss.losses import build, TABLE2
    loss = build("10*kld - 2*cc - nss + df + gm + sigmse(lam=0.55) + r", center_bias=C,
                 vgg_weights="imagenet")
    total = loss(pred, density, fixations); total.backward(); loss.last_terms

Every term is also a plain function on B×1×H×W tensors (batch mean), e.g. `kld(pred, density)`.

Learned weights: `build("learned(kld, cc, sigmse(lam=0.55)) - nss + r")` learns one weight per
term of the group with the model (Kendall et al. 2018; `salloss.losses.learned`); the trainer
optimises `loss.learned_parameters()` and records `loss.combination()`.
"""

from salloss.losses.base import EPS
from salloss.losses.combined import CombinedLoss, build
from salloss.losses.distribution import bce, bhat, focal, kld, nll, wbce
from salloss.losses.learned import UncertaintyWeights
from salloss.losses.paper import LC1, LC1_R, LC2, TABLE1, TABLE2, TABLE3, TABLE4, TABLES
from salloss.losses.perceptual import VGGPyramid, df, gm, load_extractor
from salloss.losses.pixel import ae, ead, mse, sigmse, wmse
from salloss.losses.registry import CATEGORIES, REGISTRY, Param, TermInfo
from salloss.losses.regularizers import center_bias_penalty
from salloss.losses.saliency import cc, nss
from salloss.losses.spec import Term, canonical, parse, spec_id

__all__ = [
    "CATEGORIES",
    "EPS",
    "LC1",
    "LC1_R",
    "LC2",
    "REGISTRY",
    "TABLE1",
    "TABLE2",
    "TABLE3",
    "TABLE4",
    "TABLES",
    "CombinedLoss",
    "Param",
    "Term",
    "TermInfo",
    "UncertaintyWeights",
    "VGGPyramid",
    "ae",
    "bce",
    "bhat",
    "build",
    "canonical",
    "cc",
    "center_bias_penalty",
    "df",
    "ead",
    "focal",
    "gm",
    "kld",
    "load_extractor",
    "mse",
    "nll",
    "nss",
    "parse",
    "sigmse",
    "spec_id",
    "wbce",
    "wmse",
]
