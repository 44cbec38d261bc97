"""TrainConfig validation: every bad setting fails before anything starts, naming the key."""

from __future__ import annotations

import json

import pytest

from salloss.errors import ConfigError
from salloss.training.config import TrainConfig, parse_size


def test_defaults_are_the_papers_setup() -> None:
    cfg = TrainConfig()
    assert (cfg.optimizer, cfg.lr, cfg.momentum, cfg.batch_size) == ("sgd", 1e-3, 0.9, 60)
    assert cfg.input_size == (300, 400)  # the baseline builder's default


def test_rmsprop_defaults_to_sams_learning_rate() -> None:
    assert TrainConfig(optimizer="rmsprop").lr == 1e-4
    assert TrainConfig(optimizer="rmsprop", lr=0.5).lr == 0.5


def test_sam_default_input_size_comes_from_its_builder() -> None:
    assert TrainConfig(arch="sam_vgg").input_size == (240, 320)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"arch": "resnet"}, "arch: unknown architecture 'resnet'; valid choices: baseline"),
        ({"lr": -0.1}, "lr must be a finite number > 0"),
        ({"lr": float("nan")}, "lr must be a finite number > 0"),
        ({"optimizer": "lbfgs"},
         "optimizer: unknown 'lbfgs'; valid choices: sgd, rmsprop, adam, adamw"),
        ({"lr_patience": 0}, "lr_patience must be an integer >= 1 or null"),
        ({"lr_factor": 1.0}, "lr_factor must be in (0, 1)"),
        ({"ema_decay": 1.0}, "ema_decay must be in (0, 1) or null"),
        ({"perceptual_size": (16, 64)}, "perceptual_size must be (height, width) with both >= 32"),
        ({"perceptual_size": "big"}, "expected HEIGHTxWIDTH"),
        ({"model_options": {"encoder": False}}, "encoder from the feature cache"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"momentum": 1.0}, "momentum must be in [0, 1)"),
        ({"patience": 0}, "patience must be an integer >= 1"),
        ({"input_size": (16, 400)}, "input_size must be (height, width) with both >= 32"),
        ({"amp": "fp8"}, "amp: unknown 'fp8'"),
        ({"device": "tpu"}, "device: expected 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ({"val_split": "train"}, "early stopping needs a held-out split"),
        ({"model_options": {"activation": "relu"}}, "set by the run itself"),
        ({"loss": "  "}, "loss: expected a loss spec"),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(changes: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig(**changes)
    assert needle in str(info.value)


def test_unknown_key_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown training config key\(s\) learning_rate; "
                                          r"valid keys: arch, loss"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_round_trip_through_json() -> None:
    cfg = TrainConfig(loss="10*kld - 2*cc - nss", input_size=(48, 64),
                      model_options={"dropout": 0.1})
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.input_size == (48, 64)


def test_result_dict_ignores_hardware_choices() -> None:
    a, b = TrainConfig(device="cpu", preload="no"), TrainConfig(device="auto", preload="yes")
    assert a.result_dict() == b.result_dict()
    assert a.result_dict() != TrainConfig(seed=1).result_dict()


@pytest.mark.parametrize(("text", "size"), [("300x400", (300, 400)), ("48×64", (48, 64))])
def test_parse_size(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


def test_parse_size_rejects_garbage() -> None:
    with pytest.raises(ConfigError, match="expected HEIGHTxWIDTH"):
        parse_size("300")


def test_adam_and_the_convergence_options_round_trip() -> None:
    cfg = TrainConfig(optimizer="adam", ema_decay=0.9, lr_patience=3, lr_factor=0.3,
                      perceptual_size="48x64")
    assert cfg.lr == 1e-3 and cfg.perceptual_size == (48, 64)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.to_dict()["perceptual_size"] == [48, 64]
    assert TrainConfig(optimizer="adamw").lr == 1e-3
