"""Training with a learned-weights spec (`learned(...)`, Kendall et al. 2018): the log-variances
are optimised in the run's optimizer, move towards 1/L, are checkpointed (bit-identical resume),
logged to DVCLive and summarised; early stopping monitors the s-free criterion."""

from __future__ import annotations

import csv
import json
import math
import signal
from pathlib import Path

import pytest
import torch
from training_helpers import BATCHES_PER_EPOCH, LEARNED, assert_same_run

from salloss.errors import ConfigError
from salloss.losses import parse
from salloss.training import TrainConfig, TrainingInterrupted, train
from salloss.training.checkpoint import load_checkpoint
from salloss.training.cli import train_config_from_args

LABELS = ("nll", "cc", "mse")


def _loss_forms(terms: dict[str, float]) -> dict[str, float]:
    """Split means of the learned terms' loss forms (1 − cc for cc)."""
    return {"nll": terms["nll"], "cc": 1.0 - terms["cc"], "mse": terms["mse"]}


def test_log_variances_train_in_a_second_parameter_group(learned_reference: Path) -> None:
    ckpt = load_checkpoint(learned_reference / "last.pt")
    groups = ckpt["optimizer"]["param_groups"]
    assert len(groups) == 2
    assert (groups[0]["lr"], groups[1]["lr"]) == (LEARNED["lr"], LEARNED["loss_weights_lr"])
    assert groups[1]["weight_decay"] == 0.0 and groups[1]["momentum"] == 0.9
    (index,) = groups[1]["params"]
    assert ckpt["optimizer"]["state"][index]["momentum_buffer"].shape == (3,)
    log_vars = ckpt["loss_state"]["log_vars"]
    assert log_vars.shape == (3,) and torch.isfinite(log_vars).all()
    assert "log_vars" not in json.dumps(list(ckpt["model"]))  # not mixed into model.pt


def test_weights_move_from_one_towards_the_inverse_loss(learned_reference: Path) -> None:
    """Kendall's optimum is exp(−s) = 1/L: NLL (≈ 8 here, a noisy term) must lose weight and
    MSE (< 1) gain it, from the common start exp(0) = 1 (1 − CC stays near 1: no claim)."""
    history = json.loads((learned_reference / "summary.json").read_text())["history"]
    forms = _loss_forms(history[-1]["train_terms"])
    assert forms["nll"] > 2 and forms["mse"] < 0.9  # the construction
    first, last = history[0]["loss_weights"], history[-1]["loss_weights"]
    for label in ("nll", "mse"):
        target = 1 / forms[label]
        assert (last[label] - 1) * (target - 1) > 0, (label, last[label], target)
        assert abs(math.log(last[label])) > 0.3
    assert last["nll"] < first["nll"] < 1 < first["mse"] < last["mse"]
    for record in history:
        assert record["loss_weights"] == pytest.approx(
            {k: math.exp(-v) for k, v in record["log_vars"].items()})


def test_early_stopping_monitors_the_s_free_criterion(learned_reference: Path) -> None:
    summary = json.loads((learned_reference / "summary.json").read_text())
    for record in summary["history"]:
        val = record["val_terms"]
        forms = _loss_forms(val)
        expected = -val["nss"] + sum(0.5 * (1 + math.log(v)) for v in forms.values())
        assert record["val_loss"] == pytest.approx(expected, rel=1e-12)
        assert record["val_loss"] != pytest.approx(record["train_loss"], rel=1e-3)
    best = min(summary["history"], key=lambda h: h["val_loss"])
    assert (summary["best_epoch"], summary["best_val_loss"]) == (best["epoch"],
                                                                  best["val_loss"])


def test_summary_states_the_combination_found(learned_reference: Path) -> None:
    summary = json.loads((learned_reference / "summary.json").read_text())
    assert summary["loss"] == LEARNED["loss"] and summary["activation"] == "sigmoid"
    found = summary["learned_weights"]
    assert found["epoch"] == LEARNED["max_epochs"]
    assert found["loss_weights_lr"] == LEARNED["loss_weights_lr"]
    final = found["final"]
    saved = load_checkpoint(learned_reference / "last.pt")["loss_state"]["log_vars"].tolist()
    assert final["log_vars"] == dict(zip(LABELS, saved, strict=True))
    assert final["log_vars"] == summary["history"][-1]["log_vars"]
    w = final["weights"]
    assert final["effective_coefficients"] == pytest.approx(
        {"nll": 0.5 * w["nll"], "cc": -0.5 * w["cc"], "mse": 0.5 * w["mse"], "nss": -1.0})
    norm = final["normalised_coefficients"]
    smallest = min(abs(c) for c in final["effective_coefficients"].values())
    assert norm == pytest.approx({k: c / smallest
                                  for k, c in final["effective_coefficients"].items()})
    fixed = parse(final["equivalent_spec"])  # a plain spec a researcher can train as is
    assert [t.label for t in fixed] == [*LABELS, "nss"] and not any(t.learned for t in fixed)
    assert [t.coef for t in fixed] == pytest.approx([norm[t.label] for t in fixed], rel=1e-3)
    best = next(h for h in summary["history"] if h["epoch"] == summary["best_epoch"])
    assert found["at_best_epoch"]["log_vars"] == best["log_vars"]


