"""Tiny copies of every dataset's published on-disk layout, quirks included, and zips of them.

Each ``write_<dataset>(root)`` writes the layout under `root` and returns the EXPECTED content
(id -> {"stimulus", "density", "fixations", "meta"}), computed from the arrays that were
encoded, independently of salloss's loaders. Quirks reproduced (SPEC.md §6):

- MIT1003: ``.jpeg`` stimuli vs ``.jpg`` maps; fixPts as LOSSY JPEG (ringing values between 1
  and 127 around fixations, so ``> 0`` would be wrong); the stray
  ``i05june05_static_street_boston_p1010764fixPts.jpg``; ``._*`` AppleDouble and ``.DS_Store``
  junk; natural-sort names (i1, i2, i10); a JPEG with an EXIF rotation tag.
- CAT2000: ``trainSet/Stimuli/<Category>/NNN.jpg`` with odd numbers, ``Output/`` decoys,
  ``FIXATIONLOCS/*.mat`` with ``fixLocs`` (double 0/1), a wrong EXIF rotation tag.
- FiWi: ``stimuli/*.png`` (RGBA) + ``eyeMaps/all5/*.png`` under an undocumented top folder,
  with a sibling eyeMaps folder as decoy.
- SALICON: ``images/{train,val,test}``, ``maps/{train,val}``, ``fixations/{train,val}/*.mat``
  with a ``gaze`` struct array of 1-BASED [x, y] coordinates, incl. an out-of-image mouse point.
- MIT300: ``BenchmarkIMAGES/i<N>.jpg``. Folder: stimuli/, fixations/, density/ (.npy).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image, ImageOps

ORIENTATION = 0x0112
STRAY = "i05june05_static_street_boston_p1010764fixPts.jpg"


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _encode_jpeg(
    array: np.ndarray, quality: int = 90, exif_orientation: int | None = None
) -> bytes:
    image = Image.fromarray(array)
    buffer = io.BytesIO()
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, format="JPEG", quality=quality, **kwargs)
    return buffer.getvalue()


def _decode(data: bytes, mode: str) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert(mode))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _scene(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)


def _fixation_map(rng: np.random.Generator, shape: tuple[int, int], n: int) -> np.ndarray:
    """Isolated fixations (no two within 2 px), so the lossy JPEG keeps them separable."""
    out = np.zeros(shape, dtype=bool)
    placed = 0
    while placed < n:
        r, c = int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1]))
        if not out[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3].any():
            out[r, c] = True
            placed += 1
    return out


def _density_image(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
    blob = np.exp(-(((yy - cy) / 4.0) ** 2 + ((xx - cx) / 5.0) ** 2) / 2)
    return np.round(255 * blob / blob.max()).astype(np.uint8)


def _exif_junk() -> bytes:
    return b"\x00\x05\x16\x07AppleDouble junk"


# ------------------------------------------------------------------ MIT1003 / synthetic layout
MIT1003_IMAGES = {  # stem -> (height, width, exif orientation)
    "i1": (24, 32, None),
    "i2": (32, 24, None),  # portrait
    "i10": (24, 32, 6),  # EXIF says "rotate 90°": must NOT be applied
    "i05june05_static_street_boston_p1010764": (24, 30, None),
}


def write_mit1003(root: Path, seed: int = 0) -> dict[str, dict]:
    rng = _rng(seed)
    expected: dict[str, dict] = {}
    for stem, (h, w, orientation) in MIT1003_IMAGES.items():
        stim_bytes = _encode_jpeg(_scene(rng, (h, w)), exif_orientation=orientation)
        _write(root / "ALLSTIMULI" / f"{stem}.jpeg", stim_bytes)
        den_bytes = _encode_jpeg(_density_image(rng, (h, w)), quality=85)
        _write(root / "ALLFIXATIONMAPS" / f"{stem}_fixMap.jpg", den_bytes)
        fix = _fixation_map(rng, (h, w), 6)
        pts_bytes = _encode_jpeg(fix.astype(np.uint8) * 255, quality=75)
        decoded = _decode(pts_bytes, "L")
        assert ((decoded > 0) & (decoded <= 127)).any(), "fixture lost its JPEG ringing quirk"
        assert np.array_equal(decoded > 127, fix), "fixture JPEG moved a fixation"
        _write(root / "ALLFIXATIONMAPS" / f"{stem}_fixPts.jpg", pts_bytes)
        expected[stem] = {
            "stimulus": _decode(stim_bytes, "RGB"),
            "density": _decode(den_bytes, "L") / 255.0,
            "fixations": fix,
            "meta": {},
        }
        if orientation is not None:
            with Image.open(io.BytesIO(stim_bytes)) as image:
                assert ImageOps.exif_transpose(image).size != image.size, "EXIF tag not written"
    # the stray file (no underscore) — different content, so using it would show
    _write(root / "ALLFIXATIONMAPS" / STRAY, _encode_jpeg(np.full((24, 30), 255, np.uint8)))
    _write(root / "ALLSTIMULI" / "._i1.jpeg", _exif_junk())
    _write(root / "ALLSTIMULI" / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    _write(root / "ALLFIXATIONMAPS" / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    return expected


# ------------------------------------------------------------------ CAT2000
CAT2000_CATEGORIES = ("Action", "Affective", "Art", "LowResolution")
CAT2000_NUMBERS = ("001", "003", "005", "011", "101")  # odd numbering, natural order
CAT2000_SHAPE = (18, 32)  # 1080×1920 scaled down


def write_cat2000(root: Path, seed: int = 1, with_test: bool = True) -> dict[str, dict]:
    rng = _rng(seed)
    top = root / "trainSet"
    expected: dict[str, dict] = {}
    for category in CAT2000_CATEGORIES:
        for number in CAT2000_NUMBERS:
            orientation = 6 if (category, number) == ("Art", "003") else None
            stim_bytes = _encode_jpeg(_scene(rng, CAT2000_SHAPE), exif_orientation=orientation)
            _write(top / "Stimuli" / category / f"{number}.jpg", stim_bytes)
            den_bytes = _encode_jpeg(_density_image(rng, CAT2000_SHAPE))
            _write(top / "FIXATIONMAPS" / category / f"{number}.jpg", den_bytes)
            fix = _fixation_map(rng, CAT2000_SHAPE, 5)
            path = top / "FIXATIONLOCS" / category / f"{number}.mat"
            path.parent.mkdir(parents=True, exist_ok=True)
            scipy.io.savemat(path, {"fixLocs": fix.astype(np.float64)})
            expected[f"{category}/{number}"] = {
                "stimulus": _decode(stim_bytes, "RGB"),
                "density": _decode(den_bytes, "L") / 255.0,
                "fixations": fix,
                "meta": {"category": category},
            }
        # decoys: somebody's model outputs inside the stimuli folder
        decoy = _encode_jpeg(np.zeros((*CAT2000_SHAPE, 3), np.uint8))
        decoy_name = f"{CAT2000_NUMBERS[0]}_SaliencyMap.jpg"
        _write(top / "Stimuli" / category / "Output" / decoy_name, decoy)
    _write(top / "Stimuli" / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    if with_test:
        for category in ("Pattern", "Action"):
            for number in ("134", "002"):
                data = _encode_jpeg(_scene(rng, CAT2000_SHAPE), exif_orientation=8)
                _write(root / "testSet" / "Stimuli" / category / f"{number}.jpg", data)
    return expected


# ------------------------------------------------------------------ FiWi
FIWI_IMAGES = {"1": (24, 40), "2": (24, 42), "10": (24, 40)}  # 768×1360 / 768×1366 in miniature
FIWI_TOP = "webpage_dataset"


def write_fiwi(root: Path, seed: int = 2) -> dict[str, dict]:
    rng = _rng(seed)
    top = root / FIWI_TOP
    expected: dict[str, dict] = {}
    for stem, shape in FIWI_IMAGES.items():
        rgba = np.concatenate([_scene(rng, shape), np.full((*shape, 1), 255, np.uint8)], axis=2)
        _write(top / "stimuli" / f"{stem}.png", _png(rgba))
        fix = _fixation_map(rng, shape, 4)
        _write(top / "eyeMaps" / "all5" / f"{stem}.png", _png(fix.astype(np.uint8) * 255))
        # a decoy sibling folder with other observers' maps
        _write(top / "eyeMaps" / "all1" / f"{stem}.png", _png(np.zeros(shape, np.uint8)))
        expected[stem] = {"stimulus": rgba[..., :3], "fixations": fix, "meta": {}}
    return expected


# ------------------------------------------------------------------ SALICON
SALICON_SHAPE = (12, 16)  # 480×640 scaled down


def _gaze_struct(observers: list[dict[str, np.ndarray]]) -> np.ndarray:
    dtype = [("location", object), ("timestamp", object), ("fixations", object)]
    gaze = np.empty((len(observers), 1), dtype=dtype)
    for i, obs in enumerate(observers):
        gaze[i, 0] = (obs["location"], obs["timestamp"], obs["fixations"])
    return gaze


def write_salicon(root: Path, seed: int = 3) -> dict[str, dict[str, dict]]:
    """Returns {split: {id: expected}}; the test split has stimuli only."""
    rng = _rng(seed)
    h, w = SALICON_SHAPE
    out: dict[str, dict[str, dict]] = {}
    numbers = {"train": (9, 25, 1000), "val": (42, 73), "test": (1, 16)}
    for split, ids in numbers.items():
        out[split] = {}
        for number in ids:
            stem = f"COCO_{split}2014_{number:012d}"
            stim_bytes = _encode_jpeg(_scene(rng, SALICON_SHAPE))
            _write(root / "images" / split / f"{stem}.jpg", stim_bytes)
            entry: dict = {"stimulus": _decode(stim_bytes, "RGB"), "meta": {"split": split}}
            if split != "test":
                den = _density_image(rng, SALICON_SHAPE)
                _write(root / "maps" / split / f"{stem}.png", _png(den))
                observers = []
                fix, mouse = np.zeros(SALICON_SHAPE, bool), np.zeros(SALICON_SHAPE, bool)
                for k in range(2):
                    xy = np.stack([rng.integers(1, w + 1, 3), rng.integers(1, h + 1, 3)], axis=1)
                    if k == 0:  # the image's first and last pixel, 1-based
                        xy[0], xy[1] = (1, 1), (w, h)
                    loc = np.concatenate([xy, [[w + 3, 2]]])  # a mouse sample off the image
                    observers.append({"location": loc.astype(np.int64),
                                      "timestamp": np.arange(len(loc), dtype=np.int64) * 10,
                                      "fixations": xy.astype(np.int64)})
                    fix[xy[:, 1] - 1, xy[:, 0] - 1] = True
                    mouse[xy[:, 1] - 1, xy[:, 0] - 1] = True
                path = root / "fixations" / split / f"{stem}.mat"
                path.parent.mkdir(parents=True, exist_ok=True)
                scipy.io.savemat(path, {"gaze": _gaze_struct(observers), "image": stem,
                                        "resolution": np.array([[h, w]])})
                entry.update(density=den / 255.0, fixations=fix, mouse=mouse)
            out[split][stem] = entry
    return out


# ------------------------------------------------------------------ MIT300 and folder
def write_mit300(root: Path, seed: int = 4) -> dict[str, dict]:
    rng = _rng(seed)
    expected = {}
    for n in (1, 2, 10):
        data = _encode_jpeg(_scene(rng, (20, 26)))
        _write(root / "BenchmarkIMAGES" / f"i{n}.jpg", data)
        expected[f"i{n}"] = {"stimulus": _decode(data, "RGB"), "meta": {}}
    _write(root / "BenchmarkIMAGES" / ".DS_Store", b"junk")
    return expected


def write_folder(root: Path, seed: int = 5) -> dict[str, dict]:
    rng = _rng(seed)
    expected = {}
    for stem in ("b", "a2", "a10"):
        stim = _scene(rng, (10, 14))
        _write(root / "stimuli" / f"{stem}.png", _png(stim))
        fix = _fixation_map(rng, (10, 14), 3)
        _write(root / "fixations" / f"{stem}.png", _png(fix.astype(np.uint8) * 255))
        density = rng.uniform(size=(10, 14))
        (root / "density").mkdir(parents=True, exist_ok=True)
        np.save(root / "density" / f"{stem}.npy", density)
        expected[stem] = {"stimulus": stim, "density": density, "fixations": fix, "meta": {}}
    return expected


# ------------------------------------------------------------------ zips
def zip_tree(src: Path, archive: Path, folders: list[str], *, junk: bool = True) -> Path:
    """Zip `src/<folder>` for each folder (paths inside start with the folder, as published),
    adding macOS junk entries (``__MACOSX/…/._x``, ``.DS_Store``) like the real archives."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for folder in folders:
            base = src / folder
            zf.writestr(f"{folder}/", b"")
            for path in sorted(base.rglob("*")):
                rel = path.relative_to(src).as_posix()
                if path.is_dir():
                    zf.writestr(rel + "/", b"")
                    continue
                zf.write(path, rel)
                if junk:
                    parent, name = rel.rsplit("/", 1)
                    zf.writestr(f"__MACOSX/{parent}/._{name}", _exif_junk())
            if junk and not (base / ".DS_Store").exists():
                zf.writestr(f"{folder}/.DS_Store", b"\x00\x00\x00\x01Bud1")
    return archive


def evil_zip(archive: Path, kind: str) -> Path:
    """A zip with one dangerous member: 'dotdot', 'absolute', 'symlink' (escaping),
    'backslash', or a harmless 'inner-symlink'."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/fine.txt", b"fine")
        if kind == "dotdot":
            zf.writestr("ok/../../evil.txt", b"evil")
        elif kind == "absolute":
            zf.writestr("/tmp/evil.txt", b"evil")
        elif kind == "backslash":
            zf.writestr("ok\\..\\..\\evil.txt", b"evil")
        elif kind == "symlink":
            info = zipfile.ZipInfo("ok/link")
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "../../outside")
        elif kind == "inner-symlink":
            info = zipfile.ZipInfo("ok/link")
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "fine.txt")
        else:
            raise ValueError(kind)
    return archive
