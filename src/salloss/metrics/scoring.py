"""Scoring layer: per-image metric table, per-metric summary, and their files.

A dataset score is the MEAN over images of per-image scores. Images where a metric is NaN (no
fixations, constant map, …) are counted in ``n_nan`` and left out of that metric's mean — never
turned into 0.

Two conventions (`CONVENTIONS`): ``mit`` (default) — the MIT benchmark's MATLAB code, `METRICS`;
``tuebingen`` — the MIT/Tübingen benchmark's own Python code (`salloss.metrics.tuebingen`,
scored by `salloss.metrics.tuebingen_scoring`), with its own metric names (AUC, sAUC, NSS, CC,
KLDiv, SIM). Every function taking a metric list takes the ``convention`` it belongs to.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from tqdm import tqdm

from salloss.errors import ConfigError, DataError
from salloss.io import write_json, write_text
from salloss.metrics.auc import auc_borji, auc_judd, auc_shuffled
from salloss.metrics.checks import as_fixations, as_map
from salloss.metrics.emd import emd
from salloss.metrics.mit import cc, info_gain, kl_div, nss, similarity
from salloss.metrics.resize import resize_to

__all__ = [
    "CONVENTIONS",
    "METRICS",
    "registry",
    "higher_is_better",
    "default_metrics",
    "PAPER_METRICS",
    "Metric",
    "Record",
    "score_image",
    "score_records",
    "summarise",
    "write_scores_csv",
    "write_summary",
    "summary_json",
    "fixation_coords",
    "shuffled_negatives",
    "image_seed",
    "pick_others",
    "as_record",
    "check_metric_names",
]

log = logging.getLogger(__name__)


class Metric(NamedTuple):
    """Registry entry: the function, the record fields it needs besides ``sal``, its direction."""

    function: Callable[..., float]
    needs: tuple[str, ...]
    higher_is_better: bool


# The seven metrics of the paper's tables, in the paper's column order.
PAPER_METRICS: tuple[str, ...] = ("CC", "SIM", "AUC-J", "AUC-B", "NSS", "EMD", "KL")

METRICS: dict[str, Metric] = {
    "CC": Metric(cc, ("density",), True),
    "SIM": Metric(similarity, ("density",), True),
    "AUC-J": Metric(auc_judd, ("fixations",), True),
    "AUC-B": Metric(auc_borji, ("fixations",), True),
    "NSS": Metric(nss, ("fixations",), True),
    "EMD": Metric(emd, ("density",), False),
    "KL": Metric(kl_div, ("density",), False),
    # Beyond the paper; they need extra inputs.
    "sAUC": Metric(auc_shuffled, ("fixations", "other_fixations"), True),
    "IG": Metric(info_gain, ("fixations", "baseline"), True),
}

_SEEDED = {"AUC-J", "AUC-B", "sAUC"}
_RECORD_FIELDS = ("id", "sal", "density", "fixations", "other_fixations", "baseline",
                  "other_points")
CONVENTIONS: tuple[str, ...] = ("mit", "tuebingen")


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ConfigError(f"unknown metric convention {convention!r}; valid choices: "
                          f"{', '.join(CONVENTIONS)}")


def registry(convention: str = "mit") -> dict[str, Metric]:
    """Metric name → `Metric` of a convention (``mit``: `METRICS`; ``tuebingen``:
    `salloss.metrics.tuebingen_scoring.TUEBINGEN_METRICS`)."""
    _check_convention(convention)
    if convention == "mit":
        return METRICS
    from salloss.metrics.tuebingen_scoring import TUEBINGEN_METRICS

    return TUEBINGEN_METRICS


def higher_is_better(name: str) -> bool:
    """Direction of a metric of any convention (a name two conventions share, like CC or sAUC,
    has the same direction in both); `ConfigError` for an unknown name."""
    for convention in CONVENTIONS:
        known = registry(convention)
        if name in known:
            return known[name].higher_is_better
    raise ConfigError(f"unknown metric {name!r}; choose from "
                      f"{sorted({n for c in CONVENTIONS for n in registry(c)})}")


def default_metrics(convention: str = "mit") -> tuple[str, ...]:
    """What a convention scores when no metrics are named: the paper's seven (``mit``), the
    benchmark's six saliency-map metrics (``tuebingen``)."""
    _check_convention(convention)
    if convention == "mit":
        return PAPER_METRICS
    from salloss.metrics.tuebingen_scoring import TUEBINGEN_DEFAULT

    return TUEBINGEN_DEFAULT


