"""Every loss term against an independent NumPy implementation of SPEC.md §1's formula.

The references below are written from SPEC.md (not from salloss.losses): float64, one image
at a time, then the batch mean. Inputs are random; the density is NOT normalised (max ≈ 5) so
the per-image normalisation of each term is exercised too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from salloss import losses as L

EPS = 1e-7  # SPEC.md §1


def _maxn(x):
    return x / x.max()


def _sumn(x):
    return x / x.sum()


# --- NumPy references: each takes one image (2-D arrays) -------------------------------------
def ref_mse(p, s, f):
    return np.mean((_maxn(s) - p) ** 2)


def ref_ead(p, s, f):
    return np.mean(np.exp(np.abs(_maxn(s) - p)) - 1)


def ref_ae(p, s, f):
    return np.mean(np.abs(_maxn(s) - p))


def ref_wmse(p, s, f, alpha=1.1, kappa=1e-3):
    s = _maxn(s)
    return np.mean(((p + kappa) / (p.max() + kappa) - s) ** 2 / (alpha - s))


def ref_sigmse(p, s, f, lam=0.55, k=10.0):
    s = _maxn(s)
    w = k / (1 + np.exp(-k * (s - lam)))
    return np.mean(w * (s - p) ** 2)


def ref_bce(p, s, f):
    s = _maxn(s)
    return -np.mean(s * np.log(p) + (1 - s) * np.log(1 - p))


def ref_wbce(p, s, f, w=0.7):
    s = _maxn(s)
    return -np.mean(w * s * np.log(p) + (1 - w) * (1 - s) * np.log(1 - p))


def ref_focal(p, s, f, gamma=2.0):
    s = _maxn(s)
    return -np.mean((1 - p) ** gamma * s * np.log(p) + p**gamma * (1 - s) * np.log(1 - p))


def ref_kld(p, s, f):
    s, p = _sumn(s), _sumn(p)
    return np.sum(s * np.log(EPS + s / (p + EPS)))


def ref_bhat(p, s, f):
    return -np.log(np.sum(np.sqrt(_sumn(s) * _sumn(p))))


def ref_nll(p, s, f):
    return -np.mean(np.log(_sumn(p)[f > 0] + EPS))


def ref_cc(p, s, f):
    return np.corrcoef(p.ravel(), s.ravel())[0, 1]


def ref_nss(p, s, f):
    z = (p - p.mean()) / p.std(ddof=0)
    return z[f > 0].mean()


REFERENCES = {
    "mse": (ref_mse, {}),
    "ead": (ref_ead, {}),
    "ae": (ref_ae, {}),
    "wmse": (ref_wmse, {}),
    "sigmse": (ref_sigmse, {"lam": 0.3}),
    "bce": (ref_bce, {}),
    "wbce": (ref_wbce, {"w": 0.8}),
    "focal": (ref_focal, {"gamma": 2.0}),
    "kld": (ref_kld, {}),
    "bhat": (ref_bhat, {}),
    "nll": (ref_nll, {}),
    "cc": (ref_cc, {}),
    "nss": (ref_nss, {}),
}
_SECOND_INPUT = {"nll": "fix", "nss": "fix"}


def _batch_ref(ref, pred, density, fix, **params):
    p, s, f = (t.detach().double().numpy()[:, 0] for t in (pred, density, fix))
    return float(np.mean([ref(p[i], s[i], f[i], **params) for i in range(p.shape[0])]))


def _call(name, pred, density, fix, **params):
    second = fix if _SECOND_INPUT.get(name) == "fix" else density
    return getattr(L, name)(pred, second, **params)


def test_every_pointwise_term_has_a_reference():
    assert set(REFERENCES) | {"df", "gm", "r"} == set(L.REGISTRY)


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("seed", [0, 1])
def test_term_matches_numpy_reference_float64(name, seed, make_maps):
    ref, params = REFERENCES[name]
    pred, density, fix = make_maps(seed=seed)
    got = float(_call(name, pred, density, fix, **params))
    want = _batch_ref(ref, pred, density, fix, **params)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_term_matches_numpy_reference_float32(name, make_maps):
    ref, params = REFERENCES[name]
    pred, density, fix = make_maps(b=2, h=48, w=64, seed=3, dtype=torch.float32)
    got = float(_call(name, pred, density, fix, **params))
    want = _batch_ref(ref, pred, density, fix, **params)
    assert got == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_registry_call_uses_the_term_function(make_maps):
    """The registry adapter forwards the spec's parameters (not the defaults)."""
    pred, density, fix = make_maps()
    a = L.build("sigmse(lam=0.25, k=4)")(pred, density, fix)
    assert float(a) == pytest.approx(_batch_ref(ref_sigmse, pred, density, fix, lam=0.25, k=4.0))


