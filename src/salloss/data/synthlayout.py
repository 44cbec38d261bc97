"""Synthetic data in the REAL datasets' on-disk layouts, counts and image sizes, for rehearsing
the paper-scale study offline (`salloss data synth`, `config/rehearsal.yaml`).

Each image is a synthetic scene (`salloss.data.synthetic.make_scene`: salient objects, a centre
bias, fixations drawn from a KNOWN density) at the size of the dataset it stands in for, written
exactly as that dataset publishes its files, so the real loaders (``mit1003``, ``cat2000``,
``fiwi``) read it back:

- ``mit1003``: 1,003 images, longest side 1024, the landscape/portrait mix of MIT1003;
  ``ALLSTIMULI/<id>.jpeg``, ``ALLFIXATIONMAPS/<id>_fixMap.jpg`` (8-bit density) and
  ``<id>_fixPts.jpg`` (the binary map as a lossy JPEG, read back with > 127);
- ``cat2000``: 2,000 images at 1920×1080, 20 category folders × 100 odd numbers (001 … 199);
  ``trainSet/Stimuli/<Category>/NNN.jpg``, ``FIXATIONMAPS/<Category>/NNN.jpg``,
  ``FIXATIONLOCS/<Category>/NNN.mat`` (``fixLocs``, an image-sized 0/1 double matrix);
- ``fiwi``: 149 webpage-sized images (768×1366 or 768×1360), ``webpage_dataset/stimuli/<n>.png``
  and binary ``webpage_dataset/eyeMaps/all5/<n>.png`` (FiWi ships no density maps).

Observers per image follow each dataset (15, 18, 11). No true densities are kept: at these sizes
they would take 16 GB for CAT2000 alone, and the real loaders would not read them (a rehearsal
measures cost and memory at scale; the `synthetic` loader is the one with an oracle). Image k
depends only on (layout, seed, k): ``n`` smaller than the real count writes the first ``n``
images of the full set (what the CI rehearsal does). Everything is written into a temporary
folder renamed onto ``root`` at the end (with ``synthlayout.json`` describing it), so an
interrupted run leaves no half dataset behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from salloss.data.images import to_uint8, write_jpeg, write_png
from salloss.data.synthetic import SyntheticParams, make_scene
from salloss.errors import ConfigError, DataError
from salloss.io import atomic_open, write_json

log = logging.getLogger(__name__)

FORMAT = "salloss-synthlayout"
VERSION = 1
MANIFEST = "synthlayout.json"
CAT2000_CATEGORIES = (
    "Action", "Affective", "Art", "BlackWhite", "Cartoon", "Fractal", "Indoor", "Inverted",
    "Jumbled", "LineDrawing", "LowResolution", "Noisy", "Object", "OutdoorManMade",
    "OutdoorNatural", "Pattern", "Random", "Satelite", "Sketch", "Social",
)
# MIT1003's image sizes (height, width) and how often each occurs, longest side 1024.
MIT1003_SIZES = (((768, 1024), 0.70), ((1024, 768), 0.22), ((683, 1024), 0.05),
                 ((1024, 680), 0.03))
FIWI_SIZES = (((768, 1366), 0.5), ((768, 1360), 0.5))


@dataclass(frozen=True)
class Layout:
    """A real dataset's counts and sizes (see the module docstring)."""

    name: str
    count: int
    sizes: tuple[tuple[tuple[int, int], float], ...]
    observers: int
    fixations_per_observer: int


LAYOUTS = {
    "mit1003": Layout("mit1003", 1003, MIT1003_SIZES, 15, 10),
    "cat2000": Layout("cat2000", 2000, (((1080, 1920), 1.0),), 18, 12),
    "fiwi": Layout("fiwi", 149, FIWI_SIZES, 11, 12),
}


def image_ids(layout: str, n: int) -> list[str]:
    """The ids of the first `n` images of `layout` (the real loader's ids)."""
    if layout == "cat2000":
        per = len(CAT2000_CATEGORIES)
        return [f"{CAT2000_CATEGORIES[k % per]}/{2 * (k // per) + 1:03d}" for k in range(n)]
    if layout == "fiwi":
        return [str(k + 1) for k in range(n)]
    return [f"synth{k + 1:04d}" for k in range(n)]


def _size(layout: Layout, seed: int, k: int) -> tuple[int, int]:
    rng = np.random.default_rng([seed, k, 7])
    shapes, weights = zip(*layout.sizes, strict=True)
    return shapes[int(rng.choice(len(shapes), p=np.asarray(weights) / sum(weights)))]


