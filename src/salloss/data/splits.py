"""Train/val/test splits: deterministic, seeded, stratified where asked, written as versioned JSON.

Method ``sha256-rank-v1``: ids are ordered by ``sha256("sha256-rank-v1|<seed>|<id>")`` and taken
in that order (per stratum when stratified). A hash is used instead of a random generator so
the same ids and seed give the same split on every machine and library version; adding or
removing other ids does not move an id between the ranks of the remaining ones. Lists in the
file are natural-sorted.

Sizes are three entries (train, val, test): a count (int ≥ 0), a fraction (float in [0, 1]),
or None/'rest' for what is left (at most one). With strata, each size is first resolved for
the whole dataset (a fraction of all ids) and then apportioned to the strata in proportion to
their sizes (largest remainder, never more than a stratum has left), so small strata cannot
round a split away: 60 CAT2000 images in 20 categories at 0.2 give 12 validation images, not
20 × floor(0.6) = 0. Strata of equal size get exactly the per-stratum share.

User splits: our JSON, a JSON ``{"train": [...], "val": [...], "test": [...]}``, a folder
with ``train.txt``/``val.txt``/``test.txt``, or a mapping split name -> text file. Text files
list one image per line (blank lines and ``#`` comments ignored); names may carry folders and
image suffixes (``ALLSTIMULI/i1.jpeg`` -> ``i1``), as the published MIT1003 900/103 lists do.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salloss.data.naming import natural_sorted, strip_image_suffix
from salloss.errors import ConfigError, DataError
from salloss.io import write_json

log = logging.getLogger(__name__)

FORMAT = "salloss-split"
VERSION = 1
METHOD = "sha256-rank-v1"
NAMES = ("train", "val", "test")
_ALIASES = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}

Size = int | float | None
DEFAULT_SIZES: dict[str, tuple[Size, Size, Size]] = {
    "mit1003": (500, 200, None),  # the paper: 500 train, 200 validation, the rest (303) test
}
FALLBACK_SIZES: tuple[Size, Size, Size] = (0.5, 0.2, None)  # MIT1003's proportions
DEFAULT_STRATIFY: dict[str, str] = {"cat2000": "category"}


@dataclass
class Split:
    """Three disjoint id lists plus how they were made (`info`)."""

    train: list[str]
    val: list[str]
    test: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> list[str]:
        if name not in NAMES:
            raise ConfigError(f"unknown split {name!r}; choose one of {list(NAMES)}")
        return getattr(self, name)

    def as_dict(self) -> dict[str, list[str]]:
        return {n: list(self[n]) for n in NAMES}

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **self.info, **self.as_dict()}


def parse_sizes(text: str | Sequence[Any]) -> tuple[Size, Size, Size]:
    """'500,200,rest' or '0.5,0.2,rest' or a 3-sequence -> (train, val, test) sizes."""
    items = text.split(",") if isinstance(text, str) else list(text)
    if len(items) != 3:
        raise ConfigError(f"split sizes need 3 entries (train,val,test), got {text!r}")
    sizes: list[Size] = []
    for item in items:
        if item is None or (isinstance(item, str) and item.strip().lower() in ("rest", "")):
            sizes.append(None)
            continue
        try:
            value = float(item) if "." in str(item) or isinstance(item, float) else int(item)
        except ValueError:
            raise ConfigError(f"split size {item!r} is not a count, a fraction or 'rest'") from None
        if value < 0 or (isinstance(value, float) and value > 1):
            raise ConfigError(f"split size {item!r}: counts must be >= 0, fractions in [0, 1]")
        sizes.append(value)
    if sizes.count(None) > 1:
        raise ConfigError(f"split sizes {text!r}: at most one entry may be 'rest'")
    return sizes[0], sizes[1], sizes[2]


def _rank_key(seed: int, id_: str) -> str:
    return hashlib.sha256(f"{METHOD}|{seed}|{id_}".encode()).hexdigest()


def _apportion(total: int, weights: list[int], caps: list[int] | None = None) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder; ties to earlier strata),
    giving no stratum more than its cap (the excess goes to the next in remainder order)."""
    caps = list(weights) if caps is None else caps
    mass = sum(weights)
    if mass == 0 or total == 0:
        return [0] * len(weights)
    if total > sum(caps):
        raise ConfigError(f"cannot place {total} ids in strata with room for {sum(caps)}")
    exact = [total * w / mass for w in weights]
    counts = [min(int(e + 1e-9), c) for e, c in zip(exact, caps, strict=True)]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - int(exact[i] + 1e-9)), i))
    while sum(counts) < total:
        for i in order:
            if sum(counts) == total:
                break
            if counts[i] < caps[i]:
                counts[i] += 1
    return counts


