"""Shared fixtures: one tiny synthetic dataset (real `prepare_dataset` code path) and its
feature cache, built once per test session (random VGG weights: no download)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # training_helpers.py

# 60 images, longer side 128 px → input 48×64 (stride-8 grid 6×8); split 30/12/18.
N_IMAGES = 60
INPUT_SIZE = (48, 64)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from salloss.data import prepare_dataset

    root = tmp_path_factory.mktemp("synthetic")
    prepare_dataset("synthetic", root / "raw", root / "prepared", input_sizes=(INPUT_SIZE,),
                    n_images=N_IMAGES, long_side=128)
    return root / "prepared"


@pytest.fixture(scope="session")
def features(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from salloss.training import compute_features

    out = tmp_path_factory.mktemp("features") / "synthetic-48x64-none"
    compute_features(prepared, out, input_size=INPUT_SIZE, weights="none", seed=0,
                     progress=False)
    return out


@pytest.fixture(scope="session")
def reference(prepared: Path, features: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted, finished run of `training_helpers.BASE` from the feature cache
    (DVCLive on)."""
    from training_helpers import BASE

    from salloss.training import TrainConfig, train

    run = tmp_path_factory.mktemp("reference")
    train(TrainConfig(**BASE), prepared, run, features, progress=False)
    return run


@pytest.fixture(scope="session")
def learned_reference(prepared: Path, features: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted, finished run of `training_helpers.LEARNED` (a learned-weights spec)
    from the feature cache (DVCLive on)."""
    from training_helpers import LEARNED

    from salloss.training import TrainConfig, train

    run = tmp_path_factory.mktemp("learned-reference")
    train(TrainConfig(**LEARNED), prepared, run, features, progress=False)
    return run
