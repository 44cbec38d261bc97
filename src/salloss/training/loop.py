"""`train(config, prepared_dir, run_dir)`: one training run, resumable at any point.

Run directory (every file written atomically):

    last.pt       checkpoint, rewritten every epoch (and on SIGTERM/SIGUSR1 mid-epoch): trainable
                  weights, optimizer, AMP scaler, all RNG states, epoch/batch position, best
                  validation loss and its weights, patience counter, history; once the run
                  has finished (``final_checkpoint: slim``, the default) only the final and
                  best weights, history and metadata — the resume-only states are dropped
    model.pt      the best-validation weights: a plain state dict of the TRAINABLE tensors
                  (``torch.load(..., weights_only=True)``; frozen VGG weights are rebuilt from
                  the run's ``weights`` setting — see `salloss.training.predict.load_model`)
    summary.json  written when the run finishes (see `salloss.training.summary`)
    timing.json   its wall time (not in summary.json, so the summary is reproducible bytes)
    dvclive/      per-epoch metrics (DVCLive)

A loss spec with a ``learned(...)`` group (`salloss.losses.learned`) adds its log-variances to
the SAME optimizer as a second parameter group (lr ``loss_weights_lr``, default ``lr``; no
weight decay, which would pull them towards weight 1), saves them in ``last.pt``
(``loss_state``), records exp(−s) per epoch (history ``loss_weights``, DVCLive
``weights/<term>``) and the combination found in ``summary.json`` (``learned_weights``).
Early stopping then monitors the s-free criterion `CombinedLoss.criterion` (the learned
objective at the validation-optimal s), never the training objective at the current s.

Calling `train` again with the same arguments resumes from ``last.pt``; on a finished run it
does nothing (it only rewrites a missing ``model.pt``/``summary.json``) and returns the summary.
A kill at any moment loses at most the current epoch, and — on CPU with deterministic
algorithms — the resumed run ends with bit-identical weights: batch order is a function of
(seed, epoch), and every RNG state is restored.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from salloss.errors import ConfigError, DataError
from salloss.io import write_json
from salloss.models.registry import count_trainable
from salloss.models.vgg import BACKBONE_SEED, describe_weights
from salloss.training import modelio
from salloss.training.batches import ArraySource, epoch_order, n_batches
from salloss.training.checkpoint import (
    capture_rng,
    load_checkpoint,
    load_trainable_state,
    restore_rng,
    save_checkpoint,
    save_state_dict,
    trainable_state,
)
from salloss.training.config import TrainConfig
from salloss.training.ema import WeightAverage
from salloss.training.features import cache_key, open_features
from salloss.training.live import EpochLog
from salloss.training.signals import GracefulInterrupt, TrainingInterrupted
from salloss.training.step import Stepper, TrainingDiverged  # noqa: F401 - re-exported
from salloss.training.summary import build_summary, build_timing, device_name
from salloss.training.targets import load_or_build_targets

log = logging.getLogger(__name__)

CHECKPOINT = "last.pt"
# Checkpoint entries only resuming needs; a slim finished checkpoint stores them as None.
RESUME_ONLY = ("optimizer", "scaler", "ema", "rng", "partial")
BEST_MODEL = "model.pt"
SUMMARY = "summary.json"
TIMING = "timing.json"  # wall time: beside the summary, not a pipeline output (see summary.py)
LIVE_DIR = "dvclive"


def train(
    config: TrainConfig | dict[str, Any],
    prepared_dir: str | Path,
    run_dir: str | Path,
    features_cache: str | Path | None = None,
    *,
    checkpoint: str | Path | None = None,
    live_dir: str | Path | None = None,
    targets_cache: str | Path | None = None,
    live: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or resume, or no-op on a finished run) and return the run summary.

    prepared_dir: a `salloss.data.PreparedDataset` folder. run_dir: where model.pt,
    summary.json and dvclive/ go. features_cache: a `salloss features` folder for this dataset,
    input size and weights (baseline only; training then skips VGG). checkpoint: the resumable
    state (default ``run_dir/last.pt``; keep it out of a pipeline's declared outputs so a retry
    finds it). targets_cache: a folder to store/reuse the resized targets. live: write DVCLive
    metrics (False: only the log and summary.json).

    Raises `ConfigError` before any work for a bad config (or a config different from the one
    that started the run), `TrainingDiverged` on NaN/inf, `TrainingInterrupted` after saving
    when SIGTERM/SIGUSR1 arrived.
    """
    started = time.monotonic()
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    run_dir = Path(run_dir)
    ckpt_path = Path(checkpoint) if checkpoint is not None else run_dir / CHECKPOINT
    live_dir = Path(live_dir) if live_dir is not None else run_dir / LIVE_DIR

    from salloss import losses

    terms = losses.parse(config.loss)  # ConfigError for a bad spec, before anything else
    state = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    _remove_stale_temp_files(ckpt_path, run_dir / BEST_MODEL, run_dir / SUMMARY)
    if state is not None:
        _check_same_run(state, config, features_cache is not None, ckpt_path)
        if state["finished"]:
            log.info("%s: run already finished (epoch %d); nothing to do", run_dir,
                     state["epoch"])
            return _write_final_outputs(state, run_dir)

    from salloss.data import PreparedDataset

    dataset = PreparedDataset(prepared_dir)
    train_rows, val_rows = _split_rows(dataset, config)
    device = modelio.resolve_device(config.device)
    if config.amp != "off" and device.type != "cuda":
        raise ConfigError(f"amp={config.amp!r} needs a CUDA device; this run is on {device} "
                          "(use amp='off')")

    needs = {n for t in terms for n in losses.REGISTRY[t.name].needs}
    center_bias = None
    if "center_bias" in needs:
        center_bias = torch.as_tensor(np.asarray(dataset.center_bias(), dtype=np.float32))
    loss_fn = losses.build(config.loss, center_bias=center_bias, vgg_weights=config.weights,
                           vgg_seed=BACKBONE_SEED,
                           perceptual_size=config.perceptual_size).to(device)
    cached = features_cache is not None
    model = modelio.build_model(
        config.arch, weights=config.weights, activation=loss_fn.activation,
        input_size=config.input_size, seed=config.seed, options=config.model_options,
        cached=cached,
    )
    if cached:
        if not modelio.supports_feature_cache(model):
            raise ConfigError(f"a feature cache was given but arch {config.arch!r} trains its "
                              "backbone; the cache applies to frozen encoders only")
        feats = open_features(features_cache, expect=cache_key(
            dataset, config.input_size, config.weights, BACKBONE_SEED, config.arch,
            config.model_options))
        inputs = feats.array
    else:
        inputs = dataset.stimuli(size=tuple(config.input_size))
    out_size = modelio.output_size(model, config.input_size)
    targets = load_or_build_targets(dataset, out_size, targets_cache, progress)

    channels_last = config.channels_last and device.type == "cuda"
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-arg]
    optimizer = _optimizer(config, [p for p in model.parameters() if p.requires_grad],
                           loss_fn.learned_parameters())
    stepper = Stepper(model, loss_fn, optimizer, device=device, out_size=out_size,
                      cached=cached, amp=config.amp, channels_last=channels_last,
                      micro_batch=config.micro_batch)
    scaler = stepper.scaler
    average = WeightAverage(model, config.ema_decay) if config.ema_decay is not None else None

    arrays = {"x": inputs, "density": targets.density, "fixations": targets.fixations}
    arrays.update(_density_pyramid(loss_fn, targets.density, device, progress))
    train_src = ArraySource(arrays, train_rows, device, workers=config.num_workers)
    val_src = ArraySource(arrays, val_rows, device, workers=config.num_workers)
    if _want_preload(config.preload, device, train_src.nbytes() + val_src.nbytes()):
        train_src = ArraySource(arrays, train_rows, device, preload=True)
        val_src = ArraySource(arrays, val_rows, device, preload=True)

    if state is None:
        state = _fresh_state(config, loss_fn, dataset, train_rows, val_rows, out_size, model,
                             features_cache)
        torch.manual_seed(config.seed)  # identical RNG stream with or without the cache
        np.random.seed(config.seed)  # noqa: NPY002 - the legacy global RNG, for third parties
        random.seed(config.seed)
    else:
        load_trainable_state(model, state["model"], str(ckpt_path))
        if loss_fn.weighting is not None:
            loss_fn.weighting.load_state(state.get("loss_state") or {}, str(ckpt_path))
        bases = [g["base_lr"] for g in optimizer.param_groups]
        optimizer.load_state_dict(state["optimizer"])
        for group, base in zip(optimizer.param_groups, bases, strict=True):
            group.setdefault("base_lr", base)  # checkpoints older than the lr schedule
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        if average is not None:
            try:
                average.load_state(state.get("ema") or {}, str(ckpt_path))
            except ValueError as exc:
                raise DataError(str(exc)) from None
        restore_rng(state["rng"])
        state["resumes"] += 1
        log.info("resuming %s at epoch %d, batch %d", run_dir, state["epoch"] + 1,
                 state["batch"])
    if not state["devices"] or state["devices"][-1] != device_name(device):
        state["devices"].append(device_name(device))
    if state["best_model"] is not None and not (run_dir / BEST_MODEL).exists():
        save_state_dict(run_dir / BEST_MODEL, state["best_model"])  # deleted by a pipeline

    run = _Run(config, model, stepper, ckpt_path, run_dir, state, started, progress, average)
    with GracefulInterrupt() as stop, _determinism(config, device), \
            EpochLog(live_dir if live else None, state["history"]) as epoch_log:
        run.fit(train_src, val_src, stop, epoch_log)
    if state.get("amp_skipped_steps"):
        log.warning("%d fp16 update(s) were skipped by the GradScaler (inf/NaN gradients; "
                    "summary.json amp_skipped_steps)", state["amp_skipped_steps"])
    return _write_final_outputs(state, run_dir, overwrite=True)


