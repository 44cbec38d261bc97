"""Edge inputs: every term gives a finite value and finite gradients at P = 0, P = 1, an all-zero
density, constant maps; an image without fixations is a clear error, not a NaN."""

from __future__ import annotations

import pytest
import torch

from salloss import losses as L
from salloss.errors import DataError

H = W = 32  # the smallest size the perceptual terms accept


def _fix(b=2):
    f = torch.zeros(b, 1, H, W)
    f[:, 0, 10, 12] = 1
    f[:, 0, 20, 5] = 1
    return f


def _ramp(b=2):
    y, x = torch.meshgrid(torch.linspace(0, 1, H), torch.linspace(0, 1, W), indexing="ij")
    return (x * y).expand(b, 1, H, W).clone()


EDGES = {
    "pred=0": lambda: (torch.zeros(2, 1, H, W), _ramp()),
    "pred=1": lambda: (torch.ones(2, 1, H, W), _ramp()),
    "density=0": lambda: (_ramp() * 0.8 + 0.1, torch.zeros(2, 1, H, W)),
    "both=0": lambda: (torch.zeros(2, 1, H, W), torch.zeros(2, 1, H, W)),
    "const pred": lambda: (torch.full((2, 1, H, W), 0.3), _ramp()),
    "const density": lambda: (_ramp(), torch.full((2, 1, H, W), 0.7)),
    "pred=density": lambda: (_ramp(), _ramp()),
}


@pytest.mark.parametrize("edge", sorted(EDGES))
@pytest.mark.parametrize("name", sorted(L.REGISTRY))
def test_finite_value_and_gradient_at_edges(name, edge, spec_for, extractor):
    pred, density = EDGES[edge]()
    pred.requires_grad_(True)
    loss = L.build(spec_for(name), center_bias=torch.full((H, W), 0.5), vgg_weights="none")
    value = loss(pred, density, _fix())
    assert torch.isfinite(value), f"{name} at {edge}: {value}"
    value.backward()
    assert pred.grad is not None
    assert torch.isfinite(pred.grad).all(), f"{name} at {edge}: non-finite gradient"


@pytest.mark.parametrize("value", [0.0, 0.3, 123.4])
@pytest.mark.parametrize("name", ["cc", "nss"])
def test_constant_prediction_gives_zero_similarity(name, value):
    """MIT returns NaN for a constant map; the loss term returns exactly 0 (no information),
    not the rounding noise of P − mean(P) divided by a tiny std."""
    pred = torch.full((2, 1, 37, 53), value)
    second = torch.zeros(2, 1, 37, 53)
    second[:, 0, 3, 4] = 1
    assert float(getattr(L, name)(pred, second)) == 0.0
    if name == "cc":  # and a constant density
        assert float(L.cc(torch.rand(2, 1, 37, 53), torch.full_like(pred, value))) == 0.0


def test_disjoint_supports_give_large_finite_bhattacharyya():
    pred = torch.zeros(1, 1, H, W)
    density = torch.zeros(1, 1, H, W)
    pred[..., :16] = 1
    density[..., 16:] = 1
    value = float(L.bhat(pred, density))
    assert value == pytest.approx(-torch.log(torch.tensor(L.EPS)).item(), rel=1e-5)


@pytest.mark.parametrize("name", ["nss", "nll"])
def test_image_without_fixations_is_a_clear_error(name):
    pred = torch.rand(3, 1, H, W)
    fix = _fix(3)
    fix[1] = 0
    with pytest.raises(DataError, match=rf"{name}: image\(s\) \[1\] of the batch have no fix"):
        getattr(L, name)(pred, fix)
    loss = L.build(f"-{name}" if name == "nss" else name)
    with pytest.raises(DataError, match="no fixations"):
        loss(pred, torch.rand(3, 1, H, W), fix)


def test_bool_and_count_fixation_maps_are_accepted():
    pred = torch.rand(2, 1, H, W, generator=torch.Generator().manual_seed(0))
    fix = _fix()
    base = float(L.nss(pred, fix))
    assert float(L.nss(pred, fix.bool())) == pytest.approx(base)
    assert float(L.nss(pred, 3 * fix)) == pytest.approx(base)  # repeated fixations count once


@pytest.mark.parametrize("name", ["df", "gm"])
def test_perceptual_terms_refuse_maps_smaller_than_32(name, extractor):
    with pytest.raises(DataError, match="at least 32×32"):
        getattr(L, name)(torch.rand(1, 1, 16, 40), torch.rand(1, 1, 16, 40), extractor)


def test_combined_loss_checks_shapes_and_missing_inputs():
    loss = L.build("kld - nss")
    pred = torch.rand(2, 1, H, W)
    with pytest.raises(DataError, match=r"density has shape \(2, 1, 16, 16\) but pred has"):
        loss(pred, torch.rand(2, 1, 16, 16), _fix())
    with pytest.raises(DataError, match="nss need.*fixations map, got None"):
        loss(pred, torch.rand(2, 1, H, W), None)
    with pytest.raises(DataError, match="B×1×H×W"):
        loss(torch.rand(2, 3, H, W), torch.rand(2, 3, H, W), None)
    # Terms that need no fixations accept None.
    assert torch.isfinite(L.build("kld")(pred, torch.rand(2, 1, H, W)))
