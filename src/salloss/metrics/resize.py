"""MATLAB-compatible ``imresize`` (default method): bicubic, the way the MIT benchmark resizes.

MATLAB's default is the Keys cubic kernel with a = -0.5, output pixel centres mapped onto input
pixel centres (``u = x/scale + 0.5*(1 - 1/scale)``, 1-based), the kernel widened by 1/scale
when shrinking (antialiasing), each output pixel's weights renormalised to sum to 1, and the
border handled by symmetric (mirror) padding. With a scalar ``scale`` the output size is
``ceil(scale * in)`` and the kernel uses that scale as given; with an explicit ``size`` the scale
of each axis is ``out / in``.

Resizing is separable: ``out = Wr @ img @ Wc.T`` with two sparse, banded weight matrices. They
depend only on (in length, out length, scale), so they are built once and cached — resizing
many maps of the same size (a dataset, a training run) costs two sparse products per map.

`work_arrays` is the metrics' other per-size cache: reusable scratch arrays, so that a metric's
temporaries do not cost fresh memory (page faults) on every image; `chunked_sum` runs a
metric's per-pixel arithmetic one cache-sized chunk at a time and still sums exactly like
NumPy's ``sum`` of the whole map.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

from salloss.errors import DataError

__all__ = ["imresize", "resize_matrix", "resize_to", "work_arrays", "chunked_sum", "CHUNK"]

_KERNEL_WIDTH = 4.0  # support of the cubic kernel, in input pixels, at scale 1


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


@lru_cache(maxsize=128)
def resize_matrix(
    in_len: int, out_len: int, scale: float, antialias: bool = True
) -> sp.csr_matrix:
    """The (out_len × in_len) sparse matrix that resizes one axis like MATLAB's imresize.

    Row i holds the renormalised cubic weights of output pixel i; taps that fall outside the
    input are folded back by symmetric padding (so border rows may sum several weights onto one
    input pixel). Cached per argument tuple; the returned matrix must not be modified.
    """
    if in_len < 1 or out_len < 1:
        raise DataError(f"cannot resize an axis of length {in_len} to length {out_len}")
    if not (scale > 0 and math.isfinite(scale)):
        raise DataError(f"resize scale must be a positive finite number, got {scale!r}")
    if scale < 1 and antialias:
        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * x)

        width = _KERNEL_WIDTH / scale
    else:
        kernel = _cubic
        width = _KERNEL_WIDTH
    x = np.arange(1, out_len + 1, dtype=np.float64)  # 1-based output pixel centres
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # their positions in input coordinates
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based input indices
    weights = kernel(u[:, None] - idx)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric padding: index sequence 1..n, n..1 repeated.
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    rows = np.repeat(np.arange(out_len), taps)
    keep = weights.ravel() != 0
    matrix = sp.coo_matrix(
        (weights.ravel()[keep], (rows[keep], cols.ravel()[keep])), shape=(out_len, in_len)
    ).tocsr()  # duplicate (row, col) entries from the mirror fold are summed here
    matrix.sum_duplicates()
    return matrix


def _output_size(
    shape: tuple[int, int], size: tuple[int, int] | None, scale: float | None
) -> tuple[tuple[int, int], tuple[float, float]]:
    if (size is None) == (scale is None):
        raise DataError("imresize needs exactly one of size=(rows, cols) or scale=<float>")
    if scale is not None:
        scale = float(scale)
        if not (scale > 0 and math.isfinite(scale)):
            raise DataError(f"imresize scale must be a positive finite number, got {scale!r}")
        out = (int(math.ceil(scale * shape[0])), int(math.ceil(scale * shape[1])))
        return out, (scale, scale)
    try:
        rows, cols = (int(v) for v in size)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise DataError(f"imresize size must be (rows, cols), got {size!r}") from None
    if rows < 1 or cols < 1:
        raise DataError(f"imresize size must be positive, got {(rows, cols)}")
    return (rows, cols), (rows / shape[0], cols / shape[1])


def imresize(
    img: np.ndarray,
    size: tuple[int, int] | None = None,
    scale: float | None = None,
) -> np.ndarray:
    """Resize a 2-D map (or an H×W×C stack) exactly like MATLAB's default ``imresize``.

    Give either ``size=(rows, cols)`` or a scalar ``scale`` (output ``ceil(scale·size)``).
    Returns float64; integer inputs are converted to float64 first (MATLAB would round the
    result back to the integer class — pass floats to avoid that quirk). A same-size resize
    returns a float64 copy, which is what MATLAB's kernel gives at scale 1.
    """
    arr = np.asarray(img)
    if arr.ndim not in (2, 3):
        raise DataError(f"imresize expects a 2-D map or an H×W×C array, got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise DataError(f"imresize got an empty array of shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
        raise DataError(f"imresize expects a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    (out_r, out_c), (scale_r, scale_c) = _output_size(arr.shape[:2], size, scale)
    in_r, in_c = arr.shape[:2]
    if (out_r, out_c) == (in_r, in_c) and scale_r == 1.0 and scale_c == 1.0:
        return arr.copy()
    w_rows = resize_matrix(in_r, out_r, scale_r)
    w_cols = resize_matrix(in_c, out_c, scale_c)
    if arr.ndim == 3:
        return np.stack(
            [_resize2d(arr[:, :, k], w_rows, w_cols) for k in range(arr.shape[2])], axis=2
        )
    return _resize2d(arr, w_rows, w_cols)


def _resize2d(arr: np.ndarray, w_rows: sp.csr_matrix, w_cols: sp.csr_matrix) -> np.ndarray:
    # A sparse-times-dense product costs nnz × (columns of the dense operand); apply the
    # cheaper axis first. Operands are kept C-contiguous: scipy is slow on strided ones.
    rows_first = w_rows.nnz * arr.shape[1] + w_cols.nnz * w_rows.shape[0]
    cols_first = w_cols.nnz * arr.shape[0] + w_rows.nnz * w_cols.shape[0]
    arr = np.ascontiguousarray(arr)
    if rows_first <= cols_first:
        return _along_cols(w_rows @ arr, w_cols)
    return w_rows @ _along_cols(arr, w_cols)


def _along_cols(arr: np.ndarray, w_cols: sp.csr_matrix) -> np.ndarray:
    """``arr @ w_cols.T`` as a C-contiguous array."""
    return np.ascontiguousarray((w_cols @ np.ascontiguousarray(arr.T)).T)


def resize_to(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``arr`` as float64 at ``shape``: unchanged when it already has that shape (no copy),
    otherwise ``imresize(arr, shape)``. This is the MIT metrics' "resize sal to gt's size"."""
    arr = np.asarray(arr)
    if arr.shape == tuple(shape):
        return arr.astype(np.float64, copy=False)
    return imresize(arr, size=tuple(shape))


