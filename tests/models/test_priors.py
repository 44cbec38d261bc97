"""SAM's learned Gaussian priors: Keras formula, clipping inside forward, initialisation."""

import math

import numpy as np
import pytest
import torch

from salloss.models.priors import CLIP_RANGES, LearnedPriors


def keras_prior_reference(params: np.ndarray, n: int, h: int, w: int) -> np.ndarray:
    """The LearningPrior formula of SAM's Keras code, written out with NumPy (float64)."""
    eps = 1e-7
    mu_x = np.clip(params[:n], 0.25, 0.75)
    mu_y = np.clip(params[n : 2 * n], 0.35, 0.65)
    sx = np.clip(params[2 * n : 3 * n], 0.1, 0.9)
    sy = np.clip(params[3 * n :], 0.2, 0.8)
    e = h / w
    e1 = (1 - e) / 2
    xs = np.linspace(0, 1, w)
    ys = np.linspace(e1, e1 + e, h)
    out = np.empty((n, h, w))
    for g in range(n):
        x, y = np.meshgrid(xs, ys)
        val = np.exp(
            -(
                (x - mu_x[g]) ** 2 / (2 * sx[g] ** 2 + eps)
                + (y - mu_y[g]) ** 2 / (2 * sy[g] ** 2 + eps)
            )
        ) / (2 * np.pi * sx[g] * sy[g] + eps)
        out[g] = val / val.max()
    return out


def test_init_ranges_and_layout():
    torch.manual_seed(0)
    p = LearnedPriors(16)
    assert p.weight.shape == (64,)
    means, sigmas = p.weight[:32], p.weight[32:]
    assert means.min() >= 0.3 and means.max() <= 0.7
    assert sigmas.min() >= 0.05 and sigmas.max() <= 0.3
    assert sum(x.numel() for x in p.parameters()) == 64


@pytest.mark.parametrize("size", [(30, 40), (8, 12), (13, 7)])
def test_maps_follow_keras_formula(size):
    torch.manual_seed(1)
    p = LearnedPriors(5)
    with torch.no_grad():  # spread values inside and outside every clip range
        p.weight.copy_(torch.tensor(np.linspace(0.0, 1.0, 20)))
    got = p(*size)
    assert got.shape == (1, 5, *size) and got.dtype == torch.float32
    want = keras_prior_reference(p.weight.detach().double().numpy(), 5, *size)
    np.testing.assert_allclose(got[0].detach().numpy(), want, rtol=1e-5, atol=1e-6)
    assert torch.allclose(got.amax(dim=(-2, -1)), torch.ones(1, 5))
    assert got.min() > 0


def test_clipping_applies_in_forward_after_an_optimizer_step():
    torch.manual_seed(2)
    p = LearnedPriors(16)
    opt = torch.optim.SGD(p.parameters(), lr=10.0)
    # Push every parameter far out of range in both directions.
    target = torch.where(torch.arange(64) % 2 == 0, 5.0, -5.0)
    loss = ((p.weight - target) ** 2).sum()
    loss.backward()
    opt.step()
    raw = p.weight.detach()
    assert (raw > 1).any() and (raw < 0).any()  # the stored values left their ranges
    clipped = p.clipped()
    for name, (low, high) in CLIP_RANGES.items():
        assert clipped[name].min() >= low and clipped[name].max() <= high, name
    # The maps are those of the clipped values (Keras' K.clip inside call()).
    want = keras_prior_reference(raw.double().numpy(), 16, 9, 11)
    np.testing.assert_allclose(p(9, 11)[0].detach().numpy(), want, rtol=1e-5, atol=1e-6)
    # …and a clipped coordinate gets no gradient, like K.clip's.
    opt.zero_grad()
    p(9, 11).sum().backward()
    assert torch.all(p.weight.grad[(raw > 1) | (raw < 0)] == 0)


def test_gradients_reach_unclipped_parameters():
    torch.manual_seed(3)
    p = LearnedPriors(4)
    with torch.no_grad():
        p.weight.copy_(torch.tensor([0.4, 0.5, 0.6, 0.45] * 2 + [0.3, 0.4, 0.5, 0.6] * 2))
    p(10, 10)[0, :, 2:5, 6:9].sum().backward()
    assert torch.all(p.weight.grad[:8] != 0)


def test_dtype_cast_and_round_priors_when_sigmas_match():
    p = LearnedPriors(1)
    with torch.no_grad():
        p.weight.copy_(torch.tensor([0.5, 0.5, 0.3, 0.3]))
    maps = p(21, 21, dtype=torch.bfloat16)
    assert maps.dtype == torch.bfloat16
    m = p(21, 21)[0, 0]
    torch.testing.assert_close(m, m.T)  # square grid, equal sigmas: isotropic
    assert m[10, 10].item() == pytest.approx(1.0)
    assert m[10, 0].item() == pytest.approx(math.exp(-(0.5**2) / (2 * 0.09)), rel=1e-5)
