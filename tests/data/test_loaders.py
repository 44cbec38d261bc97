"""Every loader reads its fixture layout back exactly, quirks included."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from scipy import ndimage

from salloss.data import open_dataset
from salloss.data.naming import natural_sorted
from salloss.errors import ConfigError, DataError


def _check_exact(dataset, expected, *, density=True):
    assert dataset.ids == natural_sorted(expected)
    for record in dataset:
        want = expected[record.id]
        stimulus = record.stimulus
        assert stimulus.dtype == np.uint8 and stimulus.ndim == 3 and stimulus.shape[2] == 3
        np.testing.assert_array_equal(stimulus, want["stimulus"])
        assert record.size == stimulus.shape[:2]
        if density:
            assert record.density.dtype == np.float64
            np.testing.assert_allclose(record.density, want["density"], atol=1e-12)
        fixations = record.fixations
        assert fixations.dtype == bool
        np.testing.assert_array_equal(fixations, want["fixations"])
        for key, value in want["meta"].items():
            assert record.meta[key] == value


def test_mit1003_reads_back_exactly(mit1003_tree):
    root, expected = mit1003_tree
    dataset = open_dataset("mit1003", root)
    assert dataset.ids == ["i1", "i2", "i05june05_static_street_boston_p1010764", "i10"]
    _check_exact(dataset, expected)


def test_mit1003_exif_rotation_not_applied(mit1003_tree):
    root, _ = mit1003_tree
    record = open_dataset("mit1003", root).by_id("i10")
    assert record.stimulus.shape == (24, 32, 3)  # as stored; the tag would make it 32×24


def test_mit1003_threshold_matters(mit1003_tree):
    """> 0 on the lossy fixPts would add the JPEG ringing as fake fixations."""
    root, expected = mit1003_tree
    loose = open_dataset("mit1003", root, fixation_threshold=0)
    assert loose.by_id("i1").fixations.sum() > expected["i1"]["fixations"].sum()


def test_mit1003_missing_fixation_map_names_the_id(tmp_path, layouts):
    layouts.write_mit1003(tmp_path)
    (tmp_path / "ALLFIXATIONMAPS" / "i2_fixPts.jpg").unlink()
    with pytest.raises(DataError, match=r"'i2'.*i2_fixPts\.jpg"):
        open_dataset("mit1003", tmp_path)


def test_mit1003_stray_file_is_not_used(tmp_path, layouts):
    """Without the real fixPts, the stray (no underscore) file must not stand in for it."""
    layouts.write_mit1003(tmp_path)
    (tmp_path / "ALLFIXATIONMAPS" / "i05june05_static_street_boston_p1010764_fixPts.jpg").unlink()
    with pytest.raises(DataError, match="i05june05_static_street_boston_p1010764"):
        open_dataset("mit1003", tmp_path)


def test_truncated_jpeg_names_the_file(tmp_path, layouts):
    layouts.write_mit1003(tmp_path)
    path = tmp_path / "ALLSTIMULI" / "i2.jpeg"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    record = open_dataset("mit1003", tmp_path).by_id("i2")  # lazy: opening still works
    with pytest.raises(DataError, match=r"i2\.jpeg"):
        _ = record.stimulus


def test_size_mismatch_between_stimulus_and_map_is_reported(tmp_path, layouts):
    layouts.write_mit1003(tmp_path)
    shutil.copy(tmp_path / "ALLFIXATIONMAPS" / "i2_fixMap.jpg",
                tmp_path / "ALLFIXATIONMAPS" / "i1_fixMap.jpg")  # 32×24 onto a 24×32 image
    record = open_dataset("mit1003", tmp_path).by_id("i1")
    with pytest.raises(DataError, match=r"'i1'.*density map is 32×24.*24×32"):
        _ = record.density


@pytest.mark.parametrize("name", ["mit1003", "cat2000", "fiwi", "salicon", "mit300", "folder"])
def test_empty_folder_says_what_was_expected(tmp_path, name):
    with pytest.raises(DataError, match="expected") as info:
        open_dataset(name, tmp_path)
    assert str(tmp_path) in str(info.value)


def test_empty_stimuli_folder(tmp_path):
    (tmp_path / "ALLSTIMULI").mkdir()
    (tmp_path / "ALLFIXATIONMAPS").mkdir()
    with pytest.raises(DataError, match=r"no stimuli \(\*\.jpeg\)"):
        open_dataset("mit1003", tmp_path)


def test_cat2000_reads_back_exactly_and_skips_decoys(cat2000_tree):
    root, expected = cat2000_tree
    dataset = open_dataset("cat2000", root)
    assert len(dataset) == 20
    assert not any("Output" in i or "SaliencyMap" in i for i in dataset.ids)
    assert dataset.ids[:5] == [f"Action/{n}" for n in ("001", "003", "005", "011", "101")]
    _check_exact(dataset, expected)
    assert dataset.by_id("Art/003").stimulus.shape == (18, 32, 3)  # EXIF tag ignored


def test_cat2000_accepts_trainset_folder_as_root(cat2000_tree):
    root, expected = cat2000_tree
    assert open_dataset("cat2000", root / "trainSet").ids == natural_sorted(expected)


def test_cat2000_test_split_has_stimuli_only(cat2000_tree):
    root, _ = cat2000_tree
    dataset = open_dataset("cat2000", root, split="test")
    assert dataset.ids == ["Action/002", "Action/134", "Pattern/002", "Pattern/134"]
    record = dataset.by_id("Pattern/134")
    assert record.stimulus.shape == (18, 32, 3)  # orientation 8 ignored
    assert not dataset.has_ground_truth
    with pytest.raises(DataError, match="no density"):
        _ = record.density


def test_cat2000_missing_fixlocs_names_the_id(tmp_path, layouts):
    layouts.write_cat2000(tmp_path, with_test=False)
    (tmp_path / "trainSet" / "FIXATIONLOCS" / "Art" / "011.mat").unlink()
    with pytest.raises(DataError, match=r"'Art/011'.*FIXATIONLOCS/Art/011\.mat"):
        open_dataset("cat2000", tmp_path)


def test_cat2000_bad_split_option(cat2000_tree):
    with pytest.raises(ConfigError, match="train"):
        open_dataset("cat2000", cat2000_tree[0], split="val")


def test_fiwi_finds_folders_and_blurs_fixations(tmp_path, layouts):
    expected = layouts.write_fiwi(tmp_path)
    dataset = open_dataset("fiwi", tmp_path, sigma=3.0)
    assert dataset.ids == ["1", "2", "10"]
    _check_exact(dataset, expected, density=False)
    for record in dataset:
        want = ndimage.gaussian_filter(expected[record.id]["fixations"].astype(float), 3.0)
        np.testing.assert_allclose(record.density, want / want.max(), rtol=1e-10)
    assert dataset.options["sigma"] == 3.0


def test_fiwi_default_sigma_is_30(tmp_path, layouts):
    layouts.write_fiwi(tmp_path)
    assert open_dataset("fiwi", tmp_path).options["sigma"] == 30.0


def test_fiwi_missing_folder_lists_what_was_found(tmp_path, layouts):
    layouts.write_fiwi(tmp_path)
    shutil.rmtree(tmp_path / "webpage_dataset" / "eyeMaps" / "all5")
    with pytest.raises(DataError, match=r"(?s)eyeMaps/all5.*found:.*all1") as info:
        open_dataset("fiwi", tmp_path)
    assert "stimuli" in str(info.value)


def test_fiwi_explicit_folders(tmp_path, layouts):
    expected = layouts.write_fiwi(tmp_path)
    dataset = open_dataset("fiwi", tmp_path, stimuli_dir="webpage_dataset/stimuli",
                           fixations_dir="webpage_dataset/eyeMaps/all5")
    assert dataset.ids == natural_sorted(expected)


def test_salicon_one_based_coordinates(tmp_path, layouts):
    expected = layouts.write_salicon(tmp_path)
    for split in ("train", "val"):
        dataset = open_dataset("salicon", tmp_path, split=split)
        _check_exact(dataset, expected[split])
    first = open_dataset("salicon", tmp_path).by_id("COCO_train2014_000000000009")
    assert first.fixations[0, 0] and first.fixations[-1, -1]  # (1,1) and (W,H), 1-based


def test_salicon_mouse_points_outside_are_dropped(tmp_path, layouts):
    expected = layouts.write_salicon(tmp_path)
    dataset = open_dataset("salicon", tmp_path, fixation_type="mouse")
    for record in dataset:
        np.testing.assert_array_equal(record.fixations, expected["train"][record.id]["mouse"])


def test_salicon_test_split_and_nested_folders(tmp_path, layouts):
    layouts.write_salicon(tmp_path)
    (tmp_path / "maps").rename(tmp_path / "m")
    (tmp_path / "maps").mkdir()
    (tmp_path / "m").rename(tmp_path / "maps" / "maps")  # archive with its own top folder
    assert len(open_dataset("salicon", tmp_path, split="val")) == 2
    test = open_dataset("salicon", tmp_path, split="test")
    assert test.ids == ["COCO_test2014_000000000001", "COCO_test2014_000000000016"]
    assert not test.has_ground_truth


def test_mit300_stimuli_only(tmp_path, layouts):
    expected = layouts.write_mit300(tmp_path)
    dataset = open_dataset("mit300", tmp_path)
    assert dataset.ids == ["i1", "i2", "i10"]
    for record in dataset:
        np.testing.assert_array_equal(record.stimulus, expected[record.id]["stimulus"])
    with pytest.raises(DataError, match="mit300"):
        _ = dataset[0].fixations


def test_folder_dataset(tmp_path, layouts):
    expected = layouts.write_folder(tmp_path)
    dataset = open_dataset("folder", tmp_path)
    assert dataset.ids == ["a2", "a10", "b"]
    _check_exact(dataset, expected)


def test_folder_dataset_sigma_instead_of_density(tmp_path, layouts):
    expected = layouts.write_folder(tmp_path)
    shutil.rmtree(tmp_path / "density")
    with pytest.raises(ConfigError, match="sigma"):
        open_dataset("folder", tmp_path)
    dataset = open_dataset("folder", tmp_path, sigma=2.0)
    fix = expected["b"]["fixations"].astype(float)
    want = ndimage.gaussian_filter(fix, 2.0)
    np.testing.assert_allclose(dataset.by_id("b").density, want / want.max(), rtol=1e-10)


def test_folder_missing_fixation_names_id(tmp_path, layouts):
    layouts.write_folder(tmp_path)
    (tmp_path / "fixations" / "a10.png").unlink()
    with pytest.raises(DataError, match="'a10'"):
        open_dataset("folder", tmp_path)


def test_unknown_dataset_and_option(tmp_path, mit1003_tree):
    with pytest.raises(ConfigError, match="mit1003"):
        open_dataset("mit2000", tmp_path)
    with pytest.raises(ConfigError, match=r"sigmaa.*fixation_threshold"):
        open_dataset("mit1003", mit1003_tree[0], sigmaa=3)


def test_opening_is_lazy(tmp_path, layouts):
    """Opening reads no pixels: corrupting every map after opening only fails on access."""
    layouts.write_mit1003(tmp_path)
    dataset = open_dataset("mit1003", tmp_path)
    for path in (tmp_path / "ALLFIXATIONMAPS").glob("*_fixMap.jpg"):
        path.write_bytes(b"not a jpeg")
    assert len(dataset) == 4 and dataset[0].stimulus.shape == (24, 32, 3)
    with pytest.raises(DataError, match="_fixMap.jpg"):
        _ = dataset[0].density


def test_mit300_submission_has_stimulus_names_and_sizes(tmp_path, layouts):
    from PIL import Image

    from salloss.data.mit300 import write_submission

    layouts.write_mit300(tmp_path / "m")
    dataset = open_dataset("mit300", tmp_path / "m")
    ramp = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (6, 1))  # any size; resized
    written = write_submission(dataset, {r.id: ramp for r in dataset}, tmp_path / "out")
    assert sorted(p.name for p in written) == ["i1.jpg", "i10.jpg", "i2.jpg"]
    for record, path in zip(dataset, written, strict=True):
        with Image.open(path) as image:
            array = np.asarray(image.convert("L"), dtype=float)
        assert array.shape == record.size
        assert array[:, -1].mean() > 240 and array[:, 0].mean() < 15  # left-to-right ramp kept
    with pytest.raises(DataError, match="no prediction for 'i1'"):
        write_submission(dataset, {}, tmp_path / "out2")
