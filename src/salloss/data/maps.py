"""Fixations ↔ maps: Gaussian density from fixations, points from binary maps, map resizing.

Conventions: maps are H×W arrays indexed [row, col]; fixation points are (row, col) integer
pixel coordinates, 0-based; σ is in pixels of the map's own resolution.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from salloss.errors import DataError

# MSI-Net's FiWi recipe: scipy.ndimage.gaussian_filter with its defaults (reflect, 4σ).
DEFAULT_MODE = "reflect"
DEFAULT_TRUNCATE = 4.0


def density_from_fixations(
    fixations: np.ndarray,
    sigma: float,
    *,
    normalize: str = "max",
    mode: str = DEFAULT_MODE,
    truncate: float = DEFAULT_TRUNCATE,
) -> np.ndarray:
    """Blur a fixation map (bool, or counts per pixel) with an isotropic Gaussian of `sigma` px.

    `normalize`: 'max' (peak 1, like the published 8-bit maps), 'sum' (a probability
    distribution) or 'none'. `mode`/`truncate` are scipy.ndimage.gaussian_filter's border
    handling and kernel radius (in σ). A map without fixations gives an all-zero map.
    Returns H×W float64.
    """
    if sigma <= 0:
        raise DataError(f"Gaussian sigma must be > 0 pixels, got {sigma}")
    counts = np.asarray(fixations, dtype=np.float64)
    if counts.ndim != 2:
        raise DataError(f"fixation map must be 2-D (H×W), got shape {counts.shape}")
    if np.any(counts < 0):
        raise DataError("fixation map has negative values")
    blurred = ndimage.gaussian_filter(counts, sigma=sigma, mode=mode, truncate=truncate)
    np.clip(blurred, 0.0, None, out=blurred)
    return normalize_map(blurred, normalize)


def normalize_map(map_: np.ndarray, how: str = "max") -> np.ndarray:
    """'max': divide by the maximum; 'sum': divide by the sum; 'none': unchanged (float64).

    An all-zero map stays all-zero (no division by zero).
    """
    map_ = np.asarray(map_, dtype=np.float64)
    if how == "none":
        return map_
    if how not in ("max", "sum"):
        raise DataError(f"normalize must be 'max', 'sum' or 'none', got {how!r}")
    total = map_.max(initial=0.0) if how == "max" else map_.sum()
    return map_ / total if total > 0 else map_


def points_from_map(fixations: np.ndarray) -> np.ndarray:
    """(K, 2) int32 (row, col) of the non-zero pixels of a fixation map, row-major."""
    return np.argwhere(np.asarray(fixations) != 0).astype(np.int32)


def map_from_points(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean H×W map with True at each (row, col); points outside the map are an error."""
    points = np.asarray(points, dtype=np.int64).reshape(-1, 2)
    height, width = shape
    outside = (points[:, 0] < 0) | (points[:, 0] >= height) | (points[:, 1] < 0) | (
        points[:, 1] >= width
    )
    if outside.any():
        raise DataError(f"{int(outside.sum())} fixation points lie outside a {height}×{width} map")
    out = np.zeros(shape, dtype=bool)
    out[points[:, 0], points[:, 1]] = True
    return out


def resize_map(map_: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D map to `size` = (height, width), float32, aspect ratio not kept.

    PIL bilinear on a float image, which widens its kernel when shrinking (area-aware, no
    aliasing) — the convention SPEC.md §4 uses for training targets.
    """
    height, width = size
    image = Image.fromarray(np.ascontiguousarray(map_, dtype=np.float32))
    resized = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)