class _Run:
    """The epoch loop of one `train` call, over the mutable checkpoint `state`."""

    def __init__(self, config: TrainConfig, model: nn.Module, stepper: Stepper,
                 ckpt_path: Path, run_dir: Path, state: dict[str, Any], started: float,
                 progress: bool, average: WeightAverage | None = None) -> None:
        self.config, self.model, self.stepper = config, model, stepper
        self.average = average
        self.weighting = getattr(stepper.loss_fn, "weighting", None)
        self.optimizer, self.scaler = stepper.optimizer, stepper.scaler
        self.ckpt_path, self.run_dir, self.state = ckpt_path, run_dir, state
        self.started, self.progress = started, progress
        self.wall_base = float(state["wall_time_s"])
        self.saved_at = time.monotonic()  # the checkpoint on disk is this recent
        self.skipped_base = int(state.get("amp_skipped_steps", 0))
        self.best_written = True  # model.pt holds state["best_model"]
        stepper.note = self._kept

    def _kept(self) -> str:
        if self.ckpt_path.exists():
            return (f"Nothing was saved; the last good checkpoint {self.ckpt_path} "
                    f"(epoch {self.state['epoch']}) is kept.")
        return "Nothing was saved (no epoch had finished)."

    # -- epochs ----------------------------------------------------------------------------
    def fit(self, train_src: ArraySource, val_src: ArraySource, stop: GracefulInterrupt,
            live: EpochLog) -> None:
        """Run epochs until early stopping or max_epochs; save after each one."""
        cfg, st = self.config, self.state
        total_batches = n_batches(len(train_src), cfg.batch_size)
        epochs = tqdm(range(st["epoch"] + 1, cfg.max_epochs + 1), desc="epochs",
                      initial=st["epoch"], total=cfg.max_epochs, disable=not self.progress,
                      unit="epoch")
        for epoch in epochs:
            self.model.train()
            partial = st["partial"] or {"loss_sum": 0.0, "count": 0, "term_sums": {}}
            order = epoch_order(cfg.seed, epoch, len(train_src))
            batches = train_src.iterate(order, cfg.batch_size, start=st["batch"])
            bar = tqdm(batches, desc=f"epoch {epoch}", total=total_batches,
                       initial=st["batch"], leave=False, disable=not self.progress,
                       unit="batch")
            for b, batch in enumerate(bar, start=st["batch"] + 1):
                where = f"epoch {epoch}, batch {b}/{total_batches} (training)"
                self.set_lr((epoch - 1) * total_batches + b, total_batches)
                total, parts = self.stepper.train_batch(batch, where)
                if self.average is not None:
                    self.average.update()
                size = int(batch["density"].shape[0])
                partial["loss_sum"] += total * size
                partial["count"] += size
                for label, value in parts.items():
                    sums = partial["term_sums"]
                    sums[label] = sums.get(label, 0.0) + value * size
                bar.set_postfix(loss=f"{partial['loss_sum'] / partial['count']:.4g}")
                if stop.requested is not None and b < total_batches:
                    st["batch"], st["partial"] = b, partial
                    self.save()
                    raise TrainingInterrupted(
                        stop.requested, f"in {self.ckpt_path} at epoch {epoch}, batch {b}")
            self.end_epoch(epoch, partial, val_src, live)
            epochs.set_postfix(val=f"{st['history'][-1]['val_loss']:.4g}",
                               best=st["best_epoch"])
            if st["finished"]:
                break
            if stop.requested is not None:
                raise TrainingInterrupted(
                    stop.requested, f"in {self.ckpt_path} after epoch {epoch}")

    def end_epoch(self, epoch: int, partial: dict[str, Any], val_src: ArraySource,
                  live: EpochLog) -> None:
        """Validate, update best/patience, write model.pt (if better), last.pt, DVCLive."""
        cfg, st = self.config, self.state
        averaged = self.average.applied() if self.average is not None else contextlib.nullcontext()
        with averaged:  # validation and the best model use the weight average, if any
            val_loss, val_terms = self.validate(val_src, epoch)
            improved = val_loss < st["best_val"] - _tolerance(cfg, st["best_val"])
            if improved:
                st["best_model"] = trainable_state(self.model)
        count = max(partial["count"], 1)
        record = {
            "epoch": epoch,
            "train_loss": partial["loss_sum"] / count,
            "val_loss": val_loss,
            "train_terms": {k: v / count for k, v in partial["term_sums"].items()},
            "val_terms": val_terms,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
        }
        if self.weighting is not None:
            record["loss_weights"] = self.weighting.weights()
            record["log_vars"] = self.weighting.log_var_values()
        if improved:
            st["best_val"], st["best_epoch"], st["bad_epochs"] = val_loss, epoch, 0
            st["lr_wait"] = 0
            self.best_written = False
        else:
            st["bad_epochs"] += 1
            st["lr_wait"] = st.get("lr_wait", 0) + 1
            if cfg.lr_patience is not None and st["lr_wait"] >= cfg.lr_patience:
                st["lr_wait"] = 0
                st["lr_scale"] = st.get("lr_scale", 1.0) * cfg.lr_factor
                log.info("epoch %d: no validation improvement for %d epoch(s): learning rate "
                         "× %g → %.3g", epoch, cfg.lr_patience, cfg.lr_factor,
                         cfg.lr * st["lr_scale"])
        st["history"].append(record)
        st["epoch"], st["batch"], st["partial"] = epoch, 0, None
        if st["bad_epochs"] >= cfg.patience:
            st["finished"], st["stopped_by"] = True, "early_stopping"
            st["stop_reason"] = (f"early stopping: no validation improvement for {cfg.patience} "
                                 f"epoch(s) after epoch {st['best_epoch']}")
        elif epoch >= cfg.max_epochs:
            st["finished"], st["stopped_by"] = True, "max_epochs"
            st["stop_reason"] = f"max_epochs ({cfg.max_epochs}) reached"
        log.info("epoch %d: train %.6g, val %.6g%s", epoch, record["train_loss"], val_loss,
                 " (best)" if improved else f" (best {st['best_val']:.6g} @ {st['best_epoch']})")
        if self.weighting is not None:
            log.info("epoch %d: learned loss weights %s", epoch, ", ".join(
                f"{k} {v:.4g}" for k, v in record["loss_weights"].items()))
        if st["finished"] or time.monotonic() - self.saved_at >= cfg.checkpoint_every_s:
            self.save()
        live.log_epoch(record)

    def set_lr(self, step: int, batches_per_epoch: int) -> None:
        """Learning rate of every parameter group for training step ``step`` (1-based, over
        the whole run): its base rate × the reduce-on-plateau scale × the linear warm-up
        ``min(1, step / (warmup_epochs · batches))``. A pure function of the checkpointed
        state, so a resumed run continues the same schedule."""
        scale = self.state.get("lr_scale", 1.0)
        warm = self.config.warmup_epochs * batches_per_epoch
        if warm:
            scale *= min(1.0, step / warm)
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * scale

    def validate(self, val_src: ArraySource, epoch: int) -> tuple[float, dict[str, float]]:
        """Mean validation loss and raw term values over the split (eval mode: no dropout).

        For a learned spec the loss is `CombinedLoss.criterion` of the term means: it does
        not depend on the learned log-variances, so their moves cannot fake an improvement.
        """
        self.model.eval()
        loss_sum, count, term_sums = 0.0, 0, {}
        order = np.arange(len(val_src))
        total_batches = n_batches(len(val_src), self.config.batch_size)
        for b, batch in enumerate(val_src.iterate(order, self.config.batch_size), start=1):
            total, parts = self.stepper.eval_batch(
                batch, f"epoch {epoch}, batch {b}/{total_batches} (validation)")
            size = int(batch["density"].shape[0])
            loss_sum += total * size
            count += size
            for label, value in parts.items():
                term_sums[label] = term_sums.get(label, 0.0) + value * size
        self.model.train()
        means = {k: v / count for k, v in term_sums.items()}
        if self.weighting is not None:
            return float(self.stepper.loss_fn.criterion(means)), means
        return loss_sum / count, means

    def save(self) -> None:
        """Write last.pt atomically (refused, keeping the old file, if anything is NaN), and
        model.pt when the best weights changed since it was last written."""
        st = self.state
        st["amp_skipped_steps"] = self.skipped_base + self.stepper.skipped_steps
        if not self.best_written and st["best_model"] is not None:
            save_state_dict(self.run_dir / BEST_MODEL, st["best_model"])
            self.best_written = True
        self.saved_at = time.monotonic()
        st["model"] = trainable_state(self.model)
        st["optimizer"] = self.optimizer.state_dict()
        st["scaler"] = self.scaler.state_dict() if self.scaler.is_enabled() else None
        if self.weighting is not None:
            st["loss_state"] = self.weighting.state()
        if self.average is not None:
            st["ema"] = self.average.state()
        st["rng"] = capture_rng()
        st["wall_time_s"] = self.wall_base + (time.monotonic() - self.started)
        if st["finished"] and self.config.final_checkpoint == "slim":
            st = {**st, **dict.fromkeys(RESUME_ONLY)}
        save_checkpoint(self.ckpt_path, st)


