"""The encoder–decoder family: hand-derived parameter counts, taps and stride-8 grids of odd
sizes, frozen vs fine-tuned modes, weights (random, local file, ImageNet without network).

Everything runs on the CPU (``DEVICE``); inputs are small except one 300×400 shape check.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from salloss.errors import ConfigError, WeightsError
from salloss.models import build, count_trainable
from salloss.models.baseline import BaselineHead
from salloss.models.encdec import (
    BackboneWeightsError,
    EncDec,
    EncDecHead,
    FrozenBatchNorm,
    load_backbone,
)
from salloss.training.checkpoint import load_trainable_state, trainable_state
from salloss.training.modelio import supports_feature_cache

DEVICE = torch.device("cpu")
BACKBONES = ("resnet18", "resnet50", "densenet161", "efficientnet_b0", "convnext_tiny")


# -- parameter counts, derived from the architectures' layer shapes ---------------------------


def conv(cin: int, cout: int, k: int, bias: bool = False) -> int:
    return k * k * cin * cout + (cout if bias else 0)


def bn(c: int) -> int:  # BatchNorm / LayerNorm affine: weight + bias
    return 2 * c


def decoder(c: int) -> int:
    """Baseline decoder for C input channels: conv 3×3 C→128, ASPP 4 × 3×3 128→32, 1×1 128→1."""
    return conv(c, 128, 3, bias=True) + 4 * conv(128, 32, 3, bias=True) + conv(128, 1, 1, True)


def resnet18() -> int:
    """Stem 7×7 conv + BN, then basic blocks (3×3, 3×3, each + BN; the first block of stages
    2–4 adds a 1×1 stride-2 projection + BN); no biases; fc dropped."""
    n = conv(3, 64, 7) + bn(64)
    inplanes = 64
    for planes in (64, 128, 256, 512):
        for i in range(2):
            n += conv(inplanes, planes, 3) + bn(planes) + conv(planes, planes, 3) + bn(planes)
            if i == 0 and inplanes != planes:
                n += conv(inplanes, planes, 1) + bn(planes)
            inplanes = planes
    return n


def resnet50() -> int:
    """Stem 7×7 conv + BN, then bottlenecks (1×1, 3×3, 1×1 ×4 expansion, each + BN; the first
    block of a stage adds a 1×1 projection + BN); no biases; fc dropped."""
    n = conv(3, 64, 7) + bn(64)
    inplanes = 64
    for planes, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for i in range(blocks):
            n += (conv(inplanes, planes, 1) + bn(planes) + conv(planes, planes, 3) + bn(planes)
                  + conv(planes, 4 * planes, 1) + bn(4 * planes))
            if i == 0:
                n += conv(inplanes, 4 * planes, 1) + bn(4 * planes)
            inplanes = 4 * planes
    return n


def densenet161() -> int:
    """Stem 7×7 conv 3→96 + BN; dense layers BN, 1×1 c→4·48, BN, 3×3 192→48 (growth 48);
    transitions BN + 1×1 c→c/2; blocks of 6, 12, 36, 24 layers; norm5; classifier dropped."""
    n = conv(3, 96, 7) + bn(96)
    c = 96
    for index, layers in enumerate((6, 12, 36, 24)):
        for _ in range(layers):
            n += bn(c) + conv(c, 4 * 48, 1) + bn(4 * 48) + conv(4 * 48, 48, 3)
            c += 48
        if index < 3:
            n += bn(c) + conv(c, c // 2, 1)
            c //= 2
    assert c == 2208
    return n + bn(c)


def efficientnet_b0() -> int:
    """Stem 3×3 conv 3→32 + BN; MBConv blocks (expand 1×1 + BN when the ratio is not 1,
    depthwise k×k + BN, squeeze-excitation with biases on max(1, c_in // 4) channels, project
    1×1 + BN); head 1×1 320→1280 + BN; classifier dropped."""
    n = conv(3, 32, 3) + bn(32)
    stages = ((1, 3, 32, 16, 1), (6, 3, 16, 24, 2), (6, 5, 24, 40, 2), (6, 3, 40, 80, 3),
              (6, 5, 80, 112, 3), (6, 5, 112, 192, 4), (6, 3, 192, 320, 1))
    for expand, k, first_in, cout, layers in stages:
        for i in range(layers):
            cin = first_in if i == 0 else cout
            hidden = cin * expand
            if expand != 1:
                n += conv(cin, hidden, 1) + bn(hidden)
            n += k * k * hidden + bn(hidden)  # depthwise
            squeeze = max(1, cin // 4)
            n += conv(hidden, squeeze, 1, bias=True) + conv(squeeze, hidden, 1, bias=True)
            n += conv(hidden, cout, 1) + bn(cout)
    return n + conv(320, 1280, 1) + bn(1280)


def convnext_tiny() -> int:
    """Stem 4×4 conv 3→96 (bias) + LayerNorm; downsamplers LayerNorm + 2×2 conv (bias); blocks
    dw 7×7 (bias), LayerNorm, Linear d→4d, Linear 4d→d, layer scale d; depths 3, 3, 9, 3;
    classifier (LayerNorm + Linear) dropped."""
    dims, depths = (96, 192, 384, 768), (3, 3, 9, 3)
    n = conv(3, 96, 4, bias=True) + bn(96)
    for index, (d, depth) in enumerate(zip(dims, depths, strict=True)):
        if index > 0:
            n += bn(dims[index - 1]) + conv(dims[index - 1], d, 2, bias=True)
        block = (49 * d + d) + bn(d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + d
        n += depth * block
    return n


# Channels of the three taps (strides 8, 16, 32), from the architectures (module docstring).
TAP_CHANNELS = {
    "resnet18": (128, 256, 512),
    "resnet50": (512, 1024, 2048),
    "densenet161": (192 + 12 * 48, (192 + 12 * 48) // 2 + 36 * 48, 1056 + 24 * 48),
    "efficientnet_b0": (40, 112, 1280),
    "convnext_tiny": (192, 384, 768),
}
BACKBONE_PARAMS = {"resnet18": resnet18, "resnet50": resnet50, "densenet161": densenet161,
                   "efficientnet_b0": efficientnet_b0, "convnext_tiny": convnext_tiny}


def test_hand_derived_counts() -> None:
    """The formulas themselves: the baseline's decoder, and torchvision's published totals
    (classifiers added back: ResNet fc 512→1000 / 2048→1000, DenseNet 2208→1000, EfficientNet
    1280→1000, ConvNeXt LayerNorm 768 + 768→1000)."""
    assert decoder(1280) == 1_622_401
    assert count_trainable(build("baseline", weights="none", encoder=False)) == decoder(1280)
    assert resnet18() + 512 * 1000 + 1000 == 11_689_512
    assert resnet50() + 2048 * 1000 + 1000 == 25_557_032
    assert densenet161() + 2208 * 1000 + 1000 == 28_681_000
    assert efficientnet_b0() + 1280 * 1000 + 1000 == 5_288_548
    assert convnext_tiny() + 2 * 768 + 768 * 1000 + 1000 == 28_589_128
    assert TAP_CHANNELS["densenet161"] == (768, 2112, 2208)


_MODELS: dict[tuple[str, bool], EncDec] = {}


def model(backbone: str, finetune: bool = False) -> EncDec:
    """One random-weights model per (backbone, mode) for the module (building costs ~1 s)."""
    key = (backbone, finetune)
    if key not in _MODELS:
        _MODELS[key] = build("encdec", backbone=backbone, weights="none", finetune=finetune,
                             seed=0).to(DEVICE).eval()
    return _MODELS[key]


def images(*size: int, batch: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator(device=DEVICE).manual_seed(seed)
    return torch.randn(batch, 3, *size, generator=g, device=DEVICE)


@pytest.mark.parametrize("finetune", [False, True], ids=["frozen", "finetune"])
@pytest.mark.parametrize("backbone", BACKBONES)
def test_trainable_parameter_counts(backbone: str, finetune: bool) -> None:
    m = model(backbone, finetune)
    c = sum(TAP_CHANNELS[backbone])
    expected = decoder(c) + (BACKBONE_PARAMS[backbone]() if finetune else 0)
    assert count_trainable(m) == expected
    assert count_trainable(m.head) == decoder(c)
    assert m.param_counts() == {"encoder": expected - decoder(c), "decoder": decoder(c)}
    assert supports_feature_cache(m) is (not finetune)


# Trainable counts these formulas give (for the report): frozen = decoder only.
EXPECTED = {
    "resnet18": (1_180_033, 12_356_545),
    "resnet50": (4_276_609, 27_784_641),
    "densenet161": (6_009_217, 32_481_217),
    "efficientnet_b0": (1_797_505, 5_805_053),
    "convnext_tiny": (1_696_129, 29_514_721),
}


@pytest.mark.parametrize("backbone", BACKBONES)
def test_the_counts_in_numbers(backbone: str) -> None:
    c = sum(TAP_CHANNELS[backbone])
    assert (decoder(c), decoder(c) + BACKBONE_PARAMS[backbone]()) == EXPECTED[backbone]


# -- taps and grids -------------------------------------------------------------------------

# Stride-8 grids (h, w): ceil(n/8) for ResNet / EfficientNet (stride-2 convs and pools with
# padding k//2 round up), floor(ceil(n/4)/2) for DenseNet (its 2×2 average pool floors),
# floor(n/8) for ConvNeXt (unpadded 4×4 / 2×2 patchify convs).
GRIDS = {
    (97, 131): {"resnet18": (13, 17), "resnet50": (13, 17), "efficientnet_b0": (13, 17),
                "densenet161": (12, 16), "convnext_tiny": (12, 16)},
    (64, 80): {b: (8, 10) for b in BACKBONES},
    (300, 400): {"resnet18": (38, 50), "resnet50": (38, 50), "efficientnet_b0": (38, 50),
                 "densenet161": (37, 50), "convnext_tiny": (37, 50)},
}


# Forward passes at 300×400 only for the two cheap backbones (one of each rounding rule);
# the other two run 97×131 and 64×80, and `feature_shape` is checked at every size.
SHAPE_CASES = [(b, size) for size in GRIDS for b in BACKBONES
               if size != (300, 400) or b in ("efficientnet_b0", "convnext_tiny")]


@pytest.mark.parametrize(("backbone", "size"), SHAPE_CASES,
                         ids=[f"{b}-{s[0]}x{s[1]}" for b, s in SHAPE_CASES])
def test_feature_and_output_shapes_for_odd_sizes(backbone: str, size: tuple[int, int]) -> None:
    m = model(backbone)
    x = images(*size, batch=1)
    grid = GRIDS[size][backbone]
    c = sum(TAP_CHANNELS[backbone])
    with torch.no_grad():
        feats = m.encode(x)
        out = m.decode(feats, size)
    assert feats.shape == (1, c, *grid)
    assert out.shape == (1, 1, *size) and m.output_shape(size) == size


@pytest.mark.parametrize("backbone", BACKBONES)
def test_feature_shape_helper(backbone: str) -> None:
    m = model(backbone)
    c = sum(TAP_CHANNELS[backbone])
    for size, grids in GRIDS.items():
        assert m.feature_shape(size) == (c, *grids[backbone]), size
    assert m.input_size == (300, 400) and m.feature_shape() == (c, *GRIDS[(300, 400)][backbone])


@pytest.mark.parametrize("backbone", BACKBONES)
def test_taps_are_resized_to_the_stride8_grid_and_concatenated(backbone: str) -> None:
    from salloss.models.encdec import rms_normalise

    m = model(backbone)
    x = images(97, 131, batch=1)
    with torch.no_grad():
        taps = m.backbone.spec.forward_taps(m.backbone.net, x)
        feats = m.encode(x)
    assert [t.shape[1] for t in taps] == list(TAP_CHANNELS[backbone])
    strides = [(-(-97 // s), -(-131 // s)) for s in (8, 16, 32)]  # ceil at every stride
    if backbone in ("densenet161", "convnext_tiny"):  # these floor from the stride-8 step on
        strides = [(12, 16), (6, 8), (3, 4)]
    assert [tuple(t.shape[-2:]) for t in taps] == strides
    want = torch.cat([rms_normalise(t) for t in [taps[0]] + [
        F.interpolate(t, size=strides[0], mode="bilinear", align_corners=False)
        for t in taps[1:]]], dim=1)
    torch.testing.assert_close(feats, want)


def test_resnet_taps_are_its_stage_outputs() -> None:
    from salloss.models.encdec import rms_normalise

    m = model("resnet50")
    net = m.backbone.net
    x = images(64, 80, batch=1)
    with torch.no_grad():
        stem = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        layer2 = net.layer2(net.layer1(stem))
        layer4 = net.layer4(net.layer3(layer2))
        feats = m.encode(x)
    torch.testing.assert_close(feats[:, :512], rms_normalise(layer2))
    torch.testing.assert_close(feats[:, 512 + 1024:], rms_normalise(
        F.interpolate(layer4, size=(8, 10), mode="bilinear", align_corners=False)))
    assert layer4.min() >= 0  # after the last block's ReLU


@pytest.mark.parametrize("backbone", ["resnet50", "efficientnet_b0"])
def test_forward_is_decode_of_encode(backbone: str) -> None:
    m = model(backbone)
    x = images(64, 80)
    with torch.no_grad():
        torch.testing.assert_close(m(x), m.decode(m.encode(x), (64, 80)))
        assert m.decode(m.encode(x), (13, 21)).shape == (2, 1, 13, 21)


def test_inputs_are_checked() -> None:
    m = model("efficientnet_b0")
    with pytest.raises(ValueError, match="B×3×H×W"):
        m(torch.randn(1, 1, 64, 64, device=DEVICE))
    with pytest.raises(ValueError, match="too small"):
        m(torch.randn(1, 3, 31, 64, device=DEVICE))
    with pytest.raises(ValueError, match="1432"):
        m.decode(torch.randn(1, 1280, 4, 4, device=DEVICE), (32, 32))


# -- the decoder is the baseline's -----------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_decoder_is_the_baselines_head(activation: str) -> None:
    base = BaselineHead(activation=activation).to(DEVICE).eval()
    ours = EncDecHead(1280, activation=activation).to(DEVICE).eval()
    assert list(ours.state_dict()) == list(base.state_dict())
    ours.load_state_dict(base.state_dict())
    feats = torch.randn(2, 1280, 6, 8, device=DEVICE)
    torch.testing.assert_close(ours(feats, (48, 64)), base(feats, (48, 64)), rtol=0, atol=0)
    assert (ours.out.weight >= 0).all()  # the baseline's initialisation rules hold
    if activation == "sigmoid":
        torch.testing.assert_close(ours.out.bias, base.out.bias)
    wide = EncDecHead(3584, activation=activation)
    assert wide.conv.weight.shape == (128, 3584, 3, 3) and not wide.conv.bias.detach().any()


def test_activation_and_head_options_pass_through() -> None:
    m = build("encdec", backbone="efficientnet_b0", weights="none", activation="sigmoid",
              blur_padding="zeros", dropout=0.1, encoder=False)
    assert m.activation == "sigmoid" and m.head.blur_padding == "zeros"
    assert m.head.dropout.p == 0.1


# -- modes -----------------------------------------------------------------------------------


def test_frozen_encoder_has_no_trainable_parameters_and_builds_no_graph() -> None:
    m = build("encdec", backbone="efficientnet_b0", weights="none", seed=1).to(DEVICE)
    m.train()
    assert m.training and m.head.training and m.head.dropout.training
    assert not any(mod.training for mod in m.backbone.modules())
    assert not any(p.requires_grad for p in m.backbone.parameters())
    assert not any(isinstance(mod, nn.BatchNorm2d) for mod in m.backbone.modules())
    assert any(isinstance(mod, FrozenBatchNorm) for mod in m.backbone.modules())
    m.backbone.train()  # even asked directly
    assert not m.backbone.training
    x = images(64, 80).requires_grad_(True)
    feats = m.encode(x)
    assert not feats.requires_grad and feats.grad_fn is None
    m.zero_grad()
    m(x).sum().backward()
    assert all(p.grad is None for p in m.backbone.parameters())
    assert all(p.grad is not None for p in m.head.parameters())
    # what a checkpoint keeps: the decoder only (the encoder comes from `weights`)
    assert all(k.startswith("head.") for k in trainable_state(m))


def test_finetune_keeps_batchnorm_in_eval_mode() -> None:
    """Batch statistics of 10 images are noisy: BatchNorm normalises with the pretrained
    running statistics, never updates them, and the encoder's output does not depend on the
    rest of the batch or on train/eval mode (ResNet-50 has no dropout)."""
    m = build("encdec", backbone="resnet50", weights="none", finetune=True, seed=2).to(DEVICE)
    m.train()
    norms = [mod for mod in m.backbone.modules() if isinstance(mod, nn.BatchNorm2d)]
    assert len(norms) == 53 and m.training and m.backbone.training
    assert not any(bn.training for bn in norms)
    stats = {k: v.clone() for k, v in m.backbone.state_dict().items() if "running" in k}
    x = images(64, 80, batch=4)
    feats = m.encode(x)
    assert feats.requires_grad  # a graph through the encoder
    # no batch statistics (those would change every value by O(1); this is conv rounding)
    torch.testing.assert_close(m.encode(x[:1]), feats[:1], rtol=1e-3, atol=1e-3)
    optimizer = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=1e-3)
    m(x).mean().backward()
    assert all(p.grad is not None for p in m.backbone.parameters())  # BN affine included
    optimizer.step()
    for key, value in m.backbone.state_dict().items():
        if "running" in key:
            assert torch.equal(value, stats[key]), key
    m.eval()
    m.train()  # switching back and forth never takes BatchNorm out of eval
    assert not any(bn.training for bn in norms)
    with torch.no_grad():
        train_mode = m.encode(x)
        m.eval()
        torch.testing.assert_close(m.encode(x), train_mode)
    assert not supports_feature_cache(m)
    assert any(k.startswith("backbone.") and "running_mean" in k for k in trainable_state(m))


def test_frozen_and_finetuned_encoders_compute_the_same_features() -> None:
    frozen = build("encdec", backbone="efficientnet_b0", weights="none", seed=3).eval()
    tuned = build("encdec", backbone="efficientnet_b0", weights="none", seed=3,
                  finetune=True).eval()
    x = images(64, 80)
    with torch.no_grad():
        torch.testing.assert_close(frozen.encode(x), tuned.encode(x), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(frozen(x), tuned(x), rtol=1e-4, atol=1e-6)


def test_head_only_build_and_checkpoints_move_between_the_two() -> None:
    full = build("encdec", backbone="efficientnet_b0", weights="none", seed=5).to(DEVICE)
    head_only = build("encdec", backbone="efficientnet_b0", weights="none", seed=5,
                      encoder=False).to(DEVICE)
    assert head_only.backbone is None and supports_feature_cache(head_only)
    for (name, a), b in zip(full.head.state_dict().items(),
                            head_only.head.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    with torch.no_grad():
        full.head.conv.bias.add_(1.0)  # "trained"
    load_trainable_state(head_only, trainable_state(full), "live.pt")
    load_trainable_state(full, trainable_state(head_only), "cached.pt")
    assert torch.equal(head_only.head.conv.bias, full.head.conv.bias)
    with pytest.raises(ConfigError, match="without its encoder"):
        head_only.encode(images(64, 80))
    with pytest.raises(ConfigError, match="finetune=True trains the encoder"):
        build("encdec", backbone="efficientnet_b0", weights="none", finetune=True,
              encoder=False)


def test_channels_last_matches_contiguous() -> None:
    m = build("encdec", backbone="efficientnet_b0", weights="none", seed=0).eval()
    x = images(64, 80)
    with torch.no_grad():
        want = m(x)
        m = m.to(memory_format=torch.channels_last)
        got = m(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


# -- weights ---------------------------------------------------------------------------------


def test_random_weights_are_seeded() -> None:
    a = build("encdec", backbone="efficientnet_b0", weights="none", seed=3, finetune=True)
    b = build("encdec", backbone="efficientnet_b0", weights="none", seed=3, finetune=True)
    c = build("encdec", backbone="efficientnet_b0", weights="none", seed=4, finetune=True)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    # the seed draws the head; a random backbone stands in for pretrained weights: one for all
    assert torch.equal(a.backbone.net.features[0][0].weight,
                       c.backbone.net.features[0][0].weight)
    assert not torch.equal(a.head.conv.weight, c.head.conv.weight)
    assert a.weights_tag == "efficientnet_b0: none (random init, seeded — NOT ImageNet features)"


@pytest.fixture(scope="module")
def saved_backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random EfficientNet-B0 saved as torchvision saves one (classifier keys included)."""
    import torchvision

    torch.manual_seed(11)
    net = torchvision.models.efficientnet_b0()
    for bn_layer in net.modules():  # non-trivial statistics, to see they are loaded
        if isinstance(bn_layer, nn.BatchNorm2d):
            bn_layer.running_mean.uniform_(-0.1, 0.1)
            bn_layer.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("weights") / "effnet.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.mark.parametrize("finetune", [False, True])
def test_local_weights_file_round_trips(saved_backbone: Path, finetune: bool) -> None:
    import torchvision

    state = torch.load(saved_backbone, weights_only=True)
    assert "classifier.1.weight" in state  # ignored
    reference = torchvision.models.efficientnet_b0()
    reference.load_state_dict(state)
    reference.eval()
    m = build("encdec", backbone="efficientnet_b0", weights=str(saved_backbone),
              finetune=finetune).eval()
    x = images(64, 80)
    with torch.no_grad():
        want = reference.features(x)
        got = m.backbone.spec.forward_taps(m.backbone.net, x)[-1]
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    if finetune:
        loaded = m.backbone.net.state_dict()
        for key, value in loaded.items():
            assert torch.equal(value, state[key]), key
    assert m.weights_tag == f"efficientnet_b0: file:{saved_backbone.resolve()}"


def test_backbone_weights_override_the_global_weights(saved_backbone: Path,
                                                      tmp_path: Path) -> None:
    """The pipeline's global `weights` may be a VGG-16 file for the baseline."""
    vgg = tmp_path / "vgg16.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, vgg)
    with pytest.raises(BackboneWeightsError, match=r"vgg16\.pth.*not a efficientnet_b0 state"):
        build("encdec", backbone="efficientnet_b0", weights=str(vgg))
    m = build("encdec", backbone="efficientnet_b0", weights=str(vgg),
              backbone_weights=str(saved_backbone))
    same = build("encdec", backbone="efficientnet_b0", weights=str(saved_backbone))
    x = images(64, 80)
    with torch.no_grad():
        torch.testing.assert_close(m.eval()(x), same.eval()(x))
    assert m.config["backbone_weights"] == str(saved_backbone)
    none = build("encdec", backbone="efficientnet_b0", weights=str(vgg),
                 backbone_weights="none", encoder=False)
    assert none.weights_tag.startswith("efficientnet_b0: none")


def test_missing_and_corrupt_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pth"
    with pytest.raises(BackboneWeightsError, match=r"not found: .*missing\.pth") as info:
        build("encdec", backbone="resnet50", weights=str(missing))
    assert isinstance(info.value, ConfigError) and isinstance(info.value, WeightsError)
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match=r"cannot read resnet50 weights file .*corrupt\.pth"):
        build("encdec", backbone="resnet50", weights=str(corrupt))
    truncated = tmp_path / "truncated.pth"
    torch.save(load_backbone("efficientnet_b0", "none").state_dict(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:5000])
    with pytest.raises(ConfigError, match=r"truncated\.pth"):
        build("encdec", backbone="efficientnet_b0", weights=str(truncated))
    partial = tmp_path / "partial.pth"
    state = load_backbone("efficientnet_b0", "none").state_dict()
    del state["features.8.0.weight"]
    torch.save(state, partial)
    with pytest.raises(ConfigError, match=r"partial\.pth: not a efficientnet_b0 state dict.*"
                                          r"features\.8\.0\.weight"):
        build("encdec", backbone="efficientnet_b0", weights=str(partial))
    other = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], other)
    with pytest.raises(ConfigError, match=r"list\.pth: expected a efficientnet_b0 state dict"):
        build("encdec", backbone="efficientnet_b0", weights=str(other))


