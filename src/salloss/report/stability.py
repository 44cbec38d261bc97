"""Table 5's second half (issue 13): does the ranking of the losses hold across architectures?

For each dataset of grid group ``table5`` (`salloss.report.tables.CROSS_ARCH_GROUP`; nothing
is written when the grid has no such group) the architectures compared are table5's own and
every other architecture with runs of table5's losses on that dataset in other groups (the
baseline's runs live in table2, SAM-VGG's in table4: `tables.group_results` / `group_archs`,
the same cells as Table 5 itself). Per architecture and metric the losses are ranked on their
test-set means (1 = best, direction-aware, ties averaged), and every two architectures are
compared by Kendall's τ-b between their rankings over the losses both have, with a percentile
bootstrap interval that resamples the test images jointly (`salloss.stats.rank_stability`).

A cell with several seeds uses, per image, the mean of that image's score over the seeds
(NaN seeds left out, as the significance tests do: `significance.image_table`); the mean over
images leaves out the images where a metric is undefined, as the tables do.

Files (through the report's writer): ``tables/table5_ranks.md|csv|tex`` (per dataset: the loss
ranks per metric × architecture, then τ [CI] per pair of architectures × metric and averaged
over the metrics) and, with figures, ``figures/fig5_rank_bump_<dataset>.png|pdf`` (a bump
chart: each loss's rank across the architectures, one panel per metric) and
``figures/fig5_tau_<dataset>.png|pdf`` (the architectures × architectures τ, averaged over the
metrics, on a colour map centred at 0).
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from salloss.errors import DataError
from salloss.pipeline.config import PipelineConfig
from salloss.report.collect import RunResult
from salloss.report.figures import new_figure, reproducible, save, style, wrap
from salloss.report.reference import PaperReference
from salloss.report.render import tex_escape as _tex_escape
from salloss.report.significance import image_table
from salloss.report.summary import FigureEntry
from salloss.report.tables import (
    CROSS_ARCH_GROUP,
    _by_cell,
    _order,
    dataset_title,
    group_archs,
    group_results,
    higher_is_better,
)
from salloss.stats import RankStability, rank_stability
from salloss.stats.stability import MIN_LOSSES

log = logging.getLogger(__name__)

KEY = f"{CROSS_ARCH_GROUP}_ranks"
N_BOOT = 1000
SEED = 0
LEVEL = 0.95
TITLE = ("Table 5 (ranks): does the loss ranking hold across architectures? Loss ranks per "
         "architecture and Kendall's τ between architectures")


class Writer(Protocol):
    """What this module needs of the report's file writer (`build._Writer`)."""

    root: Path

    def text(self, rel: str, content: str) -> None: ...

    def add(self, paths: list[Path]) -> None: ...


@dataclass
class PairSummary:
    """τ of one pair of architectures averaged over the metrics where it is defined, with the
    percentile interval of the same average over the shared bootstrap resamples."""

    arch_a: str
    arch_b: str
    tau: float
    low: float
    high: float
    n_metrics: int
    n_losses: int
    reason: str | None = None


@dataclass
class DatasetStability:
    """The rank analysis of one dataset of table5."""

    dataset: str
    title: str
    archs: list[str]
    losses: list[str]  # table order; a loss some architecture has
    labels: dict[str, str]  # loss id -> short name (figures, tables)
    groups: dict[str, list[str]]  # arch -> the grid groups its runs come from
    n_images: int
    seeds: list[int]  # seeds averaged per image (the union over cells)
    metrics: tuple[str, ...]
    by_metric: dict[str, RankStability]
    mean_tau: list[PairSummary] = field(default_factory=list)
    table2_names: dict[str, tuple[str, str]] = field(default_factory=dict)  # (ours, Table 2's)

    def has(self, arch: str, loss: str) -> bool:
        return loss in self.by_metric[self.metrics[0]].means[arch]

    def mean_rank(self, arch: str, loss: str) -> float:
        """Mean over the metrics of the loss's rank on `arch` (NaN metrics left out)."""
        ranks = [self.by_metric[m].ranks[arch].get(loss, math.nan) for m in self.metrics]
        ok = [r for r in ranks if math.isfinite(r)]
        return float(np.mean(ok)) if ok else math.nan


