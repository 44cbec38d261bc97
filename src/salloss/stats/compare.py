"""Significance of a results table: paired tests of chosen model pairs, Holm per metric.

Input is what the evaluation writes per run: a per-image table ``image id → {metric: score}``
(NaN where a metric is undefined on an image). For each metric and each requested pair (A, B),
the per-image scores are aligned by id and compared with the Wilcoxon signed-rank test and the
sign-flip permutation test (`salloss.stats.paired`); the p-values of one metric's family of
pairs are then Holm-adjusted (`salloss.stats.multiple.holm`), separately for each test.
The issue-7 family is `standard_pairs`: every loss vs the MSE baseline, plus LC1 vs LC2.
"""

from __future__ import annotations

import csv
import logging
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from salloss.errors import ConfigError, DataError
from salloss.io import atomic_open
from salloss.stats.intervals import check_level
from salloss.stats.multiple import holm
from salloss.stats.paired import EXACT_MAX, permutation_test, wilcoxon_test

__all__ = [
    "Table",
    "ComparisonRow",
    "TESTS",
    "standard_pairs",
    "mean_over_seeds",
    "compare_pairs",
    "significance_marks",
    "write_rows_csv",
]

log = logging.getLogger(__name__)

Table = Mapping[str, Mapping[str, float]]
"""Per-image scores of one run: image id → {metric name: score}."""

# Which Holm-adjusted p-values must fall below alpha for a difference to count as significant.
TESTS = ("both", "wilcoxon", "permutation")


