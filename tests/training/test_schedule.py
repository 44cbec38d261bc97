"""Training-loop options for runs that converge: Adam(W), reduce-on-plateau, the weight average
(EMA), all resumable bit-identically; and W-MSE trains without dead maps (issue 10)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import BASE, BATCHES_PER_EPOCH, assert_same_run

from salloss.training import TrainConfig, TrainingInterrupted, loop, train
from salloss.training.checkpoint import load_checkpoint

# Adam + EMA + reduce-on-plateau (the demo preset's kind of setup), CPU.
CONVERGING = {**BASE, "optimizer": "adam", "lr": 1e-3, "ema_decay": 0.8, "lr_patience": 1,
              "lr_factor": 0.5, "max_epochs": 3, "patience": 3, "device": "cpu"}


def _fake_validation(monkeypatch: pytest.MonkeyPatch, losses: list[float]) -> None:
    values = iter(losses)

    def validate(self, val_src, epoch):
        return next(values), {}

    monkeypatch.setattr(loop._Run, "validate", validate)


def test_reduce_on_plateau_and_early_stopping(prepared: Path, features: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """lr × factor after lr_patience epochs without improvement; stop after patience."""
    _fake_validation(monkeypatch, [1.0, 0.9, 0.95, 0.96, 0.85, 0.9, 0.91, 0.92, 0.93])
    cfg = TrainConfig(**{**BASE, "max_epochs": 20, "patience": 4, "lr_patience": 2,
                         "lr_factor": 0.5, "lr": 0.1, "device": "cpu"})
    summary = train(cfg, prepared, tmp_path, features, progress=False, live=False)
    lrs = [h["lr"] for h in summary["history"]]
    # epochs 3, 4 do not improve on 0.9 → lr halves before epoch 5; 5 improves (0.85);
    # 6, 7 do not → halves again before epoch 8; 6–9 are 4 bad epochs → stop after epoch 9
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])
    assert summary["best_epoch"] == 5 and summary["epochs"] == 9
    assert summary["stop_reason"].startswith("early stopping: no validation improvement for 4")


def test_constant_learning_rate_without_lr_patience(prepared: Path, features: Path,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_validation(monkeypatch, [1.0, 1.1, 1.2, 1.3])
    cfg = TrainConfig(**{**BASE, "max_epochs": 4, "patience": 5, "device": "cpu"})
    summary = train(cfg, prepared, tmp_path, features, progress=False, live=False)
    assert {h["lr"] for h in summary["history"]} == {BASE["lr"]}
    assert summary["stop_reason"] == "max_epochs (4) reached"


def test_model_pt_holds_the_weight_average(prepared: Path, features: Path,
                                           tmp_path: Path) -> None:
    summary = train(TrainConfig(**CONVERGING), prepared, tmp_path, features, progress=False,
                    live=False)
    state = load_checkpoint(tmp_path / "last.pt")
    best = torch.load(tmp_path / "model.pt", weights_only=True)
    assert sorted(state["ema"]) == sorted(state["model"]) == sorted(best)
    if summary["best_epoch"] == summary["epochs"]:  # best = the average at the last epoch
        for key, value in best.items():
            assert torch.equal(value, state["ema"][key]), key
    # the average is not the raw weights (so validating it is a real choice)
    assert any(not torch.equal(state["ema"][k], state["model"][k]) for k in state["model"])
    assert summary["params"]["optimizer"] == "adam"
    assert "exp_avg_sq" in next(iter(state["optimizer"]["state"].values()))  # Adam's state


def test_ema_validation_differs_from_raw_weights(prepared: Path, features: Path,
                                                 tmp_path: Path) -> None:
    raw = train(TrainConfig(**{**CONVERGING, "ema_decay": None}), prepared, tmp_path / "raw",
                features, progress=False, live=False)
    ema = train(TrainConfig(**CONVERGING), prepared, tmp_path / "ema", features,
                progress=False, live=False)
    # identical training steps (the average never feeds back), different validated weights
    assert [h["train_loss"] for h in raw["history"]] == [h["train_loss"] for h in
                                                          ema["history"]]
    assert [h["val_loss"] for h in raw["history"]] != [h["val_loss"] for h in ema["history"]]


def test_sigterm_resume_is_bit_identical_with_adam_ema_and_plateau(
    prepared: Path, features: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = tmp_path / "reference"
    train(TrainConfig(**CONVERGING), prepared, reference, features, progress=False)
    steps = {"n": 0}
    original = torch.optim.Adam.step

    def step(self, *args, **kwargs):  # SIGTERM while batch 3 of epoch 2 is computed
        steps["n"] += 1
        if steps["n"] == BATCHES_PER_EPOCH + 3:
            signal.raise_signal(signal.SIGTERM)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    run = tmp_path / "run"
    with pytest.raises(TrainingInterrupted):
        train(TrainConfig(**CONVERGING), prepared, run, features, progress=False)
    monkeypatch.setattr(torch.optim.Adam, "step", original)
    summary = train(TrainConfig(**CONVERGING), prepared, run, features, progress=False)
    assert summary["resumes"] == 1
    assert_same_run(reference, run)
    a, b = load_checkpoint(reference / "last.pt"), load_checkpoint(run / "last.pt")
    for key in a["ema"]:
        assert torch.equal(a["ema"][key], b["ema"][key]), key
    assert [h["lr"] for h in a["history"]] == [h["lr"] for h in b["history"]]


def _demo_baseline_settings() -> dict:
    """The demo preset's baseline training settings (params.yaml), so the test follows it."""
    import yaml

    params = yaml.safe_load((Path(__file__).parents[2] / "params.yaml").read_text())
    return dict(params["archs"]["baseline"]["train"])


