"""The embedded default dataset: procedural scenes with a KNOWN ground-truth density.

Each scene is a textured, low-contrast background with 1–4 objects (ellipses, rectangles) that
differ from it in colour, contrast and size, plus low-contrast distractors. The true density is
a mixture (weights are parameters)::

    p = w_obj · Σ_k c_k·G(object k) / Σ_k c_k  +  w_cb · G(image centre)  +  w_uni · uniform

where c_k is object k's conspicuity (colour distance to the background × √size) and
G(object) is a Gaussian at the object's centre with σ = 0.5 × its radii. It sums to 1.
`n_observers` observers each fixate `fixations_per_observer` pixels drawn from p; the density
map (``_fixMap``) is those fixations blurred with σ = `blur` × the longer side, as the MIT
maps are made from real fixations. So a model that sees the image can predict p from the
objects, and beats the centre-bias map, whose only knowledge is the w_cb term.

Written in the MIT1003 layout (``ALLSTIMULI/<id>.jpeg``, ``ALLFIXATIONMAPS/<id>_fixMap.jpg``,
``<id>_fixPts.jpg``) so `open_dataset('mit1003', root)` reads it too, plus the true density
``TRUEDENSITY/<id>.npy`` (float64, sums to 1) and ``synthetic.json`` (the parameters; it is
written last and marks a complete dataset). Image i depends only on (seed, i), so a larger
`n_images` extends a smaller one. Generation happens once, into a temporary folder renamed
onto `root`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from tqdm import tqdm

from salloss.data.images import to_uint8, write_jpeg
from salloss.data.maps import density_from_fixations
from salloss.data.mit1003 import open_mit1003
from salloss.data.records import Dataset
from salloss.errors import ConfigError, DataError
from salloss.io import atomic_open, write_json

log = logging.getLogger(__name__)

FORMAT = "salloss-synthetic"
VERSION = 1
MANIFEST = "synthetic.json"
TRUE_DIR = "TRUEDENSITY"
FAST_GRID = 256  # longest side of the coarse grid of a scene made at an explicit size


@dataclass(frozen=True)
class SyntheticParams:
    """Everything that determines the generated files (recorded in synthetic.json)."""

    n_images: int = 120
    seed: int = 0
    long_side: int = 192
    portrait_fraction: float = 0.25
    n_observers: int = 15
    fixations_per_observer: int = 8
    weight_objects: float = 0.60
    weight_center: float = 0.35
    weight_uniform: float = 0.05
    center_sigma: float = 0.22  # × image height / width
    blur: float = 0.03  # density-map σ as a fraction of the longer side

    def validate(self) -> None:
        if self.n_images < 1:
            raise ConfigError(f"synthetic: n_images must be >= 1, got {self.n_images}")
        if not 32 <= self.long_side <= 4096:
            raise ConfigError(f"synthetic: long_side must be in 32…4096, got {self.long_side}")
        if not 0 <= self.portrait_fraction <= 1:
            raise ConfigError("synthetic: portrait_fraction must be in [0, 1]")
        if self.n_observers < 1 or self.fixations_per_observer < 1:
            raise ConfigError("synthetic: n_observers and fixations_per_observer must be >= 1")
        weights = (self.weight_objects, self.weight_center, self.weight_uniform)
        if min(weights) < 0 or abs(sum(weights) - 1) > 1e-9:
            raise ConfigError(
                f"synthetic: mixture weights must be >= 0 and sum to 1, got {weights}"
            )
        if self.center_sigma <= 0 or self.blur <= 0:
            raise ConfigError("synthetic: center_sigma and blur must be > 0")


def image_id(i: int) -> str:
    """Stem of image i (0-based): 'synth0001' for i = 0."""
    return f"synth{i + 1:04d}"


@dataclass
class Scene:
    """One generated image with its ground truth."""

    stimulus: np.ndarray  # H×W×3 uint8
    true_density: np.ndarray  # H×W float64, sums to 1
    fixations: np.ndarray  # H×W bool (union over observers)
    fixation_counts: np.ndarray  # H×W int (fixations per pixel)
    density_map: np.ndarray  # H×W float64, max 1 (blurred fixations)


def hsv_to_rgb(hsv: list[float] | np.ndarray) -> np.ndarray:
    """One HSV colour (each channel in [0, 1]) to RGB in [0, 1]."""
    h, s, v = (float(c) for c in hsv)
    i = int(h * 6.0) % 6
    f = h * 6.0 - int(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def _gaussian(shape: tuple[int, int], center: tuple[float, float], sigma: tuple[float, float]):
    rows = (np.arange(shape[0]) - center[0]) / sigma[0]
    cols = (np.arange(shape[1]) - center[1]) / sigma[1]
    g = np.exp(-0.5 * rows[:, None] ** 2) * np.exp(-0.5 * cols[None, :] ** 2)
    return g / g.sum()


def _coarse(shape: tuple[int, int], fast: bool) -> int:
    """Downsampling factor of the smooth fields of a `fast` scene (1: full resolution)."""
    return max(1, -(-max(shape) // FAST_GRID)) if fast else 1


def _upsample(field: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a coarse smooth field to `shape`."""
    zoom = (shape[0] / field.shape[0], shape[1] / field.shape[1])
    out = ndimage.zoom(field, zoom, order=1, mode="nearest", grid_mode=True)
    return out[: shape[0], : shape[1]]


