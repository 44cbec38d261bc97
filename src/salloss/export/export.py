"""Export a trained run's predictions of a benchmark's test images in its submission format.

``export_submission(run_dir, "mit300" | "cat2000", root, out_dir)`` writes::

    out_dir/<name>/…        one 8-bit grey JPEG per stimulus, same relative name and size
                            (MIT300 ``i<N>.jpg``; CAT2000 ``<Category>/NNN.jpg``)
    out_dir/<name>.zip      that folder zipped, byte-reproducible: what the benchmark asks for
    out_dir/SUBMIT.md       how to submit it
    out_dir/manifest.json   run, weights tag, count, per-map size and sha256 (written last)

Prediction follows training exactly, without a prepared cache: each stimulus (pixels as
stored, EXIF ignored) is resized to the run's input size with `prepare_dataset`'s own
`resize_stimulus` (PIL bicubic, aspect ratio not kept), ImageNet-normalised, run through the
FULL model (encoder and decoder: no feature cache), and the map brought back to the
stimulus's original size with `predict.to_original` (MATLAB bicubic). `write_submission_map`
clips negatives, maps the maximum to 255 and saves the JPEG atomically.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from salloss import __version__
from salloss.data.mit300 import submission_path, write_submission_map
from salloss.data.prepared import STIMULUS_FILTER, resize_stimulus
from salloss.data.records import Record
from salloss.errors import ConfigError, DataError
from salloss.export.benchmarks import get_benchmark, open_stimuli
from salloss.export.files import sha256_file, write_zip
from salloss.export.note import submission_note
from salloss.io import write_json, write_text
from salloss.training import modelio
from salloss.training.predict import load_model, to_original

log = logging.getLogger(__name__)

FORMAT = "salloss-benchmark-export"
VERSION = 1
MANIFEST = "manifest.json"
NOTE = "SUBMIT.md"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def finished_summary(run_dir: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of a FINISHED training run; DataError saying what is missing."""
    run_dir = Path(run_dir)
    what = "a finished `salloss train` run folder (with model.pt and summary.json)"
    if not run_dir.is_dir():
        raise DataError(f"run folder {run_dir} does not exist; --run must be {what}")
    path = run_dir / "summary.json"
    if not path.is_file():
        raise DataError(f"{path} not found: {run_dir} is not {what}; an unfinished run gets "
                        "its summary when `salloss train` (which resumes) completes it")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(summary, dict) or summary.get("status") != "finished":
        status = summary.get("status") if isinstance(summary, dict) else None
        raise DataError(f"{run_dir} is not a finished run ({path} status: {status!r}); finish it "
                        "with `salloss train` before exporting")
    if not (run_dir / "model.pt").is_file():
        raise DataError(f"{run_dir / 'model.pt'} not found: {run_dir} is not {what}")
    return summary


def default_name(summary: dict[str, Any]) -> str:
    """``salloss-<arch>-<loss id>-seed<k>``: the submission folder's (= model's) name."""
    params = summary.get("params", {})
    raw = f"salloss-{summary.get('arch', 'model')}-{summary.get('loss_id', 'loss')}-" \
          f"seed{params.get('seed', 0)}"
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", raw)


def predict_stimuli(
    model: nn.Module,
    records: Sequence[Record],
    input_size: tuple[int, int],
    *,
    batch_size: int = 8,
    progress: bool = True,
    desc: str = "export",
) -> Iterator[tuple[Record, np.ndarray]]:
    """Yield (record, float64 map at the record's original (H, W)) in record order.

    Stimuli are resized like `prepare_dataset` does and fed in batches to the full model.
    """
    device = next(model.parameters()).device
    size = (int(input_size[0]), int(input_size[1]))
    for start in tqdm(range(0, len(records), batch_size), desc=desc, unit="batch",
                      disable=not progress):
        chunk = records[start:start + batch_size]
        stimuli = np.stack([resize_stimulus(r.stimulus, size) for r in chunk])
        with torch.no_grad():
            pred = model(modelio.to_input(torch.from_numpy(stimuli).to(device)))
        maps = pred.float().cpu().numpy()[:, 0]
        for record, sal in zip(chunk, maps, strict=True):
            if not np.isfinite(sal).all():
                raise DataError(f"the model predicted NaN/inf for {record.id!r} "
                                f"({record.stimulus_path})")
            yield record, to_original(sal, record.size)


