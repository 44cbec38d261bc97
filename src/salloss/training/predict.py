"""Predictions of a trained run for one split, at each image's ORIGINAL resolution.

The model predicts at its output size; each map is brought to the image's original size with
the MATLAB-compatible bicubic `salloss.metrics.resize.imresize` (what the MIT benchmark does,
SPEC.md §4) and saved as:

- ``<out>/<id>.npy``: float16, divided by its maximum absolute value. Every benchmark metric is
  invariant to a positive scale of the prediction (CC, NSS z-score it; SIM, AUCs, IG min-max or
  rank it; KL and EMD divide it by its sum), so this loses nothing but puts the values where
  float16 is most precise (relative error ≤ 2⁻¹¹) and can never overflow. Small negative values
  from bicubic ringing are kept, as MIT keeps them.
- optionally ``<images>/<id>.<png|jpg>``: 8-bit maps in the MIT300/CAT2000 submission format
  (same file stem and size as the stimulus; negatives clipped, max → 255).

Ids with '/' (CAT2000's ``Category/NNN``) become sub-folders.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from salloss.errors import ConfigError, DataError
from salloss.io import atomic_open, atomic_path
from salloss.models.vgg import BACKBONE_SEED
from salloss.training import modelio
from salloss.training.checkpoint import load_trainable_state
from salloss.training.features import cache_key, open_features

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG"}


def load_model(run_dir: str | Path, device: str = "auto",
               cached: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """The best model of a finished run (from ``summary.json`` + ``model.pt``), in eval mode.

    ``cached``: predictions will decode a feature cache, so the frozen encoder is not built
    (see `modelio.build_model`)."""
    run_dir = Path(run_dir)
    summary_path, model_path = run_dir / "summary.json", run_dir / "model.pt"
    for path in (summary_path, model_path):
        if not path.is_file():
            raise DataError(f"{path} not found: is {run_dir} a finished `salloss train` run?")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    params = summary["params"]
    model = modelio.build_model(
        params["arch"], weights=params["weights"], activation=summary["activation"],
        input_size=tuple(params["input_size"]), seed=params["seed"],
        options=params.get("model_options"), cached=cached,
    )
    try:
        state = torch.load(model_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated / foreign file
        raise DataError(f"cannot read {model_path}: {exc}") from exc
    load_trainable_state(model, state, str(model_path))
    model.to(modelio.resolve_device(device)).eval()
    return model, summary


def to_original(pred: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
    """A model-size map → float64 at the image's original (H, W), MATLAB bicubic, with the
    small negative values of bicubic ringing clipped at 0.

    Clipping is what the benchmark itself does: it receives 8-bit images, and MATLAB's
    ``imresize`` of a uint8 map saturates at 0. Without it, KL is undefined (log of a negative
    ratio) wherever ringing dips below zero under positive density. Model outputs are ReLU or
    sigmoid maps, so nothing else is lost.
    """
    from salloss.metrics.resize import resize_to

    full = resize_to(np.asarray(pred, dtype=np.float64), tuple(original_size))
    return np.clip(full, 0.0, None)


def to_float16(sal: np.ndarray) -> np.ndarray:
    """Divide by max |value| (scale-free for every metric) and cast to float16."""
    peak = float(np.max(np.abs(sal))) if sal.size else 0.0
    if not np.isfinite(peak):
        raise DataError("prediction contains NaN/inf")
    return (sal / peak if peak > 0 else sal).astype(np.float16)


def to_uint8(sal: np.ndarray) -> np.ndarray:
    """Submission image: negatives clipped to 0, maximum → 255 (all-zero map stays black)."""
    sal = np.clip(np.asarray(sal, dtype=np.float64), 0.0, None)
    peak = float(sal.max()) if sal.size else 0.0
    if peak > 0:
        sal = sal / peak
    return np.round(sal * 255.0).astype(np.uint8)


def prediction_path(out_dir: str | Path, image_id: str, suffix: str = ".npy") -> Path:
    """``out_dir/<id><suffix>``; refuses ids that would escape ``out_dir``."""
    parts = Path(image_id).parts
    if not parts or Path(image_id).is_absolute() or ".." in parts:
        raise DataError(f"image id {image_id!r} is not a relative path inside the output folder")
    return Path(out_dir, *parts[:-1], parts[-1] + suffix)


def predict_split(
    run_dir: str | Path,
    prepared_dir: str | Path,
    split: str,
    out_dir: str | Path,
    *,
    features_cache: str | Path | None = None,
    image_dir: str | Path | None = None,
    image_format: str = "png",
    batch_size: int = 8,
    device: str = "auto",
    progress: bool = True,
) -> list[str]:
    """Write the predictions of ``split`` (see module docstring); returns the ids written.

    features_cache: the run's feature cache (baseline) to skip VGG; image_dir: also write 8-bit
    submission images there in ``image_format`` ('png' or 'jpg').
    """
    from salloss.data import PreparedDataset

    if image_format not in IMAGE_FORMATS:
        raise ConfigError(f"image_format {image_format!r}: valid choices "
                          f"{', '.join(IMAGE_FORMATS)}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    model, summary = load_model(run_dir, device, cached=features_cache is not None)
    params = summary["params"]
    input_size = tuple(params["input_size"])
    dataset = PreparedDataset(prepared_dir)
    if split not in dataset.split:
        raise ConfigError(f"dataset {dataset.name!r} has no split {split!r}; its splits: "
                          f"{', '.join(dataset.split)}")
    rows = np.asarray(dataset.split_indices(split), dtype=np.int64)
    dev = next(model.parameters()).device
    out_size = modelio.output_size(model, input_size)
    if features_cache is not None:
        if not modelio.supports_feature_cache(model):
            raise ConfigError(f"arch {params['arch']!r} cannot use a feature cache")
        source = open_features(features_cache, expect=cache_key(
            dataset, input_size, params["weights"], BACKBONE_SEED, params["arch"],
            params.get("model_options"))).array
    else:
        source = dataset.stimuli(size=input_size)
    written = []
    for start in tqdm(range(0, len(rows), batch_size), desc=f"predict {split}",
                      disable=not progress, unit="batch"):
        chunk = rows[start:start + batch_size]
        batch = torch.from_numpy(np.ascontiguousarray(source[chunk])).to(dev)
        with torch.no_grad():
            if features_cache is not None:
                pred = model.decode(batch.float(), out_size)  # type: ignore[operator]
            else:
                pred = model(modelio.to_input(batch))
        maps = pred.float().cpu().numpy()[:, 0]
        for row, sal in zip(chunk, maps, strict=True):
            image_id = dataset.ids[int(row)]
            full = to_original(sal, dataset.original_size(int(row)))
            with atomic_open(prediction_path(out_dir, image_id), "wb") as fh:
                np.save(fh, to_float16(full))
            if image_dir is not None:
                target = prediction_path(image_dir, image_id, "." + image_format)
                with atomic_path(target) as tmp:
                    Image.fromarray(to_uint8(full)).save(
                        tmp, format=IMAGE_FORMATS[image_format],
                        **({"quality": 95} if image_format == "jpg" else {}))
            written.append(image_id)
    log.info("wrote %d predictions of split %r to %s", len(written), split, out_dir)
    return written


def load_prediction(pred_dir: str | Path, image_id: str) -> np.ndarray:
    """Read back a float16 prediction as float64 (DataError naming the file if missing)."""
    path = prediction_path(pred_dir, image_id)
    if not path.is_file():
        raise DataError(f"prediction {path} is missing (id {image_id!r}); run `salloss predict` "
                        "for this split first")
    return np.load(path).astype(np.float64)
