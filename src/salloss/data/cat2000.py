"""CAT2000 (Borji & Itti 2015): 20 categories × 100 images, 1920×1080, 18 observers released.

Layout under `root` (as trainSet.zip / testSet.zip unpack)::

    trainSet/Stimuli/<Category>/NNN.jpg          odd numbers 001…199
    trainSet/FIXATIONMAPS/<Category>/NNN.jpg     density map (8-bit grey)
    trainSet/FIXATIONLOCS/<Category>/NNN.mat     variable `fixLocs`: image-sized map, > 0 = fixation
    testSet/Stimuli/<Category>/NNN.jpg           (split='test': stimuli only, for export)

`Stimuli/<Category>/Output/*_SaliencyMap.jpg` are decoys (someone's model outputs): category
folders are never descended into, so they are skipped. Ids are ``Category/NNN``; the category
is ``meta['category']``. One test image carries a wrong EXIF rotation tag, which is why EXIF
orientation is never applied.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import scipy.io

from salloss.data.images import read_gray
from salloss.data.layout import describe_tree, files_by_stem, find_dir
from salloss.data.naming import is_junk, natural_sorted
from salloss.data.records import Dataset, Record
from salloss.errors import ConfigError, DataError

SPLITS = {"train": "trainSet", "test": "testSet"}


def read_fixlocs(path: Path, variable: str = "fixLocs") -> np.ndarray:
    """Boolean fixation map from a CAT2000 .mat file (`fixLocs` > 0)."""
    try:
        content = scipy.io.loadmat(path, variable_names=[variable])
    except (OSError, ValueError, NotImplementedError) as exc:
        raise DataError(f"cannot read MATLAB file {path}: {exc}") from exc
    if variable not in content:
        raise DataError(f"{path}: no variable {variable!r} (expected CAT2000 FIXATIONLOCS)")
    return np.asarray(content[variable]) > 0


def _top(root: Path, split: str) -> Path:
    folder = SPLITS[split]
    if (root / "Stimuli").is_dir() and root.name == folder:
        return root  # root points at trainSet/ itself
    return find_dir(root, [folder], f"CAT2000 {folder}/Stimuli/<Category>/*.jpg ({folder}.zip)")


def open_cat2000(root: str | Path, *, split: str = "train") -> Dataset:
    """Open CAT2000 unpacked at `root` (lazy). `split`: 'train' (with fixations) or 'test'."""
    if split not in SPLITS:
        raise ConfigError(f"cat2000: split must be one of {sorted(SPLITS)}, got {split!r}")
    root = Path(root)
    top = _top(root, split)
    stimuli_dir = find_dir(top, ["Stimuli"], "CAT2000 Stimuli/<Category>/")
    categories = natural_sorted(
        p.name for p in stimuli_dir.iterdir() if p.is_dir() and not is_junk(p.name)
    )
    if not categories:
        raise DataError(
            f"cat2000: no category folders in {stimuli_dir}; expected Stimuli/<Category>/NNN.jpg."
            f"\n{describe_tree(top)}"
        )
    with_gt = split == "train"
    records = []
    for category in categories:
        stimuli = files_by_stem(stimuli_dir / category, (".jpg", ".jpeg"), "cat2000 stimuli")
        maps = files_by_stem(top / "FIXATIONMAPS" / category, (".jpg", ".jpeg"), "cat2000 maps")
        locs = files_by_stem(top / "FIXATIONLOCS" / category, (".mat",), "cat2000 fixations")
        for stem, stimulus in stimuli.items():
            id_ = f"{category}/{stem}"
            density, fixations = maps.get(stem), locs.get(stem)
            if with_gt and (density is None or fixations is None):
                missing = [
                    f"{top.name}/{folder}/{id_}{ext}"
                    for folder, ext, path in (
                        ("FIXATIONMAPS", ".jpg", density), ("FIXATIONLOCS", ".mat", fixations)
                    )
                    if path is None
                ]
                raise DataError(f"cat2000: image {id_!r} has no {' and no '.join(missing)}")
            records.append(
                Record(
                    id=id_,
                    stimulus_path=stimulus,
                    load_density=partial(read_gray, density) if with_gt else None,
                    load_fixations=partial(read_fixlocs, fixations) if with_gt else None,
                    meta={"category": category},
                    files=tuple(p for p in (stimulus, density, fixations) if p is not None),
                    dataset="cat2000",
                )
            )
    if not records:
        raise DataError(f"cat2000: no stimuli under {stimuli_dir}.\n{describe_tree(top)}")
    return Dataset("cat2000", root, records, options={"split": split}, density_quantum=255)
