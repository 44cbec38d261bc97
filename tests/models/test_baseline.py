"""The paper's baseline: parameter count, frozen VGG, fixed Gaussian, encode/decode split."""

import math

import pytest
import torch
import torch.nn.functional as F

from salloss.errors import ConfigError, SallossError, WeightsError
from salloss.models import Baseline, build, count_trainable
from salloss.models.baseline import gaussian_kernel
from salloss.models.vgg import vgg16_features


@pytest.fixture(scope="module")
def model() -> Baseline:
    return build("baseline", weights="none", seed=0)


def images(*size, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, *size, generator=g)


def test_exactly_1622401_trainable_parameters(model):
    assert count_trainable(model) == 1_622_401
    head = model.head
    assert sum(p.numel() for p in head.conv.parameters()) == 1280 * 128 * 9 + 128
    assert [sum(p.numel() for p in c.parameters()) for c in head.aspp] == [128 * 32 * 9 + 32] * 4
    assert [c.dilation for c in head.aspp] == [(1, 1), (3, 3), (6, 6), (12, 12)]
    assert sum(p.numel() for p in head.out.parameters()) == 129
    assert count_trainable(head) == 1_622_401  # everything trainable lives in the head


def test_vgg_frozen_and_always_in_eval_mode(model):
    model.train()
    assert model.training and model.head.training and model.head.dropout.training
    assert not model.backbone.training
    assert not any(m.training for m in model.backbone.modules())
    assert not any(p.requires_grad for p in model.backbone.parameters())
    model.backbone.train()  # even asked directly
    assert not model.backbone.training
    x = images(48, 64).requires_grad_(True)
    model.zero_grad()
    model(x).sum().backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.head.parameters())
    feats = model.encode(x)
    assert not feats.requires_grad  # no graph through the frozen part
    model.eval()


@pytest.mark.parametrize("seed", [0, 2])
def test_relu_output_is_alive_at_initialisation(seed):
    # Symmetric init of the last 1×1 conv would give an all-zero ReLU map for these seeds.
    m = build("baseline", weights="none", seed=seed).eval()
    assert (m.head.out.weight >= 0).all()
    out = m(images(48, 64))
    assert (out > 0).float().mean() > 0.9


def test_gaussian_is_a_fixed_buffer():
    model = build("baseline", weights="none")
    names = {n for n, _ in model.named_parameters()}
    assert not any("gaussian" in n for n in names)
    k = model.head.gaussian
    assert k.shape == (1, 1, 5, 5) and not k.requires_grad
    assert k.sum().item() == pytest.approx(1.0)
    assert k[0, 0, 2, 3].item() / k[0, 0, 2, 2].item() == pytest.approx(math.exp(-0.5))
    assert k[0, 0, 0, 0].item() / k[0, 0, 2, 2].item() == pytest.approx(math.exp(-4.0))
    before = k.clone()
    head_before = model.head.conv.weight.detach().clone()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    opt.zero_grad()
    model(images(32, 48)).mean().backward()
    opt.step()
    model.eval()
    torch.testing.assert_close(model.head.gaussian, before)
    assert not torch.equal(model.head.conv.weight, head_before)  # the step did train the head


