"""The prepared cache: a dataset turned into memory-mappable arrays for training and scoring.

`prepare_dataset(...)` writes into `out_dir` (every file atomically; `manifest.json` last)::

    manifest.json            what determines the content (`key`) + ids, sizes, provenance
    stimuli_<H>x<W>.npy      (N, H, W, 3) uint8 for each input size (PIL bicubic, which widens
                             its kernel when shrinking, i.e. antialiased; aspect ratio NOT kept:
                             the paper feeds 400×300 whatever the image's shape)
    sizes.npy                (N, 2) int32 original (height, width)
    density.npy              all density maps at original resolution, flattened and
                             concatenated; uint8 (value/255, lossless for the 8-bit published
                             maps) or float32; `density_offsets.npy` (N+1,) int64
    fixations.npy            (K, 2) int32 (row, col) of fixated pixels, all images concatenated;
                             `fixation_offsets.npy` (N+1,) int64
    meta.json                per-image meta dicts
    true_density.npy         only for datasets that know their TRUE density (the synthetic
                             one: ``meta['true_density']``), float32 (sums to 1 per image),
                             flattened like density.npy (same offsets): the oracle of the report
    split.json               the split used (salloss split format)
    center_bias.npy          (H, W) float32, max 1: SPEC.md §1 `r` from the TRAINING split,
                             on `center_bias_size` (default 300×400, the paper's input grid,
                             whatever the input sizes, so every model shares one map)
    center_bias.png / .pdf   the paper's Figure 2

Idempotent: a second call with the same `key` (dataset, options, source file names and sizes,
split, centre-bias grid) does nothing, except prepare input sizes not prepared yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from salloss import __version__
from salloss.data.centerbias import CenterBiasAccumulator, plot_center_bias
from salloss.data.maps import map_from_points, points_from_map
from salloss.data.records import Dataset
from salloss.data.registry import open_dataset
from salloss.data.splits import (
    NAMES,
    Split,
    default_split,
    load_split,
    parse_sizes,
)
from salloss.errors import ConfigError, DataError
from salloss.io import atomic_open, atomic_path, write_json

log = logging.getLogger(__name__)

FORMAT = "salloss-prepared"
VERSION = 2  # 2: true_density.npy for datasets that know it
MANIFEST = "manifest.json"
DEFAULT_CENTER_BIAS_SIZE = (300, 400)
TRUE_DENSITY = "true_density"  # the records' meta key holding the .npy path
TRUE_DENSITY_FILE = "true_density.npy"
STIMULUS_FILTER = "PIL bicubic (antialiased when shrinking), aspect ratio not kept"

SizeHW = tuple[int, int]


def _stimuli_name(size: SizeHW) -> str:
    return f"stimuli_{size[0]}x{size[1]}.npy"


def parse_size(text: str | Sequence[int]) -> SizeHW:
    """'300x400' (height×width) or (300, 400) -> (300, 400)."""
    parts = text.lower().replace("×", "x").split("x") if isinstance(text, str) else list(text)
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"size {text!r} must be HEIGHTxWIDTH, e.g. 300x400") from None
    if height < 1 or width < 1:
        raise ConfigError(f"size {text!r} must be positive")
    return height, width


def resize_stimulus(stimulus: np.ndarray, size: SizeHW) -> np.ndarray:
    """Resize an H×W×3 uint8 image to `size` = (height, width) with PIL bicubic (antialiased)."""
    height, width = size
    if stimulus.shape[:2] == (height, width):
        return stimulus
    image = Image.fromarray(stimulus).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


def _is_size(value: Any) -> bool:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return True
    return isinstance(value, str) and (
        value.strip().lower() == "rest" or value.strip().replace(".", "", 1).isdigit()
    )


def resolve_split(dataset: Dataset, split: Any, seed: int = 0) -> Split:
    """Turn a `split` argument (see `prepare_dataset`) into a checked `Split` of `dataset`."""
    if split is None:
        return default_split(dataset, seed)
    if isinstance(split, Split):
        return load_split(split.as_dict(), dataset.ids)
    if isinstance(split, tuple | list) and len(split) == 3 and all(map(_is_size, split)):
        return default_split(dataset, seed, parse_sizes(split))
    if isinstance(split, str) and not Path(split).exists() and split.count(",") == 2:
        return default_split(dataset, seed, parse_sizes(split))
    return load_split(split, dataset.ids)


def _sources_digest(dataset: Dataset) -> str:
    root = dataset.root.resolve()
    digest = hashlib.sha256()
    for record in dataset:
        for path in record.files:
            resolved = Path(path).resolve()
            rel = resolved.relative_to(root) if resolved.is_relative_to(root) else resolved
            digest.update(f"{record.id}\t{rel.as_posix()}\t{resolved.stat().st_size}\n".encode())
    return digest.hexdigest()


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def prepare_dataset(
    name: str,
    root: str | Path,
    out_dir: str | Path,
    *,
    input_sizes: Sequence[SizeHW] = ((300, 400),),
    split: Any = None,
    seed: int = 0,
    center_bias_size: SizeHW | None = None,
    options: dict[str, Any] | None = None,
    **dataset_options: Any,
) -> PreparedDataset:
    """Prepare dataset `name` under `root` into `out_dir` (see the module docstring).

    `split`: None (the dataset's default, seeded by `seed`), sizes ('500,200,rest' or a
    3-tuple), a `Split`, or a user split file/folder/mapping (see `splits.load_split`).
    `seed` seeds the split; the loader's own options go in `options` (or as extra keywords),
    e.g. ``options={"seed": 3}`` for the synthetic generator's seed.
    """
    sizes = [parse_size(s) for s in input_sizes]
    if not sizes:
        raise ConfigError("prepare: give at least one input size")
    out_dir = Path(out_dir)
    dataset = open_dataset(name, root, **{**(options or {}), **dataset_options})
    if not dataset.has_ground_truth:
        raise DataError(f"{name}: these images have no ground truth; nothing to prepare "
                        "(open it with open_dataset to export predictions)")
    the_split = resolve_split(dataset, split, seed)
    grid = parse_size(center_bias_size or DEFAULT_CENTER_BIAS_SIZE)
    storage = "uint8" if dataset.density_quantum == 255 else "float32"
    key = {
        "format": FORMAT, "version": VERSION, "dataset": name,
        "options": _json_safe(dataset.options), "sources_sha256": _sources_digest(dataset),
        "split_sha256": hashlib.sha256(
            json.dumps(the_split.as_dict(), sort_keys=True).encode()).hexdigest(),
        "center_bias_size": list(grid), "density_storage": storage,
        "stimulus_filter": STIMULUS_FILTER,
    }
    manifest = _read_manifest(out_dir)
    if manifest is not None and manifest.get("key") == key:
        have = {tuple(s) for s in manifest["input_sizes"]}
        missing = [s for s in dict.fromkeys(sizes) if s not in have]
        if not missing:
            log.info("%s is up to date", out_dir)
            return PreparedDataset(out_dir)
        _write_stimuli(dataset, out_dir, missing)
        manifest["input_sizes"] = [list(s) for s in sorted(have | set(missing))]
        write_json(out_dir / MANIFEST, manifest)
        return PreparedDataset(out_dir)
    # a stale manifest must not vouch for half-rewritten files if this run is interrupted
    (out_dir / MANIFEST).unlink(missing_ok=True)
    _prepare_all(dataset, out_dir, list(dict.fromkeys(sizes)), the_split, grid, storage)
    write_json(out_dir / "split.json", the_split.to_json())
    manifest = {
        "key": key, "input_sizes": [list(s) for s in sorted(set(sizes))], "n": len(dataset),
        "ids": dataset.ids, "root": str(dataset.root), "seed": seed,
        "split_info": _json_safe(the_split.info), "salloss_version": __version__,
    }
    write_json(out_dir / MANIFEST, manifest)  # last: marks a complete cache
    return PreparedDataset(out_dir)


def _read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _write_stimuli(dataset: Dataset, out_dir: Path, sizes: list[SizeHW]) -> None:
    """Only the resized stimuli (for sizes added to an existing cache)."""
    with _StimuliWriter(out_dir, sizes, len(dataset)) as writer:
        for i, record in enumerate(tqdm(dataset, desc=f"resize {dataset.name}", unit="img")):
            writer.put(i, record.stimulus)


class _StimuliWriter:
    """(N, H, W, 3) uint8 memmaps, one per size, renamed into place on clean exit."""

    def __init__(self, out_dir: Path, sizes: list[SizeHW], n: int) -> None:
        self.out_dir, self.sizes, self.n = out_dir, sizes, n

    def __enter__(self) -> _StimuliWriter:
        self._contexts = [atomic_path(self.out_dir / _stimuli_name(s)) for s in self.sizes]
        self._arrays = []
        for size, ctx in zip(self.sizes, self._contexts, strict=True):
            tmp = ctx.__enter__()
            self._arrays.append(np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.uint8, shape=(self.n, *size, 3)))
        return self

    def put(self, i: int, stimulus: np.ndarray) -> None:
        for size, array in zip(self.sizes, self._arrays, strict=True):
            array[i] = resize_stimulus(stimulus, size)

    def __exit__(self, *exc: Any) -> None:
        for array in self._arrays:
            array.flush()
        self._arrays.clear()
        for ctx in self._contexts:
            ctx.__exit__(*exc)


def _true_density(record: Any) -> np.ndarray:
    """The record's known true density (float32, original size); DataError naming the file."""
    path = Path(record.meta[TRUE_DENSITY])
    try:
        true = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the true density of {record.id!r} ({exc})") from None
    if true.shape != tuple(record.size):
        raise DataError(f"{path}: true density has shape {true.shape}, but image {record.id!r} "
                        f"is {tuple(record.size)}")
    return true.astype(np.float32)


