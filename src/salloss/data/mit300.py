"""MIT300 (MIT saliency benchmark test set): 300 stimuli, no public ground truth.

Layout under `root` (as BenchmarkIMAGES.zip unpacks): ``BenchmarkIMAGES/i<N>.jpg``. It exists
here to export benchmark submissions: `write_submission` saves one JPEG saliency map per
stimulus with the stimulus's file name and size, as the benchmark asks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from tqdm import tqdm

from salloss.data.images import to_uint8, write_jpeg
from salloss.data.layout import describe_tree, files_by_stem, require_dir
from salloss.data.maps import resize_map
from salloss.data.records import Dataset, Record
from salloss.errors import DataError

STIMULI_DIR = "BenchmarkIMAGES"


def open_mit300(root: str | Path) -> Dataset:
    """Open the MIT300 stimuli under `root` (lazy); density/fixations raise DataError."""
    root = Path(root)
    folder = require_dir(root / STIMULI_DIR, root, f"{STIMULI_DIR}/i<N>.jpg (BenchmarkIMAGES.zip)")
    stimuli = files_by_stem(folder, (".jpg", ".jpeg"), "mit300 stimuli")
    if not stimuli:
        raise DataError(f"mit300: no *.jpg in {folder}.\n{describe_tree(root)}")
    records = [
        Record(id=stem, stimulus_path=path, files=(path,), dataset="mit300")
        for stem, path in stimuli.items()
    ]
    return Dataset("mit300", root, records)


def write_submission(
    dataset: Dataset,
    predict: Mapping[str, np.ndarray] | Callable[[Record], np.ndarray],
    out_dir: str | Path,
    *,
    quality: int = 95,
) -> list[Path]:
    """Write one grey JPEG per record, named like its stimulus, at the stimulus's size.

    `predict` maps an id (or a record, if callable) to a 2-D saliency map of any size; maps
    are resized (area-aware bilinear) to the stimulus size and max-normalised to 0…255.
    """
    out_dir = Path(out_dir)
    written = []
    for record in tqdm(dataset, desc=f"{dataset.name} submission", unit="img"):
        if callable(predict):
            saliency = predict(record)
        else:
            if record.id not in predict:
                raise DataError(f"submission: no prediction for {record.id!r}")
            saliency = predict[record.id]
        saliency = np.asarray(saliency, dtype=np.float32)
        if saliency.ndim != 2:
            raise DataError(f"submission: map for {record.id!r} must be 2-D, got {saliency.shape}")
        height, width = record.size
        if saliency.shape != (height, width):
            saliency = resize_map(saliency, (height, width))
        target = out_dir / f"{Path(record.id).name}.jpg"
        write_jpeg(target, to_uint8(np.clip(saliency, 0, None)), quality=quality)
        written.append(target)
    return written
