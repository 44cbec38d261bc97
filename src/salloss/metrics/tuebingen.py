"""The MIT/Tübingen saliency benchmark's OWN metric conventions (its Python code, pysaliency).

This is what ``matthias-k/saliency-benchmarking`` computes today, not the MIT MATLAB code that
`salloss.metrics.mit` / `salloss.metrics.auc` reproduce. The benchmark has seven metrics: IG,
AUC, sAUC, NSS, CC, KLDiv, SIM. **AUC-Judd, AUC-Borji and EMD do not exist in its Python code**
(they ran only in the retired "old-matlab" path; pysaliency has no EMD), so they are not defined
here.

Conventions shared by all metrics:

- Maps are H×W at the stimulus resolution, values used as given (no min-max, no 0–255
  rescaling). A map of another size is first resized with `resize_prediction` (what the
  benchmark's loader does); the metrics themselves reject a wrong shape, like pysaliency's
  ``check_prediction_shape``.
- Fixations are 0-based pixel coordinates ``ys`` (row) and ``xs`` (column), **duplicates kept**
  (every fixation counts, several on one pixel count several times). Float coordinates are
  truncated like pysaliency's ``x_int`` / ``y_int`` (`fixation_indices`).
- The ground-truth ("empirical") map for CC, KLDiv and SIM is the per-pixel fixation COUNT map
  blurred by ``scipy.ndimage.gaussian_filter(σ, mode='reflect')`` (`empirical_density`), σ =
  23.99 px for MIT300, 40 for CAT2000, 30 for COCO-Freeview.
- Dataset score: AUC, sAUC, NSS per fixation → mean per image → mean over images
  (`average_per_image`); CC, KLDiv, SIM one score per image → plain mean (`average_over_images`);
  IG on MIT300 pooled over all fixations, on CAT2000 / COCO-Freeview per image.

How each differs from the MIT MATLAB convention, in one line:

- AUC: exact Mann–Whitney of each fixation's value against ALL pixels, ties ½, mean over
  fixations — MIT AUC-Judd thresholds at fixated values of a binary map against unfixated pixels
  only, with jitter (biased up by up to 1/(2·N_f)).
- sAUC: negatives are EVERY fixation of every other image of the set (rescaled, duplicates
  kept), exact ranks — MIT uses a binary union of 10 random other images, 100 subsampled splits
  and 0.1 threshold steps.
- NSS: population std (ddof 0), duplicates weighted, constant map → 0 — MIT uses the sample std
  (×√(N/(N−1))), unique fixated pixels, and gives NaN for a constant map.
- CC: same Pearson formula; differs only through the ground truth (counts + reflect Gaussian vs
  binary map + FFT antonioGaussian) and a constant prediction scoring 0 instead of NaN.
- SIM: each map shifted by its min only if min < 0, divided by its sum (all-zero → uniform) — MIT
  min-max normalises each map first, so the two agree only when min == 0.
- KLDiv: same formula Σ q·ln(ε + q/(p + ε)) with the literal ε = 2.2204e-16; negative maps are
  shifted (MIT takes the log of a negative number) and an all-zero map is uniform.
- IG: only for probabilistic submissions (normalised log densities), in bits per fixation against
  the centre-bias model; the benchmark reports NO IG for saliency-map submissions — MIT turns any
  map into a density by min-max + sum and adds eps.

For probabilistic submissions the benchmark first derives a metric-specific saliency map
(rank-equalised density for AUC, density for NSS, blurred density for CC/KLDiv, an optimised map
for SIM); that conversion is not implemented here.

Every metric returns a Python float (or a float64 array per fixation, ``*_values``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import ndimage
from scipy.special import logsumexp

from salloss.data.maps import density_from_fixations
from salloss.errors import DataError
from salloss.metrics.auc import count_below
from salloss.metrics.checks import as_map, as_map_range, same_shape
from salloss.metrics.mit import require_finite, unchecked_map
from salloss.metrics.resize import chunked_sum

__all__ = [
    "METRICS",
    "MIT300_SIGMA",
    "CAT2000_SIGMA",
    "COCO_FREEVIEW_SIGMA",
    "KL_EPS",
    "split_points",
    "fixation_indices",
    "fixation_counts",
    "empirical_density",
    "resize_prediction",
    "rescale_fixations",
    "shuffled_nonfixations",
    "saliency_to_density",
    "auc_values",
    "auc",
    "sauc_values",
    "sauc",
    "nss_values",
    "nss",
    "cc",
    "sim",
    "kl_div",
    "info_gain_values",
    "info_gain",
    "average_per_image",
    "average_over_images",
]

# The benchmark's metrics (saliency_benchmarking.evaluation.Benchmark.metrics), in its order.
METRICS: tuple[str, ...] = ("IG", "AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM")

# Gaussian σ (px) of the empirical density: the Benchmark default (MIT's antonioGaussian with
# fc = 8 cycles/image on a 1024-px image), CAT2000 and COCO-Freeview.
MIT300_SIGMA = 23.99
CAT2000_SIGMA = 40.0
COCO_FREEVIEW_SIGMA = 30.0

# KLDiv's regulariser: the literal pysaliency uses, NOT MATLAB's eps 2.220446049250313e-16.
KL_EPS = 2.2204e-16

NAN = float("nan")


# --- fixations ---------------------------------------------------------------------------


def split_points(points: object) -> tuple[np.ndarray, np.ndarray]:
    """An (N, 2) array-like of (row, col) = (y, x) points as the two 1-D arrays ``(ys, xs)``.

    Values are kept as given (int or float); an empty input gives two empty arrays.
    """
    p = np.asarray(points)
    if p.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise DataError(f"fixation points must be an (N, 2) array of (y, x), got shape {p.shape}")
    return p[:, 0], p[:, 1]


def _truncate(v: object, name: str) -> np.ndarray:
    a = np.asarray(v)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise DataError(f"{name} must be a 1-D array of coordinates, got shape {a.shape}")
    if a.size == 0:
        return np.empty(0, dtype=np.int64)
    kind = a.dtype.kind  # (np.issubdtype costs more than the rest for a few hundred points)
    if kind not in "iufcm":  # np.number: ints, floats, complex, timedelta; not bool
        raise DataError(f"{name} must be numeric pixel coordinates, got dtype {a.dtype}")
    if kind == "f" and not np.isfinite(a).all():
        raise DataError(f"{name} contains NaN/inf coordinates")
    # pysaliency's x_int/y_int: np.asarray(x, dtype=int), i.e. truncation toward zero (no
    # copy of int64 input, as there: a copy of a long list costs more than the metric).
    return a.astype(np.int64, copy=False)


def fixation_indices(
    ys: object, xs: object, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer pixel indices ``(rows, cols)`` of fixations, as the benchmark indexes maps.

    ``ys``/``xs``: 1-D, same length, int or float, 0-based; floats are truncated toward zero
    (pysaliency's ``y_int``/``x_int``: 3.9 → 3, −0.5 → 0). Duplicates are kept. Indices
    outside ``shape`` = (H, W) raise `DataError` (pysaliency would wrap negative indices).
    int64 input comes back as is (not copied).
    """
    rows, cols = _truncate(ys, "ys"), _truncate(xs, "xs")
    if rows.shape != cols.shape:
        raise DataError(f"ys has {rows.size} coordinates but xs has {cols.size}")
    height, width = int(shape[0]), int(shape[1])
    # As unsigned, a negative index is huge: two reductions check all four bounds.
    if rows.size and (np.maximum.reduce(rows.view(np.uint64)) >= height
                      or np.maximum.reduce(cols.view(np.uint64)) >= width):
        outside = (rows < 0) | (rows >= height) | (cols < 0) | (cols >= width)
        raise DataError(
            f"{int(outside.sum())} fixation(s) lie outside the {height}×{width} map "
            f"(first at y, x = {rows[outside][0]}, {cols[outside][0]})"
        )
    return rows, cols


