"""The frozen-feature cache: the baseline's VGG-16 features, computed once per
(dataset, input size, weights) and read by every baseline training instead of re-running VGG.

Layout of a cache folder::

    features.npy    float16, N × 1280 × h × w, rows in the dataset's id order (memory-mapped)
    manifest.json   the key (dataset name, ids, input size, weights, seed, arch) and the shape;
                    written last, so its presence marks a complete cache

An architecture whose builder has a ``cache_identity(weights, options)`` hook (the `encdec`
family: backbone name and its effective weights) adds an ``encoder`` entry to the key, so a
cache of one backbone or weights is never read for another; the baseline's key is unchanged.

float16 halves the disk and memory traffic; the head then sees features rounded to ~3
significant digits (relative error ≤ 2⁻¹¹), which `tests/training/test_features.py` shows
changes the loss curve by well under 1e-2 relative.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from salloss.errors import ConfigError, DataError
from salloss.io import atomic_path, write_json
from salloss.models import registry
from salloss.models.vgg import describe_weights
from salloss.training import modelio
from salloss.training.signals import GracefulInterrupt

log = logging.getLogger(__name__)

CACHE_VERSION = 1
ARRAY = "features.npy"
MANIFEST = "manifest.json"


@dataclass
class FeatureCache:
    """An opened cache: ``array`` is the read-only memmap, ``manifest`` its key and shape."""

    path: Path
    manifest: dict[str, Any]
    array: np.ndarray

    @property
    def ids(self) -> list[str]:
        """Image ids, one per row of `array`."""
        return list(self.manifest["ids"])


def cache_key(
    dataset: Any, input_size: tuple[int, int], weights: str, seed: int, arch: str = "baseline",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a cache must match to be reused. Weights files are identified by content hash;
    the seed matters only for random weights (``'none'``). ``options``: the run's model
    options (``model_options``), which choose e.g. an `encdec` model's backbone — pass the
    same ones when computing and when reading a cache."""
    key = {
        "version": CACHE_VERSION,
        "arch": arch,
        "dataset": str(dataset.name),
        "source": source_identity(dataset),
        "ids": list(dataset.ids),
        "input_size": [int(s) for s in input_size],
        "weights": weights_identity(weights),
        "seed": int(seed) if weights == "none" else None,
    }
    encoder = encoder_identity(arch, weights, seed, options)
    if encoder is not None:
        key["encoder"] = encoder
    return key


