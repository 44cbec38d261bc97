"""Independent re-computation of what an export must contain, for the export tests.

Deliberately does NOT use salloss's export, resize_stimulus, to_input or write_submission:
stimuli are read with PIL (EXIF not applied), resized with PIL bicubic, normalised by hand,
run one by one through `predict.load_model`'s model and brought to the original size with
`predict.to_original`, then made 8-bit with `predict.to_uint8`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from salloss.training.predict import load_model, to_original, to_uint8

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def read_map(path: Path) -> tuple[np.ndarray, str, str]:
    """(uint8 array, PIL format, PIL mode) of an exported map."""
    with Image.open(path) as image:
        return np.asarray(image), image.format, image.mode


def expected_maps(run: Path, stimuli: dict[str, Path]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """relative name -> (float64 map at original size, its 8-bit version)."""
    model, summary = load_model(run, "cpu")
    height, width = summary["params"]["input_size"]
    out = {}
    for rel, path in stimuli.items():
        rgb = read_rgb(path)
        small = Image.fromarray(rgb).resize((width, height), Image.Resampling.BICUBIC)
        x = (np.asarray(small, dtype=np.float32) / 255.0 - MEAN) / STD
        batch = torch.from_numpy(x.transpose(2, 0, 1)[None].copy())
        with torch.no_grad():
            pred = model(batch)[0, 0].numpy()
        full = to_original(pred, rgb.shape[:2])
        out[rel] = (full, to_uint8(full))
    return out


def mit300_stimuli(root: Path) -> dict[str, Path]:
    """'i<N>.jpg' -> stimulus path, listed straight from the folder."""
    return {p.name: p for p in sorted((root / "BenchmarkIMAGES").glob("*.jpg"))}


def cat2000_stimuli(root: Path) -> dict[str, Path]:
    """'<Category>/NNN.jpg' -> stimulus path (category folders only one level deep)."""
    stimuli = root / "testSet" / "Stimuli"
    return {p.relative_to(stimuli).as_posix(): p for p in sorted(stimuli.glob("*/*.jpg"))}


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
