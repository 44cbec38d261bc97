"""Checkpoints: weights_only-loadable, atomic, NaN-refusing; RNG capture/restore is exact."""

# ruff: noqa: NPY002 - the legacy global NumPy RNG is exactly what is under test

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from salloss.errors import DataError
from salloss.training.checkpoint import (
    NonFiniteWeightsError,
    capture_rng,
    load_checkpoint,
    load_trainable_state,
    restore_rng,
    save_checkpoint,
    save_state_dict,
    trainable_state,
)


class Frozen(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Linear(3, 3)
        self.head = nn.Linear(3, 1)
        for p in self.backbone.parameters():
            p.requires_grad_(False)


def test_trainable_state_leaves_out_frozen_parameters() -> None:
    state = trainable_state(Frozen())
    assert sorted(state) == ["head.bias", "head.weight"]


def test_load_trainable_state_round_trip_and_mismatch() -> None:
    a, b = Frozen(), Frozen()
    load_trainable_state(b, trainable_state(a), "x.pt")
    assert torch.equal(a.head.weight, b.head.weight)
    with pytest.raises(DataError, match=r"x\.pt: does not fit the model.*missing \['head\.bias'\]"):
        load_trainable_state(b, {"head.weight": a.head.weight}, "x.pt")


def test_checkpoint_is_weights_only_loadable_with_rng(tmp_path) -> None:
    model = Frozen()
    opt = torch.optim.SGD(model.head.parameters(), lr=0.1, momentum=0.9)
    model.head(torch.ones(2, 3)).sum().backward()
    opt.step()
    state = {"model": trainable_state(model), "optimizer": opt.state_dict(), "rng": capture_rng(),
             "best_val": float("inf"), "history": [{"epoch": 1, "val_terms": {"mse": 0.5}}]}
    save_checkpoint(tmp_path / "last.pt", state)
    # What the trainer relies on: the plain weights_only loader accepts it.
    raw = torch.load(tmp_path / "last.pt", weights_only=True)
    assert raw["best_val"] == float("inf")
    loaded = load_checkpoint(tmp_path / "last.pt")
    assert torch.equal(loaded["model"]["head.weight"], model.head.weight)
    assert loaded["optimizer"]["state"][0]["momentum_buffer"].shape == (1, 3)


def test_nan_weights_are_never_written_over_a_good_checkpoint(tmp_path) -> None:
    path = tmp_path / "last.pt"
    good = {"model": {"w": torch.ones(3)}}
    save_checkpoint(path, good)
    before = path.read_bytes()
    with pytest.raises(NonFiniteWeightsError, match=r"model\.w contains NaN"):
        save_checkpoint(path, {"model": {"w": torch.tensor([1.0, float("nan"), 0.0])}})
    with pytest.raises(NonFiniteWeightsError, match="optimizer"):
        save_checkpoint(path, {"model": {"w": torch.ones(3)}, "optimizer": {
            "state": {0: {"momentum_buffer": torch.tensor([float("inf")])}}}})
    with pytest.raises(NonFiniteWeightsError):
        save_state_dict(path, {"w": torch.tensor([float("inf")])})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp files left behind


def test_unreadable_checkpoint_names_the_file(tmp_path) -> None:
    path = tmp_path / "last.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match=f"cannot read checkpoint {path}"):
        load_checkpoint(path)
    torch.save({"something": 1}, path)
    with pytest.raises(DataError, match="not a salloss training checkpoint"):
        load_checkpoint(path)


def test_rng_round_trip_is_exact(tmp_path) -> None:
    torch.manual_seed(3)
    np.random.seed(4)
    random.seed(5)
    np.random.standard_normal()  # leaves a cached gaussian in the legacy state
    save_checkpoint(tmp_path / "c.pt", {"rng": capture_rng()})
    expected = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)])
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    restore_rng(load_checkpoint(tmp_path / "c.pt")["rng"])
    again = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)])
    assert torch.equal(expected[0], again[0])
    assert np.array_equal(expected[1], again[1])
    assert expected[2] == again[2]
