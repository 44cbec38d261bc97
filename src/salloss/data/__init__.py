"""Datasets: loaders (MIT1003, CAT2000, FiWi, SALICON, MIT300, your own folders, synthetic),
downloads, splits and the prepared cache the trainer reads.

Entry points:
- `open_dataset(name, root, **options)` -> lazy Sequence of records
  (.id, .stimulus, .density, .fixations, .meta);
- `prepare_dataset(name, root, out_dir, ...)` -> `PreparedDataset` (memmapped arrays, split,
  centre-bias map, Figure 2);
- `fetch(name, root)` downloads, verifies and unpacks a dataset's archives.
"""

from salloss.data.fetch import fetch
from salloss.data.maps import density_from_fixations, map_from_points, points_from_map
from salloss.data.prepared import PreparedDataset, prepare_dataset
from salloss.data.records import Dataset, Record
from salloss.data.registry import DATASETS, dataset_options, open_dataset
from salloss.data.splits import Split, load_split, make_split, write_split

__all__ = [
    "DATASETS",
    "Dataset",
    "PreparedDataset",
    "Record",
    "Split",
    "dataset_options",
    "density_from_fixations",
    "fetch",
    "load_split",
    "make_split",
    "map_from_points",
    "open_dataset",
    "points_from_map",
    "prepare_dataset",
    "write_split",
]
