"""Finding a dataset's files on disk, with errors that say what was expected and what was found."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from salloss.data.naming import is_junk, natural_sorted
from salloss.errors import DataError


def describe_tree(root: Path, depth: int = 2, limit: int = 12) -> str:
    """A short listing of `root` (folders with file counts) for error messages."""
    root = Path(root)
    if not root.exists():
        return f"{root} does not exist"
    if not root.is_dir():
        return f"{root} is a file, not a folder"
    lines: list[str] = []

    def walk(folder: Path, level: int) -> None:
        try:
            entries = sorted(p for p in folder.iterdir() if not is_junk(p.name))
        except OSError:
            return
        files = [p for p in entries if p.is_file()]
        dirs = [p for p in entries if p.is_dir()]
        rel = folder.relative_to(root).as_posix() if folder != root else "."
        suffixes = sorted({p.suffix.lower() or "(none)" for p in files})
        lines.append(f"  {rel}/: {len(files)} files {suffixes if files else ''}".rstrip())
        if level < depth:
            for d in dirs:
                if len(lines) >= limit:
                    lines.append("  …")
                    return
                walk(d, level + 1)

    walk(root, 0)
    return "found:\n" + "\n".join(lines[: limit + 1])


def files_by_stem(folder: Path, suffixes: Iterable[str], what: str) -> dict[str, Path]:
    """Map stem -> file for the files of `folder` with one of `suffixes` (case-insensitive).

    Junk (``.DS_Store``, ``._*``) is ignored; two files with the same stem are an error.
    """
    suffixes = tuple(s.lower() for s in suffixes)
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        if not path.is_file() or is_junk(path.name) or path.suffix.lower() not in suffixes:
            continue
        if path.stem in found:
            raise DataError(f"{what}: two files for one image: {found[path.stem]} and {path}")
        found[path.stem] = path
    return {stem: found[stem] for stem in natural_sorted(found)}


def require_dir(folder: Path, root: Path, expected: str) -> Path:
    """Return `folder` if it is a directory, else a DataError saying what was expected."""
    if not folder.is_dir():
        raise DataError(
            f"expected {expected} at {folder}, but it is missing.\n{describe_tree(root)}"
        )
    return folder


def find_dir(root: Path, candidates: Iterable[str], expected: str) -> Path:
    """The first existing folder among `root/<candidate>`; else a DataError listing the tree."""
    tried = []
    for candidate in candidates:
        path = root / candidate
        tried.append(path)
        if path.is_dir():
            return path
    raise DataError(
        f"expected {expected}; looked for {', '.join(str(p) for p in tried)}.\n"
        f"{describe_tree(root)}"
    )


def search_dir(root: Path, name_parts: tuple[str, ...], expected: str, max_depth: int = 4) -> Path:
    """Find the unique folder under `root` whose path ends with `name_parts` (case-insensitive).

    Used where the archive's top folder is not documented (FiWi). Several matches or none are
    errors listing what was found.
    """
    want = tuple(p.lower() for p in name_parts)
    matches: list[Path] = []
    frontier = [root]
    for _ in range(max_depth + 1):
        nxt = []
        for folder in frontier:
            if tuple(p.lower() for p in folder.parts[-len(want):]) == want and folder != root:
                matches.append(folder)
            try:
                nxt.extend(p for p in folder.iterdir() if p.is_dir() and not is_junk(p.name))
            except OSError:
                continue
        frontier = sorted(nxt)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DataError(
            f"expected {expected} (a folder '{'/'.join(name_parts)}') somewhere under {root}, "
            f"found none.\n{describe_tree(root, depth=3)}"
        )
    raise DataError(
        f"expected one {expected} folder under {root}, found {len(matches)}: "
        f"{', '.join(str(m) for m in matches)}; pass the exact folder as an option"
    )