@pytest.mark.parametrize("size", [(64, 96), (96, 128), (67, 101), (16, 16)])
def test_output_and_feature_shapes(model, size):
    x = images(*size)
    feats = model.encode(x)
    assert feats.shape == (2, *model.feature_shape(size))
    assert feats.shape[1:] == (1280, size[0] // 8, size[1] // 8)
    out = model(x)
    assert out.shape == (2, 1, *size) == (2, 1, *model.output_shape(size))


def test_stride8_grid_for_the_papers_input_is_37x50(model):
    assert model.input_size == (300, 400)
    assert model.feature_shape() == (1280, 37, 50)
    assert model.encode(images(300, 400, batch=1)).shape == (1, 1280, 37, 50)


def test_encode_stacks_the_three_vgg_taps(model):
    x = images(64, 80, batch=1)
    f = model.backbone.features
    pool3 = f[:17](x)
    pool4 = f[:24](x)
    conv5_3 = f[:30](x)
    assert pool3.shape[1:] == (256, 8, 10) and pool4.shape[1:] == (512, 4, 5)
    want = torch.cat(
        [
            pool3,
            F.interpolate(pool4, size=(8, 10), mode="bilinear", align_corners=False),
            F.interpolate(conv5_3, size=(8, 10), mode="bilinear", align_corners=False),
        ],
        dim=1,
    )
    torch.testing.assert_close(model.encode(x), want)
    assert conv5_3.min() >= 0  # taken after conv5_3's ReLU


def test_forward_is_decode_of_encode(model):
    x = images(40, 56)
    torch.testing.assert_close(model(x), model.decode(model.encode(x), (40, 56)))
    assert model.decode(model.encode(x), (13, 21)).shape == (2, 1, 13, 21)


def test_dropout_only_in_training(model):
    feats = model.encode(images(32, 32))
    model.eval()
    torch.testing.assert_close(model.decode(feats, (32, 32)), model.decode(feats, (32, 32)))
    model.train()
    torch.manual_seed(0)
    a = model.decode(feats, (32, 32))
    b = model.decode(feats, (32, 32))
    model.eval()
    assert not torch.allclose(a, b)


def test_activations():
    x = images(32, 48)
    # replicate padding: the Gaussian keeps a constant (the bias shift below) constant
    common = dict(weights="none", seed=1, blur_padding="replicate")
    sig = build("baseline", activation="sigmoid", **common).eval()
    relu = build("baseline", activation="relu", **common).eval()
    with torch.no_grad():  # the sigmoid head starts at its prior bias; compare equal logits
        sig.head.out.bias.copy_(relu.head.out.bias)
    feats = sig.encode(x)
    grid = tuple(feats.shape[-2:])
    # Shift both models' logits to straddle 0 so the ReLU has work to do.
    shift = torch.logit(sig.decode(feats, grid)).median().item()
    with torch.no_grad():
        for m in (sig, relu):
            m.head.out.bias -= shift
    s, r = sig(x), relu(x)
    assert s.min() > 0 and s.max() < 1
    assert r.min() >= 0 and (r == 0).any() and (r > 0).any()
    # Same seed, same weights: on the feature grid (no resize) the outputs are the activations
    # of the same logits.
    logits = torch.logit(sig.decode(feats, grid).double())
    torch.testing.assert_close(
        relu.decode(feats, grid).double(), torch.relu(logits), atol=1e-5, rtol=1e-4
    )
    assert sig.activation == "sigmoid" and relu.activation == "relu"


def test_blur_padding_options():
    const = torch.full((1, 1, 9, 9), 2.0)
    default = build("baseline", weights="none").head
    assert default.blur_padding == "replicate"
    torch.testing.assert_close(default.blur(const), const)  # no structure out of a constant
    zeros = build("baseline", weights="none", blur_padding="zeros").head.blur(const)
    torch.testing.assert_close(zeros[..., 2:-2, 2:-2], const[..., 2:-2, 2:-2])
    assert zeros[0, 0, 0, 0] < 2.0 * 0.6  # zero padding darkens the corner
    k = gaussian_kernel(7, 2.0)
    assert k.shape == (7, 7) and k.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_head_adds_no_spatial_structure_of_its_own(activation):
    """Constant input → constant map: zero features make every conv output its bias, so the
    map is spatially constant unless the head itself paints something (the zero-padded blur of
    the 1×1 conv's bias painted a bright frame: P ≈ 0.25 at the border vs 0.10 inside)."""
    model = build("baseline", weights="none", activation=activation, encoder=False).eval()
    if activation == "relu":  # the ReLU head starts with a zero bias; give it a live one
        with torch.no_grad():
            model.head.out.bias.fill_(0.5)
    feats = torch.zeros(2, 1280, 6, 8)
    with torch.no_grad():
        grid = model.decode(feats, (6, 8))
        full = model.decode(feats, (48, 64))
    expected = 0.1 if activation == "sigmoid" else 0.5  # the prior probability / the bias
    for out in (grid, full):
        torch.testing.assert_close(out, torch.full_like(out, expected), atol=1e-6, rtol=0)
    framed = build("baseline", weights="none", activation=activation, encoder=False,
                   blur_padding="zeros").eval()
    framed.head.load_state_dict(model.head.state_dict())
    with torch.no_grad():
        painted = framed.decode(feats, (6, 8))[0, 0]
    assert float(painted.max() - painted.min()) > 0.05  # what the old default did


def test_head_only_build_for_feature_caches():
    """encoder=False builds the identical head without VGG; encode then refuses clearly."""
    full = build("baseline", weights="none", seed=5)
    head_only = build("baseline", weights="none", seed=5, encoder=False)
    assert head_only.backbone is None
    assert list(head_only.state_dict()) == [k for k in full.state_dict() if
                                            k.startswith("head.")]
    for (name, a), b in zip(full.head.state_dict().items(),
                            head_only.head.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert count_trainable(head_only) == 1_622_401
    feats = full.encode(images(48, 64))
    torch.testing.assert_close(full.eval().decode(feats, (48, 64)),
                               head_only.eval().decode(feats, (48, 64)))
    with pytest.raises(ConfigError, match="without its encoder"):
        head_only.encode(images(48, 64))


def test_seeded_builds_are_reproducible():
    """The seed draws the head; a random-init backbone is the same for every seed (it stands
    in for pretrained weights, and every seed of a run shares one feature cache)."""
    a, b = build("baseline", weights="none", seed=3), build("baseline", weights="none", seed=3)
    c = build("baseline", weights="none", seed=4)
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), n
    assert not torch.equal(a.head.conv.weight, c.head.conv.weight)
    assert torch.equal(a.backbone.features[0].weight, c.backbone.features[0].weight)


def test_weights_from_a_local_file(tmp_path):
    feats = vgg16_features("none", seed=7)
    path = tmp_path / "vgg.pth"
    torch.save({f"features.{k}": v for k, v in feats.state_dict().items()}, path)
    m = build("baseline", weights=str(path))
    torch.testing.assert_close(m.backbone.features[28].weight, feats[28].weight)
    assert m.weights_tag.startswith("file:")
    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, bad)
    with pytest.raises(WeightsError, match="bad.pth"):
        build("baseline", weights=str(bad))
    with pytest.raises(WeightsError, match="not found"):
        build("baseline", weights=str(tmp_path / "missing.pth"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"activation": "tanh"}, "activation='tanh'.*relu, sigmoid"),
        ({"dropout": 1.5}, "dropout"),
        ({"blur_size": 4}, "blur_size must be odd"),
        ({"blur_sigma": 0}, "blur_sigma"),
        ({"blur_padding": "reflect"}, "blur_padding.*replicate, zeros"),
        ({"input_size": (0, 10)}, "input_size"),
        ({"input_size": "300x400"}, "input_size"),
        ({"seed": "a"}, "seed"),
        ({"weights": None}, "weights=None.*imagenet"),
        ({"weight": "none"}, "unknown option.*weight.*valid options"),
    ],
)
def test_bad_options_raise_config_errors(options, message):
    opts = {"weights": "none", **options}
    if "weight" in options:
        del opts["weights"]
    with pytest.raises(ConfigError, match=message):
        build("baseline", **opts)


