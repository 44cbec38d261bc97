"""SAM-VGG: Keras parameter bookkeeping, dilated backbone, shapes, attention, options."""

import copy
import math

import pytest
import torch

from salloss.errors import ConfigError
from salloss.models import SamVGG, build, count_trainable
from salloss.models.keras_ops import SameMaxPool2x2
from salloss.models.priors import CLIP_RANGES

# SPEC.md §3, Keras bookkeeping of the released sam_vgg model.
KERAS_COUNTS = {
    "vgg16": 14_714_688,
    "attentive_convlstm": 23_602_688,
    "prior_conv1": 6_758_912,
    "prior_conv2": 6_758_912,
    "final_conv": 513,
    "priors1": 64,
    "priors2": 64,
}


@pytest.fixture(scope="module")
def sam() -> SamVGG:
    return build("sam_vgg", weights="none", seed=0).eval()


def images(*size, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, *size, generator=g)


def test_parameter_counts_match_keras_bookkeeping(sam):
    assert sam.param_counts() == KERAS_COUNTS
    assert count_trainable(sam) == sum(KERAS_COUNTS.values()) == 51_835_841
    assert sum(p.numel() for p in sam.parameters()) == 51_835_841  # nothing frozen, nothing extra


def test_dilated_vgg_structure(sam):
    f = sam.backbone
    assert len(f) == 30  # pool5 (index 30) dropped
    pools = {i: m for i, m in enumerate(f) if isinstance(m, torch.nn.MaxPool2d | SameMaxPool2x2)}
    assert sorted(pools) == [4, 9, 16, 23]
    assert isinstance(pools[16], SameMaxPool2x2) and pools[16].stride == 2
    assert isinstance(pools[23], SameMaxPool2x2) and pools[23].stride == 1
    assert pools[23].backend == "tensorflow"
    assert [f[i].dilation for i in (24, 26, 28)] == [(2, 2)] * 3
    assert [f[i].padding for i in (24, 26, 28)] == [(2, 2)] * 3
    assert all(f[i].dilation == (1, 1) for i in range(24) if isinstance(f[i], torch.nn.Conv2d))
    assert "0.weight" in f.state_dict() and "28.bias" in f.state_dict()  # torchvision names kept


def test_default_sizes_240x320_to_480x640(sam):
    assert sam.input_size == (240, 320)
    assert sam.feature_shape() == (512, 30, 40)
    assert sam.output_shape() == (480, 640)
    meta = copy.deepcopy(sam).to("meta")  # shape-only forward at full size, no compute
    out, att = meta(torch.empty(1, 3, 240, 320, device="meta"), return_attention=True)
    assert out.shape == (1, 1, 480, 640)
    assert att.shape == (1, 4, 1, 30, 40)
    assert meta.backbone(torch.empty(1, 3, 240, 320, device="meta")).shape == (1, 512, 30, 40)


@pytest.mark.parametrize(
    ("size", "grid"), [((32, 48), (4, 6)), ((64, 96), (8, 12)), ((67, 101), (8, 13))]
)
def test_output_shapes(sam, size, grid):
    assert sam.feature_shape(size) == (512, *grid)
    with torch.no_grad():
        assert sam.backbone(images(*size, batch=1)).shape == (1, 512, *grid)
        out = sam(images(*size, batch=1))
    assert out.shape == (1, 1, grid[0] * 16, grid[1] * 16) == (1, 1, *sam.output_shape(size))
    assert out.min() >= 0  # final ReLU


def test_attention_sums_to_one_over_positions(sam):
    with torch.no_grad():
        out, att = sam(images(32, 48), return_attention=True)
        plain = sam(images(32, 48))
    assert att.shape == (2, 4, 1, 4, 6) and att.dtype == torch.float32
    sums = att.sum(dim=(-2, -1))
    torch.testing.assert_close(sums, torch.ones_like(sums))
    # V_a is zero-initialised: every attention map starts uniform
    torch.testing.assert_close(att, torch.full_like(att, 1 / 24))
    torch.testing.assert_close(sam.last_attention, att)
    torch.testing.assert_close(plain, out)  # the flag changes nothing else


