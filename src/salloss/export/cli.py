"""`salloss export`: write a trained run's benchmark submission (MIT300 or CAT2000 test)."""

from __future__ import annotations

import argparse
from pathlib import Path

from salloss.export.benchmarks import BENCHMARKS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `export` subcommand."""
    p = subparsers.add_parser(
        "export", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="write a run's MIT300 / CAT2000-test predictions in the benchmark's format",
        description=(
            "Predict every test image of a saliency benchmark with a finished run's best model\n"
            "and write the maps as the benchmark asks: one 8-bit grey JPEG per image, with the\n"
            "image's file name and exact size (CAT2000: in its <Category>/ folders).\n\n"
            "OUT receives NAME/ (the maps), NAME.zip (that folder zipped: what you send),\n"
            "SUBMIT.md (how to submit) and manifest.json (run, weights, count, checksums).\n"
            "Stimuli are resized to the run's input size as in training, run through the full\n"
            "model, resized back with MATLAB bicubic, negatives clipped, maximum -> 255."
        ),
        epilog=(
            "examples:\n"
            "  salloss data fetch mit300 --root data/raw/mit300\n"
            "  salloss export --run results/paper/runs/mit1003/baseline/mse/seed0 \\\n"
            "      --dataset mit300 --root data/raw/mit300 --out exports/mit300-mse\n"
            "  salloss data fetch cat2000 --root data/raw/cat2000 --include-optional\n"
            "  salloss export --run RUN --dataset cat2000 --root data/raw/cat2000 --out OUT"
        ),
    )
    p.add_argument("--run", required=True, type=Path, metavar="RUN_DIR",
                   help="finished `salloss train` run folder (model.pt + summary.json)")
    p.add_argument("--dataset", required=True, metavar="NAME",
                   help=f"benchmark test set: {', '.join(BENCHMARKS)}")
    p.add_argument("--root", required=True, type=Path, metavar="DATA_ROOT",
                   help="folder the benchmark's archives were unpacked into (mit300: "
                        "BenchmarkIMAGES/ inside; cat2000: testSet/ inside)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="output folder (created; a previous export of the same maps is "
                        "overwritten, other files in the maps folder are refused)")
    p.add_argument("--name", metavar="NAME",
                   help="model name = submission folder and zip name (default "
                        "salloss-<arch>-<loss id>-seed<k>)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--batch-size", type=int, default=8, metavar="N",
                   help="images per forward pass (default 8)")
    p.add_argument("--quality", type=int, default=95, metavar="Q",
                   help="JPEG quality 1..100 (default 95)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from salloss.export.export import MANIFEST, export_submission

    manifest = export_submission(
        args.run, args.dataset, args.root, args.out, name=args.name, device=args.device,
        batch_size=args.batch_size, quality=args.quality, progress=not args.no_progress,
    )
    print(f"{args.out / manifest['name']}: {manifest['count']} maps; send "
          f"{args.out / manifest['archive']['path']} (see {args.out / 'SUBMIT.md'}); "
          f"manifest {args.out / MANIFEST}")
    if not manifest["complete"]:
        print(f"warning: {manifest['count']} of the benchmark's {manifest['expected_count']} "
              "images: incomplete submission")
    return 0