# --- hand-computed tiny cases (2×2 maps) ---------------------------------------------------
def _t(rows):
    return torch.tensor(rows, dtype=torch.float64).view(1, 1, 2, 2)


def test_wmse_hand_computed():
    # kappa=0 is ML-Net's P/max(P) = [.25, .5, .125, 1]; S = [0, .5, 1, .25]; α = 1.1
    pred, density = _t([[0.2, 0.4], [0.1, 0.8]]), _t([[0.0, 0.5], [1.0, 0.25]])
    want = (0.25**2 / 1.1 + 0.0 / 0.6 + 0.875**2 / 0.1 + 0.75**2 / 0.85) / 4
    assert want == pytest.approx(2.0937082219251337)
    assert float(L.wmse(pred, density, kappa=0)) == pytest.approx(want, rel=1e-12)
    # The density's scale must not matter (S is max-normalised).
    assert float(L.wmse(pred, 4 * density, kappa=0)) == pytest.approx(want, rel=1e-12)
    # The default liveness offset κ = 1e-3: p = (P + κ)/(max P + κ), a live map moves little.
    k = 1e-3
    p = [(v + k) / (0.8 + k) for v in (0.2, 0.4, 0.1, 0.8)]
    want_k = sum((pv - sv) ** 2 / (1.1 - sv)
                 for pv, sv in zip(p, (0, .5, 1, .25), strict=True)) / 4
    assert float(L.wmse(pred, density)) == pytest.approx(want_k, rel=1e-12)
    assert want_k == pytest.approx(want, rel=5e-3)


def test_sigmse_hand_computed():
    # k = 10, λ = 0.5: weight 5 at S = λ, 10/(1+e^-5) at S = 1, 10/(1+e^5) at S = 0.
    pred, density = _t([[0.1, 0.5], [0.2, 0.5]]), _t([[0.5, 1.0], [0.0, 0.5]])
    w1, w0 = 10 / (1 + math.exp(-5)), 10 / (1 + math.exp(5))
    want = (5 * 0.4**2 + w1 * 0.5**2 + w0 * 0.2**2 + 5 * 0.0) / 4
    assert want == pytest.approx(0.8214862532647506)
    assert float(L.sigmse(pred, density, lam=0.5)) == pytest.approx(want, rel=1e-12)


def test_wbce_hand_computed():
    # w = 0.7: pixels (S, P) = (1, .8), (0, .2), (.5, .5), (1, .5)
    pred, density = _t([[0.8, 0.2], [0.5, 0.5]]), _t([[1.0, 0.0], [0.5, 1.0]])
    want = -(0.7 * math.log(0.8) + 0.3 * math.log(0.8) + 0.5 * math.log(0.5)
             + 0.7 * math.log(0.5)) / 4
    assert want == pytest.approx(0.26373004199653605)
    assert float(L.wbce(pred, density, w=0.7)) == pytest.approx(want, rel=1e-12)


def test_focal_hand_computed():
    # γ = 2, same pixels as the W-BCE case: weights (1−P)² on S·log P, P² on (1−S)·log(1−P).
    pred, density = _t([[0.8, 0.2], [0.5, 0.5]]), _t([[1.0, 0.0], [0.5, 1.0]])
    want = -(0.04 * math.log(0.8) + 0.04 * math.log(0.8)
             + 0.25 * 0.5 * math.log(0.5) * 2 + 0.25 * math.log(0.5)) / 4
    assert want == pytest.approx(0.09110626859627735)
    assert float(L.focal(pred, density, gamma=2)) == pytest.approx(want, rel=1e-12)
    # γ = 0 is plain BCE.
    assert float(L.focal(pred, density, gamma=0)) == pytest.approx(float(L.bce(pred, density)))