@dataclass
class Record:
    """One image to score: its id, the prediction and the ground truth the metrics need.

    ``density`` and ``fixations`` are at the original image resolution; ``sal`` may be any
    size (it is resized the convention's way). ``other_fixations`` (MIT sAUC) is a binary map
    of this image's size; ``baseline`` (MIT IG) is a map of any size; ``other_points``
    (Tübingen sAUC) is ``(ys, xs)``, every fixation of the other images rescaled to this one.
    In the Tübingen convention ``fixations`` may hold counts per pixel (duplicates).
    """

    id: str
    sal: np.ndarray
    density: np.ndarray | None = None
    fixations: np.ndarray | None = None
    other_fixations: np.ndarray | None = None
    baseline: np.ndarray | None = None
    other_points: tuple[np.ndarray, np.ndarray] | None = None


def as_record(obj: Record | Sequence[Any] | Mapping[str, Any]) -> Record:
    """Accept a `Record`, a tuple ``(id, sal, density, fixations[, other_fixations[, baseline[,
    other_points]]])`` or a mapping with those keys."""
    if isinstance(obj, Record):
        return obj
    if isinstance(obj, Mapping):
        unknown = set(obj) - set(_RECORD_FIELDS)
        if unknown:
            raise DataError(f"record has unknown keys {sorted(unknown)}; valid: {_RECORD_FIELDS}")
        return Record(**obj)
    items = tuple(obj)
    if not 2 <= len(items) <= len(_RECORD_FIELDS):
        raise DataError(
            f"a record tuple is (id, sal, density, fixations[, other_fixations[, baseline]]); "
            f"got {len(items)} items"
        )
    return Record(*items)


def check_metric_names(names: Iterable[str], convention: str = "mit") -> list[str]:
    """The names as a list, or a `ConfigError` naming the unknown ones and the valid choices
    of ``convention``."""
    _check_convention(convention)
    if convention == "tuebingen":
        from salloss.metrics.tuebingen_scoring import check_names

        return check_names(list(names))
    names = list(names)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
    if not names:
        raise ConfigError(f"no metrics requested; choose from {list(METRICS)}")
    return names


def check_needs(record: Record, metrics: Sequence[str], known: Mapping[str, Metric]) -> None:
    """`DataError` naming the image, the metric and the record fields it lacks."""
    for name in metrics:
        missing = [f for f in known[name].needs if getattr(record, f) is None]
        if missing:
            raise DataError(f"image {record.id!r}: metric {name} needs {', '.join(missing)}")


def image_seed(seed: int, image_id: str) -> int:
    """A per-image seed from the run seed and the image id (stable across runs and orders), so
    images do not share their random draws and a rerun reproduces every score."""
    seq = np.random.SeedSequence([int(seed), zlib.crc32(image_id.encode())])
    return int(seq.generate_state(1)[0])


def score_image(record: Record, metrics: Sequence[str], seed: int = 0, *,
                convention: str = "mit", sigma: float | None = None) -> dict[str, Any]:
    """One row: ``{"id": ..., metric: float, ...}`` for a single record.

    ``mit``: ``sal`` is resized once per ground-truth size and shared by the metrics
    (identical to each metric resizing it, as MATLAB's imresize at scale 1 is the identity);
    EMD resizes the original ``sal`` itself, as MIT does. ``tuebingen``:
    `salloss.metrics.tuebingen_scoring.score_image_tuebingen` with the empirical map's
    ``sigma`` (px; default MIT300's 23.99); ``seed`` is unused (nothing is sampled).
    """
    _check_convention(convention)
    if convention == "tuebingen":
        from salloss.metrics import tuebingen_scoring as ts

        return ts.score_image_tuebingen(as_record(record), metrics,
                                        ts.tb.MIT300_SIGMA if sigma is None else sigma)
    rec = record
    check_needs(rec, metrics, METRICS)
    sal = as_map(rec.sal, f"prediction of {rec.id!r}")
    inputs: dict[str, np.ndarray] = {}
    if rec.density is not None:
        inputs["density"] = as_map(rec.density, f"density of {rec.id!r}")
    if rec.fixations is not None:
        inputs["fixations"] = as_fixations(rec.fixations, f"fixations of {rec.id!r}")
    if rec.other_fixations is not None:
        inputs["other_fixations"] = as_fixations(rec.other_fixations,
                                                 f"other_fixations of {rec.id!r}")
    if rec.baseline is not None:
        inputs["baseline"] = as_map(rec.baseline, f"baseline of {rec.id!r}")
    resized: dict[tuple[int, int], np.ndarray] = {}

    def sal_at(shape: tuple[int, int]) -> np.ndarray:
        if shape not in resized:
            resized[shape] = resize_to(sal, shape)
        return resized[shape]

    row: dict[str, Any] = {"id": rec.id}
    img_seed = image_seed(seed, rec.id)
    for name in metrics:
        metric = METRICS[name]
        args = [inputs[f] for f in metric.needs]
        s = sal if name == "EMD" else sal_at(args[0].shape)
        kwargs = {"seed": img_seed} if name in _SEEDED else {}
        try:
            row[name] = float(metric.function(s, *args, **kwargs))
        except DataError as exc:
            raise DataError(f"image {rec.id!r}, metric {name}: {exc}") from exc
    return row


