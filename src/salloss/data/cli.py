"""`salloss data …`: list, info, fetch, split and prepare datasets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from salloss.errors import ConfigError


def _value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """['sigma=30', 'split=test'] -> {'sigma': 30, 'split': 'test'} (ints, floats, bools)."""
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option {item!r} must be KEY=VALUE")
        options[key.strip()] = _value(value)
    return options


def _cmd_list(args: argparse.Namespace) -> int:
    from salloss.data.registry import DATASETS, DESCRIPTIONS, dataset_options
    from salloss.data.sources import SOURCES

    for name in DATASETS:
        print(f"{name:10s} {DESCRIPTIONS[name]}")
        if args.verbose_list:
            options = ", ".join(f"{k}={v!r}" for k, v in dataset_options(name).items())
            print(f"{'':10s}   options: {options or '-'}")
            for archive in SOURCES.get(name, ()):
                check = f"md5 {archive.md5}" if archive.md5 else "sha256 recorded on first fetch"
                extra = " (optional)" if archive.optional else ""
                print(f"{'':10s}   {archive.filename}{extra}: {archive.url} [{check}]")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from salloss.data.fetch import ARCHIVES_DIR
    from salloss.data.registry import open_dataset
    from salloss.data.sources import SOURCES

    root = Path(args.root)
    for archive in SOURCES.get(args.name, ()):
        stored = root / ARCHIVES_DIR / archive.filename
        marker = root / ARCHIVES_DIR / f"{archive.filename}.extracted.json"
        state = "unpacked" if marker.exists() else "downloaded" if stored.exists() else "missing"
        print(f"archive {archive.filename}: {state}")
    dataset = open_dataset(args.name, root, **parse_options(args.option))
    sizes = sorted({r.size for r in dataset}) if args.sizes else []
    info = {
        "dataset": dataset.name, "root": str(dataset.root), "images": len(dataset),
        "first_ids": dataset.ids[:3], "last_ids": dataset.ids[-3:],
        "ground_truth": dataset.has_ground_truth, "options": dataset.options,
    }
    if sizes:
        info["sizes_hw"] = [list(s) for s in sizes[:10]] + (["…"] if len(sizes) > 10 else [])
    print(json.dumps(info, indent=2, default=str))
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from salloss.data.fetch import fetch

    urls = parse_options(args.url)
    used = fetch(
        args.name, args.root, urls={k: str(v) for k, v in urls.items()},
        include_optional=args.include_optional, lock_path=args.lock, timeout=args.timeout,
        retries=args.retries, **parse_options(args.option),
    )
    print(f"{args.name} ready under {args.root}" + (f" ({len(used)} archives)" if used else ""))
    return 0


def _split_arg(args: argparse.Namespace) -> Any:
    if args.split and args.split_sizes:
        raise ConfigError("give either --split or --split-sizes, not both")
    if args.split:
        if "=" in args.split and not Path(args.split).exists():
            return {k: str(v) for k, v in parse_options(args.split.split(",")).items()}
        return args.split
    return args.split_sizes


def _cmd_split(args: argparse.Namespace) -> int:
    from salloss.data.prepared import resolve_split
    from salloss.data.registry import open_dataset
    from salloss.data.splits import write_split

    dataset = open_dataset(args.name, args.root, **parse_options(args.option))
    split = resolve_split(dataset, _split_arg(args), args.seed)
    write_split(args.out, split)
    print(f"{args.out}: train {len(split.train)}, val {len(split.val)}, test {len(split.test)}")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from salloss.data.prepared import parse_size, prepare_dataset

    prepared = prepare_dataset(
        args.name, args.root, args.out,
        input_sizes=[parse_size(s) for s in (args.size or ["300x400"])],
        split=_split_arg(args), seed=args.seed,
        center_bias_size=parse_size(args.center_bias_size) if args.center_bias_size else None,
        **parse_options(args.option),
    )
    counts = {k: len(v) for k, v in prepared.split.items()}
    print(f"{prepared.path}: {len(prepared)} images, sizes {prepared.input_sizes}, split {counts}")
    return 0


def _common(p: argparse.ArgumentParser, *, root: bool = True) -> None:
    from salloss.data.registry import DATASETS

    p.add_argument("name", choices=sorted(DATASETS), metavar="NAME",
                   help=f"dataset: {', '.join(DATASETS)}")
    if root:
        p.add_argument("--root", required=True, type=Path,
                       help="folder the dataset's archives are (or will be) unpacked into")
    p.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                   help="loader option, repeatable (e.g. sigma=30, split=test, n_images=60); "
                        "`salloss data list -v` shows each dataset's options")


def _split_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", metavar="SOURCE",
                   help="user split: a .json, a folder with train.txt/val.txt/test.txt, or "
                        "train=FILE,val=FILE,test=FILE (text lists, one image per line)")
    p.add_argument("--split-sizes", metavar="TRAIN,VAL,TEST",
                   help="seeded split sizes: counts or fractions, one may be 'rest' "
                        "(default: mit1003 500,200,rest; others 0.5,0.2,rest; cat2000 "
                        "stratified by category)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")


def _cmd_synth(args: argparse.Namespace) -> int:
    from salloss.data.synthlayout import LAYOUTS, synthesize

    root = synthesize(args.layout, args.root, n=args.n, seed=args.seed,
                      workers=max(1, args.workers), progress=not args.no_progress)
    n = args.n or LAYOUTS[args.layout].count
    print(f"{root}: synthetic {args.layout} layout, {n} images (seed {args.seed}); read it "
          f"with the '{args.layout}' loader")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `salloss data` and its subcommands."""
    data = subparsers.add_parser(
        "data", help="list, fetch, synthesise, inspect, split and prepare datasets",
        description="Datasets: download and verify the published archives, read them, write "
                    "splits and the prepared cache (resized stimuli, maps, centre bias, Figure 2).",
    )
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("list", help="list the datasets", description="List the datasets; with "
                       "-v also their options and archives (URL, checksum).")
    p.add_argument("-v", "--verbose-list", action="store_true", help="options and archives")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("info", help="summarise a dataset on disk",
                       description="Open a dataset and print its size, ids and archive state.")
    _common(p)
    p.add_argument("--sizes", action="store_true", help="also list image sizes (reads headers)")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser(
        "fetch", help="download, verify and unpack a dataset",
        description="Download the dataset's archives into ROOT/archives (resumable), verify the "
                    "published md5 or the sha256 recorded in the lock file, unpack them safely. "
                    "Offline: put the archives in ROOT/archives by hand and rerun. 'synthetic' "
                    "is generated instead.",
    )
    _common(p)
    p.add_argument("--url", action="append", metavar="FILE=URL",
                   help="download FILE (e.g. webpage_dataset.zip) from a mirror URL")
    p.add_argument("--include-optional", action="store_true",
                   help="also fetch optional archives (MIT1003 DATA.zip, CAT2000 testSet.zip)")
    p.add_argument("--lock", type=Path,
                   help="checksum lock file (default: ROOT/../checksums.lock.json)")
    p.add_argument("--timeout", type=float, default=60.0, help="network timeout, s (default 60)")
    p.add_argument("--retries", type=int, default=3, help="resumed retries (default 3)")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser(
        "synth", help="write synthetic data in a real dataset's layout, count and image sizes",
        description="Rehearse the paper-scale study offline: write synthetic scenes (objects, "
                    "a centre bias, fixations drawn from a known density) at the real "
                    "dataset's image sizes and count, in its published on-disk layout, so the "
                    "real loader reads them: mit1003 (1,003 images, longest side 1024), "
                    "cat2000 (2,000 at 1920x1080 in 20 category folders, fixLocs .mat files), "
                    "fiwi (149 at 768x1366/768x1360, binary eyeMaps). Seeded; image k is the "
                    "same whatever --n. config/rehearsal.yaml runs the paper preset on them.",
        epilog="example: salloss data synth --layout cat2000 --root data/rehearsal/cat2000",
    )
    p.add_argument("--layout", required=True, choices=("mit1003", "cat2000", "fiwi"),
                   help="which dataset's layout, count and sizes")
    p.add_argument("--root", required=True, type=Path,
                   help="folder to write (must be empty or hold the same synthetic data)")
    p.add_argument("--n", type=int, default=None,
                   help="only the first N images (default: the real count)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes writing images (default 1; the files do not depend on it)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("split", help="write a versioned split file",
                       description="Write a deterministic, seeded train/val/test split "
                                   "(or check a user split) as JSON; an existing different "
                                   "file is refused.")
    _common(p)
    p.add_argument("--out", required=True, type=Path, help="split file to write (.json)")
    _split_options(p)
    p.set_defaults(func=_cmd_split)

    p = sub.add_parser(
        "prepare", help="build the cache the trainer reads",
        description="Resize stimuli to each input size (PIL bicubic, antialiased, aspect ratio "
                    "not kept), store densities and fixations at original resolution, the "
                    "split, the training split's centre-bias map and Figure 2. Idempotent.",
    )
    _common(p)
    p.add_argument("--out", required=True, type=Path, help="output folder of the cache")
    p.add_argument("--size", action="append", metavar="HxW",
                   help="input size HEIGHTxWIDTH, repeatable (default 300x400, the paper's)")
    p.add_argument("--center-bias-size", metavar="HxW",
                   help="grid of the centre-bias map (default 300x400)")
    _split_options(p)
    p.set_defaults(func=_cmd_prepare)