def short_label(cfg: PipelineConfig, ref: PaperReference, loss: str) -> str:
    """The paper's short name of a loss (Tables 3–4's 'W-MSE', 'LC 1', 'LC 2'; else Table
    2's), else its id."""
    spec = cfg.losses[loss]
    if loss in cfg.sweeps:
        return loss
    row = ref.lookup("table4", spec, None) or ref.table2_row(spec)
    return row.name if row is not None else loss


def _per_image(cells: dict[tuple[str, str, str], list[RunResult]], dataset: str,
               archs: Sequence[str], losses: Sequence[str], metric: str,
               ids: Sequence[str], tables: dict[tuple[str, str], dict[str, dict[str, float]]]
               ) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for a in archs:
        out[a] = {}
        for loss in losses:
            if (dataset, a, loss) not in cells:
                continue
            table = tables[(a, loss)]
            out[a][loss] = np.array([table[i][metric] for i in ids], dtype=np.float64)
    return out


def _mean_tau(by_metric: dict[str, RankStability], metrics: Sequence[str]
              ) -> list[PairSummary]:
    """Per pair: the mean over metrics of τ and its interval (replicates averaged over the
    metrics: every metric's bootstrap drew the same images, same seed and image count)."""
    first = by_metric[metrics[0]]
    out = []
    for k, p in enumerate(first.pairs):
        per = [by_metric[m].pairs[k] for m in metrics]
        ok = [q for q in per if math.isfinite(q.tau)]
        if not ok:
            out.append(PairSummary(p.arch_a, p.arch_b, math.nan, math.nan, math.nan, 0,
                                   p.n_losses, per[0].reason))
            continue
        reps = np.vstack([q.boot for q in ok]).mean(axis=0)  # NaN if any metric's is
        reps = reps[np.isfinite(reps)]
        low, high = (np.quantile(reps, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]) if reps.size
                     else (math.nan, math.nan))
        out.append(PairSummary(p.arch_a, p.arch_b, float(np.mean([q.tau for q in ok])),
                               float(low), float(high), len(ok), p.n_losses))
    return out


def analyse(cfg: PipelineConfig, ref: PaperReference, results: Sequence[RunResult],
            n_boot: int = N_BOOT, seed: int = SEED) -> list[DatasetStability]:
    """The rank analysis of every dataset of table5 (empty without a table5 group)."""
    if CROSS_ARCH_GROUP not in cfg.grid:
        return []
    g = cfg.grid[CROSS_ARCH_GROUP]
    metrics = tuple(cfg.evaluation["metrics"])
    mine = group_results(cfg, CROSS_ARCH_GROUP, results)
    cells = _by_cell(mine)
    specs = {loss: cfg.losses[loss] for loss in g["losses"]}
    order = _order(ref, "table2", specs)
    out = []
    for d in g["datasets"]:
        archs = [a for a in group_archs(cfg, CROSS_ARCH_GROUP, d, results)
                 if any((d, a, loss) in cells for loss in order)]
        losses = [loss for loss in order if any((d, a, loss) in cells for a in archs)]
        if not archs:
            continue
        here = {(a, loss): cells[(d, a, loss)] for a in archs for loss in losses
                if (d, a, loss) in cells}
        ids = list(next(iter(here.values()))[0].ids)
        tables = {key: image_table(runs) for key, runs in here.items()}
        for (a, loss), table in tables.items():
            if set(table) != set(ids):
                raise DataError(f"{CROSS_ARCH_GROUP}: {d}/{a}/{loss} is scored on other test "
                                "images than the other runs of that dataset; re-run its "
                                "evaluation")
        by_metric = {}
        for m in metrics:
            per_image = _per_image(cells, d, archs, losses, m, ids, tables)
            by_metric[m] = rank_stability(per_image, higher_is_better(m), n_boot=n_boot,
                                          seed=seed, ci=LEVEL)
        groups = {a: list(dict.fromkeys(r.run.group for (aa, _), runs in here.items()
                                        if aa == a for r in runs)) for a in archs}
        seeds = sorted({r.run.seed for runs in here.values() for r in runs})
        item = DatasetStability(d, dataset_title(cfg, d), archs, losses,
                                {loss: short_label(cfg, ref, loss) for loss in losses},
                                groups, len(ids), seeds, metrics, by_metric)
        item.mean_tau = _mean_tau(by_metric, metrics)
        for loss in losses:
            row = ref.table2_row(cfg.losses[loss])
            if row is not None:
                item.table2_names[loss] = (item.labels[loss], row.name)
        out.append(item)
    return out


