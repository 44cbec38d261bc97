"""`open_dataset(name, root, **options)`: the one entry point to every dataset loader."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salloss.data.cat2000 import open_cat2000
from salloss.data.fiwi import open_fiwi
from salloss.data.folder import open_folder
from salloss.data.mit300 import open_mit300
from salloss.data.mit1003 import open_mit1003
from salloss.data.records import Dataset
from salloss.data.salicon import open_salicon
from salloss.data.synthetic import SyntheticParams, open_synthetic
from salloss.errors import ConfigError

DATASETS: dict[str, Callable[..., Dataset]] = {
    "mit1003": open_mit1003,
    "cat2000": open_cat2000,
    "fiwi": open_fiwi,
    "salicon": open_salicon,
    "mit300": open_mit300,
    "folder": open_folder,
    "synthetic": open_synthetic,
}

DESCRIPTIONS: dict[str, str] = {
    "mit1003": "MIT1003 (Judd et al. 2009): 1003 images, 15 observers — the paper's main set",
    "cat2000": "CAT2000 train (Borji & Itti 2015): 20 categories × 100, 1920×1080",
    "fiwi": "FiWi (Shen & Zhao 2014): 149 webpage screenshots; density = blurred fixations",
    "salicon": "SALICON (LSUN 2017): 10000/5000/5000 COCO images, mouse-tracking 'fixations'",
    "mit300": "MIT300 benchmark stimuli (no ground truth): for exporting submissions",
    "folder": "your own data: stimuli/, fixations/, density/ folders with matching stems",
    "synthetic": "procedural scenes with a known density (offline default; generated)",
}


def dataset_options(name: str) -> dict[str, Any]:
    """The options `name` accepts, with their defaults."""
    if name == "synthetic":
        return {k: f.default for k, f in SyntheticParams.__dataclass_fields__.items()}
    params = list(inspect.signature(DATASETS[name]).parameters.values())[1:]
    return {p.name: p.default for p in params if p.name != "name"}


def check_name(name: str) -> None:
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")


def open_dataset(name: str, root: str | Path, **options: Any) -> Dataset:
    """Open dataset `name` unpacked under `root` as a lazy Sequence of records.

    `options` are the loader's keyword options (see `dataset_options`); unknown ones are
    refused with the list of valid ones.
    """
    check_name(name)
    valid = dataset_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"dataset {name!r} has no option(s) {unknown}; valid options: {sorted(valid) or 'none'}"
        )
    return DATASETS[name](root, **options)