def _fresh_state(config: TrainConfig, loss_fn: Any, dataset: Any, train_rows: np.ndarray,
                 val_rows: np.ndarray, out_size: tuple[int, int], model: nn.Module,
                 features_cache: str | Path | None) -> dict[str, Any]:
    return {
        "config": config.to_dict(),
        "meta": {
            "loss": loss_fn.spec,
            "loss_id": loss_fn.id,
            "loss_terms": dict(loss_fn.terms),
            "activation": loss_fn.activation,
            "weights": describe_weights(config.weights),
            "dataset": str(dataset.name),
            "train_images": len(train_rows),
            "val_images": len(val_rows),
            "output_size": list(out_size),
            "trainable_parameters": count_trainable(model),
            "feature_cache": str(features_cache) if features_cache is not None else None,
        },
        "model": None, "optimizer": None, "scaler": None, "rng": None, "ema": None,
        "epoch": 0, "batch": 0, "partial": None,
        "best_val": math.inf, "best_epoch": 0, "bad_epochs": 0, "lr_wait": 0, "lr_scale": 1.0,
        "best_model": None,
        "history": [], "finished": False, "stop_reason": None, "stopped_by": None,
        "wall_time_s": 0.0, "resumes": 0, "devices": [],
    }


def _tolerance(config: TrainConfig, best: float) -> float:
    """How much a validation loss must beat the best one by to count as an improvement."""
    if not math.isfinite(best):
        return 0.0
    return config.min_delta + config.min_rel_delta * abs(best)