def test_attention_after_training_v_a_is_a_nonuniform_distribution(sam):
    model = copy.deepcopy(sam)
    with torch.no_grad():
        model.convlstm.V_a.weight.normal_(0, 0.5)
        _, att = model(images(32, 48, batch=1), return_attention=True)
    sums = att.sum(dim=(-2, -1))
    torch.testing.assert_close(sums, torch.ones_like(sums))
    assert att.max() > 2 / 24  # no longer uniform


def test_everything_trains_and_priors_stay_clipped(sam):
    model = copy.deepcopy(sam).train()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    model(images(32, 48, batch=1)).mean().backward()
    for name in ("backbone.0.weight", "convlstm.V_a.weight", "convlstm.U_i.weight",
                 "prior_conv2.weight", "final.weight"):  # fmt: skip
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    with torch.no_grad():
        model.priors1.weight.grad = torch.full_like(model.priors1.weight, -5.0)
    opt.step()  # pushes every prior parameter up by 5: out of range
    assert (model.priors1.weight > 1).all()
    for name, (low, high) in CLIP_RANGES.items():
        value = model.priors1.clipped()[name]
        assert value.min() >= low and value.max() <= high


def test_keras_initialisation_of_the_head(sam):
    for conv in (sam.prior_conv1, sam.prior_conv2, sam.final):
        fan_in = conv.in_channels * math.prod(conv.kernel_size)
        fan_out = conv.out_channels * math.prod(conv.kernel_size)
        bound = math.sqrt(6 / (fan_in + fan_out))  # Glorot-uniform
        assert conv.weight.abs().max() <= bound
        assert conv.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert torch.all(conv.bias == 0)
    assert sam.prior_conv1.dilation == (4, 4) and sam.prior_conv1.padding == (8, 8)
    assert sam.prior_conv1.in_channels == 512 + 16
    assert torch.all(sam.convlstm.V_a.weight == 0)


def test_options_and_seeded_reproducibility(sam):
    m = build(
        "sam_vgg", weights="none", output_size=(50, 70), activation="sigmoid", timesteps=2, seed=0
    ).eval()
    # None of these options changes the parameters: same seed, same weights as the fixture.
    for name, p in sam.state_dict().items():
        assert torch.equal(p, m.state_dict()[name]), name
    with torch.no_grad():
        out, att = m(images(32, 48, batch=1), return_attention=True)
    assert out.shape == (1, 1, 50, 70) and m.output_shape() == (50, 70)
    assert out.min() > 0 and out.max() < 1
    assert att.shape == (1, 2, 1, 4, 6)


def test_theano_backend_ratio_and_prior_count():
    m = build("sam_vgg", weights="none", keras_backend="theano", upsampling=8, n_gaussians=4)
    m.eval()
    assert m.backbone[23].backend == "theano" and m.backbone[16].backend == "theano"
    assert m.prior_conv1.in_channels == 516 and m.priors2.weight.numel() == 16
    assert m.output_shape((40, 56)) == (40, 56)
    with torch.no_grad():
        out = m(images(40, 56, batch=1))
    assert out.shape == (1, 1, 40, 56)


def test_channels_last_and_bf16_autocast(sam):
    x = images(32, 48)
    with torch.no_grad():
        want = sam(x)
        model = copy.deepcopy(sam).to(memory_format=torch.channels_last)
        got = model(x.contiguous(memory_format=torch.channels_last))
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low, att = sam(x, return_attention=True)
    assert low.shape == want.shape and torch.isfinite(low).all()
    assert att.dtype == torch.float32
    torch.testing.assert_close(att.sum(dim=(-2, -1)), torch.ones(2, 4, 1))
    torch.testing.assert_close(low.float(), want, rtol=0.1, atol=0.02)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"keras_backend": "caffe"}, "keras_backend.*tensorflow, theano"),
        ({"upsampling": 0}, "upsampling"),
        ({"timesteps": 0}, "timesteps"),
        ({"n_gaussians": -1}, "n_gaussians"),
        ({"activation": "softmax"}, "activation.*relu, sigmoid"),
        ({"input_size": (4, 4)}, "at least 8"),
        ({"output_size": (480, "640")}, "output_size"),
        ({"keras_backend": "theano", "output_size": (480, 640)}, "tensorflow"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_options_raise_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        build("sam_vgg", weights="none", **options)


def test_bad_inputs(sam):
    with pytest.raises(ValueError, match="B×3×H×W"):
        sam(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="too small"):
        sam(torch.randn(1, 3, 4, 32))
