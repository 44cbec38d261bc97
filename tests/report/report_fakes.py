"""A fake but realistic run tree for the report tests: a tiny params file, real prepared
synthetic datasets, and per run the files the pipeline writes (scores.csv and metrics.json with
the metrics' own writers, summary.json with the trainer's, dvclive/ with the trainer's DVCLive
logger, preview.npz in the evaluate stage's format). Scores are a known function of (loss,
seed, image), so the tests can recompute every mean and interval independently.
"""

from __future__ import annotations

import copy
import math
import shutil
from pathlib import Path

import numpy as np
import yaml

REFERENCE = Path(__file__).resolve().parents[2] / "results" / "paper_reference"
METRICS = ["CC", "SIM", "AUC-J", "AUC-B", "NSS", "EMD", "KL"]

# Loss ids deliberately differ from the paper's names; `lc1` is written non-canonically.
LOSSES = {
    "mse": "mse",
    "sig55": "sigmse(lam=0.55)",
    "kld": "kld",
    "lc1": "10 * kld-2*cc - nss",
    "odd": "mse + r",  # not in the paper
    "wmse": "wmse",
    "lc1r": "-2*cc + 10*kld - nss + r",  # the paper's LC 1, terms in another order
    "lc2": "10*kld - 2*cc - nss + df + gm + sigmse(lam=0.55) + r",
}
GRID = {
    "table2": {"datasets": ["mit1003"], "archs": ["baseline"],
               "losses": ["mse", "sig55", "kld", "lc1", "odd"]},
    "table3": {"datasets": ["cat2000"], "archs": ["baseline"],
               "losses": ["wmse", "lc1r", "lc2"]},
    "table4": {"datasets": ["mit1003"], "archs": ["sam_vgg"],
               "losses": ["wmse", "lc1r", "lc2"]},
}
# Per-loss base scores. CC (higher is better): lc1 > sig55 > kld > mse > odd.
# KL (lower is better): kld < sig55 < lc1 < mse < odd.
BASE = {
    "mse": {"CC": 0.50, "KL": 0.90},
    "sig55": {"CC": 0.60, "KL": 0.70},
    "kld": {"CC": 0.55, "KL": 0.50},
    "lc1": {"CC": 0.70, "KL": 0.80},
    "odd": {"CC": 0.40, "KL": 1.00},
    "wmse": {"CC": 0.45, "KL": 1.10},
    "lc1r": {"CC": 0.65, "KL": 0.60},
    "lc2": {"CC": 0.68, "KL": 0.65},
}
SEED_SHIFT = {0: 0.0, 1: 0.013}


def params(data_dir: Path, results_dir: Path, seeds: tuple[int, ...] = (0, 1),
           grid: dict | None = None) -> dict:
    """The tiny preset as a params mapping."""
    synth = {"n_images": 40, "long_side": 64}  # 8 train, 4 val, 28 test images
    return {
        "preset": "tiny",
        "description": "report test preset",
        "seeds": list(seeds),
        "device": "cpu",
        "backbone_weights": "none",
        "data_dir": str(data_dir),
        "results_dir": str(results_dir),
        "datasets": {
            "mit1003": {"loader": "synthetic", "root": str(data_dir / "raw" / "mit1003"),
                        "options": {**synth, "blur": 0.04},
                        "split": "8,4,rest"},
            "cat2000": {"loader": "synthetic", "root": str(data_dir / "raw" / "cat2000"),
                        "options": {**synth, "weight_center": 0.5, "weight_objects": 0.45},
                        "split": "8,4,rest"},
        },
        "archs": {
            "baseline": {"input_size": [48, 64]},
            "sam_vgg": {"input_size": [48, 64], "train": {"optimizer": "rmsprop"}},
        },
        "losses": dict(LOSSES),
        "grid": copy.deepcopy(grid or GRID),
        "evaluation": {"split": "test", "metrics": METRICS},
        "report": {"figure3_losses": ["mse", "kld", "lc1"], "figure3_images": 2,
                   "figure4_group": "table4", "reference": str(REFERENCE)},
    }


def trim(content: dict) -> dict:
    """Drop datasets, archs and losses no grid group uses (the params schema refuses them)."""
    used = {axis: {v for g in content["grid"].values() for v in g[axis]}
            for axis in ("datasets", "archs", "losses")}
    out = dict(content)
    for axis in ("datasets", "archs"):
        out[axis] = {k: v for k, v in content[axis].items() if k in used[axis]}
    keep = used["losses"] | set(content["report"].get("figure3_losses", []))
    out["losses"] = {k: v for k, v in content["losses"].items() if k in keep}
    return out