def fixation_counts(ys: object, xs: object, shape: tuple[int, int]) -> np.ndarray:
    """H×W float64 map holding the NUMBER of fixations on each pixel (pysaliency's
    ``fill_fixation_map``: +1 per fixation, duplicates add)."""
    rows, cols = fixation_indices(ys, xs, shape)
    height, width = int(shape[0]), int(shape[1])
    flat = np.bincount(rows * width + cols, minlength=height * width)
    return flat.astype(np.float64).reshape(height, width)


def empirical_density(
    counts_or_points: object,
    shape: tuple[int, int] | None = None,
    sigma: float = MIT300_SIGMA,
) -> np.ndarray:
    """The benchmark's ground-truth map for CC, KLDiv and SIM (``pysaliency.FixationMap``).

    ``counts_or_points``: with ``shape`` None, an H×W map of fixation counts per pixel; with
    ``shape`` = (H, W), an (N, 2) array of (y, x) fixations (duplicates add, floats truncated).
    The counts are blurred by ``gaussian_filter(σ px, mode='reflect', truncate=4)`` and NOT
    normalised (H×W float64; all zeros without fixations). σ: `MIT300_SIGMA` (23.99),
    `CAT2000_SIGMA`, `COCO_FREEVIEW_SIGMA`.
    """
    if shape is None:
        counts = np.asarray(counts_or_points, dtype=np.float64)
    else:
        ys, xs = split_points(counts_or_points)
        counts = fixation_counts(ys, xs, shape)
    return density_from_fixations(counts, sigma, normalize="none")


