"""One function per pipeline stage. Snakemake rules and DVC stages call these through
`salloss run STAGE --params FILE ...`: every setting comes from the validated params file, so a
job's command line only names WHICH job it is, and both tools run identical commands."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from salloss.errors import ConfigError
from salloss.io import write_json, write_npz
from salloss.pipeline import plan
from salloss.pipeline.config import PipelineConfig

log = logging.getLogger(__name__)

CPU_FEATURE_BATCH = 16  # at most this many images per VGG pass of the feature cache on a CPU


def fetch(cfg: PipelineConfig, dataset: str) -> Path:
    """Bring the raw dataset into its `root` — the fetch stage's output, so `dvc.lock` records
    the checksums of the raw data a result came from: download, verify and unpack it
    (``fetch``; a no-op when its archives are already unpacked there), generate it (the
    ``synthetic`` loader, or ``synthesize`` for a rehearsal in a real layout; seeded, so the
    same bytes on every machine) — or, for data the user provides, only check that the
    loader can read it. Then open it with its loader, so a broken layout fails here."""
    from salloss.data import open_dataset
    from salloss.data.fetch import fetch as fetch_dataset

    d = _dataset(cfg, dataset)
    if d.synthesize is not None:
        from salloss.data.synthlayout import synthesize

        threads = os.environ.get("OMP_NUM_THREADS")  # `salloss run --threads N`
        synthesize(d.loader, d.root, n=d.synthesize,
                   workers=int(threads) if threads else os.cpu_count() or 1)
    elif d.fetch:
        fetch_dataset(d.loader, d.root)
    elif d.loader != "synthetic" and not Path(d.root).is_dir():
        raise ConfigError(
            f"datasets.{dataset}.root: {d.root} does not exist, and salloss neither downloads "
            f"nor generates {d.loader!r} data (fetch: false): put the dataset there or fix "
            "`root`")
    opened = open_dataset(d.loader, d.root, **d.options)  # the synthetic loader generates
    log.info("dataset %s: %d images in %s", dataset, len(opened), d.root)
    return Path(d.root)


def prepare(cfg: PipelineConfig, dataset: str) -> Path:
    """Prepare a fetched dataset (the fetch stage's `root`): resized stimuli for every arch's
    input size, the split, the center bias and Figure 2."""
    from salloss.data import prepare_dataset

    d = _dataset(cfg, dataset)
    if not Path(d.root).is_dir():
        raise ConfigError(f"dataset {dataset!r}: no raw data in {d.root}; run its fetch stage "
                          f"first (`salloss run fetch --dataset {dataset}`)")
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
    if not plan.runs_on(cfg, dataset, arch):
        # the job exists for every (dataset, arch) pair (one DVC matrix); computing a cache no
        # run reads would cost, e.g., ~13 MB per CAT2000 image for a ResNet-50 encoder
        log.info("no run trains %s on %s: no feature cache, writing a marker", arch, dataset)
        write_json(out / "manifest.json", {"frozen_backbone": True, "arch": a.model,
                                           "unused": True})
        return out
    from salloss.training.modelio import resolve_device

    # A GPU takes the training batch (up to 64); on a CPU a big batch only costs memory
    # (VGG-16's first activations at 300×400 are 61 MB per image).
    cap = 64 if resolve_device(cfg.device).type == "cuda" else CPU_FEATURE_BATCH
    compute_features(
        plan.prepared_dir(cfg, dataset), out, input_size=a.input_size,
        weights=cfg.backbone_weights, arch=a.model, options=a.model_options, device=cfg.device,
        batch_size=min(int(a.train.get("batch_size", 16)), cap),
    )
    return out


def train_config(cfg: PipelineConfig, arch: str, loss: str, seed: int, *,
                 spec: str | None = None) -> dict[str, Any]:
    """The trainer's config of one run (TrainConfig fields) from the params; `spec` replaces
    the loss id's spec (sweep candidates)."""
    a = _arch(cfg, arch)
    if spec is None and loss not in cfg.losses:
        raise ConfigError(f"unknown loss id {loss!r}; valid choices: {', '.join(cfg.losses)}")
    return {**a.train, "arch": a.model, "loss": spec or cfg.losses[loss], "seed": seed,
            "weights": cfg.backbone_weights, "input_size": list(a.input_size),
            "model_options": dict(a.model_options), "device": cfg.device}


def train(cfg: PipelineConfig, dataset: str, arch: str, loss: str, seed: int) -> dict[str, Any]:
    """Train one run (resumes from its checkpoint; a finished run is a no-op).

    A checkpoint left by a DIFFERENT config (the params changed since) is discarded, with a log
    line: the job's outputs must reflect the current params.
    """
    _dataset(cfg, dataset)
    rd = plan.run_dir(cfg, dataset, arch, loss, seed)
    return train_into(cfg, dataset, arch, train_config(cfg, arch, loss, seed), rd)


def train_into(cfg: PipelineConfig, dataset: str, arch: str, config: dict[str, Any],
               rd: Path) -> dict[str, Any]:
    """Train `config` on `dataset` into run folder `rd` (checkpoint in rd/checkpoint)."""
    from salloss.training.loop import train as train_run

    ckpt_dir = rd / "checkpoint"
    feats = plan.features_dir(cfg, dataset, arch) if plan.uses_feature_cache(cfg, arch) else None
    kwargs = dict(checkpoint=ckpt_dir / "last.pt", live_dir=rd / "dvclive",
                  targets_cache=plan.targets_dir(cfg, dataset))
    try:
        summary = train_run(config, plan.prepared_dir(cfg, dataset), rd, feats, **kwargs)
    except ConfigError as exc:
        if "belongs to a run with other settings" not in str(exc) or not ckpt_dir.exists():
            raise
        log.warning("discarding checkpoint %s: it was written for other settings (%s)",
                    ckpt_dir, exc)
        shutil.rmtree(ckpt_dir)
        summary = train_run(config, plan.prepared_dir(cfg, dataset), rd, feats, **kwargs)
    if not kwargs["live_dir"].exists():
        # A finished run restarted (e.g. Snakemake reran an interrupted job and deleted its
        # declared outputs) is a no-op for the trainer, which rewrites model.pt and
        # summary.json from the checkpoint; rebuild the DVCLive folder from the history too.
        from salloss.training.live import EpochLog

        with EpochLog(kwargs["live_dir"], summary.get("history") or []):
            pass
    return summary


def evaluate(cfg: PipelineConfig, dataset: str, arch: str, loss: str, seed: int) -> Path:
    """Predict the evaluation split at original resolution, score it (per-image CSV + summary,
    in the params' convention), score the same predictions in both conventions
    (`conventions.json`) and keep the first few predictions (`preview.npz`) for the figures."""
    rd = plan.run_dir(cfg, dataset, arch, loss, seed)
    score_run(cfg, dataset, arch, rd, cfg.evaluation["split"], rd / "scores.csv",
              rd / "metrics.json", seed=seed, preview=rd / "preview.npz",
              conventions=rd / "conventions.json")
    return rd


def score_run(cfg: PipelineConfig, dataset: str, arch: str, rd: Path, split: str,
              csv_path: Path, summary_path: Path | None, *, seed: int,
              metrics: list[str] | None = None, preview: Path | None = None,
              conventions: Path | None = None) -> dict[str, Any]:
    """Predict `split` with the trained run in `rd` and score it in the params' convention
    (per-image CSV, and the summary file when `summary_path` is given); `conventions`: also
    write both conventions' summaries there (`conventions_summary`). Returns
    `score_predictions`' result."""
    from salloss.metrics.scoring import registry
    from salloss.training.predict import predict_split
    from salloss.training.score import score_predictions

    prepared = plan.prepared_dir(cfg, dataset)
    feats = plan.features_dir(cfg, dataset, arch) if plan.uses_feature_cache(cfg, arch) else None
    convention = cfg.evaluation["convention"]
    sigma = cfg.evaluation["empirical_sigma"][dataset]
    with tempfile.TemporaryDirectory(prefix=".predictions-", dir=csv_path.parent) as tmp:
        ids = predict_split(rd, prepared, split, tmp, features_cache=feats, device=cfg.device)
        result = score_predictions(tmp, prepared, split, csv_path, summary_path,
                                   metrics=metrics or list(cfg.evaluation["metrics"]), seed=seed,
                                   convention=convention, sigma=sigma)
        if conventions is not None:
            other = "tuebingen" if convention == "mit" else "mit"
            second = score_predictions(tmp, prepared, split, metrics=list(registry(other)),
                                       seed=seed, convention=other, sigma=sigma)
            write_json(conventions, conventions_summary(
                dataset, {convention: result, other: second}, sigma))
        if preview is not None:
            _write_preview(Path(tmp), ids[: cfg.report["figure3_images"]], preview)
    return result


def conventions_summary(dataset: str, results: dict[str, dict[str, Any]],
                        sigma: float) -> dict[str, Any]:
    """``conventions.json``: one run's test predictions scored in both conventions —
    ``{"dataset", "split", "n_images", "empirical_sigma_px", "mit": summary, "tuebingen":
    summary}``, each summary as in metrics.json (`salloss.metrics.scoring.summary_json`)."""
    from salloss.metrics.scoring import summary_json

    first = next(iter(results.values()))
    return {"dataset": dataset, "split": first["split"], "n_images": first["n_images"],
            "empirical_sigma_px": sigma,
            **{c: summary_json(results[c]["summary"]) for c in ("mit", "tuebingen")}}


def _write_preview(pred_dir: Path, ids: list[str], path: Path) -> None:
    from salloss.training.predict import prediction_path

    arrays = {f"pred_{i}": np.load(prediction_path(pred_dir, image_id))
              for i, image_id in enumerate(ids)}
    write_npz(path, ids=np.array(ids, dtype=str), **arrays)


def sweep_train(cfg: PipelineConfig, sweep: str, candidate: int) -> dict[str, Any]:
    """Train one sweep candidate (train split, early stopping on val) at the sweep's OWN seed
    (`sweeps.<id>.seed`, which also draws the coefficients), not at a seed of `seeds`: the
    selection's training noise is then independent of the trainings the tables report
    (`sweep_seed`), so the winner's row carries no winner's-curse bias — as long as the
    sweep's seed is not one of `seeds`."""
    from salloss.pipeline import sweep as sw

    s = _sweep(cfg, sweep, candidate)
    config = train_config(cfg, s.arch, "", s.seed, spec=sw.spec_of(s, candidate))
    return train_into(cfg, s.dataset, s.arch, config, plan.candidate_dir(cfg, sweep, candidate))


def sweep_validate(cfg: PipelineConfig, sweep: str, candidate: int) -> Path:
    """Score one candidate on the VALIDATION split (the search never reads the test split)."""
    from salloss.pipeline import sweep as sw

    s = _sweep(cfg, sweep, candidate)
    cd = plan.candidate_dir(cfg, sweep, candidate)
    result = score_run(cfg, s.dataset, s.arch, cd, "val", cd / "val_scores.csv", None,
                       seed=s.seed)
    write_json(cd / "val_metrics.json", {
        "sweep": sweep, "candidate": candidate, "spec": sw.spec_of(s, candidate),
        "split": result["split"], "n_images": result["n_images"], "metrics": result["summary"]})
    return cd


def sweep_select(cfg: PipelineConfig, sweep: str) -> Path:
    """Pick the candidate with the best validation `select` score; write best.json."""
    from salloss.pipeline import sweep as sw

    path = plan.sweep_dir(cfg, sweep) / "best.json"
    write_json(path, sw.select_best(cfg, _sweep(cfg, sweep)))
    return path


def sweep_seed(cfg: PipelineConfig, sweep: str, seed: int) -> dict[str, Any]:
    """Train the selected spec (best.json) at `seed`, one of the params' `seeds`, on the
    sweep's dataset and arch (train split, early stopping on val) into
    ``sweeps/<id>/seeds/seed<s>/`` — resumable like every training. These trainings, not the
    candidates, are the winner's row in the report: one result per seed, like every run."""
    s = _sweep(cfg, sweep, seed=seed)
    best = _best(cfg, sweep, f"`salloss run sweep_seed --sweep {sweep} --seed {seed}`")
    config = train_config(cfg, s.arch, "", seed, spec=best["spec"])
    return train_into(cfg, s.dataset, s.arch, config, plan.sweep_seed_dir(cfg, sweep, seed))


def sweep_test(cfg: PipelineConfig, sweep: str, seed: int) -> Path:
    """Score the selected spec's seed-`seed` model (`sweep_seed`) once on the TEST split: one
    result of the sweep's row in the report."""
    import json

    from salloss.errors import DataError

    s = _sweep(cfg, sweep, seed=seed)
    best = _best(cfg, sweep, f"`salloss run sweep_test --sweep {sweep} --seed {seed}`")
    sd = plan.sweep_seed_dir(cfg, sweep, seed)
    summary_path = sd / "summary.json"
    if not summary_path.is_file() or not (sd / "model.pt").is_file():
        raise DataError(f"missing {sd / 'model.pt'} or {summary_path}: train the sweep's "
                        f"winner at seed {seed} first (`salloss run sweep_seed --sweep {sweep} "
                        f"--seed {seed}`)")
    train_summary = json.loads(summary_path.read_text(encoding="utf-8"))
    trained = train_summary.get("params") or {}
    if trained.get("loss") != best["spec"] or trained.get("seed") != seed:
        raise DataError(f"{summary_path}: trained spec {trained.get('loss')!r} at seed "
                        f"{trained.get('seed')!r}, but best.json selected {best['spec']!r} "
                        f"and this is seed {seed}; rerun `salloss run sweep_seed --sweep "
                        f"{sweep} --seed {seed}`")
    out = plan.sweep_test_dir(cfg, sweep, seed)
    out.mkdir(parents=True, exist_ok=True)
    score_run(cfg, s.dataset, s.arch, sd, cfg.evaluation["split"], out / "scores.csv",
              out / "metrics.json", seed=seed, preview=out / "preview.npz")
    write_json(out / "summary.json", {**train_summary, "sweep": best})
    return out


def _best(cfg: PipelineConfig, sweep: str, job: str) -> dict[str, Any]:
    """best.json of `sweep` (written by sweep_select), or a DataError saying so."""
    import json

    from salloss.errors import DataError

    path = plan.sweep_dir(cfg, sweep) / "best.json"
    if not path.is_file():
        raise DataError(f"missing {path}: {job} needs the sweep's selected candidate; run "
                        f"`salloss run sweep_select --sweep {sweep}` first (after every "
                        "candidate's sweep_train and sweep_validate)")
    best = json.loads(path.read_text(encoding="utf-8"))
    if best.get("sweep") != sweep or not isinstance(best.get("spec"), str):
        raise DataError(f"{path}: not the best.json of sweep {sweep!r} (no 'spec', or another "
                        "sweep's); rerun its sweep_select")
    return best


def _sweep(cfg: PipelineConfig, key: str, candidate: int | None = None, *,
           seed: int | None = None):
    if key not in cfg.sweeps:
        raise ConfigError(f"unknown sweep {key!r}; valid choices: "
                          f"{', '.join(cfg.sweeps) or 'none (params has no sweeps)'}")
    s = cfg.sweeps[key]
    if candidate is not None and candidate not in s.candidates:
        raise ConfigError(f"sweep {key!r} has no candidate {candidate}; candidates: "
                          f"{list(s.candidates)}")
    if seed is not None and seed not in cfg.seeds:
        raise ConfigError(f"seed {seed} is not one of the params' seeds {list(cfg.seeds)}: the "
                          f"sweep's winner is retrained and tested at those seeds only")
    return s


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
