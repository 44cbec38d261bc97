"""MIT300 (MIT saliency benchmark test set): 300 stimuli, no public ground truth.

Layout under `root` (as BenchmarkIMAGES.zip unpacks): ``BenchmarkIMAGES/i<N>.jpg``. It exists
here to export benchmark submissions: `write_submission` saves one JPEG saliency map per
stimulus with the stimulus's file name and size, as the benchmark asks. The writer serves the
CAT2000 test set too: ids with '/' (``Category/NNN``) become sub-folders, as that benchmark
wants its maps in the test set's directory structure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

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


def submission_path(out_dir: str | Path, image_id: str) -> Path:
    """``out_dir/<id>.jpg`` (``Category/NNN`` → ``out_dir/Category/NNN.jpg``); refuses ids that
    would escape `out_dir`."""
    parts = PurePosixPath(image_id).parts
    if not parts or image_id.startswith("/") or ".." in parts or "\\" in image_id:
        raise DataError(f"submission: image id {image_id!r} is not a relative path")
    return Path(out_dir, *parts[:-1], parts[-1] + ".jpg")


def write_submission_map(
    saliency: np.ndarray, size: tuple[int, int], target: str | Path, *, quality: int = 95,
    image_id: str = "",
) -> None:
    """Save one map as an 8-bit grey JPEG of `size` = (H, W), atomically.

    A map of another size is resized (area-aware bilinear); negatives are clipped and the
    maximum becomes 255 (an all-zero map stays black).
    """
    saliency = np.asarray(saliency, dtype=np.float32)
    if saliency.ndim != 2:
        raise DataError(f"submission: map for {image_id!r} must be 2-D, got {saliency.shape}")
    if not np.isfinite(saliency).all():
        raise DataError(f"submission: map for {image_id!r} contains NaN/inf")
    height, width = size
    if saliency.shape != (height, width):
        saliency = resize_map(saliency, (height, width))
    write_jpeg(target, to_uint8(np.clip(saliency, 0, None)), quality=quality)


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
        target = submission_path(out_dir, record.id)
        write_submission_map(saliency, record.size, target, quality=quality, image_id=record.id)
        written.append(target)
    return written
