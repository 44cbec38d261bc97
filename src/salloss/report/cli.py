"""``salloss report``: the paper's tables and figures for a preset, from its params file."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)

_EPILOG = """\
Reads the runs the params plan (never a directory glob), for each run its scores.csv,
metrics.json, summary.json, dvclive/ and (for Figures 3 and 4) preview.npz, scores the
centre-bias and uniform baselines of Table 1 (cached), and writes into the report folder
(default <results_dir>/<preset>/report):
  tables/table1..4.{md,csv,tex}   the paper's tables, ours beside the published values
  figures/*.{png,pdf}              Figures 2-4, heat maps, learning curves
  summary.md                       everything on one page
  report.json                      files written and runs read
Example:  salloss report --params params.yaml
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report`` to the ``salloss`` command line."""
    p = subparsers.add_parser(
        "report",
        help="tables 1-4, figures and summary.md of a preset (after training and evaluation)",
        description=(
            "Aggregate every run of a params file into the paper's Tables 1-4 (Markdown, CSV, "
            "LaTeX; our numbers beside the published ones, best/second/third marked), Figures "
            "2-4, a loss x metric heat map and learning curves."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--params", required=True, metavar="FILE",
                   help="the params file of the preset (e.g. params.yaml, config/paper.yaml)")
    p.add_argument("--out", metavar="DIR",
                   help="report folder (default: <results_dir>/<preset>/report from the params)")
    p.add_argument("--no-figures", action="store_true",
                   help="tables and summary only (faster; figures are skipped)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``salloss report``."""
    from salloss.pipeline.config import load_params
    from salloss.report.build import build_report

    cfg = load_params(args.params)
    report = build_report(cfg, args.out, with_figures=not args.no_figures,
                          progress=not args.quiet)
    print(f"report of {len(report['runs'])} runs: {len(report['files'])} files written")
    return 0