def rescale_fixations(
    x: object, y: object, from_shape: tuple[int, int], to_shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Fixations of an image of ``from_shape`` moved onto an image of ``to_shape``, as sAUC's
    negatives (pysaliency ``FullShuffledNonfixationProvider``). NOTE the (x, y) order, as there.

    ``x`` (column) and ``y`` (row) are the ORIGINAL float coordinates (not truncated first);
    each is multiplied by the size ratio ``to / from`` (computed first, as pysaliency does) and
    then truncated. Returns int64 ``(x_int, y_int)``.
    """
    xf = np.asarray(x, dtype=np.float64) * (int(to_shape[1]) / float(from_shape[1]))
    yf = np.asarray(y, dtype=np.float64) * (int(to_shape[0]) / float(from_shape[0]))
    return xf.astype(np.int64), yf.astype(np.int64)


def shuffled_nonfixations(
    index: int,
    fixations: Sequence[tuple[object, object]],
    shapes: Sequence[tuple[int, int]],
) -> tuple[np.ndarray, np.ndarray]:
    """sAUC's negatives for image ``index``: every fixation of every OTHER image of the set.

    ``fixations[j]`` = ``(ys_j, xs_j)``, the original (float) coordinates of image j, whose
    size is ``shapes[j]`` = (H_j, W_j). Each is rescaled to ``shapes[index]`` by
    `rescale_fixations`; duplicates are kept. Returns int64 ``(ys, xs)`` for `sauc`.
    """
    if len(fixations) != len(shapes):
        raise DataError(f"got fixations of {len(fixations)} images but {len(shapes)} shapes")
    out_y: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    out_x: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for j, ((ys, xs), shape) in enumerate(zip(fixations, shapes, strict=True)):
        if j == index:
            continue
        x_int, y_int = rescale_fixations(xs, ys, shape, shapes[index])
        out_y.append(y_int.reshape(-1))
        out_x.append(x_int.reshape(-1))
    return np.concatenate(out_y), np.concatenate(out_x)


# --- maps --------------------------------------------------------------------------------


def resize_prediction(sal: object, shape: tuple[int, int]) -> np.ndarray:
    """A prediction at the stimulus ``shape`` = (H, W), the way the benchmark's loader resizes
    a wrongly-sized map (pysaliency ``ResizingSaliencyMapModel``).

    ``scipy.ndimage.zoom(sal, [H/h, W/w], order=1, mode='nearest')``: bilinear with the corner
    pixels aligned; values are NOT rescaled. Returns float64 (``sal`` unchanged, no copy, when
    it already has ``shape``).
    """
    s = as_map(sal, "sal")
    target = (int(shape[0]), int(shape[1]))
    if s.shape == target:
        return s
    y_factor = target[0] / s.shape[0]
    x_factor = target[1] / s.shape[1]
    out = ndimage.zoom(s, [y_factor, x_factor], order=1, mode="nearest")
    if out.shape != target:  # pysaliency asserts the same
        raise DataError(f"zoom gave shape {out.shape}, not {target}")
    return out


def saliency_to_density(saliency_map: object) -> np.ndarray:
    """T(m), the benchmark's map → distribution step for SIM and KLDiv (pysaliency
    ``convert_saliency_map_to_density(m, minimum_value=0)``).

    Subtract the min ONLY if it is negative, divide by the sum; a map summing to 0 (all zero)
    becomes uniform 1/(H·W). No min-max scaling. Returns a new float64 array.
    """
    m = as_map(saliency_map, "saliency_map")
    density = _Density.of(m, "saliency_map")
    return density.chunk(0, m.size, np.empty(m.size)).reshape(m.shape)


class _Density(NamedTuple):
    """`saliency_to_density` of a map as parameters, to apply one chunk at a time (operation
    for operation as pysaliency: the same bits): T = (m + offset) / total, or uniform 1/n."""

    flat: np.ndarray
    offset: float | None  # −min for a negative min; 0.0 for min 0 (−0.0 becomes 0.0); else None
    total: float

    @classmethod
    def of(cls, m: np.ndarray, name: str) -> _Density:
        """Parameters of float64 map ``m``, its values checked on the way (its min and sum are
        finite iff every value is)."""
        lo = m.min()
        require_finite(lo, m, name)
        offset = -lo if lo < 0 else 0.0 if lo == 0 else None  # m − lo is m + (−lo), exactly
        flat = m.ravel()
        if offset is None:
            total = np.add.reduce(flat)
        else:
            total = chunked_sum(flat.size, lambda start, stop, bufs: np.add.reduce(
                np.add(flat[start:stop], offset, out=bufs[0][: stop - start])))
        require_finite(total, m, name)
        return cls(flat, offset, total)

    def chunk(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """T of elements [start, stop), written into ``out`` (that long) and returned."""
        src = self.flat[start:stop]
        if self.offset is not None:
            src = np.add(src, self.offset, out=out)
        if self.total:
            return np.divide(src, self.total, out=out)
        out.fill(1.0)  # pysaliency: all ones, divided by their sum
        out /= float(self.flat.size)
        return out


def _pair(sal: object, empirical: object) -> tuple[np.ndarray, np.ndarray]:
    # Shapes and dtypes only: each metric checks the values through a sum or min it needs.
    s = unchecked_map(sal, "sal")
    e = unchecked_map(empirical, "empirical")
    if s.shape != e.shape:
        raise DataError(
            f"sal has shape {s.shape} but the empirical map has shape {e.shape}: the benchmark "
            "scores maps at stimulus size (resize with resize_prediction first)"
        )
    return s, e


def _at(flat: np.ndarray, shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``m[rows, cols]`` (a new array) for the raveled map ``flat`` of shape ``shape``, through
    flat indices: several times faster than 2-D fancy indexing for thousands of points."""
    return flat.take(rows * shape[1] + cols)


