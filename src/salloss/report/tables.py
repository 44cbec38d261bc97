"""The report's tables as data: rows of our runs beside the paper's published rows, grouped and
ranked as the paper does (rendering is in `salloss.report.render`).

Grid groups named ``table1`` … ``table4`` become the paper's Tables 1–4; any other group gets a
table of the same shape without published values. A table has blocks (one per dataset and
architecture, e.g. Table 3's CAT2000 and FiWi), blocks have sections (Table 2's loss families),
sections have rows. A row is one loss: our entry (mean over seeds ± half-width of the 95%
two-way bootstrap interval over seeds and images, `salloss.report.stats.cell_stat`) and,
when the paper trained the same spec on the same dataset, the paper's entry under it.

Ranks are direction-aware (EMD and KL: lower is better) and computed per column separately
for our entries and for the paper's, within a block (Table 1: within the whole table, so the
paper's own marks are reproduced). Ranks 1–3 are the marks of the rendered tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from salloss.errors import DataError
from salloss.losses import paper
from salloss.metrics.scoring import higher_is_better as _direction
from salloss.pipeline.config import PipelineConfig
from salloss.report import convergence
from salloss.report.baselines import KINDS, Baseline
from salloss.report.collect import RunResult
from salloss.report.reference import (
    CITATION,
    PAPER_DATASETS,
    PAPER_TABLES,
    PaperReference,
    PaperRow,
    spec_key,
)
from salloss.report.stats import BOOTSTRAP_RESAMPLES, Stat, cell_stat, ranks
from salloss.report.sweeps import label as sweep_label

TITLES = {
    "table1": "Performance of our model beside published saliency models",
    "table2": "Performance of the loss functions",
    "table3": "Generalisation to other datasets: W-MSE, LC 1 (KLD + CC + NSS + R) and LC 2 "
              "(KLD + CC + NSS + DF + GM + SIG-MSE + R)",
    "table4": "Generalisation to another architecture (SAM-VGG): W-MSE, LC 1 and LC 2",
    "table5": "Does the loss ranking hold across architectures? (beyond the paper)",
}
# Grid group whose table compares architectures: besides its own runs it gathers every other
# group's runs of its losses on its datasets (the baseline's live in table2, SAM-VGG's in
# table4: grid groups may not share runs).
CROSS_ARCH_GROUP = "table5"
PAPER_SPLIT_NOTE = ("their own MIT1003 test split of 299 images, which cannot be reproduced "
                    "exactly")


@dataclass
class Entry:
    """One line of numbers: ours ('ours') or published ('paper'); `ranks` are filled later."""

    kind: str
    stats: dict[str, Stat]
    texts: dict[str, str] = field(default_factory=dict)  # the paper's printed digits
    ranks: dict[str, int | None] = field(default_factory=dict)
    sig: dict[str, int] = field(default_factory=dict)  # vs the block's reference: +1/−1/0


@dataclass
class Row:
    """A loss (or model/baseline) of a table: our entry and/or the published one."""

    label: str
    ours: Entry | None
    paper: Entry | None
    loss_id: str = ""
    spec: str = ""
    dataset: str = ""
    arch: str = ""
    n_images: int | None = None
    seeds: tuple[int, ...] = ()
    reference: bool = False  # the block's reference of the significance tests
    reference_map: bool = False  # centre bias / uniform / oracle: scored, never ranked
    marks: str = ""  # how its training ended (`salloss.report.convergence`), after the label
    gap: float | None = None  # fraction of the centre-bias → oracle gap closed (gap_metric)


@dataclass
class Section:
    title: str
    rows: list[Row]


@dataclass
class Block:
    title: str
    sections: list[Section]


@dataclass
class Table:
    """A rendered table's content; `key` names its files (table2.md, …)."""

    key: str
    title: str
    metrics: tuple[str, ...]
    blocks: list[Block]
    notes: list[str]
    rank_scope: str = "block"  # 'block' or 'table'
    datasets: list[str] = field(default_factory=list)
    gap_metric: str | None = None  # metric of the rows' `gap` column, if any block has one

    def rows(self) -> list[Row]:
        return [r for b in self.blocks for s in b.sections for r in s.rows]


