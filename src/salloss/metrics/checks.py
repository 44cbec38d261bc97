"""Input checks shared by the metrics: bad input fails here with a message naming the argument,
not deep inside NumPy (or, worse, as a silently wrong score)."""

from __future__ import annotations

import math

import numpy as np

from salloss.errors import DataError

# MATLAB's eps (2^-52): the regulariser the MIT code uses in KL and IG.
EPS = float(np.finfo(np.float64).eps)


def _check_2d(arr: np.ndarray, name: str) -> None:
    if arr.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (rows × cols), got shape {arr.shape}")
    if arr.size == 0:
        raise DataError(f"{name} is empty (shape {arr.shape})")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise DataError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise DataError(f"{name} must be real-valued, got dtype {arr.dtype}")


def _raise_not_finite(arr: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(arr)
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    raise DataError(
        f"{name} contains {int(bad.sum())} NaN/inf value(s) (first at row, col {first}); "
        "metrics need finite maps"
    )


def as_map_range(arr: object, name: str) -> tuple[np.ndarray, float, float]:
    """``arr`` as a finite 2-D float64 array (no copy when it already is one), with its min and
    max. NaN and ±inf show up in the min/max, so the check costs two cheap reductions."""
    a = np.asarray(arr)
    _check_2d(a, name)
    a = a.astype(np.float64, copy=False)
    lo, hi = float(a.min()), float(a.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        _raise_not_finite(a, name)
    return a, lo, hi


def as_map(arr: object, name: str) -> np.ndarray:
    """``arr`` as a finite 2-D float64 array (no copy when it already is one)."""
    return as_map_range(arr, name)[0]


def as_fixations(arr: object, name: str = "fixations") -> np.ndarray:
    """A binary fixation map as a 2-D bool array: every non-zero pixel is a fixated pixel."""
    a = np.asarray(arr)
    _check_2d(a, name)
    if a.dtype == np.bool_:
        return a  # already binary: no copy (metrics never write into it)
    if np.issubdtype(a.dtype, np.floating) and np.isnan(a).any():
        raise DataError(f"{name} contains NaN; a fixation map must be 0 (no fixation) or non-zero")
    return a != 0


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise DataError(
            f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match"
        )