@dataclass(frozen=True)
class ComparisonRow:
    """One (metric, A vs B) comparison; differences are A − B.

    `n`: images used; `n_dropped`: images left out because A or B is NaN there; `mean_diff`:
    mean of A − B; `rank_biserial`: matched-pairs rank-biserial correlation of A − B;
    `wilcoxon_p`, `perm_p`: raw two-sided p-values; `holm_*`: Holm-adjusted within the metric's
    family of requested pairs; `significant`: the adjusted p-value(s) of the chosen test(s) are
    below `alpha`; `better`: the significantly better model given the metric's direction (None
    when not significant).
    """

    metric: str
    model_a: str
    model_b: str
    n: int
    n_dropped: int
    mean_diff: float
    rank_biserial: float
    wilcoxon_p: float
    perm_p: float
    holm_wilcoxon_p: float
    holm_perm_p: float
    significant: bool
    better: str | None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for JSON/CSV)."""
        return asdict(self)


def standard_pairs(models: Sequence[str], baseline: str = "mse",
                   extra: Sequence[tuple[str, str]] = (("lc1", "lc2"),)) -> list[tuple[str, str]]:
    """The comparison family: (model, baseline) for every other model, in `models` order, then
    each `extra` pair whose two models are both present (absent ones are skipped, logged).
    Raises `ConfigError` if `baseline` is not among `models`."""
    models = list(models)
    if baseline not in models:
        raise ConfigError(f"baseline {baseline!r} is not among the compared models: {models}")
    pairs = [(m, baseline) for m in models if m != baseline]
    for a, b in extra:
        if a in models and b in models:
            if (a, b) not in pairs and (b, a) not in pairs:
                pairs.append((a, b))
        else:
            log.info("pair %s vs %s skipped: not both among %s", a, b, models)
    return pairs


def mean_over_seeds(tables: Sequence[Table]) -> dict[str, dict[str, float]]:
    """Per-image, per-metric mean over several seeds' tables of one model (NaN seeds ignored;
    NaN if every seed is NaN). The seeds must cover the same image ids and metrics."""
    if not tables:
        raise DataError("mean_over_seeds needs at least one table")
    ids = list(tables[0])
    for t in tables[1:]:
        if set(t) != set(ids):
            diff = sorted(set(t) ^ set(ids))
            raise DataError(f"seed tables cover different images (e.g. {diff[:5]})")
    out: dict[str, dict[str, float]] = {}
    for i in ids:
        metrics = list(dict.fromkeys(m for t in tables for m in t[i]))
        row = {}
        for m in metrics:
            v = np.array([t[i].get(m, math.nan) for t in tables], dtype=np.float64)
            ok = v[np.isfinite(v)]
            row[m] = float(ok.mean()) if ok.size else math.nan
        out[i] = row
    return out


def _column(table: Table, model: str, metric: str) -> dict[str, float]:
    col = {i: float(row.get(metric, math.nan)) for i, row in table.items()}
    if not any(metric in row for row in table.values()):
        raise DataError(f"model {model!r} has no scores for metric {metric!r}")
    return col


def _seed(seed: int, metric: str, a: str, b: str) -> list[int]:
    # A stable per-comparison stream: adding a pair or a metric leaves the others' p unchanged.
    return [int(seed), zlib.crc32(f"{metric}\0{a}\0{b}".encode())]


def compare_pairs(
    tables: Mapping[str, Table],
    pairs: Sequence[tuple[str, str]],
    higher_is_better: Mapping[str, bool],
    metrics: Sequence[str] | None = None,
    *,
    alpha: float = 0.05,
    test: str = "both",
    n_resamples: int = 10000,
    seed: int = 0,
    exact_max: int = EXACT_MAX,
) -> list[ComparisonRow]:
    """Paired tests of each requested pair on each metric, Holm-corrected per metric.

    `tables`: model → per-image table (image ids must match between the two models of a pair;
    for several seeds, pass `mean_over_seeds` of them). `pairs`: (A, B) tuples, differences are
    A − B. `higher_is_better`: metric → direction; `metrics` defaults to its keys, in order.
    `test` picks which Holm-adjusted p-values must be < `alpha` for ``significant``: 'both'
    (default: Wilcoxon and permutation agree), 'wilcoxon' or 'permutation'. The permutation test
    uses `n_resamples` and a seed derived from (`seed`, metric, A, B). Returns rows ordered
    metric by metric, pairs in the given order.
    """
    alpha = check_level(alpha, "alpha")
    if test not in TESTS:
        raise ConfigError(f"unknown test {test!r}; choose one of {list(TESTS)}")
    metrics = list(higher_is_better) if metrics is None else list(metrics)
    missing = [m for m in metrics if m not in higher_is_better]
    if missing:
        raise ConfigError(f"no direction (higher_is_better) for metric(s) {missing}; "
                          f"known: {list(higher_is_better)}")
    unknown = sorted({m for p in pairs for m in p} - set(tables))
    if unknown:
        raise ConfigError(f"pairs name unknown model(s) {unknown}; models with scores: "
                          f"{sorted(tables)}")
    if any(a == b for a, b in pairs):
        raise ConfigError("a pair compares a model with itself: "
                          f"{[p for p in pairs if p[0] == p[1]]}")
    rows: list[ComparisonRow] = []
    jobs = [(metric, a, b) for metric in metrics for a, b in pairs]
    raw: dict[str, list[tuple[str, str, Any, Any]]] = {m: [] for m in metrics}
    for metric, a, b in tqdm(jobs, desc="paired tests", unit="test", disable=None):
        xa, xb = _column(tables[a], a, metric), _column(tables[b], b, metric)
        try:
            w = wilcoxon_test(xa, xb)
            p = permutation_test(xa, xb, n_resamples=n_resamples,
                                 seed=_seed(seed, metric, a, b), exact_max=exact_max)
        except DataError as err:
            raise DataError(f"{metric}, {a} vs {b}: {err}") from err
        if w.n_dropped:
            log.info("%s, %s vs %s: %d image(s) dropped (NaN)", metric, a, b, w.n_dropped)
        raw[metric].append((a, b, w, p))
    for metric in metrics:
        family = raw[metric]
        hw = holm([w.pvalue for _, _, w, _ in family])
        hp = holm([p.pvalue for _, _, _, p in family])
        for (a, b, w, p), adj_w, adj_p in zip(family, hw, hp, strict=True):
            ok_w, ok_p = bool(adj_w < alpha), bool(adj_p < alpha)
            sig = {"both": ok_w and ok_p, "wilcoxon": ok_w, "permutation": ok_p}[test]
            better = None
            if sig:
                direction = w.rank_biserial if test == "wilcoxon" else w.mean_diff
                a_higher = direction > 0
                better = a if a_higher == bool(higher_is_better[metric]) else b
            rows.append(ComparisonRow(metric, a, b, w.n, w.n_dropped, w.mean_diff,
                                      w.rank_biserial, w.pvalue, p.pvalue, float(adj_w),
                                      float(adj_p), sig, better))
    return rows


def significance_marks(rows: Sequence[ComparisonRow], reference: str) -> dict[str, dict[str, int]]:
    """Which table cells differ significantly from `reference`: model → metric → +1 (the model
    is significantly better than the reference on that metric, direction-aware), −1
    (significantly worse) or 0 (not significant). Only rows comparing a model with `reference`
    are used; models never compared with it are absent."""
    marks: dict[str, dict[str, int]] = {}
    for r in rows:
        if reference not in (r.model_a, r.model_b) or r.model_a == r.model_b:
            continue
        other = r.model_b if r.model_a == reference else r.model_a
        mark = 0 if r.better is None else (1 if r.better == other else -1)
        marks.setdefault(other, {})[r.metric] = mark
    return marks


def write_rows_csv(path: str | Path, rows: Sequence[ComparisonRow]) -> Path:
    """Write the rows as CSV (one header line, the `ComparisonRow` fields), atomically."""
    names = [f.name for f in fields(ComparisonRow)]
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=names, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.as_dict().items()})
    return Path(path)
