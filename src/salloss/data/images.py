"""Image file reading/writing for the datasets.

Reading never applies the EXIF orientation tag: the eye-tracking data were recorded on the
pixel array as stored (one CAT2000 image carries a wrong rotation tag), so honouring the tag
would misalign image and fixations. Every read error becomes a `DataError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from salloss.errors import DataError
from salloss.io import atomic_path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")

_READ_ERRORS = (
    OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError,
)


def _open(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()  # decode now, so a truncated file fails here with its name
    except FileNotFoundError as exc:
        raise DataError(f"image file not found: {path}") from exc
    except _READ_ERRORS as exc:
        raise DataError(f"cannot read image {path}: {exc} (truncated or corrupt file?)") from exc
    return image


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image from its header only (cheap; EXIF orientation ignored)."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
    except FileNotFoundError as exc:
        raise DataError(f"image file not found: {path}") from exc
    except _READ_ERRORS as exc:
        raise DataError(f"cannot read image {path}: {exc}") from exc
    return height, width


def read_rgb(path: str | Path) -> np.ndarray:
    """Stimulus as an H×W×3 uint8 RGB array, pixels as stored (alpha dropped, EXIF ignored)."""
    path = Path(path)
    with _open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            gray = _as_unit_float(image)
            return np.repeat(np.round(gray * 255).astype(np.uint8)[..., None], 3, axis=2)
        return np.array(image.convert("RGB"), dtype=np.uint8)


def read_gray(path: str | Path) -> np.ndarray:
    """A single-channel map as H×W float64 in [0, 1] (8-bit: value/255; 16-bit: value/65535).

    Colour files are converted to luma (ITU-R 601, PIL's 'L'); the published maps are grey.
    """
    path = Path(path)
    with _open(path) as image:
        return _as_unit_float(image)


def _as_unit_float(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(image, dtype=np.float64) / 65535.0
    if image.mode == "I":
        array = np.asarray(image, dtype=np.float64)
        return array / 65535.0 if array.max(initial=0) > 255 else array / 255.0
    if image.mode == "F":
        return np.asarray(image, dtype=np.float64)
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def write_jpeg(path: str | Path, array: np.ndarray, quality: int = 95) -> None:
    """Write a uint8 H×W or H×W×3 array as JPEG, atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(array, dtype=np.uint8)).save(tmp, format="JPEG", quality=quality)


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 H×W or H×W×3 array as PNG (lossless), atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(array, dtype=np.uint8)).save(tmp, format="PNG")


def to_uint8(map_: np.ndarray) -> np.ndarray:
    """Max-normalise a non-negative map to 0…255 uint8 (all-zero stays zero), for saving."""
    map_ = np.asarray(map_, dtype=np.float64)
    peak = map_.max(initial=0.0)
    if peak <= 0:
        return np.zeros(map_.shape, dtype=np.uint8)
    return np.round(np.clip(map_ / peak, 0.0, 1.0) * 255.0).astype(np.uint8)
