"""The prepared cache: the API the trainer reads, idempotence, centre bias and Figure 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from salloss.data import PreparedDataset, open_dataset, prepare_dataset
from salloss.data.maps import resize_map
from salloss.data.prepared import resize_stimulus
from salloss.errors import DataError

SIZES = ((30, 40), (24, 32))
SYNTH = {"n_images": 24, "long_side": 96}


@pytest.fixture(scope="module")
def prepared(synthetic_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared") / "synthetic"
    return prepare_dataset("synthetic", synthetic_root, out, input_sizes=SIZES,
                           split=(0.5, 0.25, None), **SYNTH)


def _files(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_api_matches_the_source(prepared, synthetic_root):
    dataset = open_dataset("mit1003", synthetic_root)
    assert prepared.name == "synthetic" and len(prepared) == 24
    assert prepared.ids == dataset.ids
    assert sorted(prepared.input_sizes) == sorted(SIZES)
    for size in SIZES:
        stimuli = prepared.stimuli(size)
        assert stimuli.shape == (24, *size, 3) and stimuli.dtype == np.uint8
        assert isinstance(stimuli, np.memmap)
    for i in (0, 7, 23):
        record = dataset[i]
        assert prepared.index(record.id) == i
        assert prepared.original_size(i) == record.size
        for size in SIZES:
            np.testing.assert_array_equal(prepared.stimuli(size)[i],
                                          resize_stimulus(record.stimulus, size))
        density = prepared.density(i)
        assert density.dtype == np.float32 and density.shape == record.size
        np.testing.assert_allclose(density, record.density, atol=1e-6)
        points = prepared.fixations(i)
        assert points.dtype == np.int32 and points.shape[1] == 2
        np.testing.assert_array_equal(points, np.argwhere(record.fixations))
        np.testing.assert_array_equal(prepared.fixation_map(i), record.fixations)
        np.testing.assert_array_equal(prepared.density(record.id), density)


def test_split(prepared):
    split = prepared.split
    assert [len(split[k]) for k in ("train", "val", "test")] == [12, 6, 6]
    assert sorted(split["train"] + split["val"] + split["test"]) == sorted(prepared.ids)
    idx = prepared.split_indices("val")
    assert idx.dtype == np.int64 and [prepared.ids[i] for i in idx] == split["val"]


def test_center_bias_is_the_training_mean(prepared, synthetic_root):
    dataset = open_dataset("mit1003", synthetic_root)
    grid = prepared.center_bias_size
    assert grid == (300, 400)  # default: the paper's input grid, whatever the input sizes
    maps = [resize_map(r.density / r.density.max(), grid)
            for r in dataset if r.id in set(prepared.split["train"])]
    expected = np.mean(maps, axis=0)
    bias = prepared.center_bias()
    assert bias.dtype == np.float32 and bias.shape == grid and bias.max() == 1.0
    np.testing.assert_allclose(bias, expected / expected.max(), atol=1e-5)
    # it must not be the mean over ALL images
    everything = np.mean([resize_map(r.density / r.density.max(), grid) for r in dataset], 0)
    assert np.abs(bias - everything / everything.max()).max() > 1e-3


def test_figure_2_written(prepared):
    png = prepared.center_bias_figure()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


def test_unprepared_size_lists_the_prepared_ones(prepared):
    with pytest.raises(DataError, match=r"300x400.*30x40.*24x32|300x400.*24x32.*30x40"):
        prepared.stimuli((300, 400))


def test_no_temporary_files_left(prepared):
    assert not [p for p in prepared.path.iterdir() if p.name.endswith(".tmp")]


def test_idempotent_and_adds_sizes(synthetic_root, tmp_path):
    out = tmp_path / "p"
    prepare_dataset("synthetic", synthetic_root, out, input_sizes=[(24, 32)], **SYNTH)
    before = _files(out)
    prepare_dataset("synthetic", synthetic_root, out, input_sizes=[(24, 32)], **SYNTH)
    assert _files(out) == before  # nothing rewritten
    prepared = prepare_dataset("synthetic", synthetic_root, out, input_sizes=[(12, 16)], **SYNTH)
    after = _files(out)
    assert set(after) - set(before) == {"stimuli_12x16.npy"}
    changed = {k for k in before if after[k] != before[k]}
    assert changed == {"manifest.json"}
    assert sorted(prepared.input_sizes) == [(12, 16), (24, 32)]


def test_other_split_seed_reprepares(synthetic_root, tmp_path):
    out = tmp_path / "p"
    a = prepare_dataset("synthetic", synthetic_root, out, input_sizes=[(12, 16)], seed=0, **SYNTH)
    train0 = a.split["train"]
    b = prepare_dataset("synthetic", synthetic_root, out, input_sizes=[(12, 16)], seed=1, **SYNTH)
    assert b.split["train"] != train0
    assert json.loads((out / "split.json").read_text())["seed"] == 1


def test_cat2000_keeps_categories_and_8bit_densities(cat2000_tree, tmp_path):
    root, expected = cat2000_tree
    prepared = prepare_dataset("cat2000", root, tmp_path / "c", input_sizes=[(9, 16)])
    assert prepared.manifest["key"]["density_storage"] == "uint8"
    i = prepared.index("Art/003")
    assert prepared.meta(i) == {"category": "Art"}
    np.testing.assert_allclose(prepared.density(i), expected["Art/003"]["density"], atol=1e-6)
    np.testing.assert_array_equal(prepared.fixation_map(i), expected["Art/003"]["fixations"])
    categories = {prepared.meta(j)["category"] for j in prepared.split_indices("train")}
    assert categories == {"Action", "Affective", "Art", "LowResolution"}


def test_fiwi_float_densities(tmp_path, layouts):
    layouts.write_fiwi(tmp_path / "fiwi")
    prepared = prepare_dataset("fiwi", tmp_path / "fiwi", tmp_path / "p", input_sizes=[(6, 10)],
                               sigma=2.0)
    assert prepared.manifest["key"]["density_storage"] == "float32"
    source = open_dataset("fiwi", tmp_path / "fiwi", sigma=2.0)
    np.testing.assert_allclose(prepared.density(1), source[1].density, rtol=1e-6)


def test_user_split_file(mit1003_tree, tmp_path):
    root, _ = mit1003_tree
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "train.txt").write_text("i1.jpeg\ni2.jpeg\n")
    (tmp_path / "lists" / "val.txt").write_text("i10.jpeg\n")
    prepared = prepare_dataset("mit1003", root, tmp_path / "p", input_sizes=[(6, 8)],
                               split=tmp_path / "lists")
    assert prepared.split == {"train": ["i1", "i2"], "val": ["i10"], "test": []}


@pytest.mark.parametrize("split", ["2,1,rest", (2, 1, None), ["2", "1", "rest"], [0.5, 0.25, None]])
def test_split_size_forms(mit1003_tree, split):
    from salloss.data.prepared import resolve_split

    dataset = open_dataset("mit1003", mit1003_tree[0])
    chosen = resolve_split(dataset, split, seed=0)
    assert (len(chosen.train), len(chosen.val), len(chosen.test)) == (2, 1, 1)


def test_empty_training_split_has_no_center_bias(mit1003_tree, tmp_path):
    prepared = prepare_dataset("mit1003", mit1003_tree[0], tmp_path / "p", input_sizes=[(6, 8)],
                               split="0,0,rest")
    assert len(prepared.split["test"]) == 4
    with pytest.raises(DataError, match="training split is empty"):
        prepared.center_bias()


def test_no_ground_truth_refused(tmp_path, layouts):
    layouts.write_mit300(tmp_path / "m")
    with pytest.raises(DataError, match="no ground truth"):
        prepare_dataset("mit300", tmp_path / "m", tmp_path / "p")


def test_interrupted_prepare_leaves_no_cache(mit1003_tree, tmp_path, monkeypatch):
    import salloss.data.prepared as prepared_module

    calls = {"n": 0}
    real = prepared_module.points_from_map

    def failing(fixations):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(fixations)

    monkeypatch.setattr(prepared_module, "points_from_map", failing)
    out = tmp_path / "p"
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset("mit1003", mit1003_tree[0], out, input_sizes=[(6, 8)])
    assert not (out / "manifest.json").exists()
    assert not [p for p in out.iterdir() if p.suffix in (".npy", ".tmp")] if out.exists() else True
    with pytest.raises(DataError, match="not a prepared dataset"):
        PreparedDataset(out)
    # an interrupted RE-preparation must not leave the old manifest vouching for new files
    calls["n"] = -100
    prepare_dataset("mit1003", mit1003_tree[0], out, input_sizes=[(6, 8)])
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset("mit1003", mit1003_tree[0], out, input_sizes=[(6, 8)], seed=5)
    with pytest.raises(DataError, match="not a prepared dataset"):
        PreparedDataset(out)
