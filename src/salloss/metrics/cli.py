"""``salloss evaluate`` (alias ``salloss metrics``): score a folder of predictions against a
dataset's ground truth with the MIT-exact metrics, or (``--convention tuebingen``) the
MIT/Tübingen benchmark's own definitions."""

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
    CONVENTIONS,
    METRICS,
    Record,
    check_metric_names,
    default_metrics,
    fixation_coords,
    pick_others,
    registry,
    score_records,
    shuffled_negatives,
    summarise,
    write_scores_csv,
    write_summary,
)
from salloss.metrics.tuebingen import MIT300_SIGMA, shuffled_nonfixations
from salloss.metrics.tuebingen_scoring import TUEBINGEN_DEFAULT, TUEBINGEN_METRICS

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

--convention tuebingen scores the MIT/Tübingen benchmark's way (matthias-k/saliency-benchmarking):
metrics {tuebingen}; only --fixations is read (.npy maps may hold counts: 2 = two fixations on a
pixel); CC, KLDiv and SIM compare against the fixations blurred by --sigma px (MIT300: 23.99,
CAT2000: 40); sAUC's negatives are every fixation of every other image. No IG (the benchmark
gives IG only for probabilistic models). Example:
  salloss evaluate --convention tuebingen --pred preds/ --fixations ALLFIXATIONMAPS \
      --fixations-suffix _fixPts --sigma 23.99 --summary tuebingen.json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` (alias ``metrics``) to the ``salloss`` command line."""
    p = subparsers.add_parser(
        "evaluate",
        aliases=["metrics"],
        help="score predictions with the MIT-benchmark metrics (per-image CSV + summary)",
        description=(
            "Score prediction maps against ground-truth density and fixation maps with the MIT "
            "saliency benchmark's metrics, computed exactly as its MATLAB code does (default), "
            "or as the MIT/Tübingen benchmark's Python code does (--convention tuebingen). "
            "Writes a per-image table and a summary (mean, std, count, NaN count per metric)."
        ),
        epilog=_EPILOG.format(metrics=", ".join(METRICS),
                              tuebingen=", ".join(TUEBINGEN_METRICS)),
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
    p.add_argument("--convention", choices=CONVENTIONS, default="mit",
                   help="mit: the MIT benchmark's MATLAB code (default; the paper's numbers); "
                        "tuebingen: the MIT/Tübingen benchmark's own Python code")
    p.add_argument("--metrics", default=None, metavar="LIST",
                   help="comma-separated metric names (default: the paper's seven, "
                        f"{','.join(default_metrics('mit'))}, also sAUC, IG; with --convention "
                        f"tuebingen: {','.join(TUEBINGEN_DEFAULT)})")
    p.add_argument("--sigma", type=float, default=MIT300_SIGMA, metavar="PX",
                   help="tuebingen: σ in pixels of the empirical map the fixations are blurred "
                        f"into for CC, KLDiv, SIM (default {MIT300_SIGMA}, MIT300's; CAT2000: 40)")
    p.add_argument("--baseline", metavar="FILE",
                   help="baseline map for IG (e.g. a centre-bias map; image or .npy)")
    p.add_argument("--shuffled-m", type=int, default=10, metavar="M",
                   help="mit sAUC: negatives are the fixations of M other images (default: 10; "
                        "tuebingen uses every other image)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the stochastic metrics (AUC-J jitter, AUC-B/sAUC sampling)")
    p.add_argument("--out", metavar="CSV", help="write the per-image scores here (atomic)")
    p.add_argument("--summary", metavar="PATH",
                   help="write the summary here: .json, or CSV for any other suffix (atomic)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run_evaluate)


def _tuebingen_records(ids: list[str], preds: dict, fixs: dict, names: list[str],
                       progress: bool) -> Iterator[Record]:
    counts = {i: files.load_fixation_counts(fixs[i])
              for i in tqdm(ids, desc="fixations", unit="img", disable=not progress)}
    points = shapes = None
    if "sAUC" in names:
        from salloss.metrics.tuebingen_scoring import count_points

        points = [count_points(counts[i]) for i in ids]
        shapes = [counts[i].shape for i in ids]
    for k, image_id in enumerate(ids):
        other = None if points is None else shuffled_nonfixations(k, points, shapes)
        yield Record(id=image_id, sal=files.load_map(preds[image_id]),
                     fixations=counts[image_id], other_points=other)


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
    convention = args.convention
    names = check_metric_names(
        [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics
        else default_metrics(convention), convention)
    known = registry(convention)
    needs = {f for n in names for f in known[n].needs}
    if convention == "tuebingen":
        needs.discard("other_points")
        if args.sigma <= 0:
            raise ConfigError(f"--sigma must be > 0 pixels, got {args.sigma}")
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

    log.info("scoring %d prediction(s) from %s with %s (%s convention)", len(ids), args.pred,
             ",".join(names), convention)
    if convention == "tuebingen":
        records = _tuebingen_records(ids, preds, fixs, names, not args.no_progress)
    else:
        records = _records(ids, preds, dens, fixs, baseline, others_for)
    rows = score_records(records, names, seed=args.seed, progress=not args.no_progress,
                         total=len(ids), convention=convention, sigma=args.sigma)
    summary = summarise(rows, names, convention)
    if args.out:
        write_scores_csv(rows, args.out, names, convention)
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
