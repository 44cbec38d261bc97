"""`build_report`: the whole report of a preset, from its params, into ``report_dir(cfg)``.

Layout of the report folder (every file written atomically)::

    report.json            what was written and which runs were read (the stage's marker)
    summary.md             tables + figures on one page
    tables/<key>.md|csv|tex    Table 1, then one table per grid group (table2 … table4, …), and
                               `conventions` (one run per dataset in both metric conventions);
                               each table's .md ends with its stability across seeds
    tables/<key>_seeds.csv|tex that stability section (`salloss.report.seeds`), with ≥ 2 seeds
    tables/<key>_significance.csv  the comparisons behind the ▲/▼ marks (image and seed level)
    baselines/<dataset>_<kind>.csv   per-image scores of the centre-bias and uniform maps
    figures/<name>.png|pdf     fig2_center_bias_<dataset>, fig3_predictions,
                               fig4_<group>_<dataset>_<arch>, heatmap_<table>_<dataset>_<arch>,
                               curves_<group>_<dataset>_<arch>

Files that a previous report of the same folder listed but this one did not write are removed,
so a loss dropped from the grid does not leave its figures behind.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salloss.data import PreparedDataset
from salloss.io import write_json, write_text
from salloss.pipeline.config import PipelineConfig
from salloss.pipeline.plan import REPORT_MARKER, plan_runs, prepared_dir, report_dir
from salloss.report import (
    charts,
    conventions,
    figures,
    maps,
    render,
    seeds,
    significance,
    stability,
)
from salloss.report.baselines import Baseline, kinds_for, score_baseline
from salloss.report.collect import RunResult, collect_runs
from salloss.report.reference import PaperReference
from salloss.report.summary import FigureEntry, write_summary_md
from salloss.report.sweeps import sweep_results
from salloss.report.tables import (
    Table,
    build_tables,
    dataset_title,
    higher_is_better,
    paper_dataset,
)

log = logging.getLogger(__name__)


@dataclass
class _Writer:
    """Writes files under the report folder and remembers them (relative paths)."""

    root: Path
    files: list[str] = field(default_factory=list)

    def text(self, rel: str, content: str) -> None:
        write_text(self.root / rel, content)
        self.files.append(rel)

    def add(self, paths: list[Path]) -> None:
        self.files += [p.relative_to(self.root).as_posix() for p in paths]


def used_datasets(cfg: PipelineConfig) -> list[str]:
    """Datasets some planned run uses, in params order."""
    used = {r.dataset for r in plan_runs(cfg)}
    return [d for d in cfg.datasets if d in used]


def _label(ref: PaperReference, cfg: PipelineConfig, loss: str) -> str:
    row = ref.table2_row(cfg.losses[loss])
    return row.name if row is not None else loss


def _baselines(cfg: PipelineConfig, progress: bool) -> dict[str, list[Baseline]]:
    """The reference maps of every dataset a run uses (the oracle where the data know their
    true density)."""
    out = {}
    for d in used_datasets(cfg):
        kinds = kinds_for(PreparedDataset(prepared_dir(cfg, d)))
        out[d] = [score_baseline(cfg, d, k, progress=progress) for k in kinds]
    return out


def _figure3(cfg: PipelineConfig, ref: PaperReference, results: list[RunResult],
             w: _Writer) -> FigureEntry | None:
    wanted = list(cfg.report["figure3_losses"])
    seed = cfg.seeds[0]
    by_pair: dict[tuple[str, str], dict[str, RunResult]] = {}
    for r in results:
        if r.run.seed == seed and r.run.loss in wanted:
            by_pair.setdefault((r.run.dataset, r.run.arch), {}).setdefault(r.run.loss, r)
    if not by_pair:
        log.warning("Figure 3: none of report.figure3_losses (%s) is in the grid", wanted)
        return None
    (d, a), runs = max(by_pair.items(), key=lambda kv: len(kv[1]))
    missing = [loss for loss in wanted if loss not in runs]
    if missing:
        log.warning("Figure 3 shows %s/%s; losses %s are not run there", d, a, missing)
    columns = [maps.Column(_label(ref, cfg, loss), runs[loss]) for loss in wanted
               if loss in runs]
    metric = "CC" if "CC" in cfg.evaluation["metrics"] else None
    prepared = PreparedDataset(prepared_dir(cfg, d))
    w.add(maps.figure3(prepared, cfg.archs[a].input_size, columns,
                       cfg.report["figure3_images"], metric, w.root / "figures/fig3_predictions"))
    caption = (f"Figure 3 — {dataset_title(cfg, d)}, {a}, seed {seed}: stimulus, ground-truth "
               "density with fixations (red), and the predictions of "
               f"{', '.join(c.title for c in columns)} (min-max normalised)"
               + (f"; per-image {metric} in each panel." if metric else "."))
    return FigureEntry("Figure 3: predictions of several losses", caption,
                       "figures/fig3_predictions.png")


def _short(ref: PaperReference, group: str, cfg: PipelineConfig, dataset: str,
           loss: str) -> str:
    """The paper's short row name in `group`'s table (Table 3/4: 'W-MSE', 'LC 1', …)."""
    row = ref.lookup(group, cfg.losses[loss], paper_dataset(cfg, dataset))
    return row.name if row is not None else ""


def _figure4(cfg: PipelineConfig, ref: PaperReference, results: list[RunResult],
             w: _Writer, stats: dict[str, Any]) -> list[FigureEntry]:
    group = cfg.report["figure4_group"]
    if group is None:
        return []
    g = cfg.grid[group]
    if len(g["losses"]) < 2:
        log.warning("Figure 4: group %s has fewer than two losses", group)
        return []
    metrics = cfg.evaluation["metrics"]
    metric = "CC" if "CC" in metrics else metrics[0]
    single, combo = maps.pick_pair({k: cfg.losses[k] for k in g["losses"]})
    seed = cfg.seeds[0]
    index = {r.run.key(): r for r in results}
    entries = []
    for d in g["datasets"]:
        for a in g["archs"]:
            cols = [maps.Column(_label(ref, cfg, k), index[(d, a, k, seed)],
                                _short(ref, group, cfg, d, k)) for k in (single, combo)]
            stem = f"figures/fig4_{group}_{d}_{a}"
            paths, test = maps.figure4(PreparedDataset(prepared_dir(cfg, d)),
                                       cfg.archs[a].input_size, cols[0], cols[1], metric,
                                       w.root / stem)
            w.add(paths)
            stats[f"{group}/{d}/{a}"] = {"single": single, "combination": combo,
                                         "metric": metric, "seed": seed, **test}
            caption = (f"Figure 4 — {dataset_title(cfg, d)}, {a}, seed {seed}: per-image "
                       f"{metric} with {cols[0].name} (single loss) against {cols[1].name} "
                       f"(combination), and the preview images where the combination gains "
                       f"most. Combination better on {test['frac_better']:.0%} of "
                       f"{test['n']} images; Wilcoxon signed-rank p = {test['p_wilcoxon']:.3g}.")
            entries.append(FigureEntry(f"Figure 4: single loss vs combination ({d}, {a})",
                                       caption, f"{stem}.png"))
    return entries


def _overview(cfg: PipelineConfig, tables: list[Table], results: list[RunResult],
              ref: PaperReference, w: _Writer) -> list[FigureEntry]:
    entries = []
    for table in tables[1:]:
        for block in table.blocks:
            rows = [r for s in block.sections for r in s.rows if r.ours is not None]
            if len(rows) < 2:
                continue
            stem = f"figures/heatmap_{table.key}_{rows[0].dataset}_{rows[0].arch}"
            w.add(charts.heatmap(block, table.metrics, f"{table.key}: {block.title}",
                                 w.root / stem))
            entries.append(FigureEntry(
                f"Heat map: {table.key}, {rows[0].dataset}, {rows[0].arch}",
                "Every loss × metric; colour = z-score within the column, oriented so that "
                "green is better (EMD, KL: lower is better); best value in bold.", f"{stem}.png"))
            cd = _cd_diagram(table, block, w, f"cd_{table.key}_{rows[0].dataset}_{rows[0].arch}")
            entries += [cd] if cd else []
    for group, g in cfg.grid.items():
        for d in g["datasets"]:
            for a in g["archs"]:
                panels = []
                for loss in g["losses"]:
                    runs = [r for r in results if r.run.key()[:3] == (d, a, loss)]
                    panels.append((f"{_label(ref, cfg, loss)} [{loss}]", runs))
                stem = f"figures/curves_{group}_{d}_{a}"
                w.add(charts.learning_curves(panels, f"Learning curves: {group}, "
                                             f"{dataset_title(cfg, d)}, {a}", w.root / stem))
                entries.append(FigureEntry(
                    f"Learning curves: {group}, {d}, {a}",
                    f"Train (solid) and validation (dashed) loss per epoch, one panel per "
                    f"loss, {len(cfg.seeds)} seed(s); dot = best validation epoch (the kept "
                    "checkpoint). Each loss has its own scale: values are not comparable "
                    "across panels.", f"{stem}.png"))
    return entries


def _dicts_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    return buf.getvalue()


def _json_safe(value: Any) -> Any:
    """NaN -> None, recursively (report.json stays strict JSON)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return None
    return value