def test_old_densenet_keys_are_renamed(tmp_path: Path) -> None:
    from salloss.models.encdec import _read_state

    path = tmp_path / "old.pth"
    t = torch.zeros(3)
    torch.save({"features.denseblock1.denselayer1.norm.1.weight": t,
                "features.denseblock1.denselayer1.conv.2.weight": t,
                "features.norm5.weight": t, "classifier.weight": t}, path)
    assert sorted(_read_state(path, "densenet161")) == [
        "features.denseblock1.denselayer1.conv2.weight",
        "features.denseblock1.denselayer1.norm1.weight", "features.norm5.weight"]


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub folder and no network: every download fails."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert Path(torch.hub.get_dir()) == tmp_path / "torch" / "hub"
    calls = []

    def offline(url, dst, *args, **kwargs):
        calls.append((url, dst))
        raise urllib.error.URLError("no network here")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.mark.parametrize("backbone", ["resnet50", "efficientnet_b0"])
def test_imagenet_without_network_names_file_and_url(hub: Path, backbone: str) -> None:
    from torchvision.models import get_model_weights

    default = get_model_weights(backbone).DEFAULT
    url = default.url
    assert url.startswith("https://download.pytorch.org/models/")
    expected = hub / url.rsplit("/", 1)[1]
    with pytest.raises(ConfigError) as info:
        build("encdec", backbone=backbone, weights="imagenet", encoder=True)
    message = str(info.value)
    assert str(expected) in message and url in message and "backbone_weights" in message
    assert "URLError" in message and str(default) in message
    assert not expected.exists()