def _counts(sizes: tuple[Size, Size, Size], n: int) -> list[int]:
    """Resolve sizes to counts for `n` ids: fractions are floored, 'rest' takes the remainder;
    three fractions summing to 1 share the rounding slack by largest remainder."""
    exact = [None if s is None else (s * n if isinstance(s, float) else float(s)) for s in sizes]
    counts = [0 if e is None else int(e + 1e-9) for e in exact]
    if None in sizes:
        rest = sizes.index(None)
        counts[rest] = n - sum(c for i, c in enumerate(counts) if i != rest)
    elif all(isinstance(s, float) for s in sizes) and abs(sum(sizes) - 1) < 1e-9:  # type: ignore[arg-type]
        order = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))  # type: ignore[operator]
        for i in order[: n - sum(counts)]:
            counts[i] += 1
    if min(counts) < 0 or sum(counts) > n:
        raise ConfigError(f"split sizes {sizes} need {sum(c for c in counts if c > 0)} images "
                          f"but there are {n}")
    return counts


def make_split(
    ids: Sequence[str],
    sizes: tuple[Size, Size, Size] = FALLBACK_SIZES,
    *,
    seed: int = 0,
    strata: Mapping[str, str] | None = None,
    dataset: str = "",
) -> Split:
    """Deterministic split of `ids` (see the module docstring); `strata` maps id -> group."""
    ids = natural_sorted(set(ids))
    if len(ids) == 0:
        raise DataError(f"cannot split {dataset or 'a dataset'}: it has no images")
    groups: dict[str, list[str]] = {}
    for id_ in ids:
        groups.setdefault(strata[id_] if strata is not None else "", []).append(id_)
    names = natural_sorted(groups)
    if strata is not None and len(names) > 1:
        totals = _counts(sizes, len(ids))  # the whole dataset's counts, then per stratum
        room = [len(groups[g]) for g in names]
        per_stratum: list[list[int] | None] = [None, None, None]
        for k in (k for k in range(3) if sizes[k] is not None):
            per_stratum[k] = _apportion(totals[k], [len(groups[g]) for g in names], room)
            room = [r - c for r, c in zip(room, per_stratum[k], strict=True)]
        plan = {g: tuple(None if per_stratum[k] is None else per_stratum[k][j]  # type: ignore[index]
                         for k in range(3)) for j, g in enumerate(names)}
    else:
        plan = {g: sizes for g in names}
    parts: dict[str, list[str]] = {n: [] for n in NAMES}
    for group in names:
        members = sorted(groups[group], key=lambda i: _rank_key(seed, i))
        n_train, n_val, n_test = _counts(plan[group], len(members))
        parts["train"] += members[:n_train]
        parts["val"] += members[n_train : n_train + n_val]
        parts["test"] += members[n_train + n_val : n_train + n_val + n_test]
    info = {
        "dataset": dataset, "method": METHOD, "seed": seed, "sizes": list(sizes),
        "stratified": strata is not None, "n_ids": len(ids), "ids_sha256": ids_digest(ids),
    }
    return Split(*(natural_sorted(parts[n]) for n in NAMES), info=info)


def ids_digest(ids: Sequence[str]) -> str:
    """sha256 of the natural-sorted id list (records which ids a split was made from)."""
    return hashlib.sha256("\n".join(natural_sorted(ids)).encode()).hexdigest()


def default_split(
    dataset: Any, seed: int = 0, sizes: tuple[Size, Size, Size] | None = None
) -> Split:
    """The default split of an opened `Dataset` (sizes per `DEFAULT_SIZES`, strata per
    `DEFAULT_STRATIFY`)."""
    sizes = sizes or DEFAULT_SIZES.get(dataset.name, FALLBACK_SIZES)
    key = DEFAULT_STRATIFY.get(dataset.name)
    strata = {r.id: str(r.meta[key]) for r in dataset} if key else None
    if sizes == DEFAULT_SIZES.get(dataset.name) and len(dataset) < sum(s or 0 for s in sizes):
        log.warning("%s has %d images, fewer than the default sizes %s; using %s",
                    dataset.name, len(dataset), sizes, FALLBACK_SIZES)
        sizes = FALLBACK_SIZES
    return make_split(dataset.ids, sizes, seed=seed, strata=strata, dataset=dataset.name)


