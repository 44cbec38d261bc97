"""Reference maps we score ourselves, on the evaluated split of a dataset, with the same scoring
code as every run: the centre-bias map, a uniform map and — for data that know it (the
synthetic stand-ins) — the TRUE density, the oracle: the ceiling every loss is read against.

The centre-bias map is the mean training density (`PreparedDataset.center_bias`); the uniform
map is a constant; the oracle map of an image is its true density
(`PreparedDataset.true_density`), from which its fixations were sampled. The centre bias is
scored as a prediction is: brought to each image's original size by
`salloss.training.predict.to_original` (MATLAB bicubic, ringing clipped at 0 — without the
clip a centre bias with zero pixels beside positive ones, as a few training images give, has
negative undershoot where the density is positive, and KL is the log of a negative number:
NaN). The uniform map is made at each image's own
size, because resizing a constant leaves ~1e-16 round-off ripples that CC, SIM and NSS would
then normalise into noise. A constant map has no
variance, so CC, SIM and NSS are NaN for it under the MIT benchmark's conventions (its code
divides by a zero std); the tables print those as "n/a" rather than inventing a value.
sAUC negatives and the IG baseline are built as for every run (`salloss.training.score`).

Scores are cached under ``<results_dir>/<preset>/baselines/<dataset>/`` (outside the report
folder, which workflow tools delete before re-running the report) and reused while the
prepared data, split, metrics and map are unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from salloss.data import PreparedDataset
from salloss.errors import DataError
from salloss.io import write_json
from salloss.metrics.scoring import score_records, write_scores_csv
from salloss.pipeline.config import PipelineConfig
from salloss.pipeline.plan import prepared_dir
from salloss.report.collect import read_scores

log = logging.getLogger(__name__)

CACHE_VERSION = 4  # 3: the centre bias goes through to_original; 4: so does IG's baseline
SEED = 0  # seed of the stochastic metrics (AUC-J jitter, AUC-B sampling) for baselines
KINDS = {"center_bias": "Center-bias map", "uniform": "Uniform map",
         "oracle": "Oracle (true density)"}
ORACLE = "oracle"


def kinds_for(prepared: PreparedDataset) -> list[str]:
    """The reference maps a dataset can be scored with (the oracle only if it knows its true
    density)."""
    return [k for k in KINDS if k != ORACLE or prepared.has_true_density]


@dataclass
class Baseline:
    """Per-image scores of a baseline map on one dataset's evaluated split."""

    kind: str
    label: str
    dataset: str
    ids: list[str]
    scores: dict[str, np.ndarray]
    csv_path: Path

    def mean(self, metric: str) -> float:
        x = self.scores[metric]
        ok = x[np.isfinite(x)]
        return float(ok.mean()) if ok.size else math.nan


def baseline_cache_dir(cfg: PipelineConfig) -> Path:
    """Where baseline scores are cached: ``<results_dir>/<preset>/baselines``."""
    return Path(cfg.results_dir) / cfg.preset / "baselines"


def baseline_map(prepared: PreparedDataset, kind: str) -> np.ndarray:
    """The map scored for `kind` ('center_bias' or 'uniform'), on the centre-bias grid; for
    the per-image oracle, a stand-in map only (its images are scored at their own sizes)."""
    bias = prepared.center_bias().astype(np.float64)
    if kind == "center_bias":
        return bias
    if kind in ("uniform", ORACLE):
        return np.ones_like(bias)
    raise ValueError(f"unknown baseline {kind!r}; valid: {', '.join(KINDS)}")


def _cache_key(prepared: PreparedDataset, split: str, metrics: tuple[str, ...],
               sal: np.ndarray, kind: str, convention: str, sigma: float | None) -> str:
    content = {
        "convention": convention, "sigma": sigma,
        "version": CACHE_VERSION, "prepared": prepared.manifest.get("key"),
        "ids": prepared.split.get(split, []), "split": split, "metrics": list(metrics),
        "seed": SEED, "map": hashlib.sha256(np.ascontiguousarray(sal).tobytes()).hexdigest(),
        "kind": kind,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def score_baseline(cfg: PipelineConfig, dataset: str, kind: str, *,
                   progress: bool = True) -> Baseline:
    """Score baseline `kind` on `dataset`'s evaluated split (cached; see module docstring)."""
    from salloss.training.score import map_at, split_records

    split = cfg.evaluation["split"]
    metrics = tuple(cfg.evaluation["metrics"])
    prepared = PreparedDataset(prepared_dir(cfg, dataset))
    sal = baseline_map(prepared, kind)
    if kind == ORACLE and not prepared.has_true_density:
        raise DataError(f"{prepared.path}: dataset {dataset!r} has no true density, so it has no "
                        "oracle map")
    convention = cfg.evaluation["convention"]
    sigma = cfg.evaluation["empirical_sigma"][dataset] if convention == "tuebingen" else None
    key = _cache_key(prepared, split, metrics, sal, kind, convention, sigma)
    folder = baseline_cache_dir(cfg) / dataset
    csv_path, meta_path = folder / f"{kind}.csv", folder / f"{kind}.json"
    if csv_path.is_file() and meta_path.is_file():
        try:
            cached = json.loads(meta_path.read_text(encoding="utf-8")).get("key")
        except json.JSONDecodeError:
            cached = None
        if cached == key:
            ids, scores = read_scores(csv_path, metrics)
            log.info("baseline %s on %s: cached in %s", kind, dataset, csv_path)
            return Baseline(kind, KINDS[kind], dataset, ids, scores, csv_path)
    log.info("scoring baseline %s on %s (%s split)", kind, dataset, split)
    records = split_records(None, prepared, split, metrics, SEED, sal_override=sal,
                            convention=convention)
    if kind == "center_bias":  # brought to each image's size exactly as a prediction is
        sized: dict[tuple[int, int], np.ndarray] = {}
        records = (dataclasses.replace(r, sal=map_at(sal, r.fixations.shape, sized))
                   for r in records)
    elif kind == "uniform":  # exactly constant at each image's size: no resize round-off
        records = (dataclasses.replace(r, sal=np.ones(r.fixations.shape)) for r in records)
    elif kind == ORACLE:  # each image's own true density, at its own size
        records = (dataclasses.replace(r, sal=prepared.true_density(r.id).astype(np.float64))
                   for r in records)
    rows = score_records(records, metrics, seed=SEED, progress=progress,
                         total=len(prepared.split[split]), convention=convention, sigma=sigma)
    write_scores_csv(rows, csv_path, metrics, convention)
    write_json(meta_path, {"key": key, "kind": kind, "dataset": dataset, "split": split,
                           "metrics": list(metrics), "seed": SEED})
    ids = [r["id"] for r in rows]
    scores = {m: np.asarray([float(r[m]) for r in rows], dtype=np.float64) for m in metrics}
    return Baseline(kind, KINDS[kind], dataset, ids, scores, csv_path)
