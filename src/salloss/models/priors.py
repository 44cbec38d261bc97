"""SAM's learned Gaussian priors (Cornia et al. 2018, §3.3; Keras layer ``LearningPrior``).

One layer holds ``n`` 2-D Gaussians, i.e. a single trainable vector of ``4n`` numbers laid out
as in Keras: ``[μx(n), μy(n), σx(n), σy(n)]``. For a feature map of h×w the layer renders, for
each Gaussian,

    g(x, y) = 1 / (2π σx σy + ε) · exp(−((x − μx)² / (2σx² + ε) + (y − μy)² / (2σy² + ε)))

on the grid ``x = linspace(0, 1, w)`` (columns) and ``y = linspace(e1, e1 + h/w, h)`` (rows),
``e1 = (1 − h/w) / 2`` — both axes in units of the width, so a prior is round when σx = σy —
and divides each map by its own maximum (values in (0, 1], max exactly 1). ε = 1e-7
(Keras' ``K.epsilon()``).

Clipping, as in Keras: the parameters are clipped INSIDE the forward pass (``K.clip``) to
μx ∈ [0.25, 0.75], μy ∈ [0.35, 0.65], σx ∈ [0.1, 0.9], σy ∈ [0.2, 0.8]. It is not a weight
constraint: an optimiser step may move the stored value outside its range, the map then uses
the clipped value and that coordinate gets zero gradient (the clip's derivative) until another
update brings it back. `clipped()` returns the values actually used.

Initialisation (SAM's ``gaussian_priors_init``): means uniform in [0.3, 0.7], standard
deviations uniform in [0.05, 0.3] (partly below the σ clip floors, on purpose of the original).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

EPS = 1e-7
CLIP_RANGES: dict[str, tuple[float, float]] = {
    "mu_x": (0.25, 0.75),
    "mu_y": (0.35, 0.65),
    "sigma_x": (0.1, 0.9),
    "sigma_y": (0.2, 0.8),
}
INIT_MEAN_RANGE = (0.3, 0.7)
INIT_SIGMA_RANGE = (0.05, 0.3)


class LearnedPriors(nn.Module):
    """``n`` learned Gaussian prior maps, rendered at whatever feature size is asked for."""

    def __init__(self, n_gaussians: int = 16) -> None:
        super().__init__()
        self.n_gaussians = n_gaussians
        self.weight = nn.Parameter(torch.empty(4 * n_gaussians))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """SAM's initialisation: μ ~ U(0.3, 0.7), σ ~ U(0.05, 0.3)."""
        n = self.n_gaussians
        with torch.no_grad():
            self.weight[: 2 * n].uniform_(*INIT_MEAN_RANGE)
            self.weight[2 * n :].uniform_(*INIT_SIGMA_RANGE)

    def clipped(self) -> dict[str, Tensor]:
        """The four parameter vectors (``n`` each, float32) after SAM's clipping."""
        w = self.weight.float()
        parts = w.split(self.n_gaussians)
        return {
            name: part.clamp(low, high)
            for (name, (low, high)), part in zip(CLIP_RANGES.items(), parts, strict=True)
        }

    def forward(self, height: int, width: int, dtype: torch.dtype | None = None) -> Tensor:
        """The 1×n×height×width prior maps (each max-normalised), computed in float32.

        ``dtype`` casts the result (e.g. to the features' bf16 under autocast).
        """
        p = self.clipped()
        device = self.weight.device
        e = height / width
        e1 = (1 - e) / 2
        xs = torch.linspace(0.0, 1.0, width, device=device, dtype=torch.float32)
        ys = torch.linspace(e1, e1 + e, height, device=device, dtype=torch.float32)
        mu_x, mu_y = p["mu_x"].view(-1, 1, 1), p["mu_y"].view(-1, 1, 1)
        sx, sy = p["sigma_x"].view(-1, 1, 1), p["sigma_y"].view(-1, 1, 1)
        dx = (xs.view(1, 1, -1) - mu_x) ** 2 / (2 * sx**2 + EPS)
        dy = (ys.view(1, -1, 1) - mu_y) ** 2 / (2 * sy**2 + EPS)
        g = torch.exp(-(dx + dy)) / (2 * math.pi * sx * sy + EPS)
        g = g / g.amax(dim=(-2, -1), keepdim=True)
        return g.unsqueeze(0).to(dtype or torch.float32)

    def extra_repr(self) -> str:
        return f"n_gaussians={self.n_gaussians}"
