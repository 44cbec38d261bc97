"""Checkpoints: atomic, NaN-guarded, loadable with ``torch.load(weights_only=True)``.

A checkpoint is a dict of tensors and plain Python values only (no pickled classes), so it can be
loaded safely and by any later version. Frozen parameters (the baseline's ImageNet VGG-16) are
left out: they are rebuilt from the run's ``weights`` setting, which keeps a baseline checkpoint
at ~13 MB instead of ~70 MB — it is rewritten every epoch.
"""

from __future__ import annotations

import io
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from salloss.errors import DataError, SallossError
from salloss.io import atomic_open

FORMAT_VERSION = 1


class NonFiniteWeightsError(SallossError, RuntimeError):
    """Refused to save a checkpoint holding NaN/inf: the good one on disk is kept."""


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict without frozen parameters (``requires_grad=False``), as copies."""
    frozen = frozen_keys(model)
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k not in frozen}


def frozen_keys(model: nn.Module) -> set[str]:
    """State-dict keys of parameters that receive no gradient."""
    return {name for name, p in model.named_parameters() if not p.requires_grad}


def load_trainable_state(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load a `trainable_state` into ``model``: every non-frozen key must be present.

    ``source`` names the file in the error message when the state does not fit the model.
    """
    result = model.load_state_dict(dict(state), strict=False)
    missing = sorted(set(result.missing_keys) - frozen_keys(model))
    if missing or result.unexpected_keys:
        raise DataError(
            f"{source}: does not fit the model built from the run's config (missing "
            f"{missing[:5]}, unexpected {list(result.unexpected_keys)[:5]}); was it written "
            "by another architecture or version?"
        )


def assert_finite(tensors: Mapping[str, Any], what: str) -> None:
    """Raise `NonFiniteWeightsError` naming the first tensor holding NaN/inf (nested dicts ok)."""
    for key, value in tensors.items():
        if isinstance(value, Mapping):
            assert_finite(value, f"{what}.{key}")
        elif isinstance(value, torch.Tensor) and value.is_floating_point():
            if not bool(torch.isfinite(value).all()):
                raise NonFiniteWeightsError(
                    f"{what}.{key} contains NaN/inf; the checkpoint was NOT written (the last "
                    "good one is kept)"
                )


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically to ``path``; refuses (and keeps the old file) if any weight or
    optimizer tensor is non-finite."""
    for key in ("model", "best_model", "loss_state", "ema"):
        if state.get(key) is not None:
            assert_finite(state[key], key)
    if state.get("optimizer") is not None:
        assert_finite(state["optimizer"].get("state", {}), "optimizer")
    _write_torch(path, {"format_version": FORMAT_VERSION, **state})


def save_state_dict(path: str | Path, state: Mapping[str, torch.Tensor]) -> None:
    """Write a bare state dict (``model.pt``) atomically, after the same finiteness check."""
    assert_finite(state, Path(path).name)
    _write_torch(path, dict(state))


def _write_torch(path: str | Path, obj: Any) -> None:
    # Serialised in memory first: torch.save names the zip's inner folder after the file, and
    # the temp file's random name would make identical states differ byte-wise (DVC hashes).
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_open(path, "wb") as fh:
        fh.write(buffer.getbuffer())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by `save_checkpoint` (weights_only; errors name the file)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign file: many exception types
        raise DataError(
            f"cannot read checkpoint {path}: {exc.__class__.__name__}: {exc}. Delete it to "
            "restart the run from scratch."
        ) from exc
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"{path} is not a salloss training checkpoint (format {FORMAT_VERSION}); delete it "
            "or choose another run directory"
        )
    return state


def capture_rng() -> dict[str, Any]:
    """Every global RNG state that training may consume (torch CPU/CUDA, NumPy, Python)."""
    # The legacy global NumPy RNG is captured on purpose: third-party code may draw from it.
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }


def restore_rng(state: Mapping[str, Any]) -> None:
    """Inverse of `capture_rng` (CUDA states restored only when the same GPUs exist)."""
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    npst = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            npst["kind"],
            npst["keys"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["cached_gaussian"],
        )
    )
    random.setstate(state["python"])
