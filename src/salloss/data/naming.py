"""Natural sort and id helpers: ids are ordered 'i2' < 'i10', the same on every machine."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from salloss.data.images import IMAGE_SUFFIXES

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key: digit runs compare as numbers, the rest case-insensitively; ties by raw text."""
    parts = _DIGITS.split(text)
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return key, text


def natural_sorted(items: Iterable[str]) -> list[str]:
    """The items in natural order (stable, locale-independent)."""
    return sorted(items, key=natural_key)


def strip_image_suffix(name: str) -> str:
    """'a/b.jpeg' -> 'a/b' (only known image suffixes are removed; POSIX separators)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.suffix.lower() in IMAGE_SUFFIXES + (".mat", ".npy"):
        path = path.with_suffix("")
    return path.as_posix()


def is_junk(name: str) -> bool:
    """Archive junk: macOS resource forks/metadata and Windows thumbnails."""
    parts = name.replace("\\", "/").split("/")
    base = parts[-1]
    return (
        "__MACOSX" in parts
        or base in (".DS_Store", "Thumbs.db", "desktop.ini")
        or base.startswith("._")
    )