# Largest precomputed φ(S) kept in memory (bytes); above it df/gm run VGG on S every step.
PYRAMID_BUDGET = 2 << 30


def _density_pyramid(loss_fn: Any, density: np.ndarray, device: torch.device,
                     progress: bool) -> dict[str, np.ndarray]:
    """φ(S) of every image for the perceptual terms, computed once (the targets never change):
    arrays ``vgg0`` … ``vgg4`` (N×C_j×H_j×W_j float32) served with the batches, so df/gm run
    VGG-16 on the prediction only — one pass fewer per step. Empty without df/gm, or when it
    would take more than `PYRAMID_BUDGET` bytes."""
    from salloss.losses.perceptual import target_pyramid

    if loss_fn.extractor is None:
        return {}
    n = density.shape[0]
    probe = target_pyramid(torch.from_numpy(np.ascontiguousarray(density[:1]))[:, None].to(device),
                           loss_fn.extractor, loss_fn.perceptual_size)
    nbytes = n * sum(f[0].numel() for f in probe) * 4
    if nbytes > PYRAMID_BUDGET:
        log.info("perceptual terms: φ(S) of %d images would take %.1f GB; computing it per "
                 "step instead", n, nbytes / 1e9)
        return {}
    out = {f"vgg{j}": np.empty((n, *f.shape[1:]), dtype=np.float32) for j, f in
           enumerate(probe)}
    for start in tqdm(range(0, n, 16), desc="φ(S) for df/gm", disable=not progress,
                      leave=False, unit="batch"):
        chunk = torch.from_numpy(np.ascontiguousarray(density[start:start + 16]))[:, None]
        for j, f in enumerate(target_pyramid(chunk.to(device), loss_fn.extractor,
                                             loss_fn.perceptual_size)):
            out[f"vgg{j}"][start:start + len(chunk)] = f.float().cpu().numpy()
    log.info("perceptual terms: φ(S) of %d images precomputed (%.0f MB)", n, nbytes / 1e6)
    return out