# --- tables -----------------------------------------------------------------------------------


def tex_escape(text: str) -> str:
    """`render.tex_escape`, and τ as math (pdfLaTeX has no Greek text glyphs)."""
    return _tex_escape(text).replace("τ", r"$\tau$")


def _arrow(metric: str) -> str:
    return "↑" if higher_is_better(metric) else "↓"


def _rank_text(rank: float) -> str:
    if not math.isfinite(rank):
        return "n/a"
    return f"{rank:.0f}" if rank == int(rank) else f"{rank:g}"


def _tau_text(tau: float, low: float, high: float) -> str:
    if not math.isfinite(tau):
        return "n/a"
    ci = f" [{low:.2f}, {high:.2f}]" if math.isfinite(low) else ""
    return f"{tau:.2f}{ci}"


def _seed_note(item: DatasetStability) -> str:
    if len(item.seeds) > 1:
        seeds = ", ".join(map(str, item.seeds))
        return (f"seeds: each image's score is the mean over seeds {seeds} (NaN seeds left "
                "out) before the mean over images")
    return f"seed {item.seeds[0]} (one training seed per cell)"


def notes(items: Sequence[DatasetStability], n_boot: int = N_BOOT) -> list[str]:
    """The notes under the tables (also the captions' source)."""
    out = [
        "Ranks: 1 = the best test-set mean on that architecture (↑ higher is better, ↓ lower "
        "is better: EMD, KL), among the losses run on that architecture (one with fewer losses "
        "has fewer ranks); ties share the average rank; – : the loss has no run on that "
        "architecture; n/a: the metric is undefined on every image. Means leave out the "
        "images where a metric is undefined.",
        f"τ: Kendall's τ-b between two architectures' rankings over the losses both have (at "
        f"least {MIN_LOSSES}, else n/a); 1 = the same order, 0 = unrelated, −1 = reversed. "
        f"[low, high]: {LEVEL:.0%} percentile bootstrap interval over {n_boot} resamples of the "
        f"test images (seed {SEED}), the same resampled images for every architecture, loss and "
        "metric, since all are scored on the same test images. Mean over metrics: the mean of "
        "the metrics' τ (where defined), its interval from the same resamples.",
    ]
    renamed = {loss: (label, table2) for it in items for loss, (label, table2)
               in it.table2_names.items() if label != table2}
    if renamed:
        out.append("Loss names: the paper's Tables 3–4 names where it has them ("
                   + "; ".join(f"{lab} = {t2}" for lab, t2 in renamed.values())
                   + " in Table 2 and Table 5), else Table 2's; the id column matches Table 5's "
                   "rows.")
    for it in items:
        src = "; ".join(f"{a}: {', '.join(gs)}" for a, gs in it.groups.items())
        out.append(f"{it.title}: {it.n_images} test images, {_seed_note(it)}. Runs per "
                   f"architecture from grid group(s) {src}.")
    return out


