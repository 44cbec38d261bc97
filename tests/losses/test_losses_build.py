"""build(): the combined loss equals Σ coef·term, reports each term, and every paper spec trains."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from salloss import losses as L
from salloss.errors import ConfigError, WeightsError
from salloss.losses.paper import LC1, LC2, TABLES

H, W = 32, 40


def _inputs(b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.sigmoid(torch.randn(b, 1, H, W, generator=g))
    density = torch.rand(b, 1, H, W, generator=g) ** 3
    fix = (torch.rand(b, 1, H, W, generator=g) < 0.05).float()
    fix[:, 0, 5, 5] = 1
    return pred, density, fix


def test_lc2_total_is_the_weighted_sum_of_the_term_functions(extractor):
    pred, density, fix = _inputs()
    c = torch.rand(H, W, generator=torch.Generator().manual_seed(3))
    loss = L.build(LC2, center_bias=c, vgg_weights="none")
    total, parts = loss.breakdown(pred, density, fix)
    want = {
        "kld": L.kld(pred, density),
        "cc": L.cc(pred, density),
        "nss": L.nss(pred, fix),
        "df": L.df(pred, density, extractor),
        "gm": L.gm(pred, density, extractor),
        "sigmse(lam=0.55)": L.sigmse(pred, density, lam=0.55),
        "r": L.center_bias_penalty(pred, c),
    }
    assert list(parts) == list(want)
    for k, v in want.items():
        assert float(parts[k]) == pytest.approx(float(v), rel=1e-6), k
    expected = (10 * want["kld"] - 2 * want["cc"] - want["nss"] + want["df"] + want["gm"]
                + want["sigmse(lam=0.55)"] + want["r"])
    assert float(total) == pytest.approx(float(expected), rel=1e-6)
    assert float(loss(pred, density, fix)) == pytest.approx(float(total), rel=1e-6)
    assert loss.last_terms == pytest.approx({k: float(v) for k, v in want.items()}, rel=1e-6)


def test_built_loss_reports_terms_activation_and_weights(extractor):
    loss = L.build(LC2, center_bias=torch.rand(H, W), vgg_weights="none")
    assert loss.terms == {"kld": 10.0, "cc": -2.0, "nss": -1.0, "df": 1.0, "gm": 1.0,
                          "sigmse(lam=0.55)": 1.0, "r": 1.0}
    assert loss.params["sigmse(lam=0.55)"] == {"lam": 0.55, "k": 10.0}
    assert loss.activation == "sigmoid"  # kld is distribution-based
    assert "NOT ImageNet" in loss.vgg_weights
    info = loss.describe()
    assert info["id"] == L.spec_id(LC2) and info["spec"] == LC2
    assert info["vgg_weights"] == loss.vgg_weights and info["center_bias_shape"] == [H, W]
    assert loss.last_terms == {}  # nothing evaluated yet
    assert L.build("mse").vgg_weights is None  # no perceptual term, no VGG loaded


@pytest.mark.parametrize(
    ("spec", "activation"),
    [("mse", "relu"), ("-cc", "relu"), ("df + gm", "relu"), ("bce", "sigmoid"),
     ("sigmse(lam=0.55) + nll", "sigmoid"), (LC1, "sigmoid")],
)
def test_activation_is_sigmoid_iff_a_distribution_term_is_present(spec, activation, extractor):
    assert L.build(spec, vgg_weights="none").activation == activation


def test_r_without_a_center_bias_is_refused():
    with pytest.raises(ConfigError, match="uses r .* no center-bias map"):
        L.build("sigmse(lam=0.55) + r")


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 1, 4, 5)])
def test_malformed_center_bias_is_refused(shape):
    with pytest.raises(ConfigError, match="center_bias: expected an H×W"):
        L.build("mse + r", center_bias=torch.rand(shape))


def test_non_finite_center_bias_is_refused():
    c = torch.rand(4, 5)
    c[1, 1] = float("nan")
    with pytest.raises(ConfigError, match="NaN"):
        L.build("mse + r", center_bias=c)


def test_center_bias_is_resized_to_the_prediction_and_cached():
    c = torch.rand(8, 10, generator=torch.Generator().manual_seed(1))
    loss = L.build("mse + r", center_bias=c[None, None])
    pred, density, _ = _inputs()
    loss(pred, density)
    fitted = loss._fitted[1]
    assert fitted.shape == (1, 1, H, W)
    want = nn.functional.interpolate(c[None, None], size=(H, W), mode="bilinear",
                                     align_corners=False)
    assert torch.allclose(fitted, want)
    loss(pred * 0.5, density)
    assert loss._fitted[1] is fitted  # same size: reused, not recomputed
    assert loss.last_terms["r"] == pytest.approx(float(L.center_bias_penalty(pred * 0.5, c)))


def test_unknown_weights_file_is_a_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="weights file not found"):
        L.build("df", vgg_weights=tmp_path / "missing.pth")


def test_unavailable_imagenet_weights_name_the_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError) as err:
        L.build("10*kld + df", vgg_weights="imagenet")
    assert "vgg16-397923af.pth" in str(err.value)
    assert str(tmp_path / "checkpoints") in str(err.value)


def test_local_weights_file_is_used_and_reported(tmp_path, extractor):
    path = tmp_path / "vgg.pth"
    torch.save(extractor.features.state_dict(), path)
    loss = L.build("df", vgg_weights=path)
    assert loss.vgg_weights == f"file:{path.resolve()}"
    pred, density, _ = _inputs()
    assert float(loss(pred, density)) == pytest.approx(float(L.df(pred, density, extractor)),
                                                       rel=1e-6)


class _Tiny(nn.Module):
    """A 2-layer conv net ending in the spec's activation: enough to back-propagate into."""

    def __init__(self, activation: str) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 1))
        self.act = nn.Sigmoid() if activation == "sigmoid" else nn.ReLU()
        with torch.no_grad():
            self.net[-1].bias.fill_(0.5)  # keep ReLU outputs alive

    def forward(self, x):
        return self.act(self.net(x))


