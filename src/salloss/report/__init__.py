"""The report: the paper's Tables 1-4 and Figures 2-4 (plus heat maps and learning curves) for
a preset, from the runs its params plan.

Entry point: `build_report(cfg, out_dir=None)` (``salloss report --params FILE``). Pieces:
`collect` (read run artefacts), `reference` (the published values, matched by loss spec),
`stats` (seed CIs, ranks, paired test), `baselines` (centre-bias and uniform maps), `tables`
(table content), `render` (Markdown/CSV/LaTeX), `figures`/`maps`/`charts` (plots), `summary`
(summary.md).
"""

from salloss.report.build import build_report
from salloss.report.collect import RunResult, collect_runs
from salloss.report.reference import PaperReference, spec_key
from salloss.report.tables import Table, build_tables

__all__ = ["PaperReference", "RunResult", "Table", "build_report", "build_tables",
           "collect_runs", "spec_key"]