def to_markdown(items: Sequence[DatasetStability], n_boot: int = N_BOOT) -> str:
    """Per dataset: the ranks (a block per metric, columns = architectures), then τ [CI] per
    pair of architectures × metric; notes at the end."""
    out = [f"### {TITLE}", ""]
    for it in items:
        out += [f"#### {it.title} · {len(it.archs)} architectures · {it.n_images} test images",
                "", "| Loss | id | " + " | ".join(it.archs) + " |",
                "|:--|:--|" + "--:|" * len(it.archs)]
        blank = " |" * (len(it.archs) + 1)
        for m in it.metrics:
            res = it.by_metric[m]
            out.append(f"| **{m} {_arrow(m)}** |" + blank)
            for loss in it.losses:
                cells = []
                for a in it.archs:
                    rank = res.ranks[a].get(loss)
                    text = "–" if rank is None else _rank_text(rank)
                    cells.append(f"**{text}**" if rank == 1 else text)
                out.append(f"| {it.labels[loss]} | `{loss}` | " + " | ".join(cells) + " |")
        out.append(f"| **Mean rank over the {len(it.metrics)} metrics** |" + blank)
        for loss in it.losses:
            cells = [f"{it.mean_rank(a, loss):.2f}" if it.has(a, loss) else "–"
                     for a in it.archs]
            out.append(f"| {it.labels[loss]} | `{loss}` | " + " | ".join(cells) + " |")
        out += ["", "| Architectures | losses | "
                + " | ".join(f"{m} {_arrow(m)}" for m in it.metrics) + " | mean over metrics |",
                "|:--|--:|" + "--:|" * (len(it.metrics) + 1)]
        for k, s in enumerate(it.mean_tau):
            per = [it.by_metric[m].pairs[k] for m in it.metrics]
            cells = [_tau_text(p.tau, p.low, p.high) for p in per]
            out.append(f"| {s.arch_a} vs {s.arch_b} | {s.n_losses} | " + " | ".join(cells)
                       + f" | {_tau_text(s.tau, s.low, s.high)} |")
        if not it.mean_tau:
            out.append("| (one architecture: nothing to compare) |" + " |" * (len(it.metrics)
                                                                                + 1))
        out.append("")
    out += [f"- {n}" for n in notes(items, n_boot)]
    return "\n".join(out) + "\n"


def to_csv(items: Sequence[DatasetStability]) -> str:
    """Tidy lines: ``kind`` = rank (dataset, metric, arch, loss, mean, rank) or tau (dataset,
    metric or 'mean', arch_a, arch_b, losses, tau, ci_low, ci_high, resamples, reason);
    full float precision, empty where a field does not apply."""
    head = ["kind", "dataset", "metric", "arch", "loss", "label", "mean", "rank", "arch_b",
            "n_losses", "losses", "tau", "ci_low", "ci_high", "level", "n_boot_valid", "reason"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=head, lineterminator="\n", restval="")
    w.writeheader()

    def num(v: float) -> str:
        return "nan" if math.isnan(v) else repr(float(v))

    for it in items:
        for m in it.metrics:
            res = it.by_metric[m]
            for a in it.archs:
                for loss in it.losses:
                    if loss in res.means[a]:
                        w.writerow({"kind": "rank", "dataset": it.dataset, "metric": m,
                                    "arch": a, "loss": loss, "label": it.labels[loss],
                                    "mean": num(res.means[a][loss]),
                                    "rank": num(res.ranks[a][loss])})
        for k, s in enumerate(it.mean_tau):
            for m in it.metrics:
                p = it.by_metric[m].pairs[k]
                w.writerow({"kind": "tau", "dataset": it.dataset, "metric": m, "arch": p.arch_a,
                            "arch_b": p.arch_b, "n_losses": p.n_losses,
                            "losses": " ".join(p.losses), "tau": num(p.tau),
                            "ci_low": num(p.low), "ci_high": num(p.high), "level": p.level,
                            "n_boot_valid": p.n_boot, "reason": p.reason or ""})
            w.writerow({"kind": "tau", "dataset": it.dataset, "metric": "mean",
                        "arch": s.arch_a, "arch_b": s.arch_b, "n_losses": s.n_losses,
                        "tau": num(s.tau), "ci_low": num(s.low), "ci_high": num(s.high),
                        "level": LEVEL, "reason": s.reason or ""})
    return buf.getvalue()


