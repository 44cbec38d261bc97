"""Per-image scoring in the MIT/Tübingen benchmark's own convention (`salloss.metrics.tuebingen`).

`score_image` (``convention='tuebingen'``) lands here. From one `Record`:

- fixations: the record's fixation map read as per-pixel COUNTS (a bool map counts each
  fixated pixel once; an integer map with 2 on a pixel counts two fixations there, as the
  benchmark counts duplicates). Datasets published as binary fixation maps (MIT1003's
  ``_fixPts``, CAT2000's ``FIXATIONLOCS``, FiWi) cannot carry duplicates, so on them the
  benchmark's duplicate counting has nothing to count;
- the prediction: brought to the fixation map's size by `tuebingen.resize_prediction`
  (``scipy.ndimage.zoom`` order 1), values as given;
- the ground truth of CC, KLDiv and SIM: `tuebingen.empirical_density` of those counts with the
  dataset's σ (`benchmark_sigma`) — NOT the dataset's own density map;
- sAUC's negatives: ``other_points``, every fixation of every other image of the scored set,
  rescaled to this image (`tuebingen.shuffled_nonfixations`).

Dataset means are the benchmark's: AUC, sAUC and NSS are means over fixations per image, then
over images (`salloss.metrics.summarise` of these rows; an image without fixations is NaN and
drops out, as there); CC, KLDiv and SIM one value per image, then the mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from salloss.errors import ConfigError, DataError
from salloss.metrics import tuebingen as tb
from salloss.metrics.checks import as_map
from salloss.metrics.scoring import Metric, Record, check_needs

__all__ = [
    "TUEBINGEN_METRICS",
    "TUEBINGEN_DEFAULT",
    "NO_IG",
    "benchmark_sigma",
    "fixation_count_map",
    "count_points",
    "check_names",
    "score_image_tuebingen",
]

# ``needs`` name Record fields; the functions take (sal at image size, inputs) — see _score.
TUEBINGEN_METRICS: dict[str, Metric] = {
    "AUC": Metric(tb.auc, ("fixations",), True),
    "sAUC": Metric(tb.sauc, ("fixations", "other_points"), True),
    "NSS": Metric(tb.nss, ("fixations",), True),
    "CC": Metric(tb.cc, ("fixations",), True),
    "KLDiv": Metric(tb.kl_div, ("fixations",), False),
    "SIM": Metric(tb.sim, ("fixations",), True),
}
# The benchmark's metrics for saliency-map models, in its table's order (IG is not one).
TUEBINGEN_DEFAULT: tuple[str, ...] = ("AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM")
NO_IG = ("IG: the Tübingen benchmark reports information gain only for probabilistic models "
         "(normalised log densities), never for saliency maps, which is what salloss models "
         "predict; score IG in the 'mit' convention (against the centre bias)")

_MAP_METRICS = {"CC", "KLDiv", "SIM"}


def benchmark_sigma(loader: str, options: Mapping[str, Any] | None = None) -> float:
    """σ (px) of the benchmark's empirical map for a `salloss.data` loader: the σ the
    dataset's own density maps are blurred with, as the benchmark's 23.99 px for MIT300 is
    MIT's fc = 8 cycles/image on a 1024-px image.

    mit1003 / mit300: 23.99 (the benchmark's MIT300 value; same lab, same maps); cat2000: 40
    (the benchmark's); fiwi: its loader's ``sigma`` option (default 30); synthetic: ``blur`` ×
    ``long_side`` of the generator; any other: 23.99.
    """
    opts = dict(options or {})
    if loader == "cat2000":
        return tb.CAT2000_SIGMA
    if loader == "fiwi":
        from salloss.data.fiwi import DEFAULT_SIGMA

        return float(opts.get("sigma", DEFAULT_SIGMA))
    if loader == "synthetic":
        from salloss.data.synthetic import SyntheticParams

        defaults = SyntheticParams()
        return float(opts.get("blur", defaults.blur)) * float(
            opts.get("long_side", defaults.long_side))
    return tb.MIT300_SIGMA


def fixation_count_map(fixations: object, name: str = "fixations") -> np.ndarray:
    """A fixation map as per-pixel counts (int64): bool → 0/1; numbers must be non-negative
    integers (a pixel fixated twice holds 2)."""
    a = np.asarray(fixations)
    if a.ndim != 2 or a.size == 0:
        raise DataError(f"{name} must be a non-empty 2-D map, got shape {a.shape}")
    if a.dtype == np.bool_:
        return a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise DataError(f"{name} must be numeric fixation counts, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise DataError(f"{name} contains NaN/inf; fixation counts must be finite")
        if np.any(a != np.round(a)):
            raise DataError(f"{name} holds non-integer values; the Tübingen convention reads a "
                            "fixation map as counts per pixel (0, 1, 2, ...)")
    if a.min() < 0:
        raise DataError(f"{name} holds negative values; fixation counts must be >= 0")
    return a.astype(np.int64)


def count_points(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ys, xs)`` of every fixation of a count map, a pixel with count k repeated k times
    (row-major order)."""
    rows, cols = np.nonzero(counts)
    k = counts[rows, cols]
    return np.repeat(rows, k), np.repeat(cols, k)


def check_names(names: Sequence[str]) -> list[str]:
    """The names as a list, or a `ConfigError` naming the unknown ones and the valid choices
    (IG gets its own reason)."""
    names = list(names)
    if "IG" in names:
        raise ConfigError(NO_IG)
    unknown = [n for n in names if n not in TUEBINGEN_METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown} in the 'tuebingen' convention; choose "
                          f"from {list(TUEBINGEN_METRICS)}")
    if not names:
        raise ConfigError(f"no metrics requested; choose from {list(TUEBINGEN_METRICS)}")
    return names


def score_image_tuebingen(record: Record, metrics: Sequence[str],
                          sigma: float = tb.MIT300_SIGMA) -> dict[str, Any]:
    """One row ``{"id": ..., metric: float, ...}`` in the Tübingen convention (module doc).

    ``sigma``: px of the empirical map (`benchmark_sigma`). Deterministic: no metric of this
    convention samples, so no seed.
    """
    rec = record
    check_needs(rec, metrics, TUEBINGEN_METRICS)
    counts = fixation_count_map(rec.fixations, f"fixations of {rec.id!r}")
    sal = tb.resize_prediction(as_map(rec.sal, f"prediction of {rec.id!r}"), counts.shape)
    ys, xs = count_points(counts)
    empirical = None
    if _MAP_METRICS.intersection(metrics):
        empirical = tb.empirical_density(counts, sigma=sigma)
    row: dict[str, Any] = {"id": rec.id}
    for name in metrics:
        fn = TUEBINGEN_METRICS[name].function
        try:
            if name in _MAP_METRICS:
                value = fn(sal, empirical)
            elif name == "sAUC":
                other_ys, other_xs = rec.other_points
                value = fn(sal, ys, xs, other_ys, other_xs)
            else:
                value = fn(sal, ys, xs)
        except DataError as exc:
            raise DataError(f"image {rec.id!r}, metric {name}: {exc}") from exc
        row[name] = float(value)
    return row