def test_bad_inputs(model):
    with pytest.raises(ValueError, match="B×3×H×W"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="too small"):
        model(torch.randn(1, 3, 8, 32))
    with pytest.raises(ValueError, match="1280"):
        model.decode(torch.randn(1, 512, 4, 4), (32, 32))
    assert issubclass(WeightsError, SallossError)


def test_channels_last_matches_contiguous():
    m = build("baseline", weights="none").eval()
    x = images(48, 64)
    want = m(x)
    m = m.to(memory_format=torch.channels_last)
    got = m(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_bf16_autocast(model):
    x = images(48, 64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    assert out.shape == (2, 1, 48, 64) and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), model(x), rtol=0.1, atol=0.1)


def test_sigmoid_head_starts_at_the_prior_not_one_half():
    """A sigmoid baseline starts near SIGMOID_PRIOR (mostly-background targets), a ReLU one
    at zero bias; features of zero isolate the output bias."""
    from salloss.models.baseline import SIGMOID_PRIOR

    sig = build("baseline", weights="none", activation="sigmoid", input_size=(64, 64)).eval()
    feats = torch.zeros((1, 1280, 8, 8))
    out = sig.decode(feats, (64, 64))
    centre = float(out[0, 0, 32, 32])
    assert abs(centre - SIGMOID_PRIOR) < 1e-4
    relu = build("baseline", weights="none", activation="relu", input_size=(64, 64)).eval()
    assert float(relu.head.out.bias) == 0.0