def test_imagenet_weights_are_read_from_the_hub_cache(hub: Path) -> None:
    """No download when the file is already where torchvision keeps it."""
    from torchvision.models import get_model_weights

    enum = get_model_weights("efficientnet_b0").DEFAULT
    net = load_backbone("efficientnet_b0", "none", seed=9)
    hub.mkdir(parents=True)
    torch.save(net.state_dict(), hub / enum.url.rsplit("/", 1)[1])
    m = build("encdec", backbone="efficientnet_b0", weights="imagenet", finetune=True)
    assert torch.equal(m.backbone.net.features[0][0].weight, net.features[0][0].weight)
    assert m.weights_tag == f"efficientnet_b0: imagenet ({enum})"
    assert str(enum) == "EfficientNet_B0_Weights.IMAGENET1K_V1"


def test_cache_identity_names_backbone_and_effective_weights() -> None:
    from salloss.models.encdec import TAPS_VERSION

    assert EncDec.cache_identity("none", {}) == {"backbone": "resnet50", "weights": "none",
                                                 "version": None, "taps": TAPS_VERSION}
    assert EncDec.cache_identity("vgg.pth", {"backbone": "efficientnet_b0",
                                             "backbone_weights": "imagenet"}) == {
        "backbone": "efficientnet_b0", "weights": "imagenet",
        "version": "EfficientNet_B0_Weights.IMAGENET1K_V1", "taps": TAPS_VERSION}
    assert EncDec.cache_identity("imagenet", {})["version"] == "ResNet50_Weights.IMAGENET1K_V2"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backbone": "vgg16"}, "backbone='vgg16'.*resnet50, densenet161, efficientnet_b0"),
        ({"activation": "tanh"}, "activation='tanh'.*relu, sigmoid"),
        ({"finetune": "yes"}, "finetune must be True or False"),
        ({"encoder": 1}, "encoder must be True or False"),
        ({"input_size": (16, 400)}, "at least 32×32"),
        ({"backbone_weights": 3}, "backbone_weights=3"),
        ({"weights": None}, "weights=None"),
        ({"blur_padding": "reflect"}, "blur_padding"),
        ({"seed": 1.5}, "seed"),
        ({"backbones": "resnet50"}, "unknown option.*backbones.*valid options"),
    ],
)
def test_bad_options_raise_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build("encdec", **{"weights": "none", "encoder": False, **options})