def _prepare_all(
    dataset: Dataset, out_dir: Path, sizes: list[SizeHW], split: Split, grid: SizeHW, storage: str
) -> None:
    n = len(dataset)
    shapes = np.array([r.size for r in tqdm(dataset, desc="read sizes", unit="img", leave=False)],
                      dtype=np.int64).reshape(n, 2)
    offsets = np.concatenate([[0], np.cumsum(shapes[:, 0] * shapes[:, 1])]).astype(np.int64)
    train = set(split.train)
    bias = CenterBiasAccumulator(grid)
    points: list[np.ndarray] = []
    meta = []
    known = [r.meta.get(TRUE_DENSITY) for r in dataset]
    true_path = out_dir / TRUE_DENSITY_FILE
    true_flat = None
    with atomic_path(out_dir / "density.npy") as tmp, _StimuliWriter(out_dir, sizes, n) as stim, \
            (atomic_path(true_path) if all(known) else contextlib.nullcontext()) as true_tmp:
        density_flat = np.lib.format.open_memmap(
            tmp, mode="w+", dtype=np.dtype(storage), shape=(int(offsets[-1]),))
        if true_tmp is not None:
            true_flat = np.lib.format.open_memmap(
                true_tmp, mode="w+", dtype=np.float32, shape=(int(offsets[-1]),))
        for i, record in enumerate(tqdm(dataset, desc=f"prepare {dataset.name}", unit="img")):
            stim.put(i, record.stimulus)
            if true_flat is not None:
                true_flat[offsets[i] : offsets[i + 1]] = _true_density(record).ravel()
            density = record.density
            if storage == "uint8":
                quantised = np.round(density * 255.0)
                if np.abs(quantised - density * 255.0).max(initial=0) > 1e-6:
                    raise DataError(f"{dataset.name} {record.id!r}: density map is not 8-bit")
                density_flat[offsets[i] : offsets[i + 1]] = quantised.astype(np.uint8).ravel()
            else:
                density_flat[offsets[i] : offsets[i + 1]] = density.astype(np.float32).ravel()
            points.append(points_from_map(record.fixations))
            meta.append(_json_safe(record.meta))
            if record.id in train:
                bias.add(density)
        density_flat.flush()
        del density_flat
        if true_flat is not None:
            true_flat.flush()
            del true_flat
    if not all(known):
        true_path.unlink(missing_ok=True)
    fix_offsets = np.concatenate([[0], np.cumsum([len(p) for p in points])]).astype(np.int64)
    all_points = np.concatenate(points) if points else np.zeros((0, 2), np.int32)
    for filename, array in (
        ("sizes.npy", shapes.astype(np.int32)), ("density_offsets.npy", offsets),
        ("fixations.npy", all_points.astype(np.int32)), ("fixation_offsets.npy", fix_offsets),
    ):
        with atomic_open(out_dir / filename, "wb") as fh:
            np.save(fh, array)
    write_json(out_dir / "meta.json", meta)
    if bias.count:
        result = bias.result()
        with atomic_open(out_dir / "center_bias.npy", "wb") as fh:
            np.save(fh, result)
        plot_center_bias(
            result, [out_dir / "center_bias.png", out_dir / "center_bias.pdf"],
            title=f"{dataset.name}: mean of {bias.count} training density maps",
        )
    else:
        (out_dir / "center_bias.npy").unlink(missing_ok=True)


