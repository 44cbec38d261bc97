"""The synthetic default: deterministic, consistent, readable by the MIT1003 loader, learnable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from salloss.data import open_dataset
from salloss.data.maps import resize_map
from salloss.data.synthetic import (
    SyntheticParams,
    generate,
    make_scene,
    sample_fixations,
    true_density,
)
from salloss.errors import ConfigError, DataError

SMALL = SyntheticParams(n_images=6, long_side=64)


def test_deterministic_for_a_seed(tmp_path):
    a = generate(tmp_path / "a", SMALL)
    b = generate(tmp_path / "b", SMALL)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) == 6 * 4 + 1
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_seed_and_index_change_the_scene():
    s0 = make_scene(SMALL, 0)
    assert not np.array_equal(s0.true_density, make_scene(SMALL, 1).true_density)
    other = SyntheticParams(n_images=6, long_side=64, seed=1)
    assert not np.array_equal(s0.stimulus, make_scene(other, 0).stimulus)


def test_more_images_extend_fewer():
    bigger = SyntheticParams(n_images=10, long_side=64)
    np.testing.assert_array_equal(make_scene(SMALL, 3).stimulus, make_scene(bigger, 3).stimulus)


def test_scene_consistency():
    params = SyntheticParams(long_side=80, n_observers=5, fixations_per_observer=4)
    for i in range(8):
        scene = make_scene(params, i)
        shape = scene.stimulus.shape[:2]
        assert max(shape) == 80 and scene.stimulus.dtype == np.uint8
        assert scene.true_density.shape == scene.fixations.shape == scene.density_map.shape == shape
        assert scene.true_density.sum() == pytest.approx(1.0, abs=1e-12)
        assert scene.true_density.min() > 0  # the uniform term: every pixel possible
        assert scene.fixation_counts.sum() == 20  # every fixation landed inside the image
        assert scene.density_map.max() == pytest.approx(1.0)


def test_landscape_and_portrait():
    shapes = {make_scene(SyntheticParams(), i).stimulus.shape[:2] for i in range(40)}
    assert any(h > w for h, w in shapes) and any(w > h for h, w in shapes)


def test_mit1003_loader_reads_it_back(synthetic_root):
    dataset = open_dataset("mit1003", synthetic_root)
    manifest = json.loads((synthetic_root / "synthetic.json").read_text())
    assert dataset.ids == manifest["ids"] and len(dataset) == 24
    params = SyntheticParams(**manifest["params"])
    for i in (0, 5, 17):
        record, scene = dataset[i], make_scene(params, i)
        np.testing.assert_array_equal(record.fixations, scene.fixations)  # survives the JPEG
        assert np.abs(record.density - scene.density_map).max() < 0.03  # lossy JPEG only
        assert np.abs(record.stimulus.astype(int) - scene.stimulus).mean() < 4
        np.testing.assert_array_equal(true_density(synthetic_root, record.id), scene.true_density)


def test_open_synthetic_reuses_or_refuses(synthetic_root, tmp_path):
    dataset = open_dataset("synthetic", synthetic_root, n_images=24, long_side=96)
    assert dataset.name == "synthetic" and len(dataset) == 24
    assert dataset[0].meta["true_density"].endswith(".npy")
    with pytest.raises(ConfigError, match="other parameters"):
        open_dataset("synthetic", synthetic_root, n_images=25, long_side=96)
    with pytest.raises(ConfigError, match="n_image"):
        open_dataset("synthetic", tmp_path / "x", n_image=3)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file.txt").write_text("x")
    with pytest.raises(DataError, match="not empty"):
        open_dataset("synthetic", tmp_path / "full")


def test_invalid_parameters():
    with pytest.raises(ConfigError, match="sum to 1"):
        SyntheticParams(weight_objects=0.9).validate()
    with pytest.raises(ConfigError, match="n_images"):
        SyntheticParams(n_images=0).validate()


def _nss(saliency, fixations):
    from salloss.metrics import nss

    return nss(saliency, fixations)


def test_learnable_in_principle(synthetic_root):
    """Held-out fixations (fresh draws from the known density) are predicted much better by
    the true density, and by a crude image-only cue (colour distance to the median colour),
    than by the centre-bias map of the training images: the images carry the signal."""
    dataset = open_dataset("mit1003", synthetic_root)
    train, test = dataset[:12], dataset[12:]
    grid = (72, 96)
    bias = np.mean([resize_map(r.density / r.density.max(), grid) for r in train], axis=0)
    rng = np.random.default_rng(123)
    scores = {"true": [], "image cue": [], "centre bias": []}
    for record in test:
        density = true_density(synthetic_root, record.id)
        held_out = sample_fixations(density, 100, rng)
        image = record.stimulus.astype(float)
        cue = np.linalg.norm(image - np.median(image.reshape(-1, 3), axis=0), axis=2)
        scores["true"].append(_nss(density, held_out))
        scores["image cue"].append(_nss(ndimage.gaussian_filter(cue, 3), held_out))
        scores["centre bias"].append(_nss(bias, held_out))
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    assert mean["true"] > mean["centre bias"] + 0.8, mean
    assert mean["image cue"] > mean["centre bias"] + 0.3, mean
