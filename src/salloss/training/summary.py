"""The JSON summary of a finished run (``summary.json``), built from the checkpoint alone, so it
can be rewritten at any time (e.g. after a pipeline deleted it before a retry).

A run of a ``learned(...)`` spec also states the combination it found (``learned_weights``):
see `learned_summary`.
"""

from __future__ import annotations

import platform
from typing import Any

import torch

import salloss
from salloss import numerics


def device_name(device: torch.device) -> str:
    """'cpu (<processor>, N threads, ATen <capability>, numerics <profile> (<variables>))'
    (`salloss.numerics`) or 'cuda:0 (NVIDIA H100 80GB HBM3)'."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return (f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} "
            f"threads, ATen {torch.backends.cpu.get_cpu_capability()}, numerics "
            f"{numerics.describe()})")


def learned_summary(state: dict[str, Any]) -> dict[str, Any] | None:
    """The learned combination of a run whose spec has a ``learned(...)`` group, else None.

    ``final``: `salloss.losses.learned.combination` at the last saved log-variances (the
    converged estimate: effective, normalised coefficients and an equivalent fixed spec);
    ``at_best_epoch``: the same at the end of the best-validation epoch (model.pt's);
    ``val_loss``: how the monitored validation value is defined.
    """
    from salloss.losses.learned import CRITERION, combination
    from salloss.losses.spec import parse

    terms = parse(state["meta"]["loss"])
    learned = [t.label for t in terms if t.learned]
    if not learned or not state.get("loss_state"):
        return None
    final = dict(zip(learned, state["loss_state"]["log_vars"].tolist(), strict=True))
    best = next((h for h in state["history"] if h["epoch"] == state["best_epoch"]), None)
    return {
        "epoch": state["epoch"],
        "final": combination(terms, final),
        "best_epoch": state["best_epoch"],
        "at_best_epoch": combination(terms, best["log_vars"]) if best else None,
        "val_loss": CRITERION,
        "loss_weights_lr": state["config"].get("loss_weights_lr") or state["config"]["lr"],
    }


def build_timing(state: dict[str, Any]) -> dict[str, Any]:
    """How long the run took (``timing.json``): kept out of ``summary.json`` so that the summary
    — an artefact the evaluation and report depend on — is a pure function of the run's
    settings and data: two machines (or Snakemake and ``dvc repro``) write the same bytes."""
    return {"wall_time_s": round(float(state["wall_time_s"]), 3), "resumes": state["resumes"]}


def build_summary(state: dict[str, Any]) -> dict[str, Any]:
    """The run summary: what was trained, on what, and how it went (its wall time is in
    ``timing.json``, see `build_timing`)."""
    history = state["history"]
    best = next((h for h in history if h["epoch"] == state["best_epoch"]), None)
    meta = state["meta"]
    learned = learned_summary(state)
    extra = {"learned_weights": learned} if learned is not None else {}
    return {
        "status": "finished" if state["finished"] else "running",
        "stop_reason": state.get("stop_reason"),
        # 'early_stopping' | 'max_epochs' (None while running; older runs: see stop_reason)
        "stopped_by": state.get("stopped_by"),
        "arch": state["config"]["arch"],
        "loss": meta["loss"],
        "loss_id": meta["loss_id"],
        "loss_terms": meta["loss_terms"],
        "activation": meta["activation"],
        "weights": meta["weights"],
        "dataset": meta["dataset"],
        "train_images": meta["train_images"],
        "val_images": meta["val_images"],
        "input_size": state["config"]["input_size"],
        "output_size": meta["output_size"],
        "trainable_parameters": meta["trainable_parameters"],
        "feature_cache": meta["feature_cache"],
        "epochs": state["epoch"],
        "best_epoch": state["best_epoch"],
        "best_val_loss": state["best_val"],
        "best_val_terms": best["val_terms"] if best else None,
        "final_train_loss": history[-1]["train_loss"] if history else None,
        "resumes": state["resumes"],
        "devices": state["devices"],
        "amp": state["config"]["amp"],
        "amp_skipped_steps": int(state.get("amp_skipped_steps", 0)),
        "params": state["config"],
        "versions": {
            "salloss": salloss.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        **extra,
        "history": history,
    }
