"""`export_submission`: one map per stimulus, same relative name and size, 8-bit grey JPEG,
equal to the run's predictions computed independently; manifest, zip and note."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from export_helpers import (
    cat2000_stimuli,
    expected_maps,
    files_under,
    mit300_stimuli,
    read_map,
    read_rgb,
)

from salloss.export import MANIFEST, NOTE, export_submission

# JPEG quality -> (mean, max) |error| bounds in grey levels. Measured on these smooth maps:
# quality 95 (the default) mean 0.3-0.6, max 2; quality 100 mean <= 0.08, max 1. The maps of
# two different fixture images differ by 4+ levels on average, and resizing back with bilinear
# instead of MATLAB bicubic by ~1, so the quality-100 bounds tell right maps from wrong ones
# (checked in `test_tolerance_discriminates`).
TOL = {95: (1.0, 3), 100: (0.25, 1)}


@pytest.fixture(scope="module")
def mit300_export(reference: Path, mit300_root: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("mit300_export")
    manifest = export_submission(reference, "mit300", mit300_root, out, device="cpu",
                                 batch_size=3, quality=100, progress=False)
    return out, manifest


@pytest.fixture(scope="module")
def cat2000_export(reference: Path, cat2000_root: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("cat2000_export")
    manifest = export_submission(reference, "cat2000", cat2000_root, out, device="cpu",
                                 name="my-model", progress=False)
    return out, manifest


@pytest.fixture(scope="module")
def mit300_expected(reference: Path, mit300_root: Path) -> dict:
    return expected_maps(reference, mit300_stimuli(mit300_root))


def _assert_maps_match(folder: Path, stimuli: dict[str, Path], expected: dict,
                       quality: int) -> None:
    mean_tol, max_tol = TOL[quality]
    assert files_under(folder) == set(stimuli)  # exactly one map per stimulus, nothing else
    for rel, stimulus in stimuli.items():
        array, fmt, mode = read_map(folder / rel)
        assert (fmt, mode, array.dtype) == ("JPEG", "L", np.uint8)
        assert array.shape == read_rgb(stimulus).shape[:2]  # stored pixels: EXIF not applied
        diff = np.abs(array.astype(int) - expected[rel][1].astype(int))
        assert diff.mean() < mean_tol and diff.max() <= max_tol, (rel, diff.mean(), diff.max())


def test_mit300_maps_named_sized_and_equal_to_the_runs_predictions(
        mit300_export, mit300_root: Path, mit300_expected: dict) -> None:
    out, manifest = mit300_export
    stimuli = mit300_stimuli(mit300_root)
    assert set(stimuli) == {"i1.jpg", "i2.jpg", "i10.jpg", "i300.jpg"}
    _assert_maps_match(out / manifest["name"], stimuli, mit300_expected, quality=100)
    sizes = {read_map(out / manifest["name"] / rel)[0].shape for rel in stimuli}
    assert sizes == {(20, 26), (27, 15)}  # landscape and portrait each kept their own size


def test_maps_are_max_normalised_not_stretched(mit300_export, mit300_expected: dict) -> None:
    out, manifest = mit300_export
    for rel, (full, _) in mit300_expected.items():
        array = read_map(out / manifest["name"] / rel)[0]
        assert array.max() >= 254  # the peak becomes 255 (JPEG may shave a level)
        # this run predicts > 0 everywhere: the minimum keeps its ratio to the maximum
        ratio = max(full.min(), 0.0) / full.max()
        assert ratio > 0.1
        assert abs(int(array.min()) - 255 * ratio) <= TOL[100][1]


def test_clipped_maps_span_0_to_255(clipped_run: Path, mit300_root: Path,
                                    tmp_path: Path) -> None:
    """A run whose maps are half zero (and dip below zero after bicubic): negatives clipped,
    the full 0..255 range used, still equal to the independent computation."""
    manifest = export_submission(clipped_run, "mit300", mit300_root, tmp_path, device="cpu",
                                 quality=100, progress=False)
    stimuli = mit300_stimuli(mit300_root)
    expected = expected_maps(clipped_run, stimuli)
    assert all(full.min() <= 0 < full.max() for full, _ in expected.values())
    _assert_maps_match(tmp_path / manifest["name"], stimuli, expected, quality=100)
    for rel in stimuli:
        array = read_map(tmp_path / manifest["name"] / rel)[0]
        assert array.min() <= 1 and array.max() >= 254
        assert (array <= 1).sum() >= 10  # a zero region, not one dark pixel


def test_tolerance_discriminates(mit300_export, mit300_expected: dict) -> None:
    """The comparison bounds would catch a map written under another image's name."""
    out, manifest = mit300_export
    mean_tol, max_tol = TOL[100]
    same_size = ["i1.jpg", "i2.jpg", "i10.jpg"]
    for name in same_size:
        got = read_map(out / manifest["name"] / name)[0].astype(int)
        for other in same_size:
            if other != name:
                diff = np.abs(got - mit300_expected[other][1].astype(int))
                assert diff.mean() >= mean_tol or diff.max() > max_tol, (name, other)