def higher_is_better(metric: str) -> bool:
    """Direction of a metric of either convention (EMD, KL, KLDiv: lower is better)."""
    return _direction(metric)


def paper_dataset(cfg: PipelineConfig, dataset: str) -> str | None:
    """Which of the paper's datasets a params dataset is: by its loader (mit1003, cat2000,
    fiwi), else by its key (a synthetic stand-in named e.g. ``cat2000`` or ``synth-fiwi``);
    None if neither says."""
    loader = cfg.datasets[dataset].loader
    names = {re.sub(r"[^a-z0-9]", "", p.lower()): p for p in PAPER_DATASETS}
    if loader in names:
        return names[loader]
    key = re.sub(r"[^a-z0-9]", "", dataset.lower())
    hits = [p for n, p in names.items() if n in key or key == n.rstrip("0123456789")]
    return hits[0] if len(hits) == 1 else None


def dataset_title(cfg: PipelineConfig, dataset: str) -> str:
    """'CAT2000 (cat2000, synthetic stand-in)' / 'MIT1003' / 'mydata'."""
    name = paper_dataset(cfg, dataset)
    extra = [] if name is not None and name.lower() == dataset.lower() else [dataset]
    if cfg.datasets[dataset].loader == "synthetic":
        extra.append("synthetic stand-in")
    if name is None:
        name, extra = dataset, extra[1:]
    return f"{name} ({', '.join(extra)})" if extra else name


def seed_matrix(results: Sequence[RunResult], metric: str) -> np.ndarray:
    """The seeds × images scores of one cell (rows in `results` order, columns in the first
    run's image order); the seeds of a cell must be scored on the same images (`DataError`)."""
    ids = results[0].ids
    rows = []
    for r in results:
        x = np.asarray(r.scores[metric], dtype=np.float64)
        if r.ids != ids:
            if sorted(r.ids) != sorted(ids):
                raise DataError(f"{r.dir}: seed {r.run.seed} is scored on other test images "
                                f"than seed {results[0].run.seed}")
            pos = {i: k for k, i in enumerate(r.ids)}
            x = x[[pos[i] for i in ids]]
        rows.append(x)
    return np.vstack(rows)


def ours_entry(results: Sequence[RunResult], metrics: Sequence[str]) -> Entry:
    """Our entry of a row: per metric, the mean over seeds of the per-seed test-set means ±
    half the width of the 95% pigeonhole bootstrap interval over seeds and images
    (`cell_stat`; with one seed the per-image bootstrap, as before)."""
    return Entry("ours", {m: cell_stat(seed_matrix(results, m)) for m in metrics})


def paper_entry(row: PaperRow, metrics: Sequence[str]) -> Entry:
    """A published row as an entry (only the metrics the paper reports)."""
    stats = {m: Stat(v.value, None, 1) for m, v in row.values.items() if m in metrics}
    texts = {m: v.text for m, v in row.values.items() if m in metrics}
    return Entry("paper", stats, texts)


def baseline_entry(base: Baseline, metrics: Sequence[str]) -> Entry:
    return Entry("ours", {m: Stat(base.mean(m), None, 1) for m in metrics})


def reference_rows(baselines: Sequence[Baseline], metrics: Sequence[str]) -> list[Row]:
    """The reference maps of a dataset (centre bias, uniform, oracle) as unranked rows."""
    return [Row(b.label, baseline_entry(b, metrics), None, dataset=b.dataset,
                n_images=len(b.ids), reference_map=True) for b in baselines]


GAP_METRIC = "NSS"  # the reading of a loss: how much of the CB → oracle gap it closes


def gap_metric(metrics: Sequence[str]) -> str | None:
    """The metric of the gap column: NSS if scored, else CC, else none."""
    return next((m for m in (GAP_METRIC, "CC") if m in metrics), None)


