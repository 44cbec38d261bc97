"""``salloss evaluate`` (alias ``salloss metrics``): score a folder of predictions against a
dataset's ground truth with the MIT-exact metrics."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from salloss.errors import ConfigError
from salloss.metrics import files
from salloss.metrics.scoring import (
    METRICS,
    PAPER_METRICS,
    Record,
    check_metric_names,
    fixation_coords,
    pick_others,
    score_records,
    shuffled_negatives,
    summarise,
    write_scores_csv,
    write_summary,
)

log = logging.getLogger(__name__)

_EPILOG = """\
Files are matched by id: the path relative to each folder, minus extension and minus that
folder's suffix. MIT1003 example (density and fixations in one folder):
  salloss evaluate --pred preds/ --density ALLFIXATIONMAPS --density-suffix _fixMap \\
      --fixations ALLFIXATIONMAPS --fixations-suffix _fixPts --out scores.csv \\
      --summary summary.json
Images are read as grey levels scaled to [0, 1]; .npy arrays as they are. Fixation images mark
pixels above half range (> 127 for 8-bit, as MIT does for JPEG); .npy fixation maps mark non-zero
pixels. NaN scores (e.g. an image without fixations) are counted per metric and excluded from
the means. Metrics: {metrics}.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` (alias ``metrics``) to the ``salloss`` command line."""
    p = subparsers.add_parser(
        "evaluate",
        aliases=["metrics"],
        help="score predictions with the MIT-benchmark metrics (per-image CSV + summary)",
        description=(
            "Score prediction maps against ground-truth density and fixation maps with the MIT "
            "saliency benchmark's metrics, computed exactly as its MATLAB code does. Writes a "
            "per-image table and a summary (mean, std, count, NaN count per metric)."
        ),
        epilog=_EPILOG.format(metrics=", ".join(METRICS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--pred", required=True, metavar="DIR",
                   help="folder of predictions (PNG/JPG/... images or .npy float arrays)")
    p.add_argument("--density", metavar="DIR",
                   help="folder of ground-truth density maps (needed by CC, SIM, KL, EMD)")
    p.add_argument("--fixations", metavar="DIR",
                   help="folder of binary fixation maps (needed by AUC-J, AUC-B, NSS, sAUC, IG)")
    p.add_argument("--pred-suffix", default="", metavar="S",
                   help="suffix after the id in prediction file names (default: none)")
    p.add_argument("--density-suffix", default="", metavar="S",
                   help="suffix after the id in density file names, e.g. _fixMap for MIT1003")
    p.add_argument("--fixations-suffix", default="", metavar="S",
                   help="suffix after the id in fixation file names, e.g. _fixPts for MIT1003")
    p.add_argument("--metrics", default=",".join(PAPER_METRICS), metavar="LIST",
                   help="comma-separated metric names (default: the paper's seven, "
                        f"{','.join(PAPER_METRICS)}; also sAUC, IG)")
    p.add_argument("--baseline", metavar="FILE",
                   help="baseline map for IG (e.g. a centre-bias map; image or .npy)")
    p.add_argument("--shuffled-m", type=int, default=10, metavar="M",
                   help="sAUC: negatives are the fixations of M other images (default: 10)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the stochastic metrics (AUC-J jitter, AUC-B/sAUC sampling)")
    p.add_argument("--out", metavar="CSV", help="write the per-image scores here (atomic)")
    p.add_argument("--summary", metavar="PATH",
                   help="write the summary here: .json, or CSV for any other suffix (atomic)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run_evaluate)


def _records(ids: list[str], preds: dict, dens: dict | None, fixs: dict | None,
             baseline, others_for) -> Iterator[Record]:
    for i, image_id in enumerate(ids):
        fixations = files.load_fixations(fixs[image_id]) if fixs is not None else None
        yield Record(
            id=image_id,
            sal=files.load_map(preds[image_id]),
            density=files.load_map(dens[image_id]) if dens is not None else None,
            fixations=fixations,
            other_fixations=(others_for(i, fixations.shape)
                             if others_for is not None and fixations is not None else None),
            baseline=baseline,
        )


def run_evaluate(args: argparse.Namespace) -> int:
    """Handler of ``salloss evaluate``; returns the exit code."""
    names = check_metric_names(m.strip() for m in args.metrics.split(",") if m.strip())
    needs = {f for n in names for f in METRICS[n].needs}
    if "density" in needs and not args.density:
        raise ConfigError(f"metrics {[n for n in names if 'density' in METRICS[n].needs]} "
                          "need --density DIR")
    if "fixations" in needs and not args.fixations:
        raise ConfigError(f"metrics {[n for n in names if 'fixations' in METRICS[n].needs]} "
                          "need --fixations DIR")
    if "baseline" in needs and not args.baseline:
        raise ConfigError("metric IG needs --baseline FILE (e.g. a centre-bias map)")
    if args.shuffled_m < 1:
        raise ConfigError(f"--shuffled-m must be >= 1, got {args.shuffled_m}")

    preds = files.index_folder(args.pred, args.pred_suffix, "prediction")
    indexes, folders = {}, {}
    dens = fixs = None
    if "density" in needs:
        dens = indexes["density"] = files.index_folder(args.density, args.density_suffix,
                                                       "density")
        folders["density"] = (args.density, args.density_suffix)
    if "fixations" in needs:
        fixs = indexes["fixations"] = files.index_folder(args.fixations, args.fixations_suffix,
                                                         "fixations")
        folders["fixations"] = (args.fixations, args.fixations_suffix)
    ids = files.match(preds, indexes, folders)
    baseline = files.load_map(args.baseline) if args.baseline else None

    others_for = None
    if "other_fixations" in needs:
        # sAUC negatives come from the other images' fixations: read them all once, compactly.
        pool = [fixation_coords(files.load_fixations(fixs[i]))
                for i in tqdm(ids, desc="fixations for sAUC", unit="img",
                              disable=args.no_progress)]

        def others_for(index: int, shape: tuple[int, int]):
            chosen = pick_others(len(ids), index, args.shuffled_m, args.seed)
            return shuffled_negatives((pool[j] for j in chosen), shape)

    log.info("scoring %d prediction(s) from %s with %s", len(ids), args.pred, ",".join(names))
    rows = score_records(
        _records(ids, preds, dens, fixs, baseline, others_for),
        names,
        seed=args.seed,
        progress=not args.no_progress,
        total=len(ids),
    )
    summary = summarise(rows, names)
    if args.out:
        write_scores_csv(rows, args.out, names)
        log.info("per-image scores: %s", Path(args.out))
    if args.summary:
        write_summary(summary, args.summary)
        log.info("summary: %s", Path(args.summary))
    _print_summary(summary)
    return 0


def _print_summary(summary: dict) -> None:
    lines = [f"{'metric':8s} {'mean':>10s} {'std':>10s} {'count':>6s} {'NaN':>5s}  better"]
    for name, s in summary.items():
        mean = "nan" if math.isnan(s["mean"]) else f"{s['mean']:.4f}"
        std = "nan" if math.isnan(s["std"]) else f"{s['std']:.4f}"
        better = "higher" if s["higher_is_better"] else "lower"
        lines.append(
            f"{name:8s} {mean:>10s} {std:>10s} {s['count']:6d} {s['n_nan']:5d}  {better}"
        )
    print("\n".join(lines), file=sys.stdout)