def write_params(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(trim(content), sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path


def prepare(cfg) -> None:
    """Prepare every dataset of `cfg` (real code path; skipped when already there)."""
    from salloss.data import prepare_dataset
    from salloss.pipeline.plan import input_sizes, prepared_dir

    for key, d in cfg.datasets.items():
        prepare_dataset(d.loader, d.root, prepared_dir(cfg, key),
                        input_sizes=input_sizes(cfg, key), split=d.split, seed=d.split_seed,
                        **d.options)


def score_value(loss: str, seed: int, metric: str, k: int) -> float:
    """The fake score of image number k (in test-split order)."""
    code = sum(map(ord, loss))
    base = BASE[loss].get(metric, 0.3 + 0.002 * (code % 97) + 0.01 * METRICS.index(metric))
    sign = 1.0 if metric not in ("EMD", "KL") else -1.0
    return base + sign * SEED_SHIFT[seed] + 0.02 * math.sin(1.7 * k + code)


def scores(cfg, run) -> tuple[list[str], list[dict]]:
    """The per-image rows of a run (one NaN NSS on the first image of `mse`, as MIT gives for
    an image without fixations)."""
    from salloss.data import PreparedDataset
    from salloss.pipeline.plan import prepared_dir

    prepared = PreparedDataset(prepared_dir(cfg, run.dataset))
    ids = prepared.split["test"]
    rows = []
    for k, image_id in enumerate(ids):
        row = {"id": image_id}
        for m in METRICS:
            row[m] = score_value(run.loss, run.seed, m, k)
        if run.loss == "mse" and k == 0:
            row["NSS"] = math.nan
        rows.append(row)
    return ids, rows


def history(loss: str, seed: int, epochs: int = 4) -> list[dict]:
    """A trainer history: decreasing train/val loss."""
    out = []
    for e in range(1, epochs + 1):
        val = 1.0 / e + 0.05 * seed + (0.2 if e == epochs else 0.0)
        out.append({"epoch": e, "train_loss": 2.0 / e, "val_loss": val, "lr": 1e-3,
                    "train_terms": {loss: 2.0 / e}, "val_terms": {loss: val}})
    return out


def train_summary(cfg, run, hist: list[dict]) -> dict:
    """summary.json content, built by the trainer's own `build_summary`."""
    from salloss.training.summary import build_summary

    best = min(hist, key=lambda h: h["val_loss"])
    state = {
        "history": hist, "best_epoch": best["epoch"], "best_val": best["val_loss"],
        "epoch": len(hist), "finished": True, "stopped_by": "early_stopping",
        "stop_reason": "early stopping: no validation improvement for 1 epoch(s)",
        "wall_time_s": 1.5, "resumes": 0, "devices": ["cpu"],
        "config": {"arch": cfg.archs[run.arch].model, "input_size": [48, 64], "amp": "off"},
        "meta": {"loss": cfg.losses[run.loss], "loss_id": run.loss, "loss_terms": {},
                 "activation": "relu", "weights": "none", "dataset": run.dataset,
                 "train_images": 8, "val_images": 4, "output_size": [48, 64],
                 "trainable_parameters": 1, "feature_cache": None},
    }
    return build_summary(state)


def write_preview(cfg, run, ids: list[str]) -> None:
    """preview.npz as the evaluate stage writes it: float16 maps at original size."""
    from salloss.data import PreparedDataset
    from salloss.io import atomic_path
    from salloss.pipeline.plan import prepared_dir, run_dir

    prepared = PreparedDataset(prepared_dir(cfg, run.dataset))
    keep = ids[: cfg.report["figure3_images"]]
    arrays = {}
    for i, image_id in enumerate(keep):
        h, w = prepared.original_size(image_id)
        yy, xx = np.mgrid[0:h, 0:w]
        cx, cy = w * (0.3 + 0.1 * (sum(map(ord, run.loss)) % 4)), h * 0.5
        arrays[f"pred_{i}"] = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.05 * h * w)) \
            .astype(np.float16)
    path = run_dir(cfg, run.dataset, run.arch, run.loss, run.seed) / "preview.npz"
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, ids=np.array(keep, dtype=str), **arrays)


def write_run(cfg, run, *, dvclive: bool = True) -> None:
    """Every file of one finished, evaluated run."""
    from salloss.io import write_json
    from salloss.metrics.scoring import summarise, write_scores_csv, write_summary
    from salloss.pipeline.plan import run_dir
    from salloss.training.live import EpochLog

    folder = run_dir(cfg, run.dataset, run.arch, run.loss, run.seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids, rows = scores(cfg, run)
    write_scores_csv(rows, folder / "scores.csv", METRICS)
    write_summary(summarise(rows, METRICS), folder / "metrics.json")
    hist = history(run.loss, run.seed)
    write_json(folder / "summary.json", train_summary(cfg, run, hist))
    if dvclive:
        with EpochLog(folder / "dvclive", hist):
            pass
    write_preview(cfg, run, ids)


def write_tree(cfg, *, no_dvclive: tuple[str, ...] = ("odd",)) -> None:
    """Prepared data + every planned run's files."""
    from salloss.pipeline.plan import plan_runs

    prepare(cfg)
    for run in plan_runs(cfg):
        write_run(cfg, run, dvclive=run.loss not in no_dvclive)


def copy_tree(src_results: Path, dst_results: Path) -> None:
    shutil.copytree(src_results, dst_results)