def synthesize(layout: str, root: str | Path, *, n: int | None = None, seed: int = 0,
               workers: int = 1, progress: bool = True) -> Path:
    """Write the first `n` images (default: the real count) of `layout` into `root`, with
    `workers` processes (each image depends only on (layout, seed, index): same files).

    Idempotent: a `root` holding the same (layout, n, seed) is left as it is; one holding
    anything else is refused with the reason.
    """
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}; valid choices: {', '.join(LAYOUTS)}")
    spec = LAYOUTS[layout]
    n = spec.count if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= spec.count:
        raise ConfigError(f"synth {layout}: n must be an integer in 1…{spec.count} (the real "
                          f"dataset's count), got {n!r}")
    root = Path(root)
    wanted = {"format": FORMAT, "version": VERSION, "layout": layout, "n": n, "seed": seed}
    manifest = root / MANIFEST
    if manifest.is_file():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if {k: found.get(k) for k in wanted} == wanted:
            log.info("%s already holds synthetic %s (%d images, seed %d)", root, layout, n, seed)
            return root
        raise ConfigError(f"{root} holds another synthetic dataset ({found.get('layout')}, "
                          f"n={found.get('n')}, seed={found.get('seed')}); choose another root "
                          "or delete it")
    if root.exists() and any(root.iterdir()):
        raise DataError(f"cannot write the synthetic {layout} layout into {root}: it is not "
                        "empty (a real download?)")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        params = SyntheticParams(seed=seed, n_observers=spec.observers,
                                 fixations_per_observer=spec.fixations_per_observer)
        ids = image_ids(layout, n)
        jobs = [(layout, params, seed, k, ids[k], tmp) for k in range(n)]
        bar = tqdm(total=n, desc=f"synth {layout}", unit="img", disable=not progress)
        if workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                for _ in pool.map(_write_one, jobs, chunksize=8):
                    bar.update()
        else:
            for job in jobs:
                _write_one(job)
                bar.update()
        bar.close()
        write_json(tmp / MANIFEST, {**wanted, "ids": ids, "params": asdict(params),
                                    "observers": spec.observers})
        if root.exists():
            root.rmdir()  # empty (checked above)
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("synthetic %s layout (%d images) written to %s", layout, n, root)
    return root


def _write_one(job: tuple) -> None:
    """Generate and write image k of a layout (a worker process's unit of work)."""
    layout, params, seed, k, image_id, folder = job
    shape = _size(LAYOUTS[layout], seed, k)
    scene = make_scene(replace(params, long_side=max(shape)), k, shape=shape)
    WRITERS[layout](folder, image_id, scene)


def _write_mit1003(root: Path, image_id: str, scene) -> None:
    write_jpeg(root / "ALLSTIMULI" / f"{image_id}.jpeg", scene.stimulus, quality=90)
    write_jpeg(root / "ALLFIXATIONMAPS" / f"{image_id}_fixMap.jpg",
               to_uint8(scene.density_map), quality=90)
    write_jpeg(root / "ALLFIXATIONMAPS" / f"{image_id}_fixPts.jpg",
               scene.fixations.astype(np.uint8) * 255, quality=100)


def _write_cat2000(root: Path, image_id: str, scene) -> None:
    import scipy.io

    category, number = image_id.split("/")
    top = root / "trainSet"
    write_jpeg(top / "Stimuli" / category / f"{number}.jpg", scene.stimulus, quality=90)
    write_jpeg(top / "FIXATIONMAPS" / category / f"{number}.jpg", to_uint8(scene.density_map),
               quality=90)
    path = top / "FIXATIONLOCS" / category / f"{number}.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:  # MATLAB v5, compressed, as CAT2000 ships them
        scipy.io.savemat(fh, {"fixLocs": scene.fixations.astype(np.float64)},
                         do_compression=True)


def _write_fiwi(root: Path, image_id: str, scene) -> None:
    top = root / "webpage_dataset"
    write_png(top / "stimuli" / f"{image_id}.png", scene.stimulus)
    write_png(top / "eyeMaps" / "all5" / f"{image_id}.png",
              scene.fixations.astype(np.uint8) * 255)


WRITERS = {"mit1003": _write_mit1003, "cat2000": _write_cat2000, "fiwi": _write_fiwi}
