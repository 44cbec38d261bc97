"""Training targets at the model's output size (SPEC.md §4), computed once per (dataset, size).

- density: the original-resolution density map resized bilinearly — area-aware (antialiased)
  when shrinking, so a downscaled map averages its pixels instead of sampling them — then
  max-normalised to [0, 1] per image;
- fixations: a binary map built from the fixation COORDINATES, each (row, col) mapped to the
  output pixel that contains its centre, ``floor((r + 0.5) · H_out / H_orig)``; interpolating a
  binary image instead would lose or smear fixations.

`build_targets` returns in-memory arrays; `load_or_build_targets` stores them in a cache folder,
one sub-folder per output size (``<H>x<W>/density.npy`` float32 N×H×W, ``fixations.npy`` uint8
N×H×W, ``manifest.json``), shared by every run on the same dataset and output size. Concurrent
runs may build the same entry at once: the content is deterministic and each file is replaced
atomically, so readers always see a complete, correct file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from salloss.errors import DataError
from salloss.io import atomic_path, write_json

log = logging.getLogger(__name__)

TARGETS_VERSION = 1


@dataclass
class Targets:
    """Targets of every image of a dataset, rows in the dataset's id order."""

    density: np.ndarray  # (N, H, W) float32, each image's max = 1 (or all zero)
    fixations: np.ndarray  # (N, H, W) uint8, 1 where a fixation lands

    @property
    def size(self) -> tuple[int, int]:
        """Output size (height, width)."""
        return int(self.density.shape[1]), int(self.density.shape[2])


def resize_map(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D map to ``size`` (H, W), antialiased when shrinking; float32."""
    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    if tuple(tensor.shape[-2:]) == tuple(size):
        return tensor[0, 0].numpy().copy()
    shrinking = size[0] < tensor.shape[-2] or size[1] < tensor.shape[-1]
    out = F.interpolate(tensor, size=tuple(size), mode="bilinear", align_corners=False,
                        antialias=shrinking)
    return out[0, 0].numpy()


def max_normalise(image: np.ndarray) -> np.ndarray:
    """Divide by the maximum (a non-positive map is returned as zeros)."""
    peak = float(image.max()) if image.size else 0.0
    if peak <= 0 or not np.isfinite(peak):
        return np.zeros_like(image, dtype=np.float32)
    return (image / peak).astype(np.float32)


def density_target(density: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The density target: `resize_map` then `max_normalise` (float32, H×W)."""
    return max_normalise(np.clip(resize_map(density, size), 0.0, None))


def fixation_target(
    fixations: np.ndarray, original_size: tuple[int, int], size: tuple[int, int]
) -> np.ndarray:
    """Binary map at ``size`` from (K, 2) integer (row, col) fixations at ``original_size``.

    Coordinates outside the original image raise `DataError` (they indicate a layout bug).
    """
    fix = np.asarray(fixations).reshape(-1, 2)
    out = np.zeros(size, dtype=np.uint8)
    if fix.size == 0:
        return out
    h0, w0 = original_size
    rows, cols = fix[:, 0].astype(np.float64), fix[:, 1].astype(np.float64)
    if rows.min() < 0 or cols.min() < 0 or rows.max() >= h0 or cols.max() >= w0:
        raise DataError(
            f"fixation outside the {h0}x{w0} image (rows {rows.min():.0f}..{rows.max():.0f}, "
            f"cols {cols.min():.0f}..{cols.max():.0f})"
        )
    r = np.minimum(np.floor((rows + 0.5) * size[0] / h0).astype(np.int64), size[0] - 1)
    c = np.minimum(np.floor((cols + 0.5) * size[1] / w0).astype(np.int64), size[1] - 1)
    out[r, c] = 1
    return out


def build_targets(dataset: Any, size: tuple[int, int], progress: bool = True) -> Targets:
    """Targets for every image of a `PreparedDataset` (rows in ``dataset.ids`` order)."""
    n = len(dataset)
    density = np.zeros((n, *size), dtype=np.float32)
    fixations = np.zeros((n, *size), dtype=np.uint8)
    for i in tqdm(range(n), desc=f"targets {size[0]}x{size[1]}", disable=not progress,
                  leave=False):
        density[i] = density_target(dataset.density(i), size)
        try:
            fixations[i] = fixation_target(dataset.fixations(i), dataset.original_size(i), size)
        except DataError as exc:
            raise DataError(f"{dataset.ids[i]}: {exc}") from None
    return Targets(density, fixations)


def load_or_build_targets(
    dataset: Any, size: tuple[int, int], cache_dir: str | Path | None, progress: bool = True
) -> Targets:
    """`build_targets`, stored in (or read back from) ``cache_dir`` when one is given.

    The cache is keyed by the dataset's source, ids and the output size; an entry holding
    another key is rebuilt (with a warning), never silently reused.
    """
    if cache_dir is None:
        return build_targets(dataset, size, progress)
    cache_dir = Path(cache_dir) / f"{size[0]}x{size[1]}"
    from salloss.training.features import source_identity

    manifest = {
        "version": TARGETS_VERSION,
        "dataset": str(getattr(dataset, "name", "?")),
        "source": source_identity(dataset),
        "size": list(size),
        "ids": list(dataset.ids),
    }
    manifest_path = cache_dir / "manifest.json"
    if manifest_path.exists():
        try:
            stored = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            stored = None
        if stored == manifest:
            return Targets(
                np.load(cache_dir / "density.npy", mmap_mode="r"),
                np.load(cache_dir / "fixations.npy", mmap_mode="r"),
            )
        log.warning("%s holds targets for another dataset or size; rebuilding it", cache_dir)
        manifest_path.unlink(missing_ok=True)
    targets = build_targets(dataset, size, progress)
    for name, array in (("density.npy", targets.density), ("fixations.npy", targets.fixations)):
        with atomic_path(cache_dir / name) as tmp, open(tmp, "wb") as fh:
            np.save(fh, array)
    write_json(manifest_path, manifest)  # written last: its presence marks a complete cache
    return targets
