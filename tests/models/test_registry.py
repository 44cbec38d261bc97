"""The model registry: names, option checking, user-added architectures, parameter counting."""

import pytest
import torch
from torch import nn

from salloss.errors import ConfigError
from salloss.models import MODELS, available, build, count_trainable, register
from salloss.models.registry import builder_options


@pytest.fixture
def clean_registry():
    before = dict(MODELS)
    yield
    MODELS.clear()
    MODELS.update(before)


def test_paper_architectures_are_registered():
    assert {"baseline", "sam_vgg"} <= set(available())
    assert available() == sorted(MODELS)


@pytest.mark.parametrize("name", ["resnet", "", None, "Baseline"])
def test_unknown_name_lists_the_choices(name):
    with pytest.raises(ConfigError, match=r"unknown model .*valid choices: .*baseline.*sam_vgg"):
        build(name)


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"sam_vgg.*timestep\b.*valid options:.*timesteps"):
        build("sam_vgg", weights="none", timestep=4)
    assert "keras_backend" in builder_options(MODELS["sam_vgg"])
    assert "blur_padding" in builder_options(MODELS["baseline"])


def test_user_can_add_an_architecture(clean_registry):
    @register("tiny")
    def build_tiny(*, channels: int = 2, activation: str = "relu") -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, channels, 1), nn.Conv2d(channels, 1, 1))

    model = build("tiny", channels=4)
    assert model(torch.zeros(1, 3, 5, 5)).shape == (1, 1, 5, 5)
    assert count_trainable(model) == (3 * 4 + 4) + (4 + 1)
    assert "tiny" in available()
    with pytest.raises(ConfigError, match="channel"):
        build("tiny", channel=4)
    with pytest.raises(ConfigError, match="already registered"):
        register("tiny")(lambda: nn.Identity())
    register("tiny", replace=True)(lambda **kw: nn.Identity())
    assert isinstance(build("tiny", anything=1), nn.Identity)  # **kwargs: no option check


def test_register_rejects_bad_names():
    with pytest.raises(ConfigError, match="non-empty"):
        register("")


def test_count_trainable_skips_frozen_and_counts_shared_once():
    shared = nn.Linear(3, 3)  # 12 parameters
    frozen = nn.Linear(3, 2)
    frozen.requires_grad_(False)
    model = nn.Sequential(shared, frozen, shared)
    assert count_trainable(model) == 12
