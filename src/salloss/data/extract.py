"""Safe zip extraction: every member is checked before anything is written.

Refused (the whole archive, nothing extracted): absolute paths (``/x``, ``C:\\x``), any ``..``
component, and symlinks whose target leaves the destination. Junk (``__MACOSX/``,
``.DS_Store``, ``._*``, ``Thumbs.db``) is skipped. Files are written atomically.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import zipfile
from pathlib import Path

from tqdm import tqdm

from salloss.data.naming import is_junk
from salloss.errors import DataError
from salloss.io import atomic_open

_DRIVE = re.compile(r"^[A-Za-z]:")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _member_path(archive: Path, name: str) -> str:
    """The member's normalised relative POSIX path, or DataError if it could escape."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or _DRIVE.match(clean):
        raise DataError(f"refusing to extract {archive}: member {name!r} has an absolute path")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DataError(f"refusing to extract {archive}: member {name!r} contains '..'")
    return "/".join(parts)


def _check_link(archive: Path, rel: str, target: str) -> None:
    target = target.replace("\\", "/")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    if target.startswith("/") or _DRIVE.match(target) or resolved.split("/")[0] == "..":
        raise DataError(
            f"refusing to extract {archive}: symlink {rel!r} -> {target!r} points outside the "
            "destination"
        )


def plan(archive: str | Path) -> list[tuple[zipfile.ZipInfo, str]]:
    """Validate every member of `archive`; return (info, relative path) for the non-junk ones."""
    archive = Path(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = []
            for info in zf.infolist():
                rel = _member_path(archive, info.filename)
                if not rel or is_junk(rel):
                    continue
                if _is_symlink(info):
                    _check_link(archive, rel, zf.read(info).decode("utf-8", "replace"))
                members.append((info, rel))
    except zipfile.BadZipFile as exc:
        raise DataError(
            f"{archive} is not a valid zip archive ({exc}); delete it and fetch again"
        ) from exc
    return members


def safe_extract(archive: str | Path, dest: str | Path) -> list[Path]:
    """Extract `archive` (zip) into `dest` after validating all members; return written files."""
    archive, dest = Path(archive), Path(dest)
    members = plan(archive)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = []
    with zipfile.ZipFile(archive) as zf:
        for info, rel in tqdm(members, desc=f"extract {archive.name}", unit="file", leave=False):
            target = dest / rel
            if not target.resolve().is_relative_to(root) and not _is_symlink(info):
                raise DataError(f"refusing to extract {archive}: {rel!r} resolves outside {dest}")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if _is_symlink(info):
                link = zf.read(info).decode("utf-8")
                tmp = target.with_name(f".{target.name}.link.tmp")
                if tmp.is_symlink() or tmp.exists():
                    tmp.unlink()
                os.symlink(link, tmp)
                os.replace(tmp, target)
            else:
                with zf.open(info) as src, atomic_open(target, "wb") as out:
                    shutil.copyfileobj(src, out, length=1 << 20)
            written.append(target)
    return written