def _background(rng: np.random.Generator, shape: tuple[int, int],
                fast: bool = False) -> np.ndarray:
    height, width = shape
    hue, sat, val = rng.uniform(), rng.uniform(0.05, 0.25), rng.uniform(0.35, 0.7)
    base = hsv_to_rgb([hue, sat, val])
    f = _coarse(shape, fast)
    if f > 1:  # the same smooth field, computed on a coarse grid (big images: ~100× faster)
        small = (-(-height // f), -(-width // f))
        smooth = _upsample(ndimage.gaussian_filter(rng.normal(size=small),
                                                   sigma=max(small) / 16), shape)
    else:
        smooth = ndimage.gaussian_filter(rng.normal(size=shape), sigma=max(shape) / 16)
    smooth /= np.abs(smooth).max() + 1e-12
    yy, xx = np.mgrid[0:height, 0:width]
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 20)
    grating = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    texture = 0.08 * smooth + 0.03 * grating + 0.02 * rng.normal(size=shape)
    return np.clip(base[None, None, :] + texture[..., None], 0, 1)


def _draw_objects(rng: np.random.Generator, image: np.ndarray, params: SyntheticParams):
    """Paint objects onto `image`; return (centres, radii, conspicuities) of each object."""
    height, width = image.shape[:2]
    background = image.reshape(-1, 3).mean(axis=0)
    yy, xx = np.mgrid[0:height, 0:width]
    n_salient = int(rng.integers(1, 5))
    n_distractors = int(rng.integers(0, 3))
    objects = []
    for k in range(n_salient + n_distractors):
        salient = k < n_salient
        radius = rng.uniform(0.04, 0.13) * max(height, width)
        ry, rx = radius * rng.uniform(0.6, 1.4), radius * rng.uniform(0.6, 1.4)
        # triangular positions: objects nearer the centre, as photographers frame them
        cy = ry + max(height - 2 * ry, 0) * rng.uniform(size=2).mean()
        cx = rx + max(width - 2 * rx, 0) * rng.uniform(size=2).mean()
        if rng.uniform() < 0.5:
            mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            mask = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
        if salient:  # pop-out: saturated colour, value far from the background's
            colour = hsv_to_rgb([rng.uniform(), rng.uniform(0.7, 1.0), rng.uniform(0.75, 1.0)])
            if rng.uniform() < 0.3:  # contrast pop-out: very dark or very bright, grey
                colour = np.full(3, 0.03 if background.mean() > 0.5 else 0.97)
        else:  # distractor: a slight shift of the background colour
            colour = np.clip(background + rng.normal(0, 0.04, 3), 0, 1)
        image[mask] = 0.85 * colour + 0.15 * image[mask]
        size = np.sqrt(radius / max(height, width))
        conspicuity = float(np.linalg.norm(colour - background)) * size
        objects.append(((cy, cx), (ry, rx), conspicuity))
    return objects


def make_scene(params: SyntheticParams, index: int,
               shape: tuple[int, int] | None = None) -> Scene:
    """Generate image `index` (deterministic in (params.seed, index)).

    ``shape`` (height, width) overrides the size drawn from `long_side` / `portrait_fraction`
    (`salloss.data.synthlayout` writes the real datasets' sizes); such scenes compute their
    smooth fields (background texture, density-map blur) on a grid of at most `FAST_GRID`
    pixels and upsample them, which is what makes 2,000 images at 1920×1080 affordable.
    """
    rng = np.random.default_rng([params.seed, index, VERSION])
    long_side = params.long_side
    short_side = int(round(long_side * rng.choice([0.75, 2 / 3])))
    portrait = rng.uniform() < params.portrait_fraction
    fast = shape is not None
    if shape is None:
        shape = (long_side, short_side) if portrait else (short_side, long_side)
    else:
        long_side = max(shape)
    image = _background(rng, shape, fast)
    objects = _draw_objects(rng, image, params)
    object_term = np.zeros(shape)
    total = sum(c for _, _, c in objects)
    for centre, radii, conspicuity in objects:
        sigma = (0.5 * radii[0], 0.5 * radii[1])
        object_term += (conspicuity / total) * _gaussian(shape, centre, sigma)
    centre_term = _gaussian(
        shape,
        ((shape[0] - 1) / 2, (shape[1] - 1) / 2),
        (params.center_sigma * shape[0], params.center_sigma * shape[1]),
    )
    uniform = np.full(shape, 1.0 / (shape[0] * shape[1]))
    density = (
        params.weight_objects * object_term
        + params.weight_center * centre_term
        + params.weight_uniform * uniform
    )
    density /= density.sum()
    n = params.n_observers * params.fixations_per_observer
    picks = rng.choice(density.size, size=n, p=density.ravel())
    counts = np.bincount(picks, minlength=density.size).reshape(shape)
    f = _coarse(shape, fast)
    if f > 1:  # blur on a coarse grid (σ ≫ f), then upsample: same map to ~1 %, 100× faster
        small = np.add.reduceat(np.add.reduceat(counts, np.arange(0, shape[0], f), axis=0),
                                np.arange(0, shape[1], f), axis=1)
        density_map = _upsample(density_from_fixations(small, params.blur * long_side / f,
                                                       mode="constant"), shape)
        density_map /= density_map.max()
    else:
        density_map = density_from_fixations(counts, params.blur * long_side, mode="constant")
    stimulus = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return Scene(stimulus, density, counts > 0, counts, density_map)


def sample_fixations(
    true_density: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw `n` fixation pixels from a density (sums to 1); returns an H×W bool map.

    For held-out tests: fresh fixations from the same ground truth.
    """
    p = np.asarray(true_density, dtype=np.float64).ravel()
    picks = rng.choice(p.size, size=n, p=p / p.sum())
    out = np.zeros(p.size, dtype=bool)
    out[picks] = True
    return out.reshape(np.shape(true_density))


def _write(folder: Path, params: SyntheticParams) -> None:
    for i in tqdm(range(params.n_images), desc="synthetic", unit="img"):
        scene = make_scene(params, i)
        stem = image_id(i)
        write_jpeg(folder / "ALLSTIMULI" / f"{stem}.jpeg", scene.stimulus, quality=95)
        write_jpeg(folder / "ALLFIXATIONMAPS" / f"{stem}_fixMap.jpg", to_uint8(scene.density_map))
        fixpts = scene.fixations.astype(np.uint8) * 255
        write_jpeg(folder / "ALLFIXATIONMAPS" / f"{stem}_fixPts.jpg", fixpts, quality=100)
        with atomic_open(folder / TRUE_DIR / f"{stem}.npy", "wb") as fh:
            np.save(fh, scene.true_density)
    manifest = {"format": FORMAT, "version": VERSION, "params": asdict(params)}
    manifest["ids"] = [image_id(i) for i in range(params.n_images)]
    write_json(folder / MANIFEST, manifest)


def read_manifest(root: str | Path) -> dict | None:
    """The synthetic.json of a generated dataset, or None if `root` holds none."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise DataError(f"{path} is not a salloss synthetic manifest")
    return manifest


def generate(root: str | Path, params: SyntheticParams | None = None) -> Path:
    """Generate the dataset into `root` unless it already holds the same one (idempotent).

    A `root` holding a synthetic dataset with other parameters, or other files, is refused.
    """
    params = params or SyntheticParams()
    params.validate()
    root = Path(root)
    wanted = asdict(params)
    existing = read_manifest(root)
    if existing is not None:
        if existing.get("version") == VERSION and existing.get("params") == wanted:
            return root
        raise ConfigError(
            f"{root} already holds a synthetic dataset with other parameters "
            f"({existing.get('params')}); choose another root or delete it"
        )
    if root.exists() and any(root.iterdir()):
        raise DataError(f"cannot generate the synthetic dataset into {root}: it is not empty")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        _write(tmp, params)
        try:
            os.replace(tmp, root)  # onto a missing or empty folder: atomic
        except OSError:
            if read_manifest(root) is None:  # not a concurrent identical generation
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("synthetic dataset (%d images) written to %s", params.n_images, root)
    return root


def true_density(root: str | Path, id_: str) -> np.ndarray:
    """The known ground-truth density of image `id_` (H×W float64, sums to 1)."""
    path = Path(root) / TRUE_DIR / f"{id_}.npy"
    if not path.is_file():
        raise DataError(f"synthetic: no true density {path} (root is not a synthetic dataset?)")
    return np.load(path, allow_pickle=False)


def open_synthetic(root: str | Path, **params: object) -> Dataset:
    """Generate (once) and open the synthetic dataset through the MIT1003 loader.

    Keyword options are `SyntheticParams` fields (n_images, seed, long_side, …). Each record's
    meta holds 'true_density' (path of its .npy).
    """
    valid = set(SyntheticParams.__dataclass_fields__)
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(f"synthetic: unknown options {unknown}; valid: {sorted(valid)}")
    settings = SyntheticParams(**params)  # type: ignore[arg-type]
    generate(root, settings)
    dataset = open_mit1003(root, name="synthetic")
    for record in dataset:
        record.meta["true_density"] = str(Path(root) / TRUE_DIR / f"{record.id}.npy")
    dataset.options = asdict(settings)
    return dataset
