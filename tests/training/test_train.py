"""The trainer on the synthetic dataset: outputs, resume after SIGTERM, no-op restart, NaN
guard, bad configs, feature cache == live backbone, and a learning check."""

from __future__ import annotations

import csv
import json
import math
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import BASE, BATCHES_PER_EPOCH, assert_same_run, assert_same_weights

from salloss.errors import ConfigError
from salloss.training import TrainConfig, TrainingDiverged, TrainingInterrupted, train
from salloss.training.checkpoint import load_checkpoint


def test_run_directory_contents(reference: Path) -> None:
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["epochs"] == BASE["max_epochs"] == len(summary["history"])
    assert summary["trainable_parameters"] == 1_622_401
    assert summary["weights"].startswith("none (random init")
    assert summary["activation"] == "relu" and summary["loss"] == "mse"
    assert summary["train_images"] == 30 and summary["val_images"] == 12
    assert summary["devices"][0].startswith("cpu")
    best = min(summary["history"], key=lambda h: h["val_loss"])
    assert summary["best_epoch"] == best["epoch"]
    # Every checkpoint loads with the safe loader; model.pt holds only the trained head.
    state = torch.load(reference / "model.pt", weights_only=True)
    assert all(k.startswith("head.") for k in state)
    assert sum(v.numel() for k, v in state.items()) == 1_622_401
    ckpt = torch.load(reference / "last.pt", weights_only=True)
    assert ckpt["finished"] and ckpt["epoch"] == BASE["max_epochs"]
    # DVCLive: one row per epoch for the loss and for each term, train and val.
    for name in ("train/loss", "val/loss", "train/mse", "val/mse"):
        with open(reference / "dvclive" / "plots" / "metrics" / f"{name}.tsv") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        assert [int(r["step"]) for r in rows] == [1, 2, 3]
    with open(reference / "dvclive" / "plots" / "metrics" / "val" / "loss.tsv") as fh:
        logged = [float(r["loss"]) for r in csv.DictReader(fh, delimiter="\t")]
    assert logged == pytest.approx([h["val_loss"] for h in summary["history"]])


def test_finished_run_restarted_is_a_noop(prepared: Path, features: Path,
                                          reference: Path) -> None:
    before = {p.name: p.read_bytes() for p in reference.iterdir() if p.is_file()}
    model_bytes = before["model.pt"]
    (reference / "model.pt").unlink()  # e.g. deleted by Snakemake before a retry
    summary = train(TrainConfig(**BASE), prepared, reference, features, progress=False)
    after = {p.name: p.read_bytes() for p in reference.iterdir() if p.is_file()}
    assert after == before  # last.pt untouched, model.pt rewritten identically
    assert (reference / "model.pt").read_bytes() == model_bytes
    assert summary["epochs"] == BASE["max_epochs"]


def test_slim_final_checkpoint_keeps_the_results_and_drops_the_resume_state(
    prepared: Path, features: Path, reference: Path, tmp_path: Path
) -> None:
    """The default final checkpoint: the same training (bit-identical weights, best model and
    history as the full one), without what only resuming needs; a rerun is still a no-op that
    rebuilds a deleted model.pt."""
    summary = train(TrainConfig(**{**BASE, "final_checkpoint": "slim"}), prepared, tmp_path,
                    features, progress=False)
    full, slim = load_checkpoint(reference / "last.pt"), load_checkpoint(tmp_path / "last.pt")
    assert slim["finished"] and full["optimizer"] is not None and full["rng"] is not None
    assert all(slim[key] is None for key in ("optimizer", "scaler", "ema", "rng", "partial"))
    assert_same_weights(slim["model"], full["model"])
    assert_same_weights(slim["best_model"], full["best_model"])
    assert slim["history"] == full["history"]
    # SGD with momentum: 4 weight copies in the full one (model, best, momentum, ...), 2 here
    assert (tmp_path / "last.pt").stat().st_size < 0.7 * (reference / "last.pt").stat().st_size
    assert (tmp_path / "model.pt").read_bytes() == (reference / "model.pt").read_bytes()
    model_bytes = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "model.pt").unlink()
    again = train(TrainConfig(**{**BASE, "final_checkpoint": "slim"}), prepared, tmp_path,
                  features, progress=False)
    assert (tmp_path / "model.pt").read_bytes() == model_bytes
    assert again == summary
    with pytest.raises(ConfigError, match="final_checkpoint: unknown 'tiny'; valid choices: "
                                          "slim, full"):
        TrainConfig(**{**BASE, "final_checkpoint": "tiny"})


def test_sigterm_saves_mid_epoch_and_resume_is_bit_identical(
    prepared: Path, features: Path, reference: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = {"n": 0}
    original = torch.optim.SGD.step

    def step(self, *args, **kwargs):  # SIGTERM arrives while batch 2 of epoch 2 is computed
        steps["n"] += 1
        if steps["n"] == BATCHES_PER_EPOCH + 2:
            signal.raise_signal(signal.SIGTERM)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", step)
    with pytest.raises(TrainingInterrupted) as info:
        train(TrainConfig(**BASE), prepared, tmp_path, features, progress=False)
    assert info.value.exit_code == 143
    assert "epoch 2, batch 2" in str(info.value)
    saved = load_checkpoint(tmp_path / "last.pt")
    assert (saved["epoch"], saved["batch"], saved["finished"]) == (1, 2, False)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored
    monkeypatch.setattr(torch.optim.SGD, "step", original)
    summary = train(TrainConfig(**BASE), prepared, tmp_path, features, progress=False)
    assert summary["resumes"] == 1
    assert_same_run(reference, tmp_path)
    with open(tmp_path / "dvclive" / "plots" / "metrics" / "train" / "loss.tsv") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh, delimiter="\t")] == [1, 2, 3]


