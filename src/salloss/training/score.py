"""Score a predictions folder (`salloss predict`) against a prepared dataset split with the
MIT-benchmark metrics of `salloss.metrics` (per-image CSV + summary).

Ground truth is the ORIGINAL-resolution density and fixation map of each image. Beyond the
paper's seven metrics, ``sAUC`` takes its negatives from 10 other images of the same split and
``IG`` uses the dataset's centre-bias map (training split) as its baseline, brought to each
image's size as a prediction is (`salloss.training.predict.to_original`).

``convention='tuebingen'`` scores the same predictions the MIT/Tübingen benchmark's way
(`salloss.metrics.tuebingen_scoring`): the ground truth is the split's fixations (their
empirical map blurred with ``sigma`` px), and sAUC's negatives are every fixation of every other
image of the split.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from salloss.errors import ConfigError
from salloss.training.predict import load_prediction, to_original


def map_at(sal: np.ndarray, shape: tuple[int, int],
           cache: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
    """`to_original(sal, shape)`, computed once per image size (`cache`: size -> map): one
    fixed map (the centre bias) for a whole split, e.g. 1,000 CAT2000 images of one size."""
    key = (int(shape[0]), int(shape[1]))
    if key not in cache:
        cache[key] = to_original(sal, key)
        cache[key].flags.writeable = False  # shared by every image of that size
    return cache[key]


def split_records(
    pred_dir: str | Path, dataset: Any, split: str, metrics: Sequence[str], seed: int = 0,
    sal_override: np.ndarray | None = None, convention: str = "mit",
) -> Iterator[Any]:
    """Lazily yield one `salloss.metrics.Record` per image of ``split`` (maps loaded one at a
    time). ``sal_override``: score this map for every image instead (e.g. the centre bias)."""
    rows = [int(r) for r in dataset.split_indices(split)]
    if convention == "tuebingen":
        yield from _tuebingen_records(pred_dir, dataset, rows, metrics, sal_override)
        return
    from salloss.metrics.scoring import Record, fixation_coords, pick_others, shuffled_negatives

    coords = None
    if "sAUC" in metrics:
        coords = [fixation_coords(dataset.fixation_map(r)) for r in rows]
    bias = dataset.center_bias().astype(np.float64) if "IG" in metrics else None
    sized: dict[tuple[int, int], np.ndarray] = {}
    for k, row in enumerate(rows):
        image_id = dataset.ids[row]
        sal = sal_override if sal_override is not None else load_prediction(pred_dir, image_id)
        other = None
        if coords is not None:
            others = [coords[j] for j in pick_others(len(rows), k, seed=seed)]
            other = shuffled_negatives(others, dataset.original_size(row))
        # IG's baseline: the centre bias at the image's size the way every prediction gets
        # there (to_original: bicubic ringing clipped at 0, as MIT's uint8 baseline images
        # are), so the centre-bias reference row scores IG 0 against itself
        baseline = None if bias is None else map_at(bias, dataset.original_size(row), sized)
        yield Record(image_id, sal, density=dataset.density(row),
                     fixations=dataset.fixation_map(row), other_fixations=other,
                     baseline=baseline)


def _tuebingen_records(pred_dir: str | Path, dataset: Any, rows: list[int],
                       metrics: Sequence[str], sal_override: np.ndarray | None) -> Iterator[Any]:
    from salloss.metrics.scoring import Record
    from salloss.metrics.tuebingen import shuffled_nonfixations

    points = shapes = None
    if "sAUC" in metrics:
        points = [tuple(dataset.fixations(r).T) for r in rows]
        shapes = [dataset.original_size(r) for r in rows]
    for k, row in enumerate(rows):
        image_id = dataset.ids[row]
        sal = sal_override if sal_override is not None else load_prediction(pred_dir, image_id)
        other = None if points is None else shuffled_nonfixations(k, points, shapes)
        yield Record(image_id, sal, fixations=dataset.fixation_map(row), other_points=other)


def score_predictions(
    pred_dir: str | Path | None,
    prepared_dir: str | Path,
    split: str,
    csv_path: str | Path | None = None,
    summary_path: str | Path | None = None,
    *,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
    progress: bool = True,
    sal_override: np.ndarray | None = None,
    convention: str = "mit",
    sigma: float | None = None,
) -> dict[str, Any]:
    """Score every image of ``split``; write the per-image CSV and the summary (JSON if the
    path ends in .json, else CSV) when paths are given; return ``{"rows", "summary", ...}``.

    ``convention``: ``mit`` or ``tuebingen`` (module doc); ``sigma``: the Tübingen empirical
    map's σ in px (default: `salloss.metrics.tuebingen_scoring.benchmark_sigma` of the
    dataset's loader).

    A missing prediction raises `DataError` naming the file (never a silent skip).
    """
    from salloss.data import PreparedDataset
    from salloss.metrics import score_records, summarise, write_scores_csv
    from salloss.metrics.scoring import check_metric_names, default_metrics, write_summary

    names = check_metric_names(list(metrics) if metrics else list(default_metrics(convention)),
                               convention)
    dataset = PreparedDataset(prepared_dir)
    if convention == "tuebingen" and sigma is None:
        from salloss.metrics.tuebingen_scoring import benchmark_sigma

        key = dataset.manifest["key"]
        sigma = benchmark_sigma(key["dataset"], key.get("options"))
    if split not in dataset.split or not dataset.split[split]:
        raise ConfigError(f"dataset {dataset.name!r} has no images in split {split!r}; "
                          f"splits: {', '.join(k for k, v in dataset.split.items() if v)}")
    if pred_dir is None and sal_override is None:
        raise ConfigError("give a predictions folder")
    records = split_records(pred_dir, dataset, split, names, seed, sal_override, convention)
    rows = score_records(records, names, seed=seed, progress=progress,
                         total=len(dataset.split[split]), convention=convention, sigma=sigma)
    summary = summarise(rows, names, convention)
    if csv_path is not None:
        write_scores_csv(rows, csv_path, names, convention)
    if summary_path is not None:
        write_summary(summary, summary_path)
    return {"dataset": dataset.name, "split": split, "n_images": len(rows),
            "convention": convention, "sigma": sigma,
            "mean": {k: v["mean"] for k, v in summary.items()}, "summary": summary,
            "rows": rows}