def _remove_stale_temp_files(*paths: Path) -> None:
    """Delete temp files a killed process left beside our outputs (`salloss.io` names them
    '.<name>.<random>.tmp'); the outputs themselves are always complete."""
    for path in paths:
        if path.parent.is_dir():
            for stale in path.parent.glob(f".{path.name}.*.tmp"):
                log.info("removing %s left by an interrupted write", stale)
                stale.unlink(missing_ok=True)


def _check_same_run(state: dict[str, Any], config: TrainConfig, cached: bool,
                    ckpt_path: Path) -> None:
    """A checkpoint resumes only the run that wrote it: same result-relevant settings."""
    stored = TrainConfig.from_dict(state["config"]).result_dict()
    diffs = [f"{k}: checkpoint {stored.get(k)!r}, now {v!r}"
             for k, v in config.result_dict().items() if stored.get(k) != v]
    was_cached = state["meta"]["feature_cache"] is not None
    if was_cached != cached:
        diffs.append(f"feature cache: checkpoint {'used' if was_cached else 'did not use'} one")
    if diffs:
        raise ConfigError(
            f"{ckpt_path} belongs to a run with other settings ({'; '.join(diffs)}). Use a new "
            "run directory, or delete the checkpoint to start this run from scratch."
        )


def _write_final_outputs(state: dict[str, Any], run_dir: Path,
                         overwrite: bool = False) -> dict[str, Any]:
    """Make sure model.pt and summary.json of a finished run exist (rewrite the summary when
    ``overwrite``: the run just finished); return the summary."""
    if state["best_model"] is not None and not (run_dir / BEST_MODEL).exists():
        save_state_dict(run_dir / BEST_MODEL, state["best_model"])
    summary = build_summary(state)
    if overwrite or not (run_dir / SUMMARY).exists():
        write_json(run_dir / SUMMARY, summary)
    if overwrite or not (run_dir / TIMING).exists():
        write_json(run_dir / TIMING, build_timing(state))
    return summary