class PreparedDataset:
    """Read access to a prepared cache (memory-mapped; cheap to open).

    Indices `i` may be ints (position in `ids`) or ids.
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir)
        manifest = _read_manifest(self.path)
        if manifest is None or manifest.get("key", {}).get("format") != FORMAT:
            raise DataError(
                f"{self.path} is not a prepared dataset (no complete {MANIFEST}); run "
                "`salloss data prepare` first"
            )
        if manifest["key"]["version"] > VERSION:
            raise DataError(f"{self.path}: prepared with a newer salloss (format version "
                            f"{manifest['key']['version']}); re-prepare it")
        self.manifest = manifest
        self.name: str = manifest["key"]["dataset"]
        self.ids: list[str] = list(manifest["ids"])
        self._index = {id_: i for i, id_ in enumerate(self.ids)}
        self._sizes = np.load(self.path / "sizes.npy")
        self._density_offsets = np.load(self.path / "density_offsets.npy")
        self._fixation_offsets = np.load(self.path / "fixation_offsets.npy")
        self._density: np.ndarray | None = None
        self._true: np.ndarray | None = None
        self._points: np.ndarray | None = None
        self._stimuli: dict[SizeHW, np.ndarray] = {}
        self._meta: list[dict[str, Any]] | None = None
        self._split: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"PreparedDataset({self.name!r}, {len(self)} images, {str(self.path)!r})"

    @property
    def input_sizes(self) -> list[SizeHW]:
        """The prepared stimulus sizes, (height, width)."""
        return [(int(h), int(w)) for h, w in self.manifest["input_sizes"]]

    @property
    def center_bias_size(self) -> SizeHW:
        h, w = self.manifest["key"]["center_bias_size"]
        return int(h), int(w)

    def index(self, id_: str) -> int:
        """Position of image `id_`."""
        try:
            return self._index[id_]
        except KeyError:
            raise DataError(f"{self.path}: no image with id {id_!r}") from None

    def _i(self, i: int | str) -> int:
        if isinstance(i, str):
            return self.index(i)
        i = int(i)
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        return i % len(self)

    def stimuli(self, size: SizeHW) -> np.ndarray:
        """(N, H, W, 3) uint8 read-only memmap of the stimuli resized to `size` = (H, W)."""
        size = (int(size[0]), int(size[1]))
        if size not in self.input_sizes:
            raise DataError(
                f"{self.path}: stimuli not prepared at {size[0]}x{size[1]}; prepared sizes: "
                f"{', '.join(f'{h}x{w}' for h, w in self.input_sizes)} (add it with "
                f"`salloss data prepare ... --size {size[0]}x{size[1]}`)"
            )
        if size not in self._stimuli:
            self._stimuli[size] = np.load(self.path / _stimuli_name(size), mmap_mode="r")
        return self._stimuli[size]

    def original_size(self, i: int | str) -> SizeHW:
        """(height, width) of image i at its original resolution."""
        h, w = self._sizes[self._i(i)]
        return int(h), int(w)

    def density(self, i: int | str) -> np.ndarray:
        """Density map of image i, float32 (H, W) at original resolution."""
        i = self._i(i)
        if self._density is None:
            self._density = np.load(self.path / "density.npy", mmap_mode="r")
        flat = self._density[self._density_offsets[i] : self._density_offsets[i + 1]]
        out = flat.astype(np.float32).reshape(self.original_size(i))
        if self._density.dtype == np.uint8:
            out /= 255.0
        return out

    def fixations(self, i: int | str) -> np.ndarray:
        """(K, 2) int32 (row, col) of the fixated pixels of image i (original resolution)."""
        i = self._i(i)
        if self._points is None:
            self._points = np.load(self.path / "fixations.npy", mmap_mode="r")
        lo, hi = self._fixation_offsets[i], self._fixation_offsets[i + 1]
        return np.array(self._points[lo:hi], dtype=np.int32)

    def fixation_map(self, i: int | str) -> np.ndarray:
        """Boolean (H, W) fixation map of image i at original resolution."""
        i = self._i(i)
        return map_from_points(self.fixations(i), self.original_size(i))

    @property
    def has_true_density(self) -> bool:
        """True when the dataset knows each image's true density (the synthetic one)."""
        return (self.path / TRUE_DENSITY_FILE).is_file()

    def true_density(self, i: int | str) -> np.ndarray:
        """The TRUE density of image i (float32 (H, W), sums to 1): the ceiling any prediction
        is read against. DataError if the dataset has none (`has_true_density`)."""
        i = self._i(i)
        if self._true is None:
            if not self.has_true_density:
                raise DataError(f"{self.path}: dataset {self.name!r} has no true density (only "
                                "synthetic data knows it)")
            self._true = np.load(self.path / TRUE_DENSITY_FILE, mmap_mode="r")
        flat = self._true[self._density_offsets[i] : self._density_offsets[i + 1]]
        return np.array(flat, dtype=np.float32).reshape(self.original_size(i))

    def meta(self, i: int | str) -> dict[str, Any]:
        """Per-image metadata (e.g. CAT2000 category)."""
        if self._meta is None:
            self._meta = json.loads((self.path / "meta.json").read_text(encoding="utf-8"))
        return dict(self._meta[self._i(i)])

    @property
    def split(self) -> dict[str, list[str]]:
        """'train'/'val'/'test' -> list of ids (natural-sorted)."""
        if self._split is None:
            content = json.loads((self.path / "split.json").read_text(encoding="utf-8"))
            self._split = {n: list(content.get(n, [])) for n in NAMES}
        return {n: list(v) for n, v in self._split.items()}

    def split_indices(self, name: str) -> np.ndarray:
        """int64 positions of the ids of split `name` ('train', 'val' or 'test')."""
        if name not in NAMES:
            raise ConfigError(f"unknown split {name!r}; choose one of {list(NAMES)}")
        return np.array([self._index[id_] for id_ in self.split[name]], dtype=np.int64)

    def center_bias(self) -> np.ndarray:
        """Centre-bias map (float32, max 1) on `center_bias_size`, from the training split."""
        path = self.path / "center_bias.npy"
        if not path.exists():
            raise DataError(f"{self.path}: no centre-bias map (the training split is empty)")
        return np.load(path)

    def center_bias_figure(self) -> Path:
        """Path of Figure 2 (PNG; a PDF lies beside it)."""
        return self.path / "center_bias.png"


def open_prepared(out_dir: str | Path) -> PreparedDataset:
    """Alias of `PreparedDataset(out_dir)`."""
    return PreparedDataset(out_dir)


__all__ = ["PreparedDataset", "prepare_dataset", "open_prepared", "parse_size",
           "resize_stimulus"]
