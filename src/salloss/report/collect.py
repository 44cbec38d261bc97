"""Read every run's artefacts, for the runs the params plan (never a directory glob: outputs of
runs dropped from the grid stay on disk and must not reappear in tables).

Per run, in ``run_dir(cfg, dataset, arch, loss, seed)``:

- ``scores.csv``   per-image scores (``id`` + one column per metric; ``nan`` where undefined),
                   as written by `salloss.metrics.scoring.write_scores_csv`;
- ``metrics.json`` the summary (`salloss.metrics.scoring.write_summary`); its means must agree
                   with scores.csv, or the two files come from different evaluations;
- ``summary.json`` the trainer's run summary (`salloss.training.summary`): epochs, best epoch,
                   wall time, history;
- ``dvclive/``     per-epoch metrics (``plots/metrics/train/loss.tsv``, ``val/loss.tsv``, …);
                   without it the curves come from summary.json's history;
- ``preview.npz``  predictions at original size for the first test images (``ids`` and
                   ``pred_0``, ``pred_1``, … in that order); read only for the figures.

A missing or malformed file raises `DataError` naming it.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from salloss.errors import DataError
from salloss.pipeline.config import PipelineConfig
from salloss.pipeline.plan import Run, plan_runs, run_dir

log = logging.getLogger(__name__)

# TRAIN is the trainer's run summary (`salloss.training.loop.SUMMARY`, a train output in
# `salloss.pipeline.plan.TRAIN_OUTPUTS`); the tests check that the names agree.
SCORES, SUMMARY, TRAIN, LIVE, PREVIEW = (
    "scores.csv", "metrics.json", "summary.json", "dvclive", "preview.npz")
_REL_TOL = 1e-9

Curves = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class RunResult:
    """One run's scores and training record.

    `scores[metric]` is a float64 array aligned with `ids` (the evaluated test images);
    `curves` maps a series name ('train/loss', 'val/loss', 'train/<term>', …) to
    (epochs, values).
    """

    run: Run
    spec: str
    dir: Path
    ids: list[str]
    scores: dict[str, np.ndarray]
    train: dict[str, Any]
    curves: Curves
    inputs: list[Path] = field(default_factory=list)

    def mean(self, metric: str) -> float:
        """Mean over images where the metric is defined (NaN if none is)."""
        x = self.scores[metric]
        ok = x[np.isfinite(x)]
        return float(ok.mean()) if ok.size else math.nan

    def score_of(self, metric: str, image_id: str) -> float:
        """The per-image score of one image."""
        return float(self.scores[metric][self.ids.index(image_id)])


def _require(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"missing input of the report: {path} (run the pipeline stage that "
                        "writes it, or remove the run from the params' grid)")
    return path


def read_scores(path: Path, metrics: tuple[str, ...]) -> tuple[list[str], dict[str, np.ndarray]]:
    """ids and per-metric float arrays of a scores.csv; every metric must be a column."""
    _require(path)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [m for m in ("id", *metrics) if m not in header]
        if missing:
            raise DataError(f"{path}: no column(s) {', '.join(missing)} (columns: "
                            f"{', '.join(header) or 'none'}); re-run its evaluation with the "
                            "params' evaluation.metrics")
        ids: list[str] = []
        values: dict[str, list[float]] = {m: [] for m in metrics}
        for n, row in enumerate(reader, start=2):
            ids.append(row["id"])
            for m in metrics:
                try:
                    values[m].append(float(row[m]))
                except (TypeError, ValueError):
                    raise DataError(f"{path}, line {n}: {m} is not a number "
                                    f"({row[m]!r})") from None
    if not ids:
        raise DataError(f"{path}: no images scored")
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: duplicate image ids")
    return ids, {m: np.asarray(v, dtype=np.float64) for m, v in values.items()}


def _read_json(path: Path) -> dict[str, Any]:
    _require(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(content, dict):
        raise DataError(f"{path}: expected a JSON object")
    return content


def check_summary(path: Path, summary: dict[str, Any], scores: dict[str, np.ndarray]) -> None:
    """metrics.json must summarise the same scores as scores.csv (else one of them is stale)."""
    for metric, x in scores.items():
        entry = summary.get(metric)
        if not isinstance(entry, dict):
            raise DataError(f"{path}: no summary for metric {metric}")
        ok = x[np.isfinite(x)]
        ours = float(ok.mean()) if ok.size else math.nan
        theirs = entry.get("mean")
        theirs = math.nan if theirs is None else float(theirs)
        same = (math.isnan(ours) and math.isnan(theirs)) or math.isclose(
            ours, theirs, rel_tol=_REL_TOL, abs_tol=1e-12)
        if not same:
            raise DataError(f"{path}: {metric} mean {theirs!r} differs from the mean of "
                            f"scores.csv beside it ({ours!r}); re-run that evaluation")


def read_dvclive(folder: Path) -> Curves:
    """Every series of a DVCLive folder: 'train/loss' -> (steps, values)."""
    root = folder / "plots" / "metrics"
    curves: Curves = {}
    for tsv in sorted(root.rglob("*.tsv")):
        name = tsv.relative_to(root).with_suffix("").as_posix()
        with tsv.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            cols = reader.fieldnames or []
            column = tsv.stem if tsv.stem in cols else (cols[-1] if cols else None)
            if "step" not in cols or column is None:
                raise DataError(f"{tsv}: expected DVCLive columns 'step' and {tsv.stem!r}, "
                                f"got {cols}")
            rows = [(float(r["step"]), float(r[column])) for r in reader]
        if rows:
            steps, values = zip(*rows, strict=True)
            curves[name] = (np.asarray(steps), np.asarray(values))
    return curves


def history_curves(history: list[dict[str, Any]]) -> Curves:
    """train/val loss per epoch from a summary.json history (the fallback without DVCLive)."""
    curves: Curves = {}
    epochs = np.asarray([h["epoch"] for h in history], dtype=np.float64)
    for split in ("train", "val"):
        key = f"{split}_loss"
        if history and all(key in h for h in history):
            curves[f"{split}/loss"] = (epochs, np.asarray([h[key] for h in history], float))
    return curves


def read_run(cfg: PipelineConfig, run: Run) -> RunResult:
    """Read one run's scores, summary, training record and learning curves."""
    folder = run_dir(cfg, run.dataset, run.arch, run.loss, run.seed)
    metrics = tuple(cfg.evaluation["metrics"])
    ids, scores = read_scores(folder / SCORES, metrics)
    check_summary(folder / SUMMARY, _read_json(folder / SUMMARY), scores)
    train_path = folder / TRAIN
    train = _read_json(train_path)
    status = train.get("status", "finished")
    if status != "finished":
        raise DataError(f"{train_path}: the run is not finished (status {status!r}); finish "
                        "its training before reporting it")
    inputs = [folder / SCORES, folder / SUMMARY, train_path]
    live = folder / LIVE
    if live.is_dir():
        curves = read_dvclive(live)
        inputs.append(live)
    else:
        curves = history_curves(train.get("history") or [])
    if "train/loss" not in curves and "val/loss" not in curves:
        raise DataError(f"no learning curve for run {folder}: neither {live} (DVCLive) nor a "
                        f"history in {train_path}")
    return RunResult(run, cfg.losses[run.loss], folder, ids, scores, train, curves, inputs)


