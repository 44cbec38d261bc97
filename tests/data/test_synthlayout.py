"""`salloss data synth`: synthetic data in the real datasets' layouts, counts and sizes, read
back by the REAL loaders; deterministic per image; parallel writers give the same files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from salloss.data import open_dataset
from salloss.data.synthlayout import CAT2000_CATEGORIES, LAYOUTS, image_ids, synthesize
from salloss.errors import ConfigError, DataError


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "synthlayout.json"}


@pytest.mark.parametrize(("layout", "n", "shapes"), [
    ("mit1003", 10, {(768, 1024), (1024, 768), (683, 1024), (1024, 680)}),
    ("cat2000", 21, {(1080, 1920)}),
    ("fiwi", 4, {(768, 1366), (768, 1360)}),
])
def test_real_loaders_read_the_layouts(tmp_path, layout, n, shapes):
    root = synthesize(layout, tmp_path / layout, n=n, progress=False)
    ds = open_dataset(layout, root)
    assert len(ds) == n and sorted(ds.ids) == sorted(image_ids(layout, n))
    seen = set()
    for record in list(ds)[:4]:
        assert record.stimulus.dtype == np.uint8 and record.stimulus.ndim == 3
        assert record.density.shape == record.fixations.shape == record.stimulus.shape[:2]
        assert tuple(record.stimulus.shape[:2]) in shapes
        seen.add(tuple(record.stimulus.shape[:2]))
        # fixations come from the scene: the layout's observers × fixations per observer,
        # minus the ones that fell on the same pixel
        per = LAYOUTS[layout]
        assert 0.8 * per.observers * per.fixations_per_observer <= record.fixations.sum() \
            <= per.observers * per.fixations_per_observer
        assert record.density.max() == pytest.approx(1.0, abs=0.01)
    if layout == "cat2000":
        assert {r.meta["category"] for r in ds} == set(CAT2000_CATEGORIES)
        assert "Action/003" in ds.ids  # odd numbers: 001, 003, …
        assert (root / "trainSet" / "FIXATIONLOCS" / "Action" / "001.mat").is_file()
    if layout == "mit1003":
        assert (root / "ALLFIXATIONMAPS" / "synth0001_fixPts.jpg").is_file()


def test_counts_and_sizes_follow_the_real_datasets():
    assert {k: v.count for k, v in LAYOUTS.items()} == {"mit1003": 1003, "cat2000": 2000,
                                                        "fiwi": 149}
    assert len(set(image_ids("cat2000", 2000))) == 2000
    assert image_ids("cat2000", 2000)[-1] == "Social/199"


def test_deterministic_prefix_and_parallel_workers(tmp_path):
    small = synthesize("mit1003", tmp_path / "a", n=3, progress=False)
    big = synthesize("mit1003", tmp_path / "b", n=5, workers=2, progress=False)
    a, b = _digest(small), _digest(big)
    assert a and all(b[k] == v for k, v in a.items())  # image k does not depend on n, workers
    assert synthesize("mit1003", small, n=3, progress=False) == small  # idempotent


def test_refusals(tmp_path):
    with pytest.raises(ConfigError, match="unknown layout 'salicon'; valid choices: mit1003"):
        synthesize("salicon", tmp_path / "x")
    with pytest.raises(ConfigError, match="n must be an integer in 1…149"):
        synthesize("fiwi", tmp_path / "x", n=150)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "ALLSTIMULI").mkdir()
    with pytest.raises(DataError, match="not empty"):
        synthesize("mit1003", tmp_path / "full", n=2, progress=False)
    synthesize("mit1003", tmp_path / "other", n=2, progress=False)
    with pytest.raises(ConfigError, match="holds another synthetic dataset"):
        synthesize("mit1003", tmp_path / "other", n=3, progress=False)


def test_cli(tmp_path, capsys):
    from salloss.cli import main

    assert main(["data", "synth", "--layout", "fiwi", "--root", str(tmp_path / "f"), "--n", "2",
                 "--no-progress"]) == 0
    assert "synthetic fiwi layout, 2 images" in capsys.readouterr().out
    assert len(open_dataset("fiwi", tmp_path / "f")) == 2
