"""MIT1003 (Judd et al., ICCV 2009): 1003 images, 15 observers, free viewing for 3 s.

Layout under `root` (as ALLSTIMULI.zip and ALLFIXATIONMAPS.zip unpack)::

    ALLSTIMULI/<stem>.jpeg                  stimuli (note the .jpeg suffix)
    ALLFIXATIONMAPS/<stem>_fixMap.jpg       density map (8-bit grey JPEG)
    ALLFIXATIONMAPS/<stem>_fixPts.jpg       binary fixation map stored as LOSSY JPEG

The fixPts JPEGs are thresholded at > 127 (JPEG ringing puts small non-zero values around
each fixation, so > 0 would invent fixations). The stray file
``i05june05_static_street_boston_p1010764fixPts.jpg`` (no underscore) and archive junk are
ignored. The synthetic dataset is written in this same layout.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from salloss.data.images import read_gray
from salloss.data.layout import describe_tree, files_by_stem, require_dir
from salloss.data.records import Dataset, Record
from salloss.errors import DataError

STIMULI_DIR = "ALLSTIMULI"
MAPS_DIR = "ALLFIXATIONMAPS"
DENSITY_SUFFIX = "_fixMap"
FIXATIONS_SUFFIX = "_fixPts"
FIXATION_THRESHOLD = 127  # on the 0…255 scale of the lossy fixPts JPEGs


def read_fixpts(path: Path, threshold: int = FIXATION_THRESHOLD) -> np.ndarray:
    """Binary fixation map from a (lossy) JPEG: pixels > threshold/255."""
    return read_gray(path) > threshold / 255.0


def open_mit1003(
    root: str | Path, *, fixation_threshold: int = FIXATION_THRESHOLD, name: str = "mit1003"
) -> Dataset:
    """Open MIT1003 unpacked at `root` (lazy). `fixation_threshold`: 0…255 cut for fixPts."""
    root = Path(root)
    stimuli_dir = require_dir(root / STIMULI_DIR, root, f"{STIMULI_DIR}/*.jpeg (ALLSTIMULI.zip)")
    maps_dir = require_dir(
        root / MAPS_DIR, root, f"{MAPS_DIR}/*_fixMap.jpg and *_fixPts.jpg (ALLFIXATIONMAPS.zip)"
    )
    stimuli = files_by_stem(stimuli_dir, (".jpeg", ".jpg"), f"{name} stimuli")
    if not stimuli:
        raise DataError(
            f"{name}: no stimuli (*.jpeg) in {stimuli_dir}; expected the content of "
            f"ALLSTIMULI.zip.\n{describe_tree(root)}"
        )
    maps = files_by_stem(maps_dir, (".jpg", ".jpeg"), f"{name} maps")
    records = []
    for stem, stimulus in stimuli.items():
        density = maps.get(stem + DENSITY_SUFFIX)
        fixations = maps.get(stem + FIXATIONS_SUFFIX)
        missing = [
            f"{MAPS_DIR}/{stem}{suffix}.jpg"
            for suffix, path in ((DENSITY_SUFFIX, density), (FIXATIONS_SUFFIX, fixations))
            if path is None
        ]
        if missing:
            raise DataError(
                f"{name}: image {stem!r} has no {' and no '.join(missing)} under {root}"
            )
        records.append(
            Record(
                id=stem,
                stimulus_path=stimulus,
                load_density=partial(read_gray, density),
                load_fixations=partial(read_fixpts, fixations, fixation_threshold),
                files=(stimulus, density, fixations),
                dataset=name,
            )
        )
    options = {"fixation_threshold": fixation_threshold}
    return Dataset(name, root, records, options=options, density_quantum=255)
