"""Test helpers: the small run configuration most tests share, and run comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from salloss.training.checkpoint import load_checkpoint

# 30 training images / batch 8 → 4 batches per epoch (8, 8, 8, 6); validation 12 → 2 batches.
# device cpu: the bit-identical resume tests need the CPU's determinism, and the others must
# mean the same on a CUDA machine (the gpu-marked tests set device cuda themselves).
# final_checkpoint full: the finished last.pt keeps the optimizer/EMA/RNG states, which the
# bit-identical resume tests compare (test_train tests the default, slim, against it).
BASE: dict[str, Any] = dict(loss="mse", weights="none", input_size=(48, 64), batch_size=8,
                            max_epochs=3, patience=3, lr=0.05, seed=0, device="cpu",
                            final_checkpoint="full")
BATCHES_PER_EPOCH = 4
# A learned-weights spec (one fixed term) whose log-variances train at their own lr; NLL is
# ≈ 8 on this data and MSE < 1, so Kendall's optimum 1/L lies on either side of the start 1.
# (lr 0.1 collapses this spec to a constant map on the synthetic data.)
LEARNED: dict[str, Any] = {**BASE, "loss": "learned(nll, cc, mse) - nss", "lr": 0.03,
                           "loss_weights_lr": 0.05}


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Bit-identical state dicts (same keys, torch.equal tensors)."""
    assert sorted(a) == sorted(b)
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs"


def assert_same_run(run_a: Path, run_b: Path) -> None:
    """Two finished runs ended with bit-identical weights, best model and loss history."""
    a, b = load_checkpoint(run_a / "last.pt"), load_checkpoint(run_b / "last.pt")
    assert a["finished"] and b["finished"]
    assert_same_weights(a["model"], b["model"])
    assert_same_weights(a["best_model"], b["best_model"])
    assert sorted(a["optimizer"]["state"]) == sorted(b["optimizer"]["state"])
    for index in a["optimizer"]["state"]:  # the model's and any learned loss weights' state
        assert_same_weights(a["optimizer"]["state"][index], b["optimizer"]["state"][index])
    assert (a.get("loss_state") is None) == (b.get("loss_state") is None)
    if a.get("loss_state") is not None:
        assert_same_weights(a["loss_state"], b["loss_state"])
    assert a["history"] == b["history"]  # exact floats
    assert (a["best_epoch"], a["epoch"]) == (b["best_epoch"], b["epoch"])
    assert_same_weights(torch.load(run_a / "model.pt", weights_only=True),
                        torch.load(run_b / "model.pt", weights_only=True))
