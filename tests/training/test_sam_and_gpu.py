"""SAM-VGG through the trainer (RMSprop, ×2 output size), and the CUDA-only paths (AMP,
channels_last, preloading vs pinned-memory streaming), skipped without a GPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from training_helpers import BASE

from salloss.training import TrainConfig, predict_split, train

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA device (AMP, channels_last, pinned memory)")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from salloss.data import prepare_dataset

    root = tmp_path_factory.mktemp("tiny")
    prepare_dataset("synthetic", root / "raw", root / "prepared", input_sizes=((32, 40),),
                    n_images=10, long_side=64)
    return root / "prepared"


def test_sam_vgg_trains_with_rmsprop_and_predicts(tiny: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(arch="sam_vgg", loss="10*kld - 2*cc - nss", weights="none",
                      input_size=(32, 40), optimizer="rmsprop", batch_size=5, max_epochs=1,
                      device="cpu")
    assert cfg.lr == 1e-4
    summary = train(cfg, tiny, tmp_path / "run", progress=False, live=False)
    assert summary["output_size"] == [64, 80]  # SAM upsamples its stride-8 map ×16
    assert summary["trainable_parameters"] == 51_835_841
    assert summary["activation"] == "sigmoid"
    state = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert any(k.startswith("backbone.") for k in state)  # SAM fine-tunes its VGG
    with pytest.raises(Exception, match="feature cache"):
        train(cfg, tiny, tmp_path / "run2", tmp_path, progress=False, live=False)
    ids = predict_split(tmp_path / "run", tiny, "test", tmp_path / "pred", device="cpu",
                        progress=False)
    assert len(ids) == 3


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize(("amp", "preload"), [("bf16", "yes"), ("fp16", "no"), ("off", "auto")])
def test_cuda_training_paths(prepared: Path, features: Path, tmp_path: Path, amp: str,
                             preload: str) -> None:
    """Training happened on the GPU: weights moved from their initialisation, fp16's
    GradScaler applied (nearly) every update and says how many it skipped, the cached and the
    live backbone agree, and CUDA predictions match CPU predictions of the same model."""
    from salloss.training.checkpoint import load_checkpoint
    from salloss.training.modelio import build_model
    from salloss.training.predict import load_prediction

    cfg = TrainConfig(**{**BASE, "device": "cuda", "amp": amp, "preload": preload,
                         "max_epochs": 2})
    summary = train(cfg, prepared, tmp_path / "cached", features, progress=False, live=False)
    assert summary["devices"][0].startswith("cuda:")
    assert all(torch.isfinite(torch.tensor(h["val_loss"])) for h in summary["history"])
    init = build_model("baseline", weights="none", activation="relu", input_size=(48, 64),
                       seed=BASE["seed"], cached=True).state_dict()
    trained = load_checkpoint(tmp_path / "cached" / "last.pt")["model"]
    moved = [k for k in trained if not torch.equal(trained[k].cpu(), init[k])]
    assert len(moved) == len(trained), "some weights never changed"
    steps = 2 * 4  # epochs × batches
    assert summary["amp_skipped_steps"] <= (steps // 2 if amp == "fp16" else 0)
    live = train(cfg, prepared, tmp_path / "live", progress=False, live=False)
    for a, b in zip(summary["history"], live["history"], strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=5e-2 if amp != "off" else 1e-2)
    ids = predict_split(tmp_path / "cached", prepared, "test", tmp_path / "pred",
                        features_cache=features, device="cuda", progress=False)
    assert len(ids) == 18
    predict_split(tmp_path / "cached", prepared, "test", tmp_path / "cpu", device="cpu",
                  features_cache=features, progress=False)
    for image_id in ids:  # float32 on both devices; maps stored divided by their maximum
        gpu, cpu = (load_prediction(tmp_path / d, image_id) for d in ("pred", "cpu"))
        assert abs(gpu - cpu).max() <= 2e-3, image_id  # float16 storage + TF32 convolutions
    assert json.loads((tmp_path / "cached" / "summary.json").read_text())["amp"] == amp


@pytest.mark.gpu
@needs_cuda
def test_cuda_resume_after_sigterm_restores_the_scaler(prepared: Path, features: Path,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from salloss.training import TrainingInterrupted
    from salloss.training.checkpoint import load_checkpoint

    original = torch.optim.SGD.step
    calls = {"n": 0}

    def step(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            signal.raise_signal(signal.SIGUSR1)
        return original(self, *args, **kwargs)

    cfg = TrainConfig(**{**BASE, "device": "cuda", "amp": "fp16"})
    monkeypatch.setattr(torch.optim.SGD, "step", step)
    with pytest.raises(TrainingInterrupted) as info:
        train(cfg, prepared, tmp_path, features, progress=False, live=False)
    assert info.value.exit_code == 138
    saved = load_checkpoint(tmp_path / "last.pt")["scaler"]
    assert saved is not None and saved["scale"] > 0
    monkeypatch.setattr(torch.optim.SGD, "step", original)
    loaded = []
    real_load = torch.amp.GradScaler.load_state_dict

    def load(self, state):
        loaded.append(dict(state))
        return real_load(self, state)

    monkeypatch.setattr(torch.amp.GradScaler, "load_state_dict", load)
    summary = train(cfg, prepared, tmp_path, features, progress=False, live=False)
    assert summary["epochs"] == BASE["max_epochs"] and summary["resumes"] == 1
    assert loaded and loaded[0]["scale"] == saved["scale"]
    assert loaded[0]["_growth_tracker"] == saved["_growth_tracker"]
