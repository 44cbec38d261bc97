"""The submission writer the export builds on (`salloss.data.mit300`): CAT2000 ids keep their
category folders, negatives are clipped and the maximum becomes 255, ids cannot escape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from export_helpers import files_under, read_map

from salloss.data import open_dataset
from salloss.data.mit300 import submission_path, write_submission, write_submission_map
from salloss.errors import DataError


def test_cat2000_ids_become_category_folders(cat2000_root: Path, tmp_path: Path) -> None:
    dataset = open_dataset("cat2000", cat2000_root, split="test")
    # same stem (002, 134) in two categories: flattening the names would overwrite maps
    maps = {r.id: np.full(r.size, 1.0 + i) for i, r in enumerate(dataset)}
    written = write_submission(dataset, maps, tmp_path)
    assert files_under(tmp_path) == {f"{r.id}.jpg" for r in dataset} == {
        "Action/002.jpg", "Action/134.jpg", "Pattern/002.jpg", "Pattern/134.jpg"}
    assert written == [tmp_path / f"{r.id}.jpg" for r in dataset]


def test_negatives_clipped_and_range_spans_0_to_255(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(-0.5, 2.0, 26), (20, 1))  # a fifth of it below zero
    write_submission_map(ramp, (20, 26), tmp_path / "m.jpg", quality=100)
    array, fmt, mode = read_map(tmp_path / "m.jpg")
    assert (fmt, mode, array.shape) == ("JPEG", "L", (20, 26))
    expected = np.round(np.clip(ramp, 0, None) / 2.0 * 255)
    assert np.abs(array - expected).max() <= 2
    assert array[:, :5].max() <= 2 and array[:, -1].min() >= 253


def test_non_finite_map_is_refused(tmp_path: Path) -> None:
    bad = np.ones((4, 5))
    bad[1, 2] = np.nan
    with pytest.raises(DataError, match="'i7'.*NaN"):
        write_submission_map(bad, (4, 5), tmp_path / "m.jpg", image_id="i7")
    assert not (tmp_path / "m.jpg").exists()


@pytest.mark.parametrize("image_id", ["../x", "/abs/x", "a/../../x", "", "a\\..\\x"])
def test_ids_cannot_escape_the_folder(tmp_path: Path, image_id: str) -> None:
    with pytest.raises(DataError, match="not a relative path"):
        submission_path(tmp_path, image_id)
    assert submission_path(tmp_path, "Art/001") == tmp_path / "Art" / "001.jpg"