def _check_options(batch_size: int, quality: int, name: str) -> None:
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    if not 1 <= quality <= 100:
        raise ConfigError(f"JPEG quality must be 1..100, got {quality}")
    if not _NAME.match(name):
        raise ConfigError(f"submission name {name!r}: use letters, digits and . _ + - only "
                          "(it becomes the folder and zip name)")


def _check_no_strays(maps_dir: Path, expected: set[str]) -> None:
    """Refuse to mix this export with files a previous, different export left in `maps_dir`."""
    if not maps_dir.is_dir():
        return
    strays = sorted(p.relative_to(maps_dir).as_posix() for p in maps_dir.rglob("*")
                    if p.is_file() and p.relative_to(maps_dir).as_posix() not in expected)
    if strays:
        raise DataError(f"{maps_dir} already holds {len(strays)} file(s) this export would not "
                        f"write (e.g. {', '.join(strays[:3])}); export into an empty --out folder "
                        "or remove them")


def export_submission(
    run_dir: str | Path,
    dataset: str,
    root: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    device: str = "auto",
    batch_size: int = 8,
    quality: int = 95,
    progress: bool = True,
) -> dict[str, Any]:
    """Write the submission of `run_dir` for benchmark `dataset` (see module docstring).

    dataset: 'mit300' or 'cat2000' (its test set); root: the folder its archives were unpacked
    into; name: the submission folder/zip name (default `default_name`). Returns the manifest.
    """
    benchmark = get_benchmark(dataset)
    summary = finished_summary(run_dir)
    name = name or default_name(summary)
    _check_options(batch_size, quality, name)
    records = open_stimuli(benchmark, root)
    out_dir = Path(out_dir)
    maps_dir = out_dir / name
    rel_paths = [submission_path(maps_dir, r.id).relative_to(maps_dir).as_posix()
                 for r in records]
    _check_no_strays(maps_dir, set(rel_paths))

    model, summary = load_model(run_dir, device)
    params = summary["params"]
    input_size = (int(params["input_size"][0]), int(params["input_size"][1]))
    files = []
    for (record, full), rel in zip(
        predict_stimuli(model, list(records), input_size, batch_size=batch_size,
                        progress=progress, desc=f"export {benchmark.name}"),
        rel_paths, strict=True,
    ):
        target = maps_dir / rel
        write_submission_map(full, record.size, target, quality=quality, image_id=record.id)
        files.append({"path": rel, "id": record.id, "size": list(record.size),
                      "sha256": sha256_file(target)})
    archive = write_zip(out_dir / f"{name}.zip", maps_dir, rel_paths, prefix=name)
    complete = benchmark.expected_count is None or len(files) == benchmark.expected_count
    if not complete:
        log.warning("%s: %d stimuli under %s, but the benchmark has %d: the submission is "
                    "incomplete", benchmark.name, len(files), root, benchmark.expected_count)
    manifest = {
        "format": FORMAT, "version": VERSION, "salloss_version": __version__,
        "benchmark": benchmark.name, "dataset": benchmark.dataset,
        "dataset_options": dict(benchmark.options), "root": str(Path(root).resolve()),
        "name": name, "count": len(files), "complete": complete,
        "expected_count": benchmark.expected_count,
        "run": {
            "dir": str(Path(run_dir).resolve()), "arch": summary["arch"],
            "loss": summary["loss"], "loss_id": summary["loss_id"], "seed": params["seed"],
            "weights": summary["weights"], "dataset": summary["dataset"],
            "input_size": list(input_size), "best_epoch": summary.get("best_epoch"),
            "model_sha256": sha256_file(Path(run_dir) / "model.pt"),
        },
        "quality": quality,
        "processing": {
            "stimulus_to_input": STIMULUS_FILTER,
            "prediction_to_original": "MATLAB-compatible bicubic imresize",
            "to_8bit": "negatives clipped, maximum -> 255, grey JPEG",
        },
        "archive": {"path": archive.name, "sha256": sha256_file(archive)},
        "files": files,
    }
    write_text(out_dir / NOTE, submission_note(manifest, benchmark))
    write_json(out_dir / MANIFEST, manifest)  # last: marks a complete export
    log.info("exported %d %s maps of %s to %s", len(files), benchmark.name, run_dir, maps_dir)
    return manifest
