"""Input checks shared by the metrics: bad input fails here with a message naming the argument,
not deep inside NumPy (or, worse, as a silently wrong score)."""

from __future__ import annotations

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


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.issubdtype(arr.dtype, np.floating):
        return
    # One cheap reduction first; the full scan only runs when something is off (or on overflow).
    if np.isfinite(arr.sum()):
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s) (first at row, col {first}); "
            "metrics need finite maps"
        )


def as_map(arr: object, name: str) -> np.ndarray:
    """``arr`` as a finite 2-D float64 array (no copy when it already is one)."""
    a = np.asarray(arr)
    _check_2d(a, name)
    a = a.astype(np.float64, copy=False)
    _check_finite(a, name)
    return a


def as_fixations(arr: object, name: str = "fixations") -> np.ndarray:
    """A binary fixation map as a 2-D bool array: every non-zero pixel is a fixated pixel."""
    a = np.asarray(arr)
    _check_2d(a, name)
    if np.issubdtype(a.dtype, np.floating) and np.isnan(a).any():
        raise DataError(f"{name} contains NaN; a fixation map must be 0 (no fixation) or non-zero")
    return a != 0


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise DataError(
            f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match"
        )