def _split_rows(dataset: Any, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the train and validation splits; checks batch size against the split."""
    rows = []
    for key in ("train_split", "val_split"):
        name = getattr(config, key)
        if name not in dataset.split:
            raise ConfigError(f"{key}: dataset {dataset.name!r} has no split {name!r}; its "
                              f"splits: {', '.join(dataset.split)}")
        idx = np.asarray(dataset.split_indices(name), dtype=np.int64)
        if len(idx) == 0:
            raise DataError(f"split {name!r} of dataset {dataset.name!r} is empty")
        rows.append(idx)
    if config.batch_size > len(rows[0]):
        raise ConfigError(
            f"batch_size {config.batch_size} is larger than the {config.train_split!r} split "
            f"({len(rows[0])} images of {dataset.name!r}); use batch_size <= {len(rows[0])}"
        )
    return rows[0], rows[1]


def _optimizer(config: TrainConfig, params: list[nn.Parameter],
               loss_params: list[nn.Parameter] | None = None) -> torch.optim.Optimizer:
    """The run's optimizer over the model's trainable ``params`` and, as a second parameter
    group (lr ``loss_weights_lr`` or ``lr``, no weight decay), learned loss weights."""
    if not params:
        raise ConfigError(f"arch {config.arch!r} has no trainable parameters")
    groups: Any = params
    if loss_params:
        lr = config.loss_weights_lr if config.loss_weights_lr is not None else config.lr
        groups = [{"params": params}, {"params": loss_params, "lr": lr, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    elif config.optimizer == "adam":
        optimizer = torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
    elif config.optimizer == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    else:  # SAM's Keras-1 RMSprop: rho 0.9, epsilon 1e-8 added after the square root (as torch)
        optimizer = torch.optim.RMSprop(groups, lr=config.lr, alpha=0.9, eps=1e-8,
                                        weight_decay=config.weight_decay)
    for group in optimizer.param_groups:  # the schedule (`_Run.set_lr`) scales these
        group["base_lr"] = group["lr"]
    return optimizer


def _want_preload(mode: str, device: torch.device, nbytes: int) -> bool:
    """'auto' preloads on CUDA when the split's arrays take < 40 % of free device memory."""
    if mode != "auto":
        return mode == "yes"
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes < 0.4 * free


@contextlib.contextmanager
def _determinism(config: TrainConfig, device: torch.device) -> Iterator[None]:
    """Deterministic algorithms (default on CPU; on CUDA only when asked, as warnings, since
    some CUDA kernels — e.g. bilinear upsampling's backward — have no deterministic version).
    Restores the previous global settings afterwards."""
    enabled = config.deterministic if config.deterministic is not None else device.type == "cpu"
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
                torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    torch.use_deterministic_algorithms(enabled, warn_only=device.type == "cuda")
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled and device.type == "cuda"
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = previous[2:]