def test_cat2000_maps_keep_category_folders(cat2000_export, cat2000_root: Path,
                                            reference: Path) -> None:
    out, manifest = cat2000_export
    stimuli = cat2000_stimuli(cat2000_root)
    assert set(stimuli) == {"Action/002.jpg", "Action/134.jpg", "Pattern/002.jpg",
                            "Pattern/134.jpg"}  # the Output/ decoy is not a stimulus
    _assert_maps_match(out / "my-model", stimuli, expected_maps(reference, stimuli), quality=95)
    for rel in stimuli:  # stored 18×32 with an EXIF "rotate" tag: not 32×18
        assert read_map(out / "my-model" / rel)[0].shape == (18, 32)
    assert manifest["name"] == "my-model" and manifest["dataset_options"] == {"split": "test"}


@pytest.mark.parametrize("which", ["mit300", "cat2000"])
def test_manifest_checksums_and_zip(which: str, mit300_export, cat2000_export,
                                    reference: Path) -> None:
    out, returned = mit300_export if which == "mit300" else cat2000_export
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest == json.loads(json.dumps(returned))
    name = manifest["name"]
    maps = out / name
    assert manifest["benchmark"] == which and manifest["count"] == len(files_under(maps))
    assert manifest["complete"] is False  # a 4-image fixture, not the real 300 / 2000
    run = manifest["run"]
    summary = json.loads((reference / "summary.json").read_text())
    assert run["weights"] == summary["weights"] and run["loss"] == "mse"
    assert run["arch"] == "baseline" and run["input_size"] == [48, 64]
    assert run["model_sha256"] == hashlib.sha256((reference / "model.pt").read_bytes()).hexdigest()
    for entry in manifest["files"]:
        data = (maps / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert read_map(maps / entry["path"])[0].shape == tuple(entry["size"])
    archive = out / manifest["archive"]["path"]
    assert archive.name == f"{name}.zip"
    assert manifest["archive"]["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted(f"{name}/{e['path']}" for e in manifest["files"])
        for entry in manifest["files"]:
            assert zf.read(f"{name}/{entry['path']}") == (maps / entry["path"]).read_bytes()
    note = (out / NOTE).read_text()
    assert archive.name in note and "incomplete" in note and "NOT ImageNet" in note
    assert not list(out.rglob("*.tmp"))  # atomic writes left no temp files


def test_reexport_is_byte_identical_and_batch_size_free(
        reference: Path, mit300_root: Path, mit300_export, tmp_path: Path) -> None:
    out, first = mit300_export
    again = export_submission(reference, "mit300", mit300_root, tmp_path / "a", device="cpu",
                              batch_size=3, quality=100, progress=False)
    assert again["archive"]["sha256"] == first["archive"]["sha256"]
    one_by_one = export_submission(reference, "mit300", mit300_root, tmp_path / "b",
                                   device="cpu", batch_size=1, quality=100, progress=False)
    for entry in one_by_one["files"]:
        a = read_map(tmp_path / "b" / one_by_one["name"] / entry["path"])[0].astype(int)
        b = read_map(out / first["name"] / entry["path"])[0].astype(int)
        assert np.abs(a - b).max() <= 1
    # exporting again into the same folder overwrites the same files
    export_submission(reference, "mit300", mit300_root, tmp_path / "a", device="cpu",
                      batch_size=3, quality=100, progress=False)
    assert files_under(tmp_path / "a") == files_under(out)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_export_matches_cpu(reference: Path, mit300_root: Path, mit300_export,
                                 tmp_path: Path) -> None:
    out, first = mit300_export
    on_gpu = export_submission(reference, "mit300", mit300_root, tmp_path, device="cuda",
                               batch_size=3, quality=100, progress=False)
    for entry in on_gpu["files"]:
        a = read_map(tmp_path / on_gpu["name"] / entry["path"])[0].astype(int)
        b = read_map(out / first["name"] / entry["path"])[0].astype(int)
        assert np.abs(a - b).max() <= 2  # TF32/cuDNN vs CPU float: a level or two at most
