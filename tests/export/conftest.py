"""Fixtures for the export tests: the data part's layout writers (tiny MIT300 / CAT2000-test
trees) and the training part's finished reference run, reused rather than rebuilt."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "data"))  # fixture_layouts
sys.path.insert(0, str(Path(__file__).parent))  # export_helpers
import fixture_layouts  # noqa: E402


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The training tests' session fixtures: a tiny synthetic dataset (input 48×64, random VGG)
# and a finished 3-epoch MSE run trained on it (model.pt + summary.json).
_training = _load("export_tests_training_fixtures", TESTS / "training" / "conftest.py")
prepared = _training.prepared
features = _training.features
reference = _training.reference

PORTRAIT = ("i300", (27, 15))  # (id, (H, W)): a second size besides the fixture's 20×26


@pytest.fixture(scope="session")
def mit300_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MIT300 layout (i1, i2, i10 at 20×26 + .DS_Store junk) plus one portrait stimulus."""
    root = tmp_path_factory.mktemp("mit300")
    fixture_layouts.write_mit300(root)
    stem, (h, w) = PORTRAIT
    pixels = np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "BenchmarkIMAGES" / f"{stem}.jpg", quality=90)
    return root


@pytest.fixture(scope="session")
def cat2000_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CAT2000 layout with trainSet/ and testSet/Stimuli/{Action,Pattern}/{002,134}.jpg
    (18×32, each with an EXIF rotation tag that must NOT be applied) and an Output/ decoy."""
    root = tmp_path_factory.mktemp("cat2000")
    fixture_layouts.write_cat2000(root, with_test=True)
    # a decoy like trainSet's: somebody's model output inside a category folder
    decoy = root / "testSet" / "Stimuli" / "Action" / "Output" / "002_SaliencyMap.jpg"
    decoy.parent.mkdir()
    Image.fromarray(np.zeros((18, 32), np.uint8)).save(decoy)
    return root


@pytest.fixture(scope="session")
def clipped_run(reference: Path, mit300_root: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference run with its output bias lowered by its median prediction, so
    that part of each map is 0 after the ReLU (and bicubic ringing dips below 0 there)."""
    import shutil

    import torch
    from export_helpers import expected_maps, mit300_stimuli

    run = tmp_path_factory.mktemp("clipped_run")
    shutil.copy(reference / "summary.json", run / "summary.json")
    state = torch.load(reference / "model.pt", weights_only=True)
    maps = expected_maps(reference, mit300_stimuli(mit300_root))
    shift = float(np.median(np.concatenate([full.ravel() for full, _ in maps.values()])))
    state["head.out.bias"] = state["head.out.bias"] - shift
    torch.save(state, run / "model.pt")
    return run
