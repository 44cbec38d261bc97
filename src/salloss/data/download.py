"""Resumable HTTP downloads and checksum verification.

A download streams into ``<file>.part``; an interrupted one resumes with an HTTP Range
request (a server that ignores Range restarts it from zero). Only a complete file is renamed
onto its final name (atomically, through `salloss.io`). Checksums: md5 where one is
published; otherwise the sha256 of the first download is recorded in a JSON lock file and
every later copy must match it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tqdm import tqdm

from salloss import __version__
from salloss.errors import DataError
from salloss.io import atomic_path, write_json

log = logging.getLogger(__name__)

CHUNK = 1 << 20
USER_AGENT = f"salloss/{__version__} (+dataset fetch)"
_TRANSIENT = (
    urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError,
)


class OfflineError(DataError):
    """The server could not be reached at all (no network, DNS failure, refused)."""


def file_digests(path: str | Path) -> dict[str, str]:
    """md5 and sha256 (hex) of a file, in one pass."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    path = Path(path)
    with open(path, "rb") as fh, tqdm(
        total=path.stat().st_size, unit="B", unit_scale=True, desc=f"checksum {path.name}",
        leave=False,
    ) as bar:
        for block in iter(lambda: fh.read(CHUNK), b""):
            md5.update(block)
            sha.update(block)
            bar.update(len(block))
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}


def _open(url: str, start: int, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (pinned http/https)


def _total(response: Any, start: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if response.status == 206 and "/" in content_range:
        tail = content_range.rsplit("/", 1)[1]
        return int(tail) if tail.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) + (start if response.status == 206 else 0) if length else None


def _attempt(url: str, part: Path, timeout: float) -> bool:
    """One connection: append to `part`. True when the file is known complete."""
    start = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, start, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left to send: the part is complete
            return True
        raise DataError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    with response:
        if start and response.status != 206:
            log.info("%s ignores Range requests; restarting from zero", url)
            start = 0
        if "text/html" in response.headers.get("Content-Type", "") and not url.endswith(".html"):
            raise DataError(
                f"{url} returned a web page instead of the archive (moved, quota or consent "
                "page?); download it in a browser and place it by hand"
            )
        total = _total(response, start)
        mode = "ab" if start else "wb"
        with open(part, mode) as out, tqdm(
            total=total, initial=start, unit="B", unit_scale=True, desc=part.name[:-5]
        ) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                bar.update(len(block))
    size = part.stat().st_size
    if total is not None and size < total:
        raise http.client.IncompleteRead(b"", total - size)
    return True


def download(
    url: str, dest: str | Path, *, timeout: float = 60.0, retries: int = 3, backoff: float = 1.0
) -> Path:
    """Download `url` to `dest`, resuming a previous ``dest.part``; return `dest`.

    Transient failures are retried `retries` times (waiting `backoff`·2^k s), each resuming
    where the last stopped. A
    server that cannot be reached at all raises `OfflineError`.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last: Exception | None = None
    for attempt in range(retries + 1):
        had = part.stat().st_size if part.exists() else 0
        try:
            _attempt(url, part, timeout)
            break
        except DataError:
            raise
        except _TRANSIENT as exc:
            last = exc
            now = part.stat().st_size if part.exists() else 0
            if attempt == 0 and now == had and isinstance(exc, urllib.error.URLError):
                raise OfflineError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from exc
            log.warning("download of %s interrupted (%s); resuming (%d/%d)", url, exc,
                        attempt + 1, retries)
            if attempt < retries:
                time.sleep(backoff * 2**attempt)
    else:
        raise DataError(f"download of {url} failed after {retries + 1} attempts: {last}")
    with atomic_path(dest) as tmp:
        os.replace(part, tmp)
    return dest


class ChecksumLock:
    """JSON file of sha256 sums recorded on first download, for archives without a published md5.

    Format: ``{"format": "salloss-checksums", "version": 1, "archives": {KEY: {"sha256",
    "bytes", "url"}}}`` with KEY = ``<dataset>/<filename>``. Commit it to pin the data.
    """

    FORMAT = "salloss-checksums"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                content = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise DataError(f"cannot read checksum lock file {self.path}: {exc}") from exc
            if content.get("format") != self.FORMAT:
                raise DataError(f"{self.path} is not a salloss checksum lock file")
            self.entries = dict(content.get("archives", {}))

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def record(self, key: str, sha256: str, size: int, url: str) -> None:
        """Add (or replace) an entry and rewrite the file atomically."""
        self.entries[key] = {"sha256": sha256, "bytes": size, "url": url}
        write_json(
            self.path,
            {"format": self.FORMAT, "version": 1,
             "archives": {k: self.entries[k] for k in sorted(self.entries)}},
        )


def verify(
    path: Path, *, md5: str | None, lock: ChecksumLock, key: str, url: str
) -> dict[str, str]:
    """Check `path` against the published md5, else the lock file's sha256 (recording it the
    first time). A mismatch raises DataError printing both sums."""
    digests = file_digests(path)
    if md5 is not None:
        if digests["md5"] != md5.lower():
            raise DataError(
                f"checksum mismatch for {path}: expected md5 {md5}, got md5 {digests['md5']}. "
                "The file is corrupt or not the published archive; delete it and fetch again"
            )
        return digests
    entry = lock.get(key)
    if entry is None:
        lock.record(key, digests["sha256"], path.stat().st_size, url)
        log.info("recorded sha256 %s for %s in %s", digests["sha256"], key, lock.path)
    elif entry["sha256"] != digests["sha256"]:
        raise DataError(
            f"checksum mismatch for {path}: expected sha256 {entry['sha256']} (recorded in "
            f"{lock.path}), got sha256 {digests['sha256']}. The file is corrupt or the "
            "server now serves another version; delete the file, or the lock entry if the "
            "change is intended"
        )
    return digests