def encoder_identity(arch: str, weights: str, seed: int,
                     options: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The ``encoder`` entry of a cache key: the backbone and its effective weights (content
    hash for a file; torchvision's enum for 'imagenet'; the seed for 'none'), for builders with
    a ``cache_identity`` hook; None for the others (the baseline: its key is unchanged)."""
    hook = getattr(registry.MODELS.get(arch), "cache_identity", None)
    if hook is None:
        return None
    ident = dict(hook(weights, dict(options or {})))
    chosen = str(ident.pop("weights"))
    return {**ident, "weights": weights_identity(chosen),
            "seed": int(seed) if chosen == "none" else None}


def source_identity(dataset: Any) -> dict[str, Any] | None:
    """What identifies a prepared dataset's images: its source files' digest, options and
    resize filter (not its split: features do not depend on it)."""
    key = getattr(dataset, "manifest", {}).get("key")
    if not key:
        return None
    return {k: key.get(k) for k in ("sources_sha256", "options", "stimulus_filter")}


def weights_identity(weights: str) -> str:
    """'imagenet', 'none', or 'sha256:<hex>' of a local weights file."""
    if weights in ("imagenet", "none"):
        return weights
    path = Path(weights)
    if not path.is_file():
        return describe_weights(weights)  # vgg16_features raises the clear error later
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def compute_features(
    prepared_dir: str | Path,
    out_dir: str | Path,
    *,
    input_size: tuple[int, int] = (300, 400),
    weights: str = "imagenet",
    seed: int = 0,
    arch: str = "baseline",
    batch_size: int = 16,
    device: str = "auto",
    force: bool = False,
    progress: bool = True,
    options: dict[str, Any] | None = None,
) -> FeatureCache:
    """Compute (or reuse) the feature cache of a prepared dataset in ``out_dir``.

    ``options``: the model options of the runs that will read it (``model_options``, e.g. an
    `encdec` model's ``backbone`` / ``backbone_weights``); part of the key where they choose
    the encoder.

    A complete cache with the same key is reused unless ``force``; one with another key raises
    `DataError` (choose another folder, or ``force`` to overwrite). SIGTERM/SIGUSR1 stop the
    computation cleanly (nothing half-written is left) with `TrainingInterrupted`.
    """
    from salloss.data import PreparedDataset

    dataset = PreparedDataset(prepared_dir)
    out_dir = Path(out_dir)
    key = cache_key(dataset, input_size, weights, seed, arch, options)
    if (out_dir / MANIFEST).exists() and not force:
        existing = open_features(out_dir)
        mismatch = _mismatch(existing.manifest, key)
        if not mismatch:
            log.info("feature cache %s is up to date; nothing to do", out_dir)
            return existing
        raise DataError(
            f"{out_dir} already holds features for another key ({mismatch}); choose another "
            "folder or pass force=True (--force) to recompute"
        )
    dev = modelio.resolve_device(device)
    model = modelio.build_model(arch, weights=weights, activation="relu",
                                input_size=input_size, seed=seed, options=options)
    if not modelio.supports_feature_cache(model):
        raise ConfigError(f"arch {arch!r} has no frozen encoder: the feature cache applies to "
                          "models with encode/decode and a frozen backbone (the baseline, "
                          "encdec with finetune=False)")
    model.to(dev).eval()
    images = dataset.stimuli(size=tuple(input_size))
    n = len(dataset)
    shape = tuple(int(s) for s in model.feature_shape(tuple(input_size)))
    if (out_dir / MANIFEST).exists():
        (out_dir / MANIFEST).unlink()  # forced: the old cache is invalid from now on
    with GracefulInterrupt() as stop, atomic_path(out_dir / ARRAY) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(n, *shape))
        for start in tqdm(range(0, n, batch_size), desc=f"{arch} features {dataset.name}",
                          disable=not progress, unit="batch"):
            stop.check("nothing (the partial feature file was discarded)")
            batch = torch.from_numpy(np.array(images[start:start + batch_size]))
            with torch.no_grad():
                feats = model.encode(modelio.to_input(batch.to(dev)))
            if tuple(feats.shape[1:]) != shape:
                raise DataError(f"encode returned {tuple(feats.shape[1:])}, feature_shape "
                                f"promised {shape}")
            array[start:start + len(batch)] = feats.to(torch.float16).cpu().numpy()
        array.flush()
        del array
    manifest = {**key, "shape": [n, *shape], "dtype": "float16",
                "weights_description": getattr(model, "weights_tag", None)
                or describe_weights(weights)}
    write_json(out_dir / MANIFEST, manifest)
    log.info("wrote %s (%d × %s float16)", out_dir / ARRAY, n, "×".join(map(str, shape)))
    return open_features(out_dir)


def open_features(path: str | Path, expect: dict[str, Any] | None = None) -> FeatureCache:
    """Open a cache folder read-only; with ``expect`` (a `cache_key`), refuse a different key."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise DataError(
            f"{path} is not a complete feature cache ({MANIFEST} missing); create it with "
            "`salloss features`"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        array = np.load(path / ARRAY, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read feature cache {path}: {exc}") from exc
    if list(array.shape) != manifest.get("shape") or array.dtype != np.float16:
        raise DataError(
            f"{path / ARRAY} has shape {array.shape} {array.dtype}, manifest says "
            f"{manifest.get('shape')} float16; recompute it with `salloss features --force`"
        )
    if expect is not None:
        mismatch = _mismatch(manifest, expect)
        if mismatch:
            raise DataError(
                f"feature cache {path} does not match this run ({mismatch}); point to the cache "
                "made for this dataset, input size and weights, or create one with "
                "`salloss features`"
            )
    return FeatureCache(path, manifest, array)


def _mismatch(manifest: dict[str, Any], key: dict[str, Any]) -> str:
    """Human-readable list of the key fields that differ ('' if none)."""
    diffs = []
    for field, want in key.items():
        have = manifest.get(field)
        if have != want:
            if field == "ids":
                diffs.append(f"ids: cache has {len(have or [])} images, dataset has {len(want)} "
                             "or a different order")
            else:
                diffs.append(f"{field}: cache has {have!r}, expected {want!r}")
    return "; ".join(diffs)
