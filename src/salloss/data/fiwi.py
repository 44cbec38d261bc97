"""FiWi (Shen & Zhao, ECCV 2014): 149 webpage screenshots (768×1360 or 768×1366), 11 observers.

The archive (``webpage_dataset.zip``) ships stimuli PNGs in a ``stimuli/`` folder and binary
fixation maps with the same file names in ``eyeMaps/all5/``; its top folder is not documented,
so both folders are searched for under `root` (or given as options). No density maps ship:
the density is the fixation map blurred with a Gaussian of `sigma` pixels (default 30, as in
MSI-Net's preparation; scipy ``gaussian_filter`` defaults: reflect borders, 4σ kernel),
max-normalised to 1.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from salloss.data.images import IMAGE_SUFFIXES, read_gray
from salloss.data.layout import describe_tree, files_by_stem, search_dir
from salloss.data.maps import density_from_fixations
from salloss.data.records import Dataset, Record
from salloss.errors import DataError

DEFAULT_SIGMA = 30.0


def read_fixation_png(path: Path) -> np.ndarray:
    """Boolean fixation map from a lossless image: any non-zero pixel is a fixation."""
    return read_gray(path) > 0


def _density(path: Path, sigma: float) -> np.ndarray:
    return density_from_fixations(read_fixation_png(path), sigma, normalize="max")


def open_fiwi(
    root: str | Path,
    *,
    sigma: float = DEFAULT_SIGMA,
    stimuli_dir: str | None = None,
    fixations_dir: str | None = None,
) -> Dataset:
    """Open FiWi under `root` (lazy). `stimuli_dir`/`fixations_dir` override the search
    (paths relative to `root`); `sigma` is the density blur in pixels."""
    root = Path(root)
    if sigma <= 0:
        raise DataError(f"fiwi: sigma must be > 0 pixels, got {sigma}")
    stim = root / stimuli_dir if stimuli_dir else search_dir(root, ("stimuli",), "FiWi stimuli")
    fixd = (
        root / fixations_dir
        if fixations_dir
        else search_dir(root, ("eyeMaps", "all5"), "FiWi fixation maps")
    )
    stimuli = files_by_stem(stim, IMAGE_SUFFIXES, "fiwi stimuli")
    fixmaps = files_by_stem(fixd, IMAGE_SUFFIXES, "fiwi fixation maps")
    if not stimuli:
        raise DataError(f"fiwi: no stimulus images (*.png) in {stim}.\n{describe_tree(root, 3)}")
    records = []
    for stem, stimulus in stimuli.items():
        fixations = fixmaps.get(stem)
        if fixations is None:
            raise DataError(f"fiwi: image {stem!r} has no fixation map in {fixd} ({stem}.png)")
        records.append(
            Record(
                id=stem,
                stimulus_path=stimulus,
                load_density=partial(_density, fixations, sigma),
                load_fixations=partial(read_fixation_png, fixations),
                files=(stimulus, fixations),
                dataset="fiwi",
            )
        )
    return Dataset("fiwi", root, records, options={"sigma": sigma})