def fill_gaps(block: Block, metric: str) -> bool:
    """Set each row's `gap`: (x − centre bias) / (oracle − centre bias) on `metric`, the share
    of the way from the centre-bias map to the true density that the row goes (0 = no better
    than the centre bias, 1 = as good as the truth). False if the block has no oracle."""
    rows = [r for s in block.sections for r in s.rows]
    refs = {r.label: r for r in rows if r.reference_map}
    oracle, center = refs.get(KINDS["oracle"]), refs.get(KINDS["center_bias"])
    if oracle is None or center is None:
        return False
    lo, hi = center.ours.stats[metric].mean, oracle.ours.stats[metric].mean
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi == lo:
        return False
    for row in rows:
        stat = row.ours.stats.get(metric) if row.ours else None
        if stat is not None and math.isfinite(stat.mean) and row.label != KINDS["uniform"]:
            row.gap = (stat.mean - lo) / (hi - lo)
    return True


def gap_note(metric: str) -> str:
    return (f"{metric} gap: the share of the distance from the centre-bias map to the oracle "
            f"(the true density the fixations were drawn from) that a loss closes on {metric}, "
            f"(x − centre bias) / (oracle − centre bias): 0 % = no better than the centre bias, "
            f"100 % = as good as the truth.")


def reference_note(kinds: Sequence[str]) -> str:
    names = ", ".join(KINDS[k] for k in kinds)
    text = (f"Reference maps ({names}) are scored on the same test images with the same code "
            "and are not ranked. Center-bias map: the mean training density map; uniform map: "
            "a constant")
    if "oracle" in kinds:
        text += ("; oracle: each image's true density (known for the synthetic data), the "
                 "ceiling of any prediction")
    return text + (". n/a: the metric is undefined for that map under the MIT benchmark's "
                   "conventions (a constant map has zero variance).")


def assign_ranks(table: Table) -> None:
    """Fill every entry's ranks, per metric, per kind, within each block (or the table)."""
    scopes = ([table.rows()] if table.rank_scope == "table"
              else [[r for s in b.sections for r in s.rows] for b in table.blocks])
    for rows in scopes:
        rows = [r for r in rows if not r.reference_map]
        for kind in ("ours", "paper"):
            entries = [e for r in rows for e in (r.ours, r.paper) if e and e.kind == kind]
            if len(entries) < 2:  # a lone entry is not "best" of anything
                continue
            for m in table.metrics:
                values = [e.stats[m].mean if m in e.stats else None for e in entries]
                for e, rank in zip(entries, ranks(values, higher_is_better(m)), strict=True):
                    e.ranks[m] = rank


def _by_cell(results: Sequence[RunResult]) -> dict[tuple[str, str, str], list[RunResult]]:
    cells: dict[tuple[str, str, str], list[RunResult]] = {}
    for r in results:
        cells.setdefault((r.run.dataset, r.run.arch, r.run.loss), []).append(r)
    return cells


def group_results(cfg: PipelineConfig, group: str,
                  results: Sequence[RunResult]) -> list[RunResult]:
    """The runs of `group`'s table: its own; for `CROSS_ARCH_GROUP` (table5) every run, of any
    group, of one of its losses on one of its datasets."""
    if group != CROSS_ARCH_GROUP:
        return [r for r in results if r.run.group == group]
    g = cfg.grid[group]
    return [r for r in results if r.run.dataset in g["datasets"] and r.run.loss in g["losses"]]


def group_archs(cfg: PipelineConfig, group: str, dataset: str,
                results: Sequence[RunResult]) -> list[str]:
    """The architectures of `group`'s blocks on `dataset`: its own; for `CROSS_ARCH_GROUP`
    also every other architecture with a run in `group_results`, all in params order."""
    g = cfg.grid[group]
    if group != CROSS_ARCH_GROUP:
        return list(g["archs"])
    have = {r.run.arch for r in group_results(cfg, group, results) if r.run.dataset == dataset}
    return [a for a in cfg.archs if a in g["archs"] or a in have]


