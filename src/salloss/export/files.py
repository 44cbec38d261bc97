"""Checksums and the byte-reproducible zip of a submission folder."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from pathlib import Path

from salloss.io import atomic_path

# Fixed entry time and mode: the same maps always give the same zip bytes (and checksum).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o644


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_zip(archive: str | Path, folder: str | Path, files: Sequence[str], prefix: str) -> Path:
    """Zip ``folder/<f>`` for each relative POSIX path `f` as ``<prefix>/<f>``, atomically.

    Only the listed files go in (never a glob of the folder), stored uncompressed (JPEGs do not
    shrink), in the given order, with fixed timestamps so re-exports are byte-identical.
    """
    archive, folder = Path(archive), Path(folder)
    with atomic_path(archive) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for rel in files:
            info = zipfile.ZipInfo(f"{prefix}/{rel}", date_time=ZIP_DATE)
            info.external_attr = ZIP_MODE << 16
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, (folder / rel).read_bytes())
    return archive