_ALL_PAPER_SPECS = sorted({spec for table in TABLES.values() for _, spec in table})


@pytest.mark.parametrize("spec", _ALL_PAPER_SPECS)
def test_every_paper_spec_builds_and_backpropagates_through_a_tiny_model(spec, extractor):
    torch.manual_seed(0)
    _, density, fix = _inputs(b=2, seed=1)
    images = torch.rand(2, 3, H, W)
    loss = L.build(spec, center_bias=torch.rand(20, 20), vgg_weights="none")
    model = _Tiny(loss.activation)
    value = loss(model(images), density, fix)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    assert set(loss.last_terms) == set(loss.terms)
    # The frozen VGG never accumulates gradients.
    assert all(p.grad is None for p in extractor.parameters())


def test_one_sgd_step_lowers_the_loss(extractor):
    torch.manual_seed(0)
    _, density, fix = _inputs(b=2, seed=2)
    images = torch.rand(2, 3, H, W)
    loss = L.build(LC1, vgg_weights="none")
    model = _Tiny(loss.activation)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    with torch.no_grad():
        before = float(loss(model(images), density, fix))
    for _ in range(5):
        opt.zero_grad()
        loss(model(images), density, fix).backward()
        opt.step()
    with torch.no_grad():
        assert float(loss(model(images), density, fix)) < before


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_vgg_and_center_bias_follow_the_prediction_to_the_gpu(extractor):
    loss = L.build(LC2, center_bias=torch.rand(10, 10), vgg_weights="none")
    inputs = _inputs()
    try:
        cpu_value = float(loss(*inputs))
        value = loss(*(t.cuda() for t in inputs))  # no .to(): the loss follows pred lazily
        assert value.device.type == "cuda"
        assert next(loss.extractor.parameters()).device.type == "cuda"
        assert float(value) == pytest.approx(cpu_value, rel=1e-3)
    finally:
        extractor.cpu()  # shared by the other tests


def test_half_precision_autocast_stays_finite_and_close(extractor):
    """Under autocast the model emits bfloat16; the loss evaluates in float32 and the Gram
    matrices are formed in float32 (ψψᵀ overflows float16)."""
    pred, density, fix = _inputs()
    c = torch.rand(H, W)
    loss = L.build(LC2, center_bias=c, vgg_weights="none")
    with torch.no_grad():
        full = float(loss(pred, density, fix))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = loss(pred.bfloat16(), density, fix)
    assert half.dtype == torch.float32
    assert float(half) == pytest.approx(full, rel=2e-2)


def test_gram_of_large_half_precision_features_does_not_overflow():
    from salloss.losses.perceptual import gram

    feats = torch.full((1, 2, 100, 100), 100.0, dtype=torch.float16)  # ψψᵀ entries = 1e8
    g = gram(feats)
    assert torch.isfinite(g).all()
    assert torch.allclose(g, torch.full((1, 2, 2), 1e8 / (2 * 100 * 100)))


def test_perceptual_size_resizes_both_maps_before_vgg(extractor):
    """perceptual_size: df/gm of the maps resized to (H, W) first; other terms untouched."""
    import torch.nn.functional as F

    from salloss.losses import perceptual

    g = torch.Generator().manual_seed(3)
    pred = torch.rand(2, 1, 72, 96, generator=g, dtype=torch.float64)
    density = torch.rand(2, 1, 72, 96, generator=g, dtype=torch.float64) * 4
    small = L.build("df + gm + mse", vgg_weights="none", perceptual_size=(48, 64))
    full = L.build("df + gm + mse", vgg_weights="none")
    _, parts = small.breakdown(pred, density, None)
    _, full_parts = full.breakdown(pred, density, None)

    def resized(x):
        return F.interpolate(x, size=(48, 64), mode="bilinear", align_corners=False,
                             antialias=True)

    want_df = perceptual.df(resized(pred), resized(density), extractor)
    want_gm = perceptual.gm(resized(pred), resized(density), extractor)
    assert float(parts["df"]) == pytest.approx(float(want_df), rel=1e-10)
    assert float(parts["gm"]) == pytest.approx(float(want_gm), rel=1e-10)
    assert float(parts["df"]) != pytest.approx(float(full_parts["df"]), rel=1e-3)
    assert float(parts["mse"]) == float(full_parts["mse"])  # pixel terms at full size
    assert small.perceptual_size == (48, 64) and full.perceptual_size is None
    with pytest.raises(ConfigError, match="at least 32"):
        L.build("df", vgg_weights="none", perceptual_size=(16, 64))