def _cd_diagram(table: Table, block: Any, w: _Writer, name: str) -> FigureEntry | None:
    """Critical-difference diagram of a block: Friedman mean ranks over the metrics."""
    from salloss.errors import DataError
    from salloss.stats import cd_diagram, friedman_table

    scores = significance.mean_rank_table(block, table.metrics)
    if len(scores) < 3:
        return None
    try:
        res = friedman_table(scores, {m: higher_is_better(m) for m in table.metrics})
    except DataError as exc:
        log.warning("no CD diagram for %s / %s: %s", table.key, block.title, exc)
        return None
    cd = res.cd(significance.ALPHA)
    note = (f"Friedman p = {res.pvalue:.2g} over N = {res.n_blocks} metrics; Nemenyi CD = "
            f"{cd:.2f} (α = {significance.ALPHA})")
    with figures.reproducible():
        w.add(cd_diagram(res.mean_ranks, cd, w.root / "figures" / name,
                         title=f"{table.key}: {block.title}", note=note))
    return FigureEntry(
        f"Critical-difference diagram: {table.key}, {block.title}",
        "Mean rank of each loss over the metrics (1 = best; direction-aware); losses joined by "
        f"a bar are not significantly different (Nemenyi, α = {significance.ALPHA}). {note}.",
        f"figures/{name}.png")


