"""Bad inputs to the export give errors that name the problem and what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from salloss.errors import ConfigError, DataError
from salloss.export import export_submission, finished_summary


def _export(run: Path, root: Path, out: Path, dataset: str = "mit300", **kwargs) -> dict:
    return export_submission(run, dataset, root, out, device="cpu", progress=False, **kwargs)


def test_unknown_dataset_lists_the_choices(reference: Path, mit300_root: Path,
                                           tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'mit1003'.*valid choices: mit300, cat2000"):
        _export(reference, mit300_root, tmp_path, dataset="mit1003")
    assert not list(tmp_path.iterdir())


def test_missing_run_folder(mit300_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"run folder .*nope does not exist.*salloss train"):
        _export(tmp_path / "nope", mit300_root, tmp_path / "out")


def test_unfinished_run_is_refused(reference: Path, mit300_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(reference / "model.pt", run / "model.pt")  # mid-training: best weights so far
    with pytest.raises(DataError, match=r"summary\.json not found.*not a finished"):
        _export(run, mit300_root, tmp_path / "out")
    summary = json.loads((reference / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "status": "running"}))
    with pytest.raises(DataError, match=r"not a finished run .*status: 'running'"):
        _export(run, mit300_root, tmp_path / "out")
    (run / "summary.json").write_text("{truncated")
    with pytest.raises(DataError, match=r"cannot read .*summary\.json"):
        finished_summary(run)
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "model.pt").unlink()
    with pytest.raises(DataError, match=r"model\.pt not found"):
        _export(run, mit300_root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("dataset, fetch", [
    ("mit300", "salloss data fetch mit300 --root "),
    ("cat2000", "salloss data fetch cat2000 --root "),
])
def test_missing_root_says_how_to_fetch(reference: Path, tmp_path: Path, dataset: str,
                                        fetch: str) -> None:
    root = tmp_path / "data" / dataset
    with pytest.raises(DataError, match="does not exist") as info:
        _export(reference, root, tmp_path / "out", dataset=dataset)
    assert f"`{fetch}{root}" in str(info.value)
    root.mkdir(parents=True)  # exists, but empty
    with pytest.raises(DataError, match="no test stimuli") as info:
        _export(reference, root, tmp_path / "out", dataset=dataset)
    assert f"`{fetch}{root}" in str(info.value)


def test_cat2000_train_only_root_asks_for_the_optional_test_archive(
        reference: Path, cat2000_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "cat2000"
    shutil.copytree(cat2000_root / "trainSet", root / "trainSet")
    with pytest.raises(DataError, match=r"testSet.*--include-optional"):
        _export(reference, root, tmp_path / "out", dataset="cat2000")


@pytest.mark.parametrize("option, match", [
    ({"batch_size": 0}, "batch size must be >= 1"),
    ({"quality": 0}, "quality must be 1..100"),
    ({"quality": 101}, "quality must be 1..100"),
    ({"name": "../evil"}, "submission name '../evil'"),
    ({"name": "a b"}, "submission name 'a b'"),
])
def test_bad_options(reference: Path, mit300_root: Path, tmp_path: Path, option: dict,
                     match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _export(reference, mit300_root, tmp_path / "out", **option)
    assert not (tmp_path / "out").exists()


def test_refuses_to_mix_with_another_exports_files(reference: Path, mit300_root: Path,
                                                   tmp_path: Path) -> None:
    stray = tmp_path / "sub" / "Action" / "002.jpg"  # e.g. a CAT2000 export under that name
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"old")
    with pytest.raises(DataError, match=r"1 file\(s\) this export would not write.*Action/002"):
        _export(reference, mit300_root, tmp_path, name="sub")
    assert stray.read_bytes() == b"old" and not (tmp_path / "sub.zip").exists()
