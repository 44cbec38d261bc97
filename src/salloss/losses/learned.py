"""Learned loss weights: uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018) of the terms of
a `learned(...)` group, trained jointly with the model.

Objective of the group (one log-variance s_i = log σ_i² per term, initialised at 0, i.e. every
weight exp(−s_i) starts at 1):

    Σ_i ½·exp(−s_i)·L_i + ½·s_i

This is Kendall et al.'s REGRESSION form (the Gaussian negative log-likelihood of a residual
with variance σ_i², up to a constant), used for every term. Why one form and this one: the
classification form exp(−s)·L + s is the same function times 2 (same optimum, twice the
gradient), so mixing the two would silently weight some terms double; the regression form is
the derivation that does not depend on the term being a softmax likelihood, which most of ours
(MSE, DF, GM, 1 − CC) are not. Note the ½: at s = 0 each learned term enters with ½.

Well-posedness: for fixed L_i > 0 the objective is minimised at s_i = log L_i (weight 1/L_i),
so every L_i must be a non-negative loss. Losses enter as they are; a bounded similarity
enters as its loss form (bound − x: 1 − cc ∈ [0, 2]). NSS (unbounded) and the regularizer r
(which the model can drive to 0 by predicting the center bias, taking the objective to −∞)
are refused inside the group by the spec parser; keep them outside with a fixed coefficient.

Early stopping (see `UncertaintyWeights.profile`): the validation value of a learned spec is
the objective at the s that is optimal FOR THE VALIDATION SPLIT, ½·Σ_i (1 + log mean L_i),
plus the fixed terms. It does not depend on the current s_i, so the s_i moving cannot make it
decrease; it only decreases when the model's terms do (each by its relative change).

Effective coefficients (`combination`): since every loss form is affine in its raw term, the
learned objective at given s has exactly the gradients of the fixed linear spec
Σ_i c_i·term_i with c_i = ½·exp(−s_i)·(±1). Reported raw, normalised so the smallest magnitude
is 1 (the paper's convention: LC1 = 10·kld − 2·cc − nss), and as a spec string.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from salloss.errors import DataError
from salloss.losses.base import EPS
from salloss.losses.registry import REGISTRY
from salloss.losses.spec import Term, format_terms

FORM = "½·exp(−s)·L + ½·s"
REFERENCE = "Kendall, Gal & Cipolla, CVPR 2018 (regression form)"
CRITERION = "Σ fixed coef·mean(term) + ½·Σ_learned (1 + log mean(L))  (s-free)"
_DIGITS = 4  # significant digits of the coefficients in `equivalent_spec`


def form_of(term: Term) -> tuple[float, float]:
    """(offset, direction) of a learned term's loss form L = offset + direction·term.

    Losses: (0, +1), L = term. Bounded similarities: (bound, −1), e.g. 1 − cc.
    """
    info = REGISTRY[term.name]
    if info.higher_is_better:
        assert info.upper_bound is not None, f"{term.name} cannot be learned"
        return float(info.upper_bound), -1.0
    return 0.0, 1.0


class UncertaintyWeights(nn.Module):
    """The learned log-variances of a `learned(...)` group, one per term, in `labels` order.

    `log_vars` (an nn.Parameter, shape n) is trained by the model's optimizer (the trainer
    adds it as a second parameter group) and saved in checkpoints through `state`.
    """

    def __init__(self, terms: Sequence[Term]) -> None:
        super().__init__()
        if len(terms) < 2 or not all(t.learned for t in terms):
            raise ValueError("UncertaintyWeights needs two or more learned terms")
        self.labels = tuple(t.label for t in terms)
        self.forms = tuple(form_of(t) for t in terms)
        self.log_vars = nn.Parameter(torch.zeros(len(terms)))

    def losses(self, values: Sequence[Tensor]) -> list[Tensor]:
        """The non-negative loss forms L_i of the raw term values (1 − cc for cc)."""
        return [v if off == 0.0 and d == 1.0 else off + d * v
                for v, (off, d) in zip(values, self.forms, strict=True)]

    def forward(self, values: Sequence[Tensor]) -> Tensor:
        """Σ_i ½·exp(−s_i)·L_i + ½·s_i of the raw term values (scalar tensor, grads to s)."""
        loss = torch.stack(self.losses(values))
        s = self.log_vars.to(device=loss.device, dtype=loss.dtype)
        return (0.5 * torch.exp(-s) * loss + 0.5 * s).sum()

    def weights(self) -> dict[str, float]:
        """label → exp(−s_i), the current weight of each loss form (before the ½)."""
        return {k: math.exp(-v) for k, v in self.log_var_values().items()}

    def log_var_values(self) -> dict[str, float]:
        """label → s_i as floats."""
        return dict(zip(self.labels, self.log_vars.detach().cpu().tolist(), strict=True))

    def profile(self, means: Mapping[str, float]) -> float:
        """½·Σ_i (1 + log L̄_i): the group's objective minimised over s for the split means
        L̄_i (raw term label → mean over a split); each L̄_i is floored at EPS."""
        total = 0.0
        for label, (off, d) in zip(self.labels, self.forms, strict=True):
            total += 0.5 * (1.0 + math.log(max(off + d * means[label], EPS)))
        return total

    def state(self) -> dict[str, Tensor]:
        """{'log_vars': copy} for checkpoints (plain tensors: weights_only-loadable)."""
        return {"log_vars": self.log_vars.detach().clone()}

    def load_state(self, state: Mapping[str, Any], source: str) -> None:
        """Restore `state()` bit-exactly; `DataError` naming `source` when it does not fit."""
        value = state.get("log_vars") if isinstance(state, Mapping) else None
        if not isinstance(value, Tensor) or value.shape != self.log_vars.shape:
            raise DataError(f"{source}: no learned loss weights for {len(self.labels)} terms "
                            f"({', '.join(self.labels)}); was it written for another loss?")
        with torch.no_grad():
            self.log_vars.copy_(value.to(self.log_vars.device))


def combination(terms: Sequence[Term], log_vars: Mapping[str, float]) -> dict[str, Any]:
    """The linear combination a learned spec trains with at log-variances `log_vars`.

    Returns JSON-ready {'form', 'log_vars', 'weights' (exp(−s)), 'effective_coefficients'
    (label → c, the multiplier of the raw term in the objective: ½·exp(−s)·(±1) for learned
    terms, the spec's coefficient for fixed ones), 'normalised_coefficients' (c divided by the
    smallest |c|, as in LC1 = 10·kld − 2·cc − nss), 'equivalent_spec' (the normalised
    coefficients to 4 significant digits as a fixed spec: same minimiser, a scaled gradient)}.
    """
    missing = [t.label for t in terms if t.learned and t.label not in log_vars]
    if missing:
        raise DataError(f"no learned log-variance for {', '.join(missing)}")
    effective = {}
    for t in terms:
        if t.learned:
            effective[t.label] = 0.5 * math.exp(-log_vars[t.label]) * form_of(t)[1]
        else:
            effective[t.label] = t.coef
    scale = min(abs(c) for c in effective.values())
    normalised = {k: c / scale for k, c in effective.items()}
    fixed = tuple(Term(t.name, float(f"{normalised[t.label]:.{_DIGITS}g}"), t.params)
                  for t in terms)
    return {
        "form": FORM,
        "reference": REFERENCE,
        "log_vars": {t.label: float(log_vars[t.label]) for t in terms if t.learned},
        "weights": {t.label: math.exp(-log_vars[t.label]) for t in terms if t.learned},
        "effective_coefficients": effective,
        "normalised_coefficients": normalised,
        "equivalent_spec": format_terms(fixed),
    }
