"""Finding and reading the maps `salloss evaluate` scores: prediction, density and fixation files
matched by id.

Matching rule: a file's id is its path relative to the folder, without the extension and
without the folder's suffix (``--density-suffix`` etc.), in POSIX form. With suffix ``_fixMap``,
``ALLFIXATIONMAPS/i05june05_static_street_boston_p1010764_fixMap.jpg`` has id
``i05june05_static_street_boston_p1010764``; in a CAT2000-style tree ``Action/001.jpg`` has id
``Action/001``. Every prediction id must have exactly one density and one fixation file.

Reading: images are converted to grey levels and scaled like MATLAB's ``im2double`` (8-bit /255,
16-bit /65535); ``.npy`` arrays are read as they are. A fixation image marks a pixel fixated
when its value is above half the range (> 127 for 8-bit, as MIT does for JPEG fixation maps,
whose compression blurs the 0/255 dots); a ``.npy`` fixation map marks every non-zero pixel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from salloss.errors import DataError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
ARRAY_EXTS = (".npy",)
MAP_EXTS = IMAGE_EXTS + ARRAY_EXTS


def index_folder(folder: str | Path, suffix: str = "", what: str = "files") -> dict[str, Path]:
    """Map id → file for every map file under ``folder`` (recursively) whose stem ends with
    ``suffix``. Two files with the same id (``a.png`` and ``a.npy``) are an error."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{what} folder {str(root)!r} does not exist or is not a folder")
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in MAP_EXTS or not path.is_file():
            continue
        stem = path.with_suffix("").relative_to(root).as_posix()
        if suffix:
            if not stem.endswith(suffix):
                continue
            stem = stem[: -len(suffix)]
        if stem in found:
            raise DataError(
                f"{what}: two files for id {stem!r}: {str(found[stem])!r} and {str(path)!r}; "
                "keep one"
            )
        found[stem] = path
    return found


def match(
    preds: dict[str, Path],
    others: dict[str, dict[str, Path]],
    folders: dict[str, tuple[str | Path, str]],
) -> list[str]:
    """The prediction ids, sorted, after checking each has a file in every other index.

    ``others`` maps a role ('density', 'fixations') to its index; ``folders`` maps the role to
    (folder, suffix) for the error message.
    """
    if not preds:
        raise DataError("no prediction files found (looked for " + ", ".join(MAP_EXTS) + ")")
    for role, index in others.items():
        missing = [i for i in preds if i not in index]
        if missing:
            folder, suffix = folders[role]
            example = f"{missing[0]}{suffix}<{'|'.join(MAP_EXTS)}>"
            raise DataError(
                f"{len(missing)} prediction(s) have no {role} file, e.g. id {missing[0]!r}: "
                f"expected {example} in {str(folder)!r}"
                + (f" (suffix {suffix!r})" if suffix else f" (set --{role}-suffix?)")
            )
    return sorted(preds)


def _read_image(path: Path) -> tuple[np.ndarray, float]:
    """Grey-level pixels and the full-scale value of their type (255, 65535 or 1)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(img, dtype=np.float64)
                return arr, 65535.0
            if img.mode == "1":
                return np.asarray(img, dtype=np.float64), 1.0
            if img.mode == "F":
                return np.asarray(img, dtype=np.float64), 1.0
            if img.mode != "L":
                img = img.convert("L")
            return np.asarray(img, dtype=np.float64), 255.0
    except OSError as exc:
        raise DataError(f"cannot read image {str(path)!r}: {exc}") from exc


def _read_array(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read array {str(path)!r}: {exc}") from exc
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise DataError(f"{str(path)!r} holds an array of shape {arr.shape}; expected 2-D (H, W)")
    return arr


def load_map(path: str | Path) -> np.ndarray:
    """A saliency or density map as float64: images scaled to [0, 1] (im2double), .npy as is."""
    path = Path(path)
    if path.suffix.lower() in ARRAY_EXTS:
        return _read_array(path).astype(np.float64)
    arr, full = _read_image(path)
    return arr / full


def load_fixation_counts(path: str | Path) -> np.ndarray:
    """Fixations per pixel for the Tübingen convention: a .npy array as the counts it holds
    (2 = two fixations on that pixel; non-negative integers), an image as `load_fixations`
    (each marked pixel once — an 8-bit map cannot say more)."""
    from salloss.metrics.tuebingen_scoring import fixation_count_map

    path = Path(path)
    if path.suffix.lower() in ARRAY_EXTS:
        return fixation_count_map(_read_array(path), f"fixation map {str(path)!r}")
    return load_fixations(path)


def load_fixations(path: str | Path) -> np.ndarray:
    """A binary fixation map as bool: images thresholded at half range (> 127 for 8-bit),
    .npy arrays non-zero."""
    path = Path(path)
    if path.suffix.lower() in ARRAY_EXTS:
        arr = _read_array(path)
        if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
            raise DataError(f"fixation map {str(path)!r} contains NaN")
        return arr != 0
    arr, full = _read_image(path)
    if full == 1.0:
        return arr > 0
    return arr > np.floor(full / 2)
