"""`salloss data fetch`: download, verify and unpack a dataset's archives into its root.

For each archive of `sources.SOURCES[name]`:
1. use ``<root>/archives/<file>`` (or ``<root>/<file>``) if it is there — that is where to put
   an archive downloaded by hand — else download it there (resumable);
2. verify its md5 (published) or sha256 (lock file, recorded on first download);
3. unpack it safely into ``<root>/<into>``, then write ``<root>/archives/<file>.extracted.json``.
A second run finds the marker (same archive size and mtime) and does nothing. The synthetic
dataset is generated instead of downloaded.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from salloss.data import synthetic
from salloss.data.download import ChecksumLock, OfflineError, download, verify
from salloss.data.extract import safe_extract
from salloss.data.sources import SOURCES, Archive
from salloss.errors import ConfigError, DataError
from salloss.io import write_json

log = logging.getLogger(__name__)

ARCHIVES_DIR = "archives"
LOCK_NAME = "checksums.lock.json"


def default_lock_path(root: str | Path) -> Path:
    """Beside the dataset folders: ``<root>/../checksums.lock.json`` (data/ for data/<name>)."""
    return Path(root).resolve().parent / LOCK_NAME


def archives_for(
    name: str, *, urls: dict[str, str] | None = None, include_optional: bool = False
) -> list[Archive]:
    """The archives to fetch for `name`, with URL overrides (`urls`: filename -> URL)."""
    if name not in SOURCES:
        raise ConfigError(
            f"no download source for {name!r}; fetchable datasets: {sorted(SOURCES)} "
            "(and 'synthetic', which is generated)"
        )
    archives = [a for a in SOURCES[name] if include_optional or not a.optional]
    known = {a.filename for a in SOURCES[name]}
    unknown = sorted(set(urls or {}) - known)
    if unknown:
        raise ConfigError(
            f"--url for unknown archive(s) {unknown} of {name}; known: {sorted(known)}"
        )
    return [replace(a, url=(urls or {}).get(a.filename, a.url)) for a in archives]


def _marker(root: Path, archive: Archive) -> Path:
    return root / ARCHIVES_DIR / f"{archive.filename}.extracted.json"


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def fetch_archive(
    name: str,
    root: Path,
    archive: Archive,
    lock: ChecksumLock,
    *,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
) -> Path:
    """Fetch, verify and unpack one archive; return the archive's path."""
    stored = root / ARCHIVES_DIR / archive.filename
    by_hand = root / archive.filename
    path = stored if stored.exists() else by_hand if by_hand.exists() else None
    downloaded = False
    if path is None:
        try:
            path = download(archive.url, stored, timeout=timeout, retries=retries, backoff=backoff)
        except OfflineError as exc:
            raise DataError(
                f"{exc}.\nIf this machine is offline, download {archive.url} elsewhere and put it "
                f"at {stored} (or {by_hand}), then rerun `salloss data fetch {name} --root "
                f"{root}`"
            ) from exc
        downloaded = True
    marker = _marker(root, archive)
    done = _read_marker(marker) if marker.exists() else None
    if done is not None and done.get("archive") == _stamp(path):
        log.info("%s already unpacked (marker %s)", archive.filename, marker)
        return path
    try:
        digests = verify(path, md5=archive.md5, lock=lock, key=f"{name}/{archive.filename}",
                         url=archive.url)
    except DataError:
        if downloaded:  # keep the evidence, but out of the way of the next attempt
            path.rename(path.with_name(path.name + ".corrupt"))
        raise
    files = safe_extract(path, root / archive.into)
    write_json(marker, {"archive": _stamp(path), "sha256": digests["sha256"],
                        "md5": digests["md5"], "into": archive.into, "files": len(files)})
    log.info("unpacked %s: %d files into %s", archive.filename, len(files), root / archive.into)
    return path


def fetch(
    name: str,
    root: str | Path,
    *,
    urls: dict[str, str] | None = None,
    include_optional: bool = False,
    lock_path: str | Path | None = None,
    archives: list[Archive] | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
    **options: Any,
) -> list[Path]:
    """Make dataset `name` available under `root`; return the archives used.

    `archives` replaces the pinned sources (tests, mirrors); `options` are passed to the
    synthetic generator (n_images, seed, …) and refused for other datasets.
    """
    root = Path(root)
    if name == "synthetic":
        synthetic.open_synthetic(root, **options)
        return []
    if options:
        raise ConfigError(f"fetch {name}: unexpected options {sorted(options)}")
    if name == "folder":
        raise ConfigError("the 'folder' dataset is your own data: there is nothing to fetch")
    chosen = archives if archives is not None else archives_for(
        name, urls=urls, include_optional=include_optional
    )
    lock = ChecksumLock(lock_path or default_lock_path(root))
    return [
        fetch_archive(name, root, a, lock, timeout=timeout, retries=retries, backoff=backoff)
        for a in chosen
    ]