def test_resume_with_other_settings_is_refused(prepared: Path, features: Path,
                                               reference: Path) -> None:
    with pytest.raises(ConfigError, match=r"other settings \(lr: checkpoint 0\.05, now 0\.2\)"):
        train(TrainConfig(**{**BASE, "lr": 0.2}), prepared, reference, features, progress=False)
    with pytest.raises(ConfigError, match="feature cache: checkpoint used one"):
        train(TrainConfig(**BASE), prepared, reference, None, progress=False)


def test_bad_configs_fail_before_anything_is_written(prepared: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"batch_size 31 is larger than the 'train' split "
                                          r"\(30 images"):
        train(TrainConfig(**{**BASE, "batch_size": 31}), prepared, run, progress=False)
    with pytest.raises(ConfigError, match="unknown term 'msee'"):
        train(TrainConfig(**{**BASE, "loss": "msee"}), tmp_path / "no-such-dataset", run)
    with pytest.raises(ConfigError, match="amp='bf16' needs a CUDA device"):
        train(TrainConfig(**{**BASE, "amp": "bf16", "device": "cpu"}), prepared, run)
    with pytest.raises(ConfigError, match="has no split 'holdout'"):
        train(TrainConfig(**{**BASE, "val_split": "holdout"}), prepared, run)
    assert not run.exists()


def test_nan_loss_stops_naming_epoch_batch_and_term(
    prepared: Path, features: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salloss.losses import pixel

    calls = {"n": 0}
    real_mse = pixel.mse

    def mse(pred, density):  # NaN at the first training batch of epoch 2
        calls["n"] += 1
        value = real_mse(pred, density)
        return value * math.nan if calls["n"] == BATCHES_PER_EPOCH + 2 + 1 else value

    monkeypatch.setattr(pixel, "mse", mse)
    with pytest.raises(TrainingDiverged) as info:
        train(TrainConfig(**{**BASE, "loss": "ae + mse"}), prepared, tmp_path, features,
              progress=False, live=False)
    message = str(info.value)
    assert "epoch 2, batch 1/4 (training)" in message
    assert "offending term(s): mse = nan" in message and "ae =" not in message
    assert "last good checkpoint" in message
    kept = load_checkpoint(tmp_path / "last.pt")
    assert kept["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in kept["model"].values())
    assert not (tmp_path / "summary.json").exists()


def test_exploding_weights_are_caught(prepared: Path, features: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch \d/4"):
        train(TrainConfig(**{**BASE, "lr": 1e30, "momentum": 0.0}), prepared, tmp_path,
              features, progress=False, live=False)
    assert not (tmp_path / "last.pt").exists()


def test_feature_cache_matches_live_backbone(prepared: Path, features: Path,
                                             tmp_path: Path) -> None:
    """Same loss curve within float16 tolerance: identical init, batches and dropout draws."""
    cfg = TrainConfig(**{**BASE, "max_epochs": 2})
    cached = train(cfg, prepared, tmp_path / "cached", features, progress=False, live=False)
    live = train(cfg, prepared, tmp_path / "live", progress=False, live=False)
    for a, b in zip(cached["history"], live["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=5e-3)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=5e-3)
    # Not trivially equal: the cached features really are float16-rounded.
    assert cached["history"][0]["train_loss"] != live["history"][0]["train_loss"]


def test_learning_check_beats_the_center_bias(prepared: Path, features: Path,
                                              tmp_path: Path) -> None:
    """A short baseline training (random VGG!) predicts the test split better than the
    centre-bias map does (CC at original resolution, MIT metric)."""
    from salloss.data import PreparedDataset
    from salloss.training import predict_split
    from salloss.training.score import score_predictions

    cfg = TrainConfig(**{**BASE, "max_epochs": 6, "patience": 6})
    train(cfg, prepared, tmp_path / "run", features, progress=False, live=False)
    predict_split(tmp_path / "run", prepared, "test", tmp_path / "pred",
                  features_cache=features, progress=False, device="cpu")
    model = score_predictions(tmp_path / "pred", prepared, "test", metrics=["CC"],
                              progress=False)
    center = score_predictions(None, prepared, "test", metrics=["CC"], progress=False,
                               sal_override=PreparedDataset(prepared).center_bias())
    assert model["n_images"] == 18
    assert model["mean"]["CC"] > center["mean"]["CC"] + 0.03, (model["mean"], center["mean"])


def test_train_split_and_batches_are_the_papers_convention(reference: Path) -> None:
    # every training image is used every epoch (last batch smaller), losses are image means
    history = json.loads((reference / "summary.json").read_text())["history"]
    assert all(np.isfinite(h["train_loss"]) for h in history)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
