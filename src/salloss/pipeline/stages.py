"""One function per pipeline stage. Snakemake rules and DVC stages call these through
`salloss run STAGE --params FILE ...`: every setting comes from the validated params file, so a
job's command line only names WHICH job it is, and both tools run identical commands."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from salloss.errors import ConfigError
from salloss.io import atomic_path, write_json
from salloss.pipeline import plan
from salloss.pipeline.config import PipelineConfig

log = logging.getLogger(__name__)


def prepare(cfg: PipelineConfig, dataset: str) -> Path:
    """Fetch the dataset if needed (download, verify checksums, unpack; a no-op when its
    archives are already there), then prepare it: resized stimuli for every arch's input size,
    the split, the center bias and Figure 2."""
    from salloss.data import prepare_dataset
    from salloss.data.fetch import fetch as fetch_dataset

    d = _dataset(cfg, dataset)
    if d.fetch:
        fetch_dataset(d.loader, d.root)
    out = plan.prepared_dir(cfg, dataset)
    prepare_dataset(
        d.loader, d.root, out, input_sizes=plan.input_sizes(cfg, dataset), split=d.split,
        seed=d.split_seed, center_bias_size=d.center_bias_size, options=d.options,
    )
    return out


def features(cfg: PipelineConfig, dataset: str, arch: str) -> Path:
    """Cache the frozen backbone features of `dataset` at `arch`'s input size."""
    from salloss.training.features import compute_features

    a = _arch(cfg, arch)
    _dataset(cfg, dataset)
    out = plan.features_dir(cfg, dataset, arch)
    if not plan.uses_feature_cache(cfg, arch):
        log.info("%s (%s) trains its backbone: no feature cache, writing a marker", arch, a.model)
        write_json(out / "manifest.json", {"frozen_backbone": False, "arch": a.model})
        return out
    compute_features(
        plan.prepared_dir(cfg, dataset), out, input_size=a.input_size,
        weights=cfg.backbone_weights, arch=a.model, device=cfg.device,
        batch_size=min(int(a.train.get("batch_size", 16)), 64),
    )
    return out


def train_config(cfg: PipelineConfig, arch: str, loss: str, seed: int) -> dict[str, Any]:
    """The trainer's config of one run (TrainConfig fields) from the params."""
    a = _arch(cfg, arch)
    if loss not in cfg.losses:
        raise ConfigError(f"unknown loss id {loss!r}; valid choices: {', '.join(cfg.losses)}")
    return {**a.train, "arch": a.model, "loss": cfg.losses[loss], "seed": seed,
            "weights": cfg.backbone_weights, "input_size": list(a.input_size),
            "model_options": dict(a.model_options), "device": cfg.device}


def train(cfg: PipelineConfig, dataset: str, arch: str, loss: str, seed: int) -> dict[str, Any]:
    """Train one run (resumes from its checkpoint; a finished run is a no-op).

    A checkpoint left by a DIFFERENT config (the params changed since) is discarded, with a log
    line: the job's outputs must reflect the current params.
    """
    from salloss.training.loop import train as train_run

    _dataset(cfg, dataset)
    rd = plan.run_dir(cfg, dataset, arch, loss, seed)
    ckpt_dir = plan.checkpoint_dir(cfg, dataset, arch, loss, seed)
    config = train_config(cfg, arch, loss, seed)
    feats = plan.features_dir(cfg, dataset, arch) if plan.uses_feature_cache(cfg, arch) else None
    kwargs = dict(checkpoint=ckpt_dir / "last.pt", live_dir=rd / "dvclive",
                  targets_cache=plan.prepared_dir(cfg, dataset) / "targets")
    try:
        return train_run(config, plan.prepared_dir(cfg, dataset), rd, feats, **kwargs)
    except ConfigError as exc:
        if "checkpoint" not in str(exc) or not ckpt_dir.exists():
            raise
        log.warning("discarding checkpoint %s: it was written for other settings (%s)",
                    ckpt_dir, exc)
        shutil.rmtree(ckpt_dir)
        return train_run(config, plan.prepared_dir(cfg, dataset), rd, feats, **kwargs)


def evaluate(cfg: PipelineConfig, dataset: str, arch: str, loss: str, seed: int) -> Path:
    """Predict the evaluation split at original resolution, score it (per-image CSV + summary)
    and keep the first few predictions (`preview.npz`) for the report's figures."""
    from salloss.data import PreparedDataset
    from salloss.training.predict import predict_split
    from salloss.training.score import score_predictions

    rd = plan.run_dir(cfg, dataset, arch, loss, seed)
    split = cfg.evaluation["split"]
    prepared = plan.prepared_dir(cfg, dataset)
    feats = plan.features_dir(cfg, dataset, arch) if plan.uses_feature_cache(cfg, arch) else None
    with tempfile.TemporaryDirectory(prefix=".predictions-", dir=rd) as tmp:
        ids = predict_split(rd, prepared, split, tmp, features_cache=feats, device=cfg.device)
        score_predictions(tmp, prepared, split, rd / "scores.csv", rd / "metrics.json",
                          metrics=list(cfg.evaluation["metrics"]), seed=seed)
        _write_preview(Path(tmp), ids[: cfg.report["figure3_images"]], rd / "preview.npz")
    PreparedDataset(prepared)  # fail loudly here if the cache vanished meanwhile
    return rd


def _write_preview(pred_dir: Path, ids: list[str], path: Path) -> None:
    from salloss.training.predict import prediction_path

    arrays = {f"pred_{i}": np.load(prediction_path(pred_dir, image_id))
              for i, image_id in enumerate(ids)}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, ids=np.array(ids, dtype=str), **arrays)


def report(cfg: PipelineConfig) -> dict[str, Any]:
    """Tables and figures of the preset (see `salloss.report`); returns report.json's content."""
    from salloss.report import build_report

    return build_report(cfg)


def _dataset(cfg: PipelineConfig, key: str):
    if key not in cfg.datasets:
        raise ConfigError(f"unknown dataset {key!r}; valid choices: {', '.join(cfg.datasets)}")
    return cfg.datasets[key]


def _arch(cfg: PipelineConfig, key: str):
    if key not in cfg.archs:
        raise ConfigError(f"unknown arch {key!r}; valid choices: {', '.join(cfg.archs)}")
    return cfg.archs[key]