# --- perceptual terms: NumPy formula on features of an independently prepared input ---------
_POOLS = (4, 9, 16, 23, 30)  # torchvision vgg16().features indices of pool1..pool5
_MEAN = np.array([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
_STD = np.array([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)


def _np_features(extractor, maps: np.ndarray) -> list[np.ndarray]:
    """pool1..pool5 of the frozen VGG for B×1×H×W maps: 3-channel copy, ImageNet-normalised."""
    x = torch.from_numpy(((np.repeat(maps, 3, axis=1) - _MEAN) / _STD).astype(np.float32))
    out = []
    with torch.no_grad():
        for i, layer in enumerate(extractor.features):
            x = layer(x)
            if i in _POOLS:
                out.append(x.double().numpy())
    return out


def _np_gram(phi):
    c, h, w = phi.shape
    psi = phi.reshape(c, h * w)
    return psi @ psi.T / (c * h * w)


@pytest.mark.parametrize("name", ["df", "gm"])
def test_perceptual_matches_numpy_reference(name, extractor, make_maps):
    pred, density, _ = make_maps(b=2, h=32, w=48, seed=5, dtype=torch.float32)
    p_np = pred.double().numpy()
    s_np = density.double().numpy()
    s_np = s_np / s_np.max(axis=(1, 2, 3), keepdims=True)  # S max-normalised per image
    fp, fs = _np_features(extractor, p_np), _np_features(extractor, s_np)
    assert [f.shape[1] for f in fp] == [64, 128, 256, 512, 512]  # the paper's 1920 filters
    per_image = []
    for i in range(2):
        if name == "df":
            per_image.append(sum(np.mean((a[i] - b[i]) ** 2) for a, b in zip(fs, fp, strict=True)))
        else:
            per_image.append(sum(np.sum((_np_gram(a[i]) - _np_gram(b[i])) ** 2)
                                 for a, b in zip(fs, fp, strict=True)))
    want = float(np.mean(per_image))
    got = float(getattr(L, name)(pred, density, extractor))
    assert want > 0
    assert got == pytest.approx(want, rel=1e-4)


def test_center_bias_regularizer_matches_reference(make_maps):
    pred, _, _ = make_maps()
    c = torch.rand(16, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    p_np, c_np = pred.numpy()[:, 0], c.numpy()
    want = np.mean([0.1 * np.mean((p_np[i] - c_np) ** 2) for i in range(3)])
    assert float(L.center_bias_penalty(pred, c)) == pytest.approx(want, rel=1e-12)
    assert float(L.center_bias_penalty(pred, c, alpha=0.5)) == pytest.approx(5 * want, rel=1e-12)


def test_center_bias_of_another_size_is_resized_bilinearly(make_maps):
    pred, _, _ = make_maps(b=2, h=16, w=20)
    # A constant map stays constant under bilinear resizing: the reference needs no resize.
    c = torch.full((5, 7), 0.3, dtype=torch.float64)
    want = 0.1 * np.mean((pred.numpy() - 0.3) ** 2)
    assert float(L.center_bias_penalty(pred, c)) == pytest.approx(want, rel=1e-12)
    # A horizontal ramp sampled at half resolution, upsampled ×2 with align_corners=False:
    # interior columns interpolate linearly between the coarse samples.
    coarse = torch.arange(10, dtype=torch.float64).repeat(8, 1)  # 8×10, value = column index
    fine_cols = np.clip((np.arange(20) + 0.5) / 2 - 0.5, 0, 9)  # source coordinate per column
    fine = np.tile(fine_cols, (16, 1))
    want = np.mean([0.1 * np.mean((p - fine) ** 2) for p in pred.numpy()[:, 0]])
    assert float(L.center_bias_penalty(pred, coarse)) == pytest.approx(want, rel=1e-12)