def _cross_arch_note(cfg: PipelineConfig, group: str,
                     cells: dict[tuple[str, str, str], list[RunResult]]) -> str:
    g = cfg.grid[group]
    others: dict[str, list[str]] = {}
    for (_, a, _), runs in cells.items():
        for r in runs:
            if r.run.group != group:
                others.setdefault(a, [])
                if r.run.group not in others[a]:
                    others[a].append(r.run.group)
    text = (f"Blocks compare the architectures on the same losses: group {group}'s own "
            f"({', '.join(g['archs'])})")
    if others:
        text += " and, for the same losses on the same dataset, the runs of other groups (" + \
            "; ".join(f"{a}: {', '.join(gs)}" for a, gs in others.items()) + ")"
    return text + (". A loss not run on an architecture has no row in its block. Rankings of "
                   "the losses per architecture and Kendall's tau between them: "
                   f"{group}_ranks.")


def _label(ref: PaperReference, spec: str, found: PaperRow | None, loss_id: str) -> str:
    """The paper's name of a row (its own table's, else Table 2's), else the loss id."""
    if found is not None:
        return found.name
    row = ref.table2_row(spec)
    return row.name if row is not None else loss_id


def _common_notes(cfg: PipelineConfig, datasets: Sequence[str], seeds: Sequence[int]) -> list[str]:
    notes = []
    if len(seeds) > 1:
        notes.append(f"Ours: mean over {len(seeds)} training seeds ({', '.join(map(str, seeds))})"
                     " of each seed's test-set mean (the mean over the test images) ± half the "
                     "width of its 95% two-way bootstrap confidence interval, which resamples "
                     "the seeds and the test images independently (pigeonhole bootstrap, Owen "
                     f"2007; percentile method, {BOOTSTRAP_RESAMPLES} resamples, seeded), so it "
                     "covers both training noise and the draw of test images; the CSV gives "
                     "the interval's ends.")
    else:
        notes.append(f"Ours: one training seed ({seeds[0]}); each score is the mean over the "
                     "test images ± half-width of its 95% per-image bootstrap confidence "
                     f"interval (percentile method, {BOOTSTRAP_RESAMPLES} resamples, seeded).")
    synthetic = [d for d in datasets if cfg.datasets[d].loader == "synthetic"]
    if synthetic:
        notes.append(f"NOT COMPARABLE with the paper: preset '{cfg.preset}' uses synthetic "
                     f"stand-in data ({', '.join(synthetic)}), not the paper's datasets; the "
                     "paper's values are shown for layout only.")
    notes.append("Best, second and third per column are marked (bold, italic, underlined); "
                 "↑ higher is better, ↓ lower is better (EMD, KL).")
    return notes


def _order(ref: PaperReference, table: str, specs: dict[str, str]) -> list[str]:
    """Loss ids in the paper's row order of `table` (Table 2 order for generic tables), then
    the others in params order."""
    order = {spec_key(s): i for i, (_, s) in
             enumerate(paper.TABLES.get(table, paper.TABLE2))}
    big = len(order)
    return sorted(specs, key=lambda k: order.get(spec_key(specs[k]), big))