def _mean_or_nan(values: np.ndarray) -> float:
    # values.sum() / size is exactly ndarray.mean (its sum, divided), without its overhead
    return float(np.add.reduce(values) / values.size) if values.size else NAN


# --- fixation-based metrics ----------------------------------------------------------------


_BUCKETED_MIN = 1 << 15  # from this many negatives on, bucketed counting beats a sort


def _rank_aucs(
    positives: np.ndarray,
    negatives: np.ndarray,
    lo: float | None = None,
    hi: float | None = None,
) -> np.ndarray:
    """Per positive: (#{negatives < it} + ½·#{negatives == it}) / #negatives (exact
    Mann–Whitney, pysaliency ``general_rocs_per_positive``). Few negatives: one sort + two
    searchsorted; many (a whole map): `count_below`, a few passes instead of a sort (``lo`` /
    ``hi``: the negatives' min and max when known)."""
    if negatives.size == 0:
        return np.full(positives.shape, NAN)
    if negatives.size >= _BUCKETED_MIN:
        if lo is None or hi is None:
            lo, hi = float(negatives.min()), float(negatives.max())
        if lo < hi and math.isfinite(hi - lo):
            below, upto = count_below(negatives, positives, lo, hi)
            return (below + 0.5 * (upto - below)) / negatives.size
    # (ndarray methods and ufunc reductions, not the np.* wrappers: for a few hundred values
    # the Python-level overhead is most of the cost)
    neg = negatives.copy()
    neg.sort()
    below = neg.searchsorted(positives, side="left")
    # A positive ties with some negatives only if the first negative at or above it equals it:
    # search the upper end only for those (usually none), otherwise upto = below.
    tied = neg.take(below, mode="clip") == positives
    if not np.logical_or.reduce(tied):
        return below / neg.size  # = (below + 0.5 * 0) / n, exactly
    upto = below.copy()
    upto[tied] = neg.searchsorted(positives[tied], side="right")
    return (below + 0.5 * (upto - below)) / neg.size