@pytest.mark.parametrize("backbone", ["resnet50", "efficientnet_b0", "convnext_tiny"])
def test_taps_are_rms_normalised_so_the_sigmoid_head_starts_unsaturated(backbone: str) -> None:
    """Random-init encoders' raw taps differ in scale by 10^7 (ResNet-50 ~7.8, EfficientNet-B0
    ~1e-6 on natural-image inputs); each tap reaches the head with RMS 1 per image, so the
    sigmoid head's initial logits stay in a range with gradient (a raw random ResNet-50 gave
    logits 11–47: P ≡ 1, KLD stuck)."""
    from salloss.models.encdec import rms_normalise

    torch.manual_seed(0)
    m = build("encdec", backbone=backbone, weights="none", activation="sigmoid",
              input_size=(64, 80), seed=0).to(DEVICE).eval()
    x = torch.randn(3, 3, 64, 80, device=DEVICE)
    with torch.no_grad():
        feats = m.encode(x)
        out = m(x)
    bounds = [0, *np.cumsum(m.spec.channels)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        rms = feats[:, lo:hi].pow(2).mean(dim=(1, 2, 3)).sqrt()
        nonzero = rms > 0
        torch.testing.assert_close(rms[nonzero], torch.ones_like(rms[nonzero]))
    assert 0.01 < float(out.min()) and float(out.max()) < 0.99  # not saturated
    t = torch.randn(2, 4, 3, 5) * torch.tensor([1e-6, 10.0])[:, None, None, None]
    torch.testing.assert_close(rms_normalise(t)[0], rms_normalise(t[1:] * 0 + t[:1])[0])
    torch.testing.assert_close(rms_normalise(t).pow(2).mean(dim=(1, 2, 3)), torch.ones(2))
    assert torch.equal(rms_normalise(torch.zeros(1, 2, 3, 3)), torch.zeros(1, 2, 3, 3))