def test_dvclive_logs_the_learned_weights(learned_reference: Path) -> None:
    history = json.loads((learned_reference / "summary.json").read_text())["history"]
    metrics = learned_reference / "dvclive" / "plots" / "metrics"
    for label in LABELS:
        with open(metrics / "weights" / f"{label}.tsv") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        assert [int(r["step"]) for r in rows] == [1, 2, 3]
        assert [float(r[label]) for r in rows] == pytest.approx(
            [h["loss_weights"][label] for h in history])
    assert (metrics / "val" / "nss.tsv").exists()  # raw terms are logged as for any spec


def test_fixed_specs_have_no_learned_records(reference: Path) -> None:
    summary = json.loads((reference / "summary.json").read_text())
    assert "learned_weights" not in summary
    assert all("loss_weights" not in h for h in summary["history"])
    ckpt = load_checkpoint(reference / "last.pt")
    assert "loss_state" not in ckpt and len(ckpt["optimizer"]["param_groups"]) == 1
    assert not (reference / "dvclive" / "plots" / "metrics" / "weights").exists()


def test_sigterm_mid_epoch_then_resume_is_bit_identical(
    prepared: Path, features: Path, learned_reference: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = {"n": 0}
    original = torch.optim.SGD.step

    def step(self, *args, **kwargs):  # SIGTERM arrives while batch 3 of epoch 2 is computed
        steps["n"] += 1
        if steps["n"] == BATCHES_PER_EPOCH + 3:
            signal.raise_signal(signal.SIGTERM)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", step)
    with pytest.raises(TrainingInterrupted, match="epoch 2, batch 3"):
        train(TrainConfig(**LEARNED), prepared, tmp_path, features, progress=False, live=False)
    saved = load_checkpoint(tmp_path / "last.pt")
    assert (saved["epoch"], saved["batch"]) == (1, 3)
    assert not torch.equal(saved["loss_state"]["log_vars"], torch.zeros(3))  # mid-run s saved
    monkeypatch.setattr(torch.optim.SGD, "step", original)
    summary = train(TrainConfig(**LEARNED), prepared, tmp_path, features, progress=False,
                    live=False)
    assert summary["resumes"] == 1
    assert_same_run(learned_reference, tmp_path)
    reference = json.loads((learned_reference / "summary.json").read_text())
    assert summary["learned_weights"] == reference["learned_weights"]


def test_resume_with_another_loss_weights_lr_is_refused(prepared: Path, features: Path,
                                                        learned_reference: Path) -> None:
    with pytest.raises(ConfigError, match=r"loss_weights_lr: checkpoint 0\.05, now 0\.2"):
        train(TrainConfig(**{**LEARNED, "loss_weights_lr": 0.2}), prepared, learned_reference,
              features, progress=False)


def test_loss_weights_lr_setting() -> None:
    with pytest.raises(ConfigError, match="loss_weights_lr must be a finite number > 0"):
        TrainConfig(loss_weights_lr=0.0)
    assert TrainConfig().loss_weights_lr is None
    import argparse

    from salloss.training import cli as training_cli

    parser = argparse.ArgumentParser(prog="salloss")
    training_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train", "--prepared", "p", "--run-dir", "r", "--loss",
                              "learned(kld, cc)", "--loss-weights-lr", "0.01"])
    config = train_config_from_args(args)
    assert (config.loss, config.loss_weights_lr) == ("learned(kld, cc)", 0.01)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("amp", ["fp16", "off"])
def test_learned_spec_trains_on_cuda(prepared: Path, features: Path, tmp_path: Path,
                                     amp: str) -> None:
    """The log-variances follow the loss to the GPU, get unscaled fp16 gradients and end up
    close to the CPU run's (same batches and init; float tolerance)."""
    cfg = TrainConfig(**{**LEARNED, "device": "cuda", "amp": amp, "max_epochs": 2})
    summary = train(cfg, prepared, tmp_path, features, progress=False, live=False)
    assert summary["devices"][0].startswith("cuda:")
    cpu = train(TrainConfig(**{**LEARNED, "max_epochs": 2}), prepared, tmp_path / "cpu",
                features, progress=False, live=False)
    gpu_w = summary["learned_weights"]["final"]["weights"]
    cpu_w = cpu["learned_weights"]["final"]["weights"]
    assert gpu_w == pytest.approx(cpu_w, rel=0.1 if amp == "fp16" else 1e-2)
    assert gpu_w != {label: 1.0 for label in LABELS}
