"""Invariances the definitions imply: zero at P = S, scale invariances, and the Gram matrix's
blindness to where features are (and the deep-feature loss's sensitivity to it)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from salloss import losses as L
from salloss.losses.perceptual import df_from_features, gm_from_features


def _smooth(b=2, h=32, w=48, seed=0):
    """A max-normalised density-like map (blobs), strictly positive."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    maps = []
    for _ in range(b):
        cx, cy = (torch.rand(2, generator=g) - 0.5).tolist()
        m = torch.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.2) + 0.05
        maps.append(m / m.max())
    return torch.stack(maps)[:, None].double()


@pytest.mark.parametrize("spec", ["mse", "ead", "ae", "wmse(kappa=0)", "sigmse(lam=0.55)", "df",
                                  "gm"])
def test_zero_when_prediction_equals_density(spec, extractor):
    s = _smooth().float()
    loss = L.build(spec, vgg_weights="none")
    assert float(loss(s.clone(), s, None)) == pytest.approx(0.0, abs=1e-12)
    # ...and strictly positive otherwise, so the test above can fail.
    assert float(loss(s.flip(-1), s, None)) > 1e-6


def test_wmse_liveness_offset_shifts_its_zero_by_kappa_squared():
    """With the default κ = 1e-3, P = S (max 1) gives p = (S + κ)/(1 + κ): ~κ², not 0."""
    s = _smooth()
    value = float(L.wmse(s.clone(), s))
    assert 0 < value < 1e-5
    assert float(L.wmse(1e3 * s, s)) < value * 1e-4  # a larger scale makes κ negligible


@pytest.mark.parametrize("name", ["kld", "bhat"])
def test_distribution_terms_vanish_when_prediction_is_proportional(name):
    s = _smooth()
    # KLD's EPS inside log(EPS + s/(p + EPS)) leaves ≈ −EPS·Σ s/p = −EPS·N at p = s.
    tol = 2 * L.EPS * s[0].numel() if name == "kld" else 1e-9
    assert float(getattr(L, name)(0.3 * s, s)) == pytest.approx(0.0, abs=tol)
    assert float(getattr(L, name)(s.flip(-1), s)) > 1e-3


def test_center_bias_term_is_zero_at_the_prior():
    c = _smooth(b=1)[0, 0]
    pred = c.expand(3, 1, *c.shape).clone()
    assert float(L.center_bias_penalty(pred, c)) == 0.0
    assert float(L.center_bias_penalty(pred + 0.1, c)) == pytest.approx(0.1 * 0.01)


@pytest.mark.parametrize("scale", [1e-3, 0.5, 7.0, 300.0])
def test_cc_invariant_to_positive_scaling_and_shift_of_prediction(scale):
    g = torch.Generator().manual_seed(1)
    pred, density = torch.rand(2, 1, 20, 30, generator=g), torch.rand(2, 1, 20, 30, generator=g)
    base = float(L.cc(pred, density))
    assert float(L.cc(scale * pred + 0.2, density)) == pytest.approx(base, rel=1e-4, abs=1e-6)
    assert float(L.cc(-scale * pred, density)) == pytest.approx(-base, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("name", ["kld", "bhat", "nll", "nss"])
def test_distribution_and_nss_invariant_to_scaling_prediction(name):
    g = torch.Generator().manual_seed(2)
    pred = torch.rand(2, 1, 20, 30, generator=g, dtype=torch.float64)
    density = torch.rand(2, 1, 20, 30, generator=g, dtype=torch.float64)
    fix = (torch.rand(2, 1, 20, 30, generator=g) < 0.2).double()
    second = fix if name in ("nll", "nss") else density
    f = getattr(L, name)
    assert float(f(4.0 * pred, second)) == pytest.approx(float(f(pred, second)), rel=1e-6)


@pytest.mark.parametrize("name", sorted(n for n, i in L.REGISTRY.items()
                                        if "density" in i.needs))
def test_every_density_term_ignores_the_density_scale(name, spec_for, extractor):
    """SPEC §1: each term normalises S itself (max or sum), so S and 37·S give the same value."""
    pred = 0.05 + 0.9 * _smooth(seed=3).float().flip(-1)
    s = _smooth(seed=4).float()
    loss = L.build(spec_for(name), vgg_weights="none")
    assert float(loss(pred, 37.0 * s, None)) == pytest.approx(float(loss(pred, s, None)),
                                                               rel=1e-5)


def _permute_positions(feats, perm_seed):
    """Permute the H·W positions of every feature map (same channels, shuffled places)."""
    g = torch.Generator().manual_seed(perm_seed)
    out = []
    for f in feats:
        b, c, h, w = f.shape
        idx = torch.randperm(h * w, generator=g)
        out.append(f.reshape(b, c, h * w)[:, :, idx].reshape(b, c, h, w))
    return out


def test_gram_loss_ignores_feature_positions_deep_features_do_not(extractor):
    with torch.no_grad():
        fp = extractor(_smooth(seed=5).float())
        fs = extractor(_smooth(seed=6).float())
    gm0, df0 = float(gm_from_features(fp, fs)), float(df_from_features(fp, fs))
    assert gm0 > 0 and df0 > 0
    # G = ψψᵀ sums over positions: any permutation of P's or S's positions leaves it unchanged.
    assert float(gm_from_features(_permute_positions(fp, 0), _permute_positions(fs, 1))) == \
        pytest.approx(gm0, rel=1e-5)
    # DF compares position by position: invariant to the SAME permutation of both ...
    assert float(df_from_features(_permute_positions(fp, 0), _permute_positions(fs, 0))) == \
        pytest.approx(df0, rel=1e-5)
    # ... but not to different ones.
    shuffled = float(df_from_features(_permute_positions(fp, 0), _permute_positions(fs, 1)))
    assert shuffled != pytest.approx(df0, rel=1e-3)


_maps = st.integers(0, 2**31 - 1).map(
    lambda seed: torch.rand(2, 1, 6, 7, generator=torch.Generator().manual_seed(seed),
                            dtype=torch.float64)
)


@settings(max_examples=40, deadline=None)
@given(pred=_maps, density=_maps, power=st.floats(0.2, 4.0))
def test_bounds_hold_for_random_maps(pred, density, power):
    density = density**power  # vary how peaked the density is
    assert -1.0 - 1e-9 <= float(L.cc(pred, density)) <= 1.0 + 1e-9
    assert float(L.kld(pred, density)) >= -1e-5  # KL ≥ 0 up to the EPS terms
    assert float(L.bhat(pred, density)) >= -1e-9  # Bhattacharyya coefficient ≤ 1
    for f in (L.mse, L.ae, L.ead, L.wmse):
        assert float(f(pred, density)) >= 0.0