def test_wmse_trains_without_dead_maps_on_the_demo(prepared: Path, features: Path,
                                                   tmp_path: Path) -> None:
    """With the demo's optimiser settings, W-MSE ends with live maps that follow the density.
    (Before the liveness offset, 23 % → 100 % of the maps died within a few epochs and early
    stopping kept the dead model, whose validation loss was the lowest.)"""
    from salloss.training import predict_split
    from salloss.training.predict import load_prediction
    from salloss.training.score import score_predictions

    settings = {**_demo_baseline_settings(), "max_epochs": 12}
    cfg = TrainConfig(**{**BASE, **settings, "loss": "wmse", "device": "cpu"})
    summary = train(cfg, prepared, tmp_path / "run", features, progress=False, live=False)
    predict_split(tmp_path / "run", prepared, "val", tmp_path / "pred",
                  features_cache=features, progress=False, device="cpu")
    ids = json.loads((prepared / "split.json").read_text())["val"]
    peaks = [float(np.max(load_prediction(tmp_path / "pred", i))) for i in ids]
    assert min(peaks) > 0, f"{sum(p == 0 for p in peaks)} of {len(peaks)} maps are dead"
    scores = score_predictions(tmp_path / "pred", prepared, "val", metrics=["CC"],
                               progress=False)
    assert scores["summary"]["CC"]["n_nan"] == 0
    assert scores["mean"]["CC"] > 0.3, (scores["mean"], summary["best_epoch"])


def test_warmup_ramps_the_learning_rate_step_by_step(prepared: Path, features: Path,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from salloss.training.step import Stepper

    seen: list[float] = []
    original = Stepper.train_batch

    def train_batch(self, batch, where):
        seen.append(self.optimizer.param_groups[0]["lr"])
        return original(self, batch, where)

    monkeypatch.setattr(Stepper, "train_batch", train_batch)
    cfg = TrainConfig(**{**BASE, "warmup_epochs": 2, "max_epochs": 3, "lr": 0.04,
                         "device": "cpu"})
    train(cfg, prepared, tmp_path, features, progress=False, live=False)
    n = BATCHES_PER_EPOCH
    want = [0.04 * min(1.0, s / (2 * n)) for s in range(1, 3 * n + 1)]
    assert seen == pytest.approx(want)


def test_precomputed_density_pyramid_gives_the_same_training(
    prepared: Path, features: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """df/gm read φ(S) computed once per image; the run is the same as with φ(S) computed at
    every step (float rounding aside)."""
    cfg = TrainConfig(**{**BASE, "loss": "df + gm + mse", "max_epochs": 2,
                         "perceptual_size": (32, 40), "device": "cpu", "lr": 0.01})
    cached = train(cfg, prepared, tmp_path / "cached", features, progress=False, live=False)
    monkeypatch.setattr(loop, "PYRAMID_BUDGET", 0)
    per_step = train(cfg, prepared, tmp_path / "per-step", features, progress=False,
                     live=False)
    for a, b in zip(cached["history"], per_step["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
        assert a["val_terms"]["gm"] == pytest.approx(b["val_terms"]["gm"], rel=1e-4)


def test_micro_batches_accumulate_the_same_update(prepared: Path, features: Path,
                                                  tmp_path: Path) -> None:
    """micro_batch splits each batch's forward/backward and accumulates the gradients: with
    dropout off, the run is the full-batch run up to float rounding."""
    base = {**BASE, "loss": "10*kld - 2*cc - nss + mse", "max_epochs": 2,
            "model_options": {"dropout": 0.0}}
    whole = train(TrainConfig(**base), prepared, tmp_path / "whole", features, progress=False,
                  live=False)
    split = train(TrainConfig(**{**base, "micro_batch": 3}), prepared, tmp_path / "split",
                  features, progress=False, live=False)
    for a, b in zip(whole["history"], split["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
    a, b = (torch.load(tmp_path / r / "model.pt", weights_only=True) for r in ("whole", "split"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-3, atol=1e-5)
    assert any(not torch.equal(a[k], b[k]) for k in a)  # really computed differently