def auc_values(sal: object, ys: object, xs: object) -> np.ndarray:
    """The benchmark's AUC of each fixation (float64, one per fixation, in input order).

    ``sal`` at stimulus size. Positive: ``sal`` at the fixation; negatives: ALL H·W pixels,
    fixated ones included (``nonfixations='uniform'``); ties count ½, no jitter. A constant map
    gives 0.5 everywhere. O(HW): bucketed counts (`salloss.metrics.auc.count_below`), no sort.
    """
    s, lo, hi = as_map_range(sal, "sal")
    rows, cols = fixation_indices(ys, xs, s.shape)
    flat = s.ravel()
    return _rank_aucs(_at(flat, s.shape, rows, cols), flat, lo, hi)


def auc(sal: object, ys: object, xs: object) -> float:
    """The benchmark's AUC of one image: mean of `auc_values` over its fixations (duplicates
    weighted by their count). In [0, 1], higher is better; NaN without fixations (the benchmark
    skips such images)."""
    return _mean_or_nan(auc_values(sal, ys, xs))


def sauc_values(
    sal: object, ys: object, xs: object, other_ys: object, other_xs: object
) -> np.ndarray:
    """The benchmark's shuffled AUC of each fixation (``nonfixations='shuffled'``).

    Negatives: ``sal`` at ``(other_ys, other_xs)``, the fixations of ALL other images of the
    evaluated set already rescaled to this image (`shuffled_nonfixations`), duplicates kept;
    ties count ½. NaN for every fixation when there are no negatives (pysaliency raises
    ZeroDivisionError). Only the pixels it reads are checked for NaN/inf (a whole-map check
    would cost more than the metric).
    """
    s = unchecked_map(sal, "sal")
    rows, cols = fixation_indices(ys, xs, s.shape)
    other_rows, other_cols = fixation_indices(other_ys, other_xs, s.shape)
    flat = s.ravel()
    positives = _at(flat, s.shape, rows, cols)
    negatives = _at(flat, s.shape, other_rows, other_cols)
    require_finite(np.add.reduce(positives) + np.add.reduce(negatives), sal, "sal")
    return _rank_aucs(positives, negatives)


def sauc(sal: object, ys: object, xs: object, other_ys: object, other_xs: object) -> float:
    """The benchmark's sAUC of one image: mean of `sauc_values`. Depends on the whole dataset
    through the negatives. In [0, 1], higher is better; NaN without fixations or negatives."""
    return _mean_or_nan(sauc_values(sal, ys, xs, other_ys, other_xs))


def nss_values(sal: object, ys: object, xs: object) -> np.ndarray:
    """NSS of each fixation: ``(sal[y, x] − mean) / std`` with the POPULATION std (ddof 0),
    exactly ``pysaliency.metrics.NSS``; a constant map (std 0) is not divided, giving 0."""
    s = unchecked_map(sal, "sal")
    rows, cols = fixation_indices(ys, xs, s.shape)
    mean = s.mean()
    require_finite(mean, sal, "sal")
    flat = s.ravel()
    value = _at(flat, s.shape, rows, cols)

    def squares(start: int, stop: int, bufs: list[np.ndarray]) -> float:
        d = np.subtract(flat[start:stop], mean, out=bufs[0][: stop - start])
        return np.add.reduce(np.multiply(d, d, out=d))

    # s.std()'s arithmetic (centre on the same mean, square, sum, / N), chunk by chunk
    std = np.sqrt(chunked_sum(flat.size, squares) / s.size)
    value -= mean
    if std:
        value /= std
    return value


def nss(sal: object, ys: object, xs: object) -> float:
    """The benchmark's NSS of one image: mean of `nss_values` over its fixations, duplicates
    weighted. Higher is better; 0 for a constant map; NaN without fixations."""
    return _mean_or_nan(nss_values(sal, ys, xs))


# --- map-based metrics -------------------------------------------------------------------


