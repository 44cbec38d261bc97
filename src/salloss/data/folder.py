"""A generic dataset from three folders with matching file stems — bring your own data.

    <root>/<stimuli>/<stem>.{jpg,png,…}      stimuli
    <root>/<fixations>/<stem>.{png,…,npy}    fixation maps: non-zero (or > threshold) = fixation
    <root>/<density>/<stem>.{png,…,npy}      density maps (optional if `sigma` is given)

Image maps are read as grey in [0, 1]; `.npy` files are used as stored. Without a density
folder, pass `sigma` (pixels) to blur the fixations instead.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from salloss.data.images import IMAGE_SUFFIXES, read_gray
from salloss.data.layout import describe_tree, files_by_stem, require_dir
from salloss.data.maps import density_from_fixations
from salloss.data.records import Dataset, Record
from salloss.errors import ConfigError, DataError

MAP_SUFFIXES = IMAGE_SUFFIXES + (".npy",)


def read_map(path: Path) -> np.ndarray:
    """A 2-D map from an image (grey, [0, 1]) or a `.npy` array (as stored, float64)."""
    if path.suffix.lower() != ".npy":
        return read_gray(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read array file {path}: {exc}") from exc
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D map, got shape {array.shape}")
    return np.asarray(array, dtype=np.float64)


def _fixations(path: Path, threshold: float) -> np.ndarray:
    return read_map(path) > threshold


def _blurred(path: Path, threshold: float, sigma: float) -> np.ndarray:
    return density_from_fixations(_fixations(path, threshold), sigma, normalize="max")


def open_folder(
    root: str | Path,
    *,
    stimuli: str = "stimuli",
    fixations: str = "fixations",
    density: str = "density",
    sigma: float | None = None,
    fixation_threshold: float = 0.0,
) -> Dataset:
    """Open a stimuli/fixations/density folder triple under `root` (lazy)."""
    root = Path(root)
    stim_dir = require_dir(root / stimuli, root, f"a '{stimuli}/' folder of stimulus images")
    fix_dir = require_dir(root / fixations, root, f"a '{fixations}/' folder of fixation maps")
    den_dir = root / density
    if not den_dir.is_dir() and sigma is None:
        raise ConfigError(
            f"folder: no density folder {den_dir}; add it, or pass sigma=<pixels> to blur the "
            f"fixations.\n{describe_tree(root)}"
        )
    stim_files = files_by_stem(stim_dir, IMAGE_SUFFIXES, "folder stimuli")
    if not stim_files:
        raise DataError(
            f"folder: no stimulus images ({', '.join(IMAGE_SUFFIXES)}) in {stim_dir}.\n"
            f"{describe_tree(root)}"
        )
    fix_files = files_by_stem(fix_dir, MAP_SUFFIXES, "folder fixations")
    den_files = files_by_stem(den_dir, MAP_SUFFIXES, "folder density") if sigma is None else {}
    records = []
    for stem, stimulus in stim_files.items():
        fix = fix_files.get(stem)
        if fix is None:
            raise DataError(f"folder: image {stem!r} has no fixation map {fix_dir}/{stem}.*")
        if sigma is None:
            den = den_files.get(stem)
            if den is None:
                raise DataError(f"folder: image {stem!r} has no density map {den_dir}/{stem}.*")
            load_density = partial(read_map, den)
            files = (stimulus, fix, den)
        else:
            load_density = partial(_blurred, fix, fixation_threshold, sigma)
            files = (stimulus, fix)
        records.append(
            Record(
                id=stem,
                stimulus_path=stimulus,
                load_density=load_density,
                load_fixations=partial(_fixations, fix, fixation_threshold),
                files=files,
                dataset="folder",
            )
        )
    options = {
        "stimuli": stimuli, "fixations": fixations, "density": density, "sigma": sigma,
        "fixation_threshold": fixation_threshold,
    }
    return Dataset("folder", root, records, options=options)
