"""Predictions at original resolution (float16 .npy + 8-bit submission images) and scoring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from salloss.data import PreparedDataset
from salloss.errors import DataError
from salloss.metrics import cc
from salloss.training import load_model, load_prediction, predict_split
from salloss.training.predict import prediction_path, to_float16, to_uint8
from salloss.training.score import score_predictions


@pytest.fixture(scope="module")
def predictions(reference: Path, prepared: Path, features: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("predictions")
    ids = predict_split(reference, prepared, "test", out / "npy", features_cache=features,
                        image_dir=out / "png", progress=False, device="cpu")
    assert ids == PreparedDataset(prepared).split["test"]
    return out


def test_predictions_are_float16_at_original_size(predictions: Path, prepared: Path) -> None:
    ds = PreparedDataset(prepared)
    sizes = set()
    for image_id in ds.split["test"]:
        arr = np.load(predictions / "npy" / f"{image_id}.npy")
        assert arr.dtype == np.float16
        assert arr.shape == ds.original_size(image_id) != (48, 64)
        assert np.isfinite(arr).all() and np.abs(arr).max() == pytest.approx(1.0, abs=1e-3)
        sizes.add(arr.shape)
        img = Image.open(predictions / "png" / f"{image_id}.png")
        assert img.mode == "L" and img.size == arr.shape[::-1]
    assert len(sizes) > 1  # landscape and portrait images: each kept its own size


def test_cached_and_live_predictions_agree(reference: Path, prepared: Path, predictions: Path,
                                           tmp_path: Path) -> None:
    ds = PreparedDataset(prepared)
    first = ds.split["test"][:4]
    # live backbone on a sub-split: predict all, compare a few
    predict_split(reference, prepared, "test", tmp_path, progress=False, batch_size=18,
                  device="cpu")
    for image_id in first:
        live = load_prediction(tmp_path, image_id)
        cached = load_prediction(predictions / "npy", image_id)
        assert cc(live, cached) > 0.999
        assert np.abs(live - cached).max() < 0.02


def test_load_model_restores_the_best_head(reference: Path) -> None:
    model, summary = load_model(reference, device="cpu")
    saved = torch.load(reference / "model.pt", weights_only=True)
    for key, value in saved.items():
        assert torch.equal(model.state_dict()[key], value)
    assert not model.training and summary["activation"] == "relu"


def test_score_writes_per_image_csv_and_summary(predictions: Path, prepared: Path,
                                                tmp_path: Path) -> None:
    result = score_predictions(predictions / "npy", prepared, "test", tmp_path / "s.csv",
                               tmp_path / "s.json", metrics=["CC", "NSS", "AUC-J", "sAUC", "IG"],
                               progress=False)
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "id,CC,NSS,AUC-J,sAUC,IG" and len(lines) == 1 + 18
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["CC"]["count"] == 18 and summary["CC"]["mean"] == pytest.approx(
        result["mean"]["CC"])
    # The scoring layer was really fed the stored maps: recompute one CC by hand.
    ds = PreparedDataset(prepared)
    first = ds.split["test"][0]
    row = result["rows"][0]
    assert row["id"] == first
    assert row["CC"] == pytest.approx(cc(load_prediction(predictions / "npy", first),
                                         ds.density(first)))


def test_missing_prediction_is_named(prepared: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"prediction .*synth\d{4}\.npy is missing"):
        score_predictions(tmp_path, prepared, "test", metrics=["CC"], progress=False)


def test_prediction_paths_keep_category_folders(tmp_path: Path) -> None:
    assert prediction_path(tmp_path, "Action/001") == tmp_path / "Action" / "001.npy"
    assert prediction_path(tmp_path, "i05", ".jpg") == tmp_path / "i05.jpg"
    for bad in ("../escape", "/abs/path", ""):
        with pytest.raises(DataError, match="not a relative path"):
            prediction_path(tmp_path, bad)


def test_float16_storage_is_scale_free_and_keeps_ringing() -> None:
    rng = np.random.default_rng(0)
    sal = rng.random((30, 40)) * 1e-6 - 1e-8  # tiny values, some negative (bicubic ringing)
    stored = to_float16(sal)
    assert stored.dtype == np.float16 and stored.min() < 0
    assert cc(stored.astype(np.float64), sal) > 0.99999
    huge = to_float16(sal * 1e12)  # would overflow float16 unscaled
    assert np.isfinite(huge).all()
    assert not to_float16(np.zeros((3, 3))).any()


def test_submission_image_scaling() -> None:
    out = to_uint8(np.array([[-0.1, 0.0], [0.5, 2.0]]))
    assert out.tolist() == [[0, 0], [64, 255]]
    assert not to_uint8(np.zeros((2, 2))).any()