def score_records(
    records: Iterable[Record | Sequence[Any] | Mapping[str, Any]],
    metrics: Sequence[str] = PAPER_METRICS,
    *,
    seed: int = 0,
    progress: bool = True,
    total: int | None = None,
    convention: str = "mit",
    sigma: float | None = None,
) -> list[dict[str, Any]]:
    """Score every record with every metric; one dict per image (``id`` + one float per metric).

    ``records`` may be a lazy iterable (maps are loaded one at a time). ``seed`` seeds the
    stochastic metrics (AUC-J jitter, AUC-B and sAUC sampling) per image via `image_seed`.
    ``convention`` / ``sigma``: see `score_image`.
    """
    names = check_metric_names(metrics, convention)
    if total is None and hasattr(records, "__len__"):
        total = len(records)  # type: ignore[arg-type]
    rows = []
    for obj in tqdm(records, total=total, desc="scoring", unit="img", disable=not progress):
        rows.append(score_image(as_record(obj), names, seed=seed, convention=convention,
                                sigma=sigma))
    return rows


def summarise(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str],
              convention: str = "mit") -> dict[str, dict]:
    """Per metric: mean and sample std (N−1) over the images where it is not NaN, ``count`` of
    those images, ``n_nan`` of the others, and ``higher_is_better``. Mean/std are NaN when no
    image has a value (std also when only one has)."""
    out: dict[str, dict] = {}
    known = registry(convention)
    for name in check_metric_names(metrics, convention):
        values = np.array([float(r[name]) for r in rows], dtype=np.float64)
        ok = values[~np.isnan(values)]
        out[name] = {
            "mean": float(ok.mean()) if ok.size else math.nan,
            "std": float(ok.std(ddof=1)) if ok.size > 1 else math.nan,
            "count": int(ok.size),
            "n_nan": int(values.size - ok.size),
            "higher_is_better": known[name].higher_is_better,
        }
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def _csv_text(header: Sequence[str], lines: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for line in lines:
        writer.writerow([_fmt(v) for v in line])
    return buf.getvalue()


def write_scores_csv(rows: Sequence[Mapping[str, Any]], path: str | Path,
                     metrics: Sequence[str], convention: str = "mit") -> None:
    """The per-image table: columns ``id`` + metrics, full float precision, NaN as ``nan``.
    Written atomically."""
    names = check_metric_names(metrics, convention)
    text = _csv_text(["id", *names], ([r["id"], *(r[n] for n in names)] for r in rows))
    write_text(path, text)


def summary_json(summary: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The `summarise` result ready for JSON: NaN as None (null)."""
    return {name: {k: (None if isinstance(v, float) and math.isnan(v) else v)
                   for k, v in stats.items()}
            for name, stats in summary.items()}


def write_summary(summary: Mapping[str, Mapping[str, Any]], path: str | Path) -> None:
    """Write the `summarise` result as JSON (``.json``; NaN as null) or CSV (any other suffix:
    one row per metric). Written atomically."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        write_json(path, summary_json(summary))
        return
    fields = ["mean", "std", "count", "n_nan", "higher_is_better"]
    text = _csv_text(["metric", *fields],
                     ([name, *(stats[f] for f in fields)] for name, stats in summary.items()))
    write_text(path, text)


def fixation_coords(fixations: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The fixated pixels of a binary map as an (N, 2) int array of (row, col), and its shape:
    a compact form for building shuffled-AUC negatives over a whole dataset."""
    fix = as_fixations(fixations)
    return np.argwhere(fix), (int(fix.shape[0]), int(fix.shape[1]))


def shuffled_negatives(
    others: Iterable[tuple[np.ndarray, tuple[int, int]]], shape: tuple[int, int]
) -> np.ndarray:
    """sAUC's ``otherMap``: the union of other images' fixated pixels, as a bool map of ``shape``.

    Each other image's (row, col) points (from `fixation_coords`) are rescaled by pixel centres
    to ``shape``: ``floor((r + 0.5) · H / h)``.
    """
    rows, cols = shape
    out = np.zeros(shape, dtype=bool)
    for coords, (h, w) in others:
        if coords.size == 0:
            continue
        r = np.minimum(((coords[:, 0] + 0.5) * rows / h).astype(np.intp), rows - 1)
        c = np.minimum(((coords[:, 1] + 0.5) * cols / w).astype(np.intp), cols - 1)
        out[r, c] = True
    return out


def pick_others(n_images: int, index: int, m: int = 10, seed: int = 0) -> list[int]:
    """Indices of ``m`` other images (never ``index`` itself) for image ``index``'s sAUC
    negatives, drawn without replacement with a per-image seed (all others if fewer)."""
    pool = np.array([i for i in range(n_images) if i != index], dtype=np.intp)
    if pool.size <= m:
        return pool.tolist()
    rng = np.random.default_rng([int(seed), int(index)])
    return sorted(rng.choice(pool, size=m, replace=False).tolist())