def _machine() -> dict[str, str]:
    """Which CPU and numerics profile (`salloss.numerics`) made the report: its last bits, and
    the chaotic training noise they seed, depend on them (README, "CPU numerics")."""
    import platform

    from salloss import numerics

    model = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return {"cpu": model, "numerics": numerics.describe()}


def _remove_stale(root: Path, written: list[str]) -> None:
    marker = root / REPORT_MARKER
    if not marker.is_file():
        return
    try:
        old = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
    except (json.JSONDecodeError, AttributeError):
        return
    for rel in set(old) - set(written) - {REPORT_MARKER}:
        path = (root / rel).resolve()
        if root.resolve() in path.parents and path.is_file():
            log.info("removing %s (no longer part of the report)", path)
            path.unlink()


def build_report(cfg: PipelineConfig, out_dir: str | Path | None = None, *,
                 with_figures: bool = True, progress: bool = True) -> dict[str, Any]:
    """Write the report of `cfg` (tables, figures, summary.md, report.json) into `out_dir`
    (default `report_dir(cfg)`); return the content of report.json."""
    root = Path(out_dir) if out_dir is not None else report_dir(cfg)
    ref = PaperReference(cfg.report["reference"])
    results = collect_runs(cfg, progress=progress)
    cfg, winners = sweep_results(cfg)  # each sweep's test-scored winner joins its group
    results = results + winners
    baselines = _baselines(cfg, progress)
    tables = build_tables(cfg, results, ref, baselines)
    comparisons = {t.key: significance.mark_table(t, results) for t in tables[1:]}
    w = _Writer(root)
    tables_md = []
    for table in tables:
        if comparisons.get(table.key):
            w.text(f"tables/{table.key}_significance.csv",
                   _dicts_csv(comparisons[table.key]))
        spread = seeds.analyse(table, results)
        md = render.to_markdown(table) + ("\n" + seeds.to_markdown(spread) if spread else "")
        w.text(f"tables/{table.key}.md", md)
        w.text(f"tables/{table.key}.csv", render.to_csv(table))
        w.text(f"tables/{table.key}.tex", render.to_latex(table))
        if any(item.measurable for item in spread):
            w.text(f"tables/{table.key}_seeds.csv", seeds.to_csv(table.key, spread))
            w.text(f"tables/{table.key}_seeds.tex", seeds.to_latex(table.key, spread))
        tables_md.append((table.key, md))
    blocks = conventions.build_blocks(cfg, [r for r in results if r not in winners])
    if blocks:
        md = conventions.to_markdown(blocks)
        w.text("tables/conventions.md", md)
        w.text("tables/conventions.csv", conventions.to_csv(blocks))
        w.text("tables/conventions.tex", conventions.to_latex(blocks))
        tables_md.append(("conventions", md))
    ranks = stability.write(cfg, ref, results, w, with_figures=with_figures)  # table5 (issue 13)
    tables_md += ranks.tables
    for d, bases in baselines.items():
        for b in bases:
            w.text(f"baselines/{d}_{b.kind}.csv", b.csv_path.read_text(encoding="utf-8"))
    figs: list[FigureEntry] = []
    fig4_stats: dict[str, Any] = {}
    if with_figures:
        for d in used_datasets(cfg):
            stem = f"figures/fig2_center_bias_{d}"
            bias = PreparedDataset(prepared_dir(cfg, d)).center_bias()
            w.add(figures.figure2(bias, root / stem,
                                  f"{dataset_title(cfg, d)}: mean training density map"))
            figs.append(FigureEntry(f"Figure 2: centre bias of {d}", "Figure 2 — mean of the "
                                    "training density maps (max-normalised) with its horizontal "
                                    "and vertical marginals.", f"{stem}.png"))
        fig3 = _figure3(cfg, ref, results, w)
        figs += [fig3] if fig3 else []
        figs += _figure4(cfg, ref, results, w, fig4_stats)
        figs += _overview(cfg, tables, results, ref, w)
        figs += ranks.figures
    synthetic = [d for d in used_datasets(cfg) if cfg.datasets[d].loader == "synthetic"]
    warnings = [f"NOT COMPARABLE with the paper: preset '{cfg.preset}' uses synthetic "
                f"stand-in data ({', '.join(synthetic)}), not the paper's datasets."
                ] if synthetic else []
    w.text("summary.md", write_summary_md(cfg, tables_md, figs, results, warnings))
    report = {
        "preset": cfg.preset,
        "params": str(cfg.path),
        "files": sorted([*w.files, REPORT_MARKER]),
        "runs": [{"group": r.run.group, "dataset": r.run.dataset, "arch": r.run.arch,
                  "loss": r.run.loss, "seed": r.run.seed, "spec": r.spec, "dir": str(r.dir),
                  "inputs": [str(p) for p in r.inputs],
                  # the run's test-set means: a table cell's seeds, for readers and for the
                  # demo test's noise-scaled comparison with a regenerated report
                  "means": {m: _json_safe(r.mean(m)) for m in cfg.evaluation["metrics"]}}
                 for r in results],
        "machine": _machine(),
        "baselines": {d: {b.kind: str(b.csv_path) for b in bases}
                      for d, bases in baselines.items()},
        "figure4": _json_safe(fig4_stats),
        "warnings": warnings,
    }
    _remove_stale(root, report["files"])
    write_json(root / REPORT_MARKER, report)
    log.info("report of %d runs written to %s (%d files)", len(results), root,
             len(report["files"]))
    return report