def group_table(cfg: PipelineConfig, group: str, results: Sequence[RunResult],
                ref: PaperReference, baselines: dict[str, list[Baseline]] | None = None
                ) -> Table:
    """Table of grid group `group` (the paper's Table 2/3/4 for those names, else generic);
    each block ends with the reference maps of its dataset (`baselines`) when given."""
    baselines = baselines or {}
    metrics = tuple(cfg.evaluation["metrics"])
    g = cfg.grid[group]
    cells = _by_cell(group_results(cfg, group, results))
    paper_table = group if group in PAPER_TABLES else None
    blocks, unknown, summaries = [], [], []
    specs = {loss: cfg.losses[loss] for loss in g["losses"]}
    for d in g["datasets"]:
        pd = paper_dataset(cfg, d)
        if paper_table == "table3" and pd is None and d not in unknown:
            unknown.append(d)
        for a in group_archs(cfg, group, d, results):
            sections: dict[str, list[Row]] = {}
            cross = group == CROSS_ARCH_GROUP  # only table5's cells may be missing
            present = [loss for loss in g["losses"] if not cross or (d, a, loss) in cells]
            if not present:
                continue
            for loss in _order(ref, paper_table or "table2", specs):
                if cross and (d, a, loss) not in cells:  # another group's arch lacks it
                    continue
                runs = cells[(d, a, loss)]
                found = ref.lookup(paper_table, specs[loss], pd) if paper_table else None
                name = sweep_label(cfg, loss, specs[loss]) or _label(ref, specs[loss], found, loss)
                row = Row(name,
                          ours_entry(runs, metrics),
                          paper_entry(found, metrics) if found else None,
                          loss_id=loss, spec=specs[loss], dataset=d, arch=a,
                          n_images=len(runs[0].ids), seeds=tuple(r.run.seed for r in runs),
                          marks=convergence.row_marks(r.train for r in runs))
                summaries += [r.train for r in runs]
                title = "" if paper_table in ("table3", "table4") else ref.group_of(specs[loss])
                sections.setdefault(title, []).append(row)
            ordered = sorted(sections.items(), key=lambda kv: (
                ref.group_order.index(kv[0]) if kv[0] in ref.group_order else -1))
            if baselines.get(d):
                ordered.append((REFERENCE_SECTION, reference_rows(baselines[d], metrics)))
            n = len(cells[(d, a, present[0])][0].ids)
            title = f"{dataset_title(cfg, d)} · {a} · {n} {cfg.evaluation['split']} images"
            blocks.append(Block(title, [Section(t, rows) for t, rows in ordered]))
    notes = _common_notes(cfg, g["datasets"], cfg.seeds)
    notes += _reference_notes(blocks, baselines, metrics, g["datasets"])
    notes.append(convergence.legend_note(summaries))
    if group == CROSS_ARCH_GROUP:
        notes.insert(0, _cross_arch_note(cfg, group, cells))
    if paper_table:
        number = paper_table[-1]
        notes.insert(0, f"paper: published values ({CITATION}, Table {number}; "
                        f"{PAPER_SPLIT_NOTE if paper_table != 'table3' else 'their splits'}), "
                        "matched to our runs by loss spec.")
    if unknown:
        notes.append(f"No published values for dataset(s) {', '.join(unknown)}: not recognised "
                     "as CAT2000 or FiWi (use that loader, or a dataset key containing "
                     "'cat2000' or 'fiwi').")
    title = TITLES.get(group, f"Grid group '{group}'")
    table = Table(group, title, metrics, blocks, notes, datasets=list(g["datasets"]),
                  gap_metric=_gaps(blocks, metrics))
    assign_ranks(table)
    return table


REFERENCE_SECTION = "Reference maps"


def _gaps(blocks: Sequence[Block], metrics: Sequence[str]) -> str | None:
    """Fill every block's gap column; the gap metric if any block has an oracle."""
    metric = gap_metric(metrics)
    if metric is None:
        return None
    found = [fill_gaps(b, metric) for b in blocks]
    return metric if any(found) else None


def _reference_notes(blocks: Sequence[Block], baselines: dict[str, list[Baseline]],
                     metrics: Sequence[str], datasets: Sequence[str]) -> list[str]:
    kinds = list(dict.fromkeys(b.kind for d in datasets for b in baselines.get(d, [])))
    if not kinds:
        return []
    notes = [reference_note(kinds)]
    metric = gap_metric(metrics)
    if metric is not None and "oracle" in kinds:
        notes.append(gap_note(metric))
    return notes