class _Pool(threading.local):
    """Per-thread free list of flat float64 buffers (`work_arrays`)."""

    def __init__(self) -> None:
        self.free: list[np.ndarray] = []


_POOL = _Pool()
_POOL_KEEP = 4  # buffers kept per thread (the most any metric holds at once, nested included)


@contextmanager
def work_arrays(
    shape: tuple[int, ...], count: int = 1, dtype: type = np.float64
) -> Iterator[list[np.ndarray]]:
    """``count`` distinct C-contiguous arrays of ``shape`` and ``dtype`` (float64 unless told),
    uninitialised, owned by the caller inside the ``with`` block and reused by later calls (of
    any shape and dtype that fit).

    Why: a fresh temporary of more than ~128 KB is handed out by the allocator as new pages,
    and faulting them in costs several times the arithmetic done on them (~2 ms per 768×1024
    float64 map on a VM); reused buffers stay resident. Never return or keep a view of them
    past the block. Nested use is safe: each call takes buffers no other active call holds.
    """
    size = math.prod(shape)
    words = -(-size * np.dtype(dtype).itemsize // 8)  # float64 words holding that many bytes
    free = _POOL.free
    taken: list[np.ndarray] = []
    for _ in range(count):
        fits = [i for i, buf in enumerate(free) if buf.size >= words]
        taken.append(free.pop(fits[0]) if fits else np.empty(max(words, 1)))
    try:
        yield [buf[:words].view(dtype)[:size].reshape(shape) for buf in taken]
    finally:
        # Sorted by size: a request takes the smallest buffer that fits; past _POOL_KEEP the
        # smallest are dropped, so a dataset of mixed sizes settles on its largest size.
        free.extend(taken)
        free.sort(key=lambda buf: buf.size)
        del free[:-_POOL_KEEP]


CHUNK = 1 << 15  # elements per chunk: a few float64 chunks stay in a core's L2 cache

Plan = tuple  # (start, stop) of a leaf, or (left plan, right plan)


@lru_cache(maxsize=16)
def _pairwise_plan(n: int) -> Plan:
    """NumPy's pairwise-summation tree of n contiguous values (halve, rounded down to a
    multiple of 8, until a part is small), cut into leaves of at most `CHUNK`."""

    def split(start: int, stop: int) -> Plan:
        if stop - start <= CHUNK:
            return (start, stop)
        half = (stop - start) // 2
        half -= half % 8
        return (split(start, start + half), split(start + half, stop))

    return split(0, n)


def chunked_sum(n: int, leaf: Callable[[int, int, list[np.ndarray]], Any], count: int = 1) -> Any:
    """Σ over ``range(n)`` of per-element terms, computed one chunk at a time: ``leaf(start,
    stop, bufs)`` returns the sum of the terms of elements [start, stop) (at most `CHUNK` of
    them; a float, or an array of several sums), with ``count`` chunk-sized float64 scratch
    arrays ``bufs`` to compute them in.

    The chunks are NumPy's own pairwise-summation subtrees, combined as it combines them: when
    each leaf returns ``np.add.reduce`` of its terms, the total has exactly the bits of
    building all n terms and calling ``.sum()`` (NumPy sums a contiguous float64 array
    pairwise), without full-size temporaries: the passes run over cache-resident chunks.
    """

    def total(plan: Plan) -> Any:
        left, right = plan
        if isinstance(left, int):
            return leaf(left, right, bufs)
        return total(left) + total(right)

    with work_arrays((min(n, CHUNK),), count) as bufs:
        return total(_pairwise_plan(n))