def write_split(path: str | Path, split: Split) -> Path:
    """Write `split` once: an identical existing file is kept; a different one is refused."""
    path = Path(path)
    if path.exists():
        existing = load_split(path)
        if existing.as_dict() == split.as_dict():
            return path
        raise ConfigError(
            f"{path} already holds a different split; splits are written once — delete it or "
            "write to another file"
        )
    write_json(path, split.to_json())
    return path


def resolve_id(name: str, known: Mapping[str, str] | set[str]) -> str | None:
    """Map a listed name ('ALLSTIMULI/x.jpeg', 'Action/001.jpg', 'x') to a known id, or None."""
    clean = strip_image_suffix(name.strip())
    parts = clean.split("/")
    for k in range(min(len(parts), 2), 0, -1):  # 'Category/NNN' first, then the bare stem
        candidate = "/".join(parts[-k:])
        if candidate in known:
            return candidate
    return None


def _read_list(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read split list {path}: {exc}") from exc
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _from_dir(folder: Path) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    for name in NAMES:
        for alias in _ALIASES[name]:
            if (folder / f"{alias}.txt").is_file():
                lists[name] = _read_list(folder / f"{alias}.txt")
                break
    if not lists:
        raise DataError(f"split folder {folder} has none of train.txt, val.txt, test.txt")
    return lists


def _raw_lists(source: str | Path | Mapping[str, Any]) -> tuple[dict[str, list[str]], dict]:
    if isinstance(source, Mapping):
        lists = {}
        for key, value in source.items():
            name = next((n for n, al in _ALIASES.items() if key in al), None)
            if name is None:
                raise ConfigError(f"unknown split name {key!r}; use {list(NAMES)}")
            lists[name] = _read_list(Path(value)) if isinstance(value, str | Path) else list(value)
        return lists, {"source": "mapping"}
    path = Path(source)
    if path.is_dir():
        return _from_dir(path), {"source": str(path)}
    if not path.is_file():
        raise DataError(f"split file {path} does not exist")
    if path.suffix.lower() == ".json":
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read split file {path}: {exc}") from exc
        if content.get("format", FORMAT) != FORMAT or content.get("version", VERSION) > VERSION:
            raise DataError(f"{path}: unsupported split format/version")
        skip = (*NAMES, "format", "version")
        info = {k: v for k, v in content.items() if k not in skip}
        lists = {n: list(content.get(n, [])) for n in NAMES}
        return lists, info
    raise ConfigError(
        f"split source {path}: give a .json file, a folder with train.txt/val.txt/test.txt, or "
        "train=FILE,val=FILE,test=FILE"
    )


def load_split(source: str | Path | Mapping[str, Any], ids: Sequence[str] | None = None) -> Split:
    """Read a user or salloss split; with `ids`, names are resolved to ids and checked:
    unknown names and ids listed twice are errors, ids listed nowhere are logged."""
    lists, info = _raw_lists(source)
    if ids is not None:
        known = set(ids)
        for name, items in lists.items():
            resolved = [resolve_id(item, known) for item in items]
            unknown = [item for item, r in zip(items, resolved, strict=True) if r is None]
            if unknown:
                raise DataError(
                    f"split {name!r} from {source}: {len(unknown)} names match no image of the "
                    f"dataset, e.g. {unknown[:5]}"
                )
            lists[name] = [r for r in resolved if r is not None]
        seen: dict[str, str] = {}
        for name in NAMES:
            for id_ in lists.get(name, []):
                if id_ in seen:
                    raise DataError(
                        f"split from {source}: {id_!r} is listed in {seen[id_]!r} and {name!r}"
                    )
                seen[id_] = name
        left = len(known) - len(seen)
        if left:
            log.warning("split from %s leaves %d of %d images unused", source, left, len(known))
        info = {**info, "ids_sha256": ids_digest(ids)}
    info.setdefault("source", str(source) if not isinstance(source, Mapping) else "mapping")
    return Split(*(natural_sorted(lists.get(n, [])) for n in NAMES), info=info)
