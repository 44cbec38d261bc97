"""Training targets: area-aware density resize + max-normalisation; fixations from coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from salloss.errors import DataError
from salloss.training.targets import (
    Targets,
    density_target,
    fixation_target,
    load_or_build_targets,
    resize_map,
)


def test_shrinking_is_area_aware() -> None:
    # A one-pixel-wide stripe pattern: point sampling would give all-0 or all-1 rows, an
    # area-aware resize gives the local mean (0.5) everywhere inside.
    img = np.zeros((64, 64), np.float32)
    img[::2] = 1.0
    out = resize_map(img, (16, 16))
    assert out.shape == (16, 16)
    assert np.allclose(out[2:-2], 0.5, atol=0.02)


def test_density_target_is_max_normalised_and_nonnegative() -> None:
    rng = np.random.default_rng(0)
    dens = rng.random((40, 60)).astype(np.float32) * 7
    out = density_target(dens, (20, 30))
    assert out.dtype == np.float32 and out.shape == (20, 30)
    assert out.max() == pytest.approx(1.0) and out.min() >= 0
    assert not density_target(np.zeros((10, 10)), (5, 5)).any()


def test_fixation_target_maps_coordinates_by_pixel_centres() -> None:
    fix = np.array([[0, 0], [99, 199], [50, 100], [51, 101], [10, 3]])
    out = fixation_target(fix, (100, 200), (10, 20))
    expected = np.zeros((10, 20), np.uint8)
    # floor((r + .5) * 10 / 100), floor((c + .5) * 20 / 200)
    for r, c in [(0, 0), (9, 19), (5, 10), (1, 0)]:
        expected[r, c] = 1
    assert np.array_equal(out, expected)
    # Upscaling keeps exactly one pixel per distinct fixation (no smearing).
    up = fixation_target(fix, (100, 200), (200, 400))
    assert up.sum() == len(fix)


def test_fixation_outside_the_image_is_a_data_error() -> None:
    with pytest.raises(DataError, match="fixation outside the 10x10 image"):
        fixation_target(np.array([[10, 2]]), (10, 10), (5, 5))


class _TinyDataset:
    name = "tiny"

    def __init__(self, n: int = 3) -> None:
        rng = np.random.default_rng(1)
        self.ids = [f"im{i}" for i in range(n)]
        self._dens = [rng.random((30 + i, 40)) for i in range(n)]
        self.calls = 0

    def __len__(self) -> int:
        return len(self.ids)

    def density(self, i: int) -> np.ndarray:
        self.calls += 1
        return self._dens[i]

    def fixations(self, i: int) -> np.ndarray:
        return np.array([[i, 2 * i]])

    def original_size(self, i: int) -> tuple[int, int]:
        return self._dens[i].shape


def test_targets_cache_is_reused_and_keyed_by_size(tmp_path) -> None:
    ds = _TinyDataset()
    first = load_or_build_targets(ds, (12, 16), tmp_path, progress=False)
    assert isinstance(first, Targets) and first.size == (12, 16)
    assert ds.calls == 3
    again = load_or_build_targets(ds, (12, 16), tmp_path, progress=False)
    assert ds.calls == 3  # read back from the cache
    assert np.array_equal(np.asarray(again.density), first.density)
    other = load_or_build_targets(ds, (6, 8), tmp_path, progress=False)
    assert ds.calls == 6 and other.size == (6, 8)  # another size: rebuilt, not reused