def to_latex(items: Sequence[DatasetStability], n_boot: int = N_BOOT) -> str:
    """Two booktabs tables per dataset: the ranks, and τ [CI] (``booktabs``)."""
    out = [f"% {TITLE}", "% written by `salloss report`; needs \\usepackage{booktabs}"]
    for it in items:
        n = len(it.archs) + 1
        out += [r"\begin{table}[t]", r"\centering", r"\small",
                f"\\caption{{{tex_escape(f'Loss ranks per architecture, {it.title}. ')}"
                f"{tex_escape(' '.join(notes([it], n_boot)[:1]))}}}",
                f"\\label{{tab:salloss-{KEY}-{it.dataset}}}",
                r"\begin{tabular}{l" + "r" * (n - 1) + "}", r"\toprule",
                " & ".join(["Loss", *(tex_escape(a) for a in it.archs)]) + r" \\"]
        for m in it.metrics:
            res = it.by_metric[m]
            out += [r"\midrule",
                    f"\\multicolumn{{{n}}}{{l}}{{\\textbf{{{tex_escape(f'{m} {_arrow(m)}')}}}}}"
                    r" \\"]
            for loss in it.losses:
                cells = []
                for a in it.archs:
                    rank = res.ranks[a].get(loss)
                    text = "--" if rank is None else _rank_text(rank)
                    cells.append(f"\\textbf{{{text}}}" if rank == 1 else text)
                out.append(" & ".join([tex_escape(it.labels[loss]), *cells]) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
        if not it.mean_tau:
            continue
        k = len(it.metrics) + 3
        out += [r"\begin{table}[t]", r"\centering", r"\scriptsize",
                f"\\caption{{{tex_escape(f'Kendall τ between the loss rankings, {it.title}. ')}"
                f"{tex_escape(' '.join(notes([it], n_boot)[1:]))}}}",
                f"\\label{{tab:salloss-{KEY}-{it.dataset}-tau}}",
                r"\begin{tabular}{lr" + "r" * (k - 2) + "}", r"\toprule",
                " & ".join(["Architectures", "losses",
                            *(tex_escape(f"{m} {_arrow(m)}") for m in it.metrics), "mean"])
                + r" \\", r"\midrule"]
        for j, s in enumerate(it.mean_tau):
            per = [it.by_metric[m].pairs[j] for m in it.metrics]
            cells = [tex_escape(_tau_text(p.tau, p.low, p.high)) for p in per]
            out.append(" & ".join([tex_escape(f"{s.arch_a} vs {s.arch_b}"), str(s.n_losses),
                                   *cells, tex_escape(_tau_text(s.tau, s.low, s.high))])
                       + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


# --- figures ----------------------------------------------------------------------------------


def _colours(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]


def _metric_tau(item: DatasetStability, metric: str) -> float:
    taus = [p.tau for p in item.by_metric[metric].pairs if math.isfinite(p.tau)]
    return float(np.mean(taus)) if taus else math.nan


def bump_chart(item: DatasetStability, stem: Path, ncols: int = 3) -> list[Path]:
    """One panel per metric: x = architectures, y = rank (1 at the top), one coloured line per
    loss through its ranks, labelled at its right end (losses tied there share a label)."""
    metrics = item.metrics
    n = len(metrics)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    colours = dict(zip(item.losses, _colours(len(item.losses)), strict=True))
    longest = max(len(item.labels[loss]) for loss in item.losses)
    label_w = min(1.6, 0.05 * min(longest, 24) + 0.2)
    panel_w = 0.55 * max(len(item.archs), 2) + label_w + 0.4
    max_rank = max(len(item.by_metric[m].means[a]) for m in metrics for a in item.archs)
    panel_h = max(1.7, 0.24 * max_rank + 0.8)
    x = np.arange(len(item.archs))
    with style(), reproducible():
        fig = new_figure(panel_w * ncols + 0.2, panel_h * nrows + 0.6)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for k, m in enumerate(metrics):
            ax = axes[k // ncols, k % ncols]
            res = item.by_metric[m]
            ends: dict[float, list[str]] = {}
            for loss in item.losses:
                ys = np.array([res.ranks[a].get(loss, math.nan) for a in item.archs])
                ok = np.isfinite(ys)
                if not ok.any():
                    continue
                xs = np.flatnonzero(ok)
                for u, v in zip(xs[:-1], xs[1:], strict=True):  # dotted across a missing run
                    ax.plot([u, v], ys[[u, v]], color=colours[loss], zorder=2,
                            **({"lw": 1.6} if v == u + 1 else {"lw": 0.9, "ls": ":"}))
                ax.plot(x[ok], ys[ok], "o", color=colours[loss], ms=4.5,
                        markeredgecolor="white", markeredgewidth=0.6, zorder=3)
                last = int(np.flatnonzero(ok)[-1])
                if last == len(item.archs) - 1:
                    ends.setdefault(float(ys[last]), []).append(loss)
                else:  # the line stops early: label it where it stops
                    ax.annotate(item.labels[loss], (x[last], ys[last]), xytext=(4, 4),
                                textcoords="offset points", fontsize=5.5,
                                color=colours[loss])
            for y, names in ends.items():
                text = ", ".join(item.labels[loss] for loss in names)
                ax.annotate(wrap(text, 26), (x[-1], y), xytext=(7, 0),
                            textcoords="offset points", va="center", fontsize=6,
                            color=colours[names[0]] if len(names) == 1 else "0.25",
                            annotation_clip=False)
            ax.set_xticks(x, [f"{a}\n{len(res.means[a])} losses" if k // ncols == nrows - 1
                              or k + ncols >= n else a for a in item.archs],
                          rotation=30, ha="right", rotation_mode="anchor")
            ax.set_xlim(-0.3, len(item.archs) - 0.7)
            ax.set_ylim(max_rank + 0.5, 0.5)
            ax.set_yticks(range(1, max_rank + 1))
            ax.grid(axis="y", alpha=0.25)
            ax.spines["right"].set_visible(False)
            tau = _metric_tau(item, m)
            suffix = f" · mean τ = {tau:.2f}" if math.isfinite(tau) else ""
            ax.set_title(f"{m} {_arrow(m)}{suffix}", loc="left")
            if k % ncols == 0:
                ax.set_ylabel("rank (1 = best)")
        for k in range(n, nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)
        fig.suptitle(f"Rank of each loss on each architecture — {item.title}, "
                     f"{item.n_images} test images (ranked on the test-set mean; 1 = best)",
                     x=0.01, ha="left")
        return save(fig, stem)


def tau_heatmap(item: DatasetStability, stem: Path) -> list[Path]:
    """Architectures × architectures: τ between their loss rankings averaged over the metrics
    (diverging colour map centred at 0), each cell annotated with τ and its interval."""
    import matplotlib
    import matplotlib.patches

    archs = item.archs
    k = len(archs)
    tau = np.eye(k)
    text = [["" for _ in range(k)] for _ in range(k)]
    for s in item.mean_tau:
        i, j = archs.index(s.arch_a), archs.index(s.arch_b)
        tau[i, j] = tau[j, i] = s.tau
        if math.isfinite(s.tau):
            cell = f"{s.tau:.2f}"
            if math.isfinite(s.low):
                cell += f"\n[{s.low:.2f}, {s.high:.2f}]"
            cell += f"\n{s.n_losses} losses"
        else:
            cell = f"n/a\n{s.n_losses} common\nloss(es)"
        text[i][j] = text[j][i] = cell
    side = 0.95 * k + 1.6
    with style(), reproducible():
        fig = new_figure(side + 1.0, side)
        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["RdBu"].with_extremes(bad="0.85")  # NaN: no τ
        image = ax.imshow(tau, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        for i in range(k):  # the diagonal (an architecture against itself) stays blank
            ax.add_patch(matplotlib.patches.Rectangle((i - 0.5, i - 0.5), 1, 1, fc="white", lw=0,
                                                      zorder=2))
        for i in range(k):
            for j in range(k):
                if i == j:
                    ax.text(j, i, "—", ha="center", va="center", color="0.6", fontsize=8,
                            zorder=3)
                    continue
                dark = math.isfinite(tau[i, j]) and abs(tau[i, j]) > 0.55
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=6.5,
                        color="white" if dark else "black", linespacing=1.15, zorder=3)
        ax.set_xticks(range(k), archs, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(k), archs)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, shrink=0.85, pad=0.03, ticks=[-1, -0.5, 0, 0.5, 1])
        bar.set_label("Kendall τ (1 same order · 0 unrelated · −1 reversed)")
        ax.set_title(wrap(f"Do the architectures rank the losses alike? Kendall τ between "
                          f"their loss rankings, mean over {len(item.metrics)} metrics — "
                          f"{item.title}", max(40, int(11 * side))), loc="left")
        return save(fig, stem)


# --- the report's part ------------------------------------------------------------------------


@dataclass
class Written:
    """What `write` added to the report: (key, Markdown) for summary.md's tables, and the
    figures (empty without figures or without table5)."""

    tables: list[tuple[str, str]] = field(default_factory=list)
    figures: list[FigureEntry] = field(default_factory=list)
    items: list[DatasetStability] = field(default_factory=list)


def write(cfg: PipelineConfig, ref: PaperReference, results: Sequence[RunResult], w: Writer,
          *, with_figures: bool = True) -> Written:
    """Write ``tables/table5_ranks.*`` and the two figures per dataset (module docstring)."""
    items = analyse(cfg, ref, results)
    if not items:
        return Written()
    md = to_markdown(items)
    w.text(f"tables/{KEY}.md", md)
    w.text(f"tables/{KEY}.csv", to_csv(items))
    w.text(f"tables/{KEY}.tex", to_latex(items))
    out = Written([(KEY, md)], [], items)
    if not with_figures:
        return out
    for it in items:
        stem = f"figures/fig5_rank_bump_{it.dataset}"
        w.add(bump_chart(it, w.root / stem))
        out.figures.append(FigureEntry(
            f"Figure 5: loss ranks across architectures ({it.dataset})",
            f"Each loss's rank (1 = best test-set mean, direction-aware) on each architecture, "
            f"one panel per metric, {it.title}, {it.n_images} test images, {_seed_note(it)}; "
            "a flat line is a loss whose rank holds across architectures. Panel titles: the "
            "mean over pairs of architectures of Kendall's τ between their rankings. Ranks "
            "are among the losses run on each architecture.", f"{stem}.png"))
        if len(it.archs) < 2:
            continue
        stem = f"figures/fig5_tau_{it.dataset}"
        w.add(tau_heatmap(it, w.root / stem))
        out.figures.append(FigureEntry(
            f"Figure 5: agreement of the loss rankings between architectures ({it.dataset})",
            f"Kendall's τ-b between two architectures' loss rankings over the losses both have "
            f"(at least {MIN_LOSSES}), averaged over the {len(it.metrics)} metrics, with its "
            f"{LEVEL:.0%} bootstrap interval over the test images (the same resamples for "
            f"every architecture, loss and metric; {N_BOOT} resamples). Blue: the rankings "
            "agree, red: reversed; per-metric values in table5_ranks.", f"{stem}.png"))
    return out
