"""The loss terms `kld`, `cc`, `nss` agree with the evaluation metrics of `salloss.metrics` (MIT
benchmark conventions) on maps of equal size, up to these documented differences:

- CC: identical (population vs sample std cancels in Pearson's r).
- NSS: the loss uses the POPULATION std (N), MIT the SAMPLE std (N − 1), so
  metric = loss · sqrt((N − 1)/N) with N = H·W.
- KL: same direction KL(S‖P) and formula Σ s·ln(eps + s/(p + eps)); the loss uses
  eps = 1e-7 (float32-safe), MIT eps = 2.22e-16. With the loss's EPS patched to MIT's, the
  values are equal; with the default they differ by O(eps·N).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from salloss import losses as L

metrics = pytest.importorskip("salloss.metrics", reason="salloss.metrics is not built yet")
MIT_EPS = float(np.finfo(np.float64).eps)


def _need(name):
    if not hasattr(metrics, name):
        pytest.skip(f"salloss.metrics.{name} is not available yet")
    return getattr(metrics, name)


def _maps(seed, h=24, w=31):
    rng = np.random.default_rng(seed)
    sal = rng.random((h, w)) ** 2
    density = rng.random((h, w)) ** 3
    fix = rng.random((h, w)) < 0.08
    fix[3, 4] = True
    return sal, density, fix


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))[None, None]


@pytest.mark.parametrize("seed", range(4))
def test_cc_equals_the_mit_metric(seed):
    cc = _need("cc")
    sal, density, _ = _maps(seed)
    assert float(L.cc(_t(sal), _t(density))) == pytest.approx(cc(sal, density), rel=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_nss_equals_the_mit_metric_up_to_the_std_convention(seed):
    nss = _need("nss")
    sal, _, fix = _maps(seed)
    n = sal.size
    ours = float(L.nss(_t(sal), _t(fix)))
    assert ours * math.sqrt((n - 1) / n) == pytest.approx(nss(sal, fix), rel=1e-10)
    assert ours != pytest.approx(nss(sal, fix), rel=1e-4)  # the factor is really there


@pytest.mark.parametrize("seed", range(4))
def test_kld_equals_the_mit_metric_with_the_mit_epsilon(seed, monkeypatch):
    kl_div = _need("kl_div")
    sal, density, _ = _maps(seed)
    want = kl_div(sal, density)
    default = float(L.kld(_t(sal), _t(density)))
    monkeypatch.setattr("salloss.losses.distribution.EPS", MIT_EPS)
    assert float(L.kld(_t(sal), _t(density))) == pytest.approx(want, rel=1e-10)
    # eps 1e-7 vs 2.2e-16: close, not equal (pixels with p ≈ 0 feel the larger eps most).
    assert default == pytest.approx(want, rel=2e-2)
    assert default != pytest.approx(want, rel=1e-6)


def test_constant_maps_score_zero_in_the_loss_and_nan_in_the_metrics():
    """The documented divergence at the edge: MIT gives NaN, the loss 0 (no NaN in training)."""
    cc, nss = _need("cc"), _need("nss")
    sal = np.full((24, 31), 0.4)
    _, density, fix = _maps(0)
    assert math.isnan(cc(sal, density)) and math.isnan(nss(sal, fix))
    assert float(L.cc(_t(sal), _t(density))) == 0.0
    assert float(L.nss(_t(sal), _t(fix))) == 0.0