def _centring(m: np.ndarray, name: str) -> tuple[float, float]:
    """pysaliency CC's centring ``m − mean`` and np.corrcoef's second one: ``(mean, mean of m −
    mean)``. (Its division by the std is left out: the correlation does not depend on it.)"""
    mean = m.mean()
    require_finite(mean, m, name)
    flat = m.ravel()
    z_mean = chunked_sum(flat.size, lambda start, stop, bufs: np.add.reduce(
        np.subtract(flat[start:stop], mean, out=bufs[0][: stop - start]))) / flat.size
    return mean, z_mean


def cc(sal: object, empirical: object) -> float:
    """Pearson correlation of the prediction with the empirical map (``pysaliency.metrics.CC``).

    Both H×W at stimulus size (`empirical_density`). A constant prediction against a
    non-constant empirical map scores 0.0; a constant empirical map (e.g. no fixations) gives
    NaN, as in pysaliency. In [−1, 1], higher is better.
    """
    s, e = _pair(sal, empirical)
    (s_mean, s_z), (e_mean, e_z) = _centring(s, "sal"), _centring(e, "empirical")
    s_flat, e_flat = s.ravel(), e.ravel()

    def dots(start: int, stop: int, bufs: list[np.ndarray]) -> np.ndarray:
        # einsum dot products: single-threaded and deterministic, unlike a threaded BLAS dot
        a = np.subtract(s_flat[start:stop], s_mean, out=bufs[0][: stop - start])
        a -= s_z
        b = np.subtract(e_flat[start:stop], e_mean, out=bufs[1][: stop - start])
        b -= e_z
        return np.array((np.einsum("i,i->", a, b), np.einsum("i,i->", a, a),
                         np.einsum("i,i->", b, b)))

    ab, aa, bb = chunked_sum(s.size, dots, 2)
    # pysaliency's "constant" (std of m − mean is 0): the twice-centred values are all 0
    if not bb:
        return NAN  # np.corrcoef divides 0 by 0 here
    if not aa:
        return 0.0
    # np.corrcoef's arithmetic: normalise, clip
    return float(np.clip(ab / math.sqrt(aa * bb), -1.0, 1.0))


def sim(sal: object, empirical: object) -> float:
    """Similarity (histogram intersection) ``Σ min(T(sal), T(empirical))``, T =
    `saliency_to_density` (``pysaliency.metrics.SIM``). In [0, 1], higher is better; never
    NaN (an all-zero or constant map is uniform)."""
    s, e = _pair(sal, empirical)
    ds, de = _Density.of(s, "sal"), _Density.of(e, "empirical")

    def overlap(start: int, stop: int, bufs: list[np.ndarray]) -> float:
        p = ds.chunk(start, stop, bufs[0][: stop - start])
        return np.add.reduce(np.minimum(p, de.chunk(start, stop, bufs[1][: stop - start]),
                                        out=p))

    return float(chunked_sum(s.size, overlap, 2))


def kl_div(sal: object, empirical: object) -> float:
    """Image-based KL divergence KL(empirical ‖ prediction), natural log.

    ``Σ q·ln(ε + q/(p + ε))`` with p = T(sal), q = T(empirical) (`saliency_to_density`), ε =
    `KL_EPS` = 2.2204e-16. pysaliency goes through log densities (``exp(log T)``); that round
    trip is kept so the value is bit-identical to ``pysaliency.metrics.MIT_KLDiv`` and
    ``image_based_kl_divergences(minimum_value=0, ...)``. ≥ 0, lower is better; finite for any
    finite maps.
    """
    s, e = _pair(sal, empirical)
    ds, de = _Density.of(s, "sal"), _Density.of(e, "empirical")

    def terms(start: int, stop: int, bufs: list[np.ndarray]) -> float:
        # log(0) = −inf, exp(−inf) = 0: as in pysaliency. Operation for operation:
        # q · ln(ε + q / (exp(log p) + ε)) with q = exp(log q).
        p = ds.chunk(start, stop, bufs[0][: stop - start])
        q = de.chunk(start, stop, bufs[1][: stop - start])
        np.exp(np.log(p, out=p), out=p)
        np.exp(np.log(q, out=q), out=q)
        p += KL_EPS
        np.divide(q, p, out=p)
        p += KL_EPS
        np.log(p, out=p)
        p *= q
        return np.add.reduce(p)

    with np.errstate(divide="ignore"):
        return float(chunked_sum(s.size, terms, 2))