def collect_runs(cfg: PipelineConfig, *, progress: bool = True) -> list[RunResult]:
    """Every planned run's results, in plan order; runs of one dataset must have been scored
    on the same images (else their means are not comparable)."""
    runs = plan_runs(cfg)
    results = [read_run(cfg, r) for r in tqdm(runs, desc="read runs", unit="run",
                                                 disable=not progress)]
    first: dict[str, RunResult] = {}
    for res in results:
        ref = first.setdefault(res.run.dataset, res)
        if set(res.ids) != set(ref.ids):
            raise DataError(f"{res.dir / SCORES} and {ref.dir / SCORES} score different images "
                            f"of dataset {res.run.dataset!r} ({len(res.ids)} vs {len(ref.ids)}); "
                            "re-run the stale evaluation")
    log.info("read %d runs", len(results))
    return results


def read_preview(path: Path) -> dict[str, np.ndarray]:
    """A run's preview predictions: image id -> float32 map at the image's original size."""
    _require(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            ids = [str(i) for i in npz["ids"]]
            return {i: np.asarray(npz[f"pred_{k}"], dtype=np.float32)
                    for k, i in enumerate(ids)}
    except (KeyError, ValueError, OSError) as exc:
        raise DataError(f"{path}: not a preview file with 'ids' and pred_0, pred_1, … "
                        f"({exc})") from None
