"""The trainer with the `encdec` family on the synthetic dataset (48×64 input, CPU): frozen
ResNet-50 from its feature cache == live encoder, bit-identical resume after SIGTERM (frozen
from the cache, and fine-tuned EfficientNet-B0 from images), predictions, and cache keys that
tell backbones and weights apart."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import INPUT_SIZE
from training_helpers import BASE, BATCHES_PER_EPOCH, assert_same_run

from salloss.data import PreparedDataset
from salloss.errors import ConfigError, DataError
from salloss.models import build
from salloss.training import (
    TrainConfig,
    TrainingInterrupted,
    compute_features,
    load_prediction,
    open_features,
    predict_split,
    train,
)
from salloss.training.checkpoint import load_checkpoint
from salloss.training.features import cache_key

# A frozen ResNet-50 (the family's default backbone), random weights (offline). The decoder
# sees 3584 features; lr 0.01 keeps SGD stable on the random backbone's large activations.
FROZEN = {**BASE, "arch": "encdec", "lr": 0.01, "max_epochs": 2, "patience": 2}
# A fine-tuned EfficientNet-B0 (trains from images; no feature cache), one epoch.
FINETUNE = {**FROZEN, "max_epochs": 1, "patience": 1,
            "model_options": {"backbone": "efficientnet_b0", "finetune": True}}
RESNET50_FROZEN_PARAMS = 9 * 3584 * 128 + 128 + 4 * (9 * 128 * 32 + 32) + 129  # 4,276,609


@pytest.fixture(scope="module")
def encdec_features(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("encdec-features") / "synthetic-48x64-resnet50-none"
    compute_features(prepared, out, input_size=INPUT_SIZE, weights="none", seed=0,
                     arch="encdec", progress=False, device="cpu")
    return out


@pytest.fixture(scope="module")
def frozen_reference(prepared: Path, encdec_features: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("encdec-reference")
    train(TrainConfig(**FROZEN), prepared, run, encdec_features, progress=False, live=False)
    return run


def test_feature_cache_holds_the_backbone_features(encdec_features: Path) -> None:
    cache = open_features(encdec_features)
    assert cache.array.shape == (60, 3584, 6, 8)  # ResNet-50: ceil(48/8) × ceil(64/8)
    manifest = cache.manifest
    assert manifest["encoder"] == {"backbone": "resnet50", "version": None, "weights": "none",
                                   "seed": 0, "taps": "rms-normalised-v1"}
    assert manifest["weights_description"].startswith("resnet50: none (random init")
    assert np.isfinite(cache.array[:4].astype(np.float32)).all()


def test_frozen_run_and_its_outputs(frozen_reference: Path) -> None:
    summary = json.loads((frozen_reference / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs"] == 2
    assert summary["trainable_parameters"] == RESNET50_FROZEN_PARAMS
    state = torch.load(frozen_reference / "model.pt", weights_only=True)
    assert all(k.startswith("head.") for k in state)  # the frozen encoder is not stored
    assert sum(v.numel() for v in state.values()) == RESNET50_FROZEN_PARAMS
    history = summary["history"]
    assert all(np.isfinite([h["train_loss"], h["val_loss"]]).all() for h in history)


def test_feature_cache_matches_live_encoder(prepared: Path, frozen_reference: Path,
                                            tmp_path: Path) -> None:
    """Same loss curve within float16 tolerance: identical init, batches and dropout draws.
    (The live run stops after the reference's first epoch, which max_epochs does not change.)"""
    live = train(TrainConfig(**{**FROZEN, "max_epochs": 1, "patience": 1}), prepared,
                 tmp_path / "live", progress=False, live=False)
    cached = load_checkpoint(frozen_reference / "last.pt")
    assert len(live["history"]) == 1
    for a, b in zip(cached["history"][:1], live["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=5e-3)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=5e-3)
    # Not trivially equal: the cached features really are float16-rounded.
    assert cached["history"][0]["train_loss"] != live["history"][0]["train_loss"]


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, at_step: int) -> object:
    steps = {"n": 0}
    original = torch.optim.SGD.step

    def step(self, *args, **kwargs):  # SIGTERM arrives while step `at_step` is computed
        steps["n"] += 1
        if steps["n"] == at_step:
            signal.raise_signal(signal.SIGTERM)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", step)
    return original


def test_frozen_resume_after_sigterm_is_bit_identical(
    prepared: Path, encdec_features: Path, frozen_reference: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = _interrupt_at(monkeypatch, BATCHES_PER_EPOCH + 2)
    with pytest.raises(TrainingInterrupted, match="epoch 2, batch 2"):
        train(TrainConfig(**FROZEN), prepared, tmp_path, encdec_features, progress=False,
              live=False)
    saved = load_checkpoint(tmp_path / "last.pt")
    assert (saved["epoch"], saved["batch"], saved["finished"]) == (1, 2, False)
    monkeypatch.setattr(torch.optim.SGD, "step", original)
    summary = train(TrainConfig(**FROZEN), prepared, tmp_path, encdec_features,
                    progress=False, live=False)
    assert summary["resumes"] == 1
    assert_same_run(frozen_reference, tmp_path)


def test_finetune_resume_after_sigterm_is_bit_identical(
    prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = train(TrainConfig(**FINETUNE), prepared, tmp_path / "reference",
                      progress=False, live=False)
    assert reference["trainable_parameters"] == 1432 * 9 * 128 + 128 + 4 * (9 * 128 * 32 + 32) \
        + 129 + 4_007_548  # decoder for 40 + 112 + 1280 channels + all of EfficientNet-B0
    state = torch.load(tmp_path / "reference" / "model.pt", weights_only=True)
    assert any(k.startswith("backbone.net.features.") for k in state)
    assert any(k.endswith("running_var") for k in state)  # BN statistics travel with it
    original = _interrupt_at(monkeypatch, 3)
    with pytest.raises(TrainingInterrupted, match="epoch 1, batch 3"):
        train(TrainConfig(**FINETUNE), prepared, tmp_path / "resumed", progress=False,
              live=False)
    saved = load_checkpoint(tmp_path / "resumed" / "last.pt")
    assert (saved["epoch"], saved["batch"], saved["finished"]) == (0, 3, False)
    monkeypatch.setattr(torch.optim.SGD, "step", original)
    summary = train(TrainConfig(**FINETUNE), prepared, tmp_path / "resumed", progress=False,
                    live=False)
    assert summary["resumes"] == 1
    assert_same_run(tmp_path / "reference", tmp_path / "resumed")
    # the pretrained (here: random) BatchNorm statistics were never updated by training
    fresh = build("encdec", backbone="efficientnet_b0", weights="none", finetune=True, seed=0,
                  input_size=INPUT_SIZE)
    for key, value in fresh.state_dict().items():
        if "running_" in key:
            assert torch.equal(state[key], value), key


def test_finetune_refuses_a_feature_cache(prepared: Path, encdec_features: Path,
                                          tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="finetune=True trains the encoder"):
        train(TrainConfig(**FINETUNE), prepared, tmp_path / "run", encdec_features,
              progress=False, live=False)
    with pytest.raises(ConfigError, match="has no frozen encoder"):
        compute_features(prepared, tmp_path / "cache", input_size=INPUT_SIZE, weights="none",
                         arch="encdec", options={"finetune": True}, progress=False,
                         device="cpu")


def test_predictions_from_cache_and_live_agree(prepared: Path, encdec_features: Path,
                                               frozen_reference: Path, tmp_path: Path) -> None:
    ids = predict_split(frozen_reference, prepared, "test", tmp_path / "cached",
                        features_cache=encdec_features, progress=False, device="cpu")
    assert ids == PreparedDataset(prepared).split["test"]
    predict_split(frozen_reference, prepared, "test", tmp_path / "live", progress=False,
                  device="cpu")
    ds = PreparedDataset(prepared)
    for image_id in ids[:4]:
        cached = load_prediction(tmp_path / "cached", image_id)
        live = load_prediction(tmp_path / "live", image_id)
        assert cached.shape == live.shape == ds.original_size(image_id)
        assert np.isfinite(cached).all()
        assert np.abs(live - cached).max() < 0.02


def test_cache_key_tells_backbones_and_weights_apart(prepared: Path, encdec_features: Path,
                                                     tmp_path: Path) -> None:
    ds = PreparedDataset(prepared)
    default = cache_key(ds, INPUT_SIZE, "none", 0, "encdec")
    assert default == cache_key(ds, INPUT_SIZE, "none", 0, "encdec", {"backbone": "resnet50"})
    effnet = cache_key(ds, INPUT_SIZE, "none", 0, "encdec", {"backbone": "efficientnet_b0"})
    assert effnet["encoder"]["backbone"] == "efficientnet_b0" and effnet != default
    assert cache_key(ds, INPUT_SIZE, "none", 1, "encdec") != default  # random: seed matters
    imagenet = cache_key(ds, INPUT_SIZE, "vgg16.pth", 0, "encdec",
                         {"backbone_weights": "imagenet"})
    assert imagenet["encoder"] == {"backbone": "resnet50", "version":
                                   "ResNet50_Weights.IMAGENET1K_V2", "weights": "imagenet",
                                   "seed": None, "taps": "rms-normalised-v1"}
    baseline = cache_key(ds, INPUT_SIZE, "none", 0)
    assert "encoder" not in baseline  # the baseline's key (and its existing caches) unchanged
    # a cache of another backbone is refused by a run of the default one
    other = tmp_path / "effnet"
    compute_features(prepared, other, input_size=INPUT_SIZE, weights="none", arch="encdec",
                     options={"backbone": "efficientnet_b0"}, progress=False, device="cpu")
    assert open_features(other).array.shape == (60, 1432, 6, 8)
    with pytest.raises(DataError, match="encoder: cache has .*efficientnet_b0"):
        open_features(other, expect=default)
    open_features(other, expect=effnet)
    with pytest.raises(DataError, match="already holds features for another key"):
        compute_features(prepared, encdec_features, input_size=INPUT_SIZE, weights="none",
                         arch="encdec", options={"backbone": "efficientnet_b0"},
                         progress=False, device="cpu")
