"""SALICON (Jiang et al., CVPR 2015; LSUN 2017 release): 10000/5000/5000 images, 480×640.

Layout under `root` (as the three archives pinned in `sources.py` unpack)::

    images/{train,val,test}/COCO_{split}2014_%012d.jpg
    maps/{train,val}/<stem>.png            density maps (8-bit grey)
    fixations/{train,val}/<stem>.mat       struct array `gaze`, one element per observer

Each `gaze` element has `fixations` (N×2, [x, y], 1-BASED MATLAB pixel coordinates) and
`location` (raw mouse samples). `fixation_type` picks the field ('fixations' by default, the
LSUN 2017 ground truth; 'mouse' uses `location`). Coordinates are rounded, shifted to 0-based
and points outside the image (present in the mouse data) are dropped. The test split has
stimuli only. The folders are also found one level deeper (e.g. ``maps/maps/train``), since
the archives' top folders differ between releases.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import numpy as np
import scipy.io

from salloss.data.images import image_size, read_gray
from salloss.data.layout import describe_tree, files_by_stem, find_dir
from salloss.data.records import Dataset, Record
from salloss.errors import ConfigError, DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
FIXATION_FIELDS = {"fixations": "fixations", "mouse": "location"}


def read_gaze(path: Path, shape: tuple[int, int], field: str = "fixations") -> np.ndarray:
    """Boolean H×W fixation map from a SALICON `.mat` file (1-based [x, y] per observer)."""
    try:
        content = scipy.io.loadmat(path, variable_names=["gaze"])
    except (OSError, ValueError, NotImplementedError) as exc:
        raise DataError(f"cannot read MATLAB file {path}: {exc}") from exc
    if "gaze" not in content:
        raise DataError(f"{path}: no variable 'gaze' (expected a SALICON fixation file)")
    gaze = content["gaze"].ravel()
    if gaze.dtype.names is None or field not in gaze.dtype.names:
        names = list(gaze.dtype.names or ())
        raise DataError(f"{path}: 'gaze' has no field {field!r} (fields: {names})")
    points = [np.asarray(g[field], dtype=np.float64).reshape(-1, 2) for g in gaze]
    xy = np.concatenate(points) if points else np.zeros((0, 2))
    rows = np.round(xy[:, 1]).astype(np.int64) - 1
    cols = np.round(xy[:, 0]).astype(np.int64) - 1
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    if not inside.all():
        log.debug("%s: dropped %d points outside the image", path, int((~inside).sum()))
    out = np.zeros(shape, dtype=bool)
    out[rows[inside], cols[inside]] = True
    return out


def _fixations(path: Path, stimulus: Path, field: str) -> np.ndarray:
    return read_gaze(path, image_size(stimulus), field)


def open_salicon(
    root: str | Path, *, split: str = "train", fixation_type: str = "fixations"
) -> Dataset:
    """Open one SALICON split under `root` (lazy). `split`: train, val or test (stimuli only)."""
    if split not in SPLITS:
        raise ConfigError(f"salicon: split must be one of {list(SPLITS)}, got {split!r}")
    if fixation_type not in FIXATION_FIELDS:
        raise ConfigError(
            f"salicon: fixation_type must be one of {sorted(FIXATION_FIELDS)}, "
            f"got {fixation_type!r}"
        )
    root = Path(root)
    images = find_dir(
        root, [f"images/{split}", f"images/images/{split}"], f"SALICON images/{split}/*.jpg"
    )
    stimuli = files_by_stem(images, (".jpg", ".jpeg"), "salicon stimuli")
    if not stimuli:
        raise DataError(f"salicon: no images in {images}.\n{describe_tree(root)}")
    with_gt = split != "test"
    maps: dict[str, Path] = {}
    gazes: dict[str, Path] = {}
    if with_gt:
        maps_dir = find_dir(root, [f"maps/{split}", f"maps/maps/{split}"], f"maps/{split}/*.png")
        fix_dir = find_dir(
            root, [f"fixations/{split}", f"fixations/fixations/{split}"], f"fixations/{split}/*.mat"
        )
        maps = files_by_stem(maps_dir, (".png",), "salicon maps")
        gazes = files_by_stem(fix_dir, (".mat",), "salicon fixations")
    field = FIXATION_FIELDS[fixation_type]
    records = []
    for stem, stimulus in stimuli.items():
        density, gaze = maps.get(stem), gazes.get(stem)
        if with_gt and (density is None or gaze is None):
            what = "density map (.png)" if density is None else "fixation file (.mat)"
            raise DataError(f"salicon: image {stem!r} ({split}) has no {what}")
        records.append(
            Record(
                id=stem,
                stimulus_path=stimulus,
                load_density=partial(read_gray, density) if with_gt else None,
                load_fixations=partial(_fixations, gaze, stimulus, field) if with_gt else None,
                meta={"split": split},
                files=tuple(p for p in (stimulus, density, gaze) if p is not None),
                dataset="salicon",
            )
        )
    options = {"split": split, "fixation_type": fixation_type}
    return Dataset("salicon", root, records, options=options, density_quantum=255)