# --- information gain --------------------------------------------------------------------


def _log_density(arr: object, name: str, check_normalized: bool) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim != 2 or a.size == 0 or not np.issubdtype(a.dtype, np.floating):
        raise DataError(f"{name} must be a non-empty 2-D float array, got {a.dtype} {a.shape}")
    a = a.astype(np.float64, copy=False)
    if np.isnan(a).any() or np.isposinf(a).any():
        raise DataError(f"{name} contains NaN or +inf (−inf, i.e. density 0, is allowed)")
    if check_normalized:
        total = float(logsumexp(a))
        if not abs(total) < 1e-3:  # the benchmark rejects such submissions
            raise DataError(f"{name} is not a normalised log density: logsumexp = {total:.6g}")
    return a


def info_gain_values(
    log_density: object,
    ys: object,
    xs: object,
    baseline_log_density: object | None = None,
    check_normalized: bool = True,
) -> np.ndarray:
    """Information gain of each fixation, in bits: ``(log p(f) − log p_baseline(f)) / ln 2``.

    ONLY for probabilistic predictions: ``log_density`` is an H×W natural-log density at
    stimulus size (|logsumexp| < 1e-3, else `DataError`, as the benchmark's loader rejects it;
    −inf allowed). The benchmark reports NO IG for saliency-map submissions, and this function
    does not turn a saliency map into a density. ``baseline_log_density``: the centre-bias
    model's log density (the benchmark's reported IG = IG vs uniform minus the centre-bias
    submission's IG vs uniform, which equals this with the centre bias as baseline); None = the
    uniform model, ``−(ln H + ln W)``. No ε: a fixation on density 0 gives −inf.
    """
    ld = _log_density(log_density, "log_density", check_normalized)
    rows, cols = fixation_indices(ys, xs, ld.shape)
    if baseline_log_density is None:
        baseline = -np.log(np.asarray(ld.shape)).sum()  # pysaliency UniformModel
    else:
        b = _log_density(baseline_log_density, "baseline_log_density", check_normalized)
        same_shape(ld, b, "log_density", "baseline_log_density")
        baseline = _at(b.ravel(), b.shape, rows, cols)
    return (_at(ld.ravel(), ld.shape, rows, cols) - baseline) / np.log(2)


def info_gain(
    log_density: object,
    ys: object,
    xs: object,
    baseline_log_density: object | None = None,
    check_normalized: bool = True,
) -> float:
    """Mean of `info_gain_values` over one image's fixations (bits per fixation, higher is
    better; NaN without fixations). MIT300's dataset IG pools ALL fixations of all images
    (``np.mean`` of the concatenated `info_gain_values`); CAT2000 and COCO-Freeview average per
    image (`average_per_image`)."""
    return _mean_or_nan(
        info_gain_values(log_density, ys, xs, baseline_log_density, check_normalized)
    )


# --- dataset averaging -------------------------------------------------------------------


def average_per_image(values: object, image_index: object) -> float:
    """Per-fixation scores → mean within each image → mean over images: the benchmark's
    dataset AUC, sAUC and NSS (``pysaliency.utils.average_values(average='image')``).

    ``values`` and ``image_index`` are 1-D, one entry per fixation; images without fixations
    never appear, so they drop out. NaN for no fixations at all.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    idx = np.asarray(image_index).reshape(-1)
    if v.shape != idx.shape:
        raise DataError(f"got {v.size} values but {idx.size} image indices")
    if v.size == 0:
        return NAN
    _, inverse = np.unique(idx, return_inverse=True)
    sums = np.bincount(inverse, weights=v)
    counts = np.bincount(inverse)
    return float(np.mean(sums / counts))


def average_over_images(per_image: object) -> float:
    """One score per image → plain mean: the benchmark's dataset CC, KLDiv and SIM
    (``np.mean``; a NaN image, e.g. CC of an image without fixations, makes it NaN, as there).
    For AUC/sAUC/NSS given per image, pass only the images that have fixations."""
    v = np.asarray(per_image, dtype=np.float64).reshape(-1)
    return float(v.mean()) if v.size else NAN