def table1_runs(cfg: PipelineConfig, results: Sequence[RunResult]) -> list[RunResult]:
    """Our model of Table 1: the runs of group 'table1' if the grid has one, else the runs
    whose spec is MSE in group 'table2', else in any group."""
    if "table1" in cfg.grid:
        return [r for r in results if r.run.group == "table1"]
    mse = spec_key(paper.TABLE1[0][1])
    is_mse = [r for r in results if spec_key(r.spec) == mse]
    preferred = [r for r in is_mse if r.run.group == "table2"]
    return preferred or is_mse


def table1(cfg: PipelineConfig, results: Sequence[RunResult], ref: PaperReference,
           baselines: dict[str, list[Baseline]]) -> Table:
    """Table 1: published models, then per dataset our model(s) (with the paper's own baseline
    under them) and the centre-bias and uniform baselines we scored."""
    metrics = tuple(cfg.evaluation["metrics"])
    published = [Row(r.name, None, paper_entry(r, metrics)) for r in ref.published_models()]
    blocks = [Block(f"Published (paper, {PAPER_SPLIT_NOTE})", [Section("", published)])]
    cells = _by_cell(table1_runs(cfg, results))
    datasets = list(dict.fromkeys(d for d, _, _ in cells)) or list(baselines)[:1]
    summaries = []
    for d in datasets:
        rows = []
        for (dd, a, loss), runs in cells.items():
            if dd != d:
                continue
            spec = cfg.losses[loss]
            found = (ref.lookup("table1", spec, paper_dataset(cfg, d))
                     if cfg.archs[a].model == "baseline" else None)
            name = "MSE" if spec_key(spec) == spec_key("mse") else _label(ref, spec, None, loss)
            rows.append(Row(f"{a} + {name}", ours_entry(runs, metrics),
                            paper_entry(found, metrics) if found else None, loss_id=loss,
                            spec=spec, dataset=d, arch=a, n_images=len(runs[0].ids),
                            seeds=tuple(r.run.seed for r in runs),
                            marks=convergence.row_marks(r.train for r in runs)))
            summaries += [r.train for r in runs]
        rows += reference_rows(baselines.get(d, []), metrics)
        n = rows[0].n_images if rows else 0
        title = f"This reproduction: {dataset_title(cfg, d)} · {n} {cfg.evaluation['split']} " \
                "images"
        blocks.append(Block(title, [Section("", rows)]))
    notes = [f"Published rows: {CITATION}, Table 1 (other models as the paper reports them; "
             "the paper gives no EMD/KL there). Under our model: the paper's own baseline "
             "trained with MSE."]
    notes += _reference_notes(blocks, baselines, metrics, datasets)
    notes += _common_notes(cfg, datasets, cfg.seeds)
    if summaries:
        notes.append(convergence.legend_note(summaries))
    table = Table("table1", TITLES["table1"], metrics, blocks, notes, rank_scope="table",
                  datasets=datasets, gap_metric=_gaps(blocks, metrics))
    assign_ranks(table)
    return table


def build_tables(cfg: PipelineConfig, results: Sequence[RunResult], ref: PaperReference,
                 baselines: dict[str, list[Baseline]]) -> list[Table]:
    """Table 1, then one table per grid group in params order (Tables 2–4 first if present)."""
    tables = [table1(cfg, results, ref, baselines)]
    groups = [g for g in cfg.grid if g != "table1"]
    groups.sort(key=lambda g: PAPER_TABLES.index(g) if g in PAPER_TABLES else len(PAPER_TABLES))
    tables += [group_table(cfg, g, results, ref, baselines) for g in groups]
    return tables


def fmt_stat(stat: Stat | None, digits: int = 4) -> str:
    """'0.6388', '0.6388 ± 0.0123', 'n/a' (NaN) or '–' (no value)."""
    if stat is None:
        return "–"
    if math.isnan(stat.mean):
        return "n/a"
    text = f"{stat.mean:.{digits}f}"
    if stat.half_width is not None and math.isfinite(stat.half_width):
        text += f" ± {stat.half_width:.{digits}f}"
    return text
