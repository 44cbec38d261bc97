"""How stable a table's findings are across training seeds (issue 18).

Per block of a table (dataset × architecture) and metric, over the block's losses (our rows,
reference maps left out), from each run's test-set mean (the mean over the images where the
metric is defined):

- seed-to-seed spread: per loss, the sample SD (ddof = 1) of its per-seed means (NaN seeds
  left out; undefined below two); summarised as the median and the max over the losses, naming
  the loss with the max (`seed_spread`, `summarise_spread`);
- rank agreement: for every pair of seeds, Kendall's τ-b (`salloss.stats.kendall_tau`) between
  the two seeds' loss rankings over the losses with a finite mean on both (at least
  `MIN_LOSSES`, else undefined); summarised as the mean and the min over the seed pairs where
  τ is defined (`seed_taus`). τ is computed on the means themselves: both seeds are ranked in
  the same direction, so it is τ between the rankings.

Written by `salloss.report.build` as a Markdown section appended to ``tables/<key>.md`` and,
when some block has two seeds or more, ``tables/<key>_seeds.csv|tex``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from salloss.report.collect import RunResult
from salloss.report.render import tex_escape
from salloss.report.tables import Row, Table
from salloss.stats import kendall_tau
from salloss.stats.stability import MIN_LOSSES

ONE_SEED = "one seed: seed-to-seed spread not measurable"
TITLE = "Stability across training seeds"


@dataclass(frozen=True)
class MetricSeeds:
    """One metric of a block: spread (median / max SD over losses, the loss with the max) and
    τ between seeds (mean / min over the `n_pairs` seed pairs where it is defined)."""

    metric: str
    n_losses: int
    median_sd: float
    max_sd: float
    max_loss: str
    tau_mean: float
    tau_min: float
    n_pairs: int


@dataclass
class BlockSeeds:
    """A block's seed stability: its title, the seeds its losses were run with, per metric."""

    title: str
    seeds: tuple[int, ...]
    metrics: list[MetricSeeds] = field(default_factory=list)

    @property
    def measurable(self) -> bool:
        return len(self.seeds) >= 2


def seed_spread(per_seed: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """loss → SD (ddof = 1) of its finite per-seed means; NaN with fewer than two."""
    out = {}
    for loss, values in per_seed.items():
        x = np.asarray(values, dtype=np.float64)
        x = x[np.isfinite(x)]
        out[loss] = float(x.std(ddof=1)) if x.size >= 2 else math.nan
    return out


def summarise_spread(sds: Mapping[str, float]) -> tuple[float, float, str]:
    """(median, max, the loss with the max; the first in order on ties) over the finite SDs;
    (NaN, NaN, '') when none is finite."""
    finite = {k: v for k, v in sds.items() if math.isfinite(v)}
    if not finite:
        return math.nan, math.nan, ""
    top = max(finite, key=lambda k: finite[k])
    return float(np.median(list(finite.values()))), finite[top], top


def seed_taus(by_seed: Mapping[int, Mapping[str, float]]) -> dict[tuple[int, int], float]:
    """(seed a, seed b) → Kendall's τ-b between the two seeds' loss means over the losses with
    a finite mean on both, for every pair of seeds (in the given order); NaN with fewer than
    `MIN_LOSSES` such losses, or when τ is undefined (a constant ranking)."""
    out = {}
    for a, b in combinations(by_seed, 2):
        common = [k for k in by_seed[a] if k in by_seed[b]
                  and math.isfinite(by_seed[a][k]) and math.isfinite(by_seed[b][k])]
        if len(common) < MIN_LOSSES:
            out[(a, b)] = math.nan
            continue
        out[(a, b)] = kendall_tau([by_seed[a][k] for k in common],
                                  [by_seed[b][k] for k in common])
    return out


def _runs(row: Row, results: Sequence[RunResult]) -> list[RunResult]:
    return [r for r in results
            if (r.run.dataset, r.run.arch, r.run.loss) == (row.dataset, row.arch, row.loss_id)]


def analyse(table: Table, results: Sequence[RunResult]) -> list[BlockSeeds]:
    """The seed stability of every block of `table` with at least one of our loss rows."""
    out = []
    for block in table.blocks:
        rows = [r for s in block.sections for r in s.rows
                if r.ours is not None and r.loss_id and not r.reference_map]
        if not rows:
            continue
        runs = {r.label: _runs(r, results) for r in rows}
        seeds = tuple(sorted({x.run.seed for rs in runs.values() for x in rs}))
        item = BlockSeeds(block.title, seeds)
        if item.measurable:
            for m in table.metrics:
                per_seed = {label: [x.mean(m) for x in rs] for label, rs in runs.items()}
                median, top, loss = summarise_spread(seed_spread(per_seed))
                by_seed = {s: {label: x.mean(m) for label, rs in runs.items() for x in rs
                               if x.run.seed == s} for s in seeds}
                taus = np.array(list(seed_taus(by_seed).values()), dtype=np.float64)
                taus = taus[np.isfinite(taus)]
                item.metrics.append(MetricSeeds(
                    m, len(rows), median, top, loss,
                    float(taus.mean()) if taus.size else math.nan,
                    float(taus.min()) if taus.size else math.nan, int(taus.size)))
        out.append(item)
    return out


def _f(value: float, digits: int) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"


HEAD = ["Metric", "losses", "SD over seeds: median", "max (loss)", "τ between seeds: mean",
        "min", "seed pairs"]


def _cells(m: MetricSeeds) -> list[str]:
    top = _f(m.max_sd, 4) + (f" ({m.max_loss})" if m.max_loss else "")
    return [m.metric, str(m.n_losses), _f(m.median_sd, 4), top, _f(m.tau_mean, 2),
            _f(m.tau_min, 2), str(m.n_pairs)]


def notes(items: Sequence[BlockSeeds]) -> list[str]:
    """The notes under the section (also the LaTeX caption)."""
    if not any(i.measurable for i in items):
        return [f"{ONE_SEED.capitalize()} (each cell has one training seed), nor the agreement "
                "of the loss rankings between seeds."]
    seeds = sorted({s for i in items for s in i.seeds})
    return [f"Over the training seeds ({', '.join(map(str, seeds))}). SD over seeds: per loss, "
            "the sample SD (ddof = 1) of its per-seed test-set means, i.e. its training noise "
            "on that metric; median and max over the block's losses, the loss with the max "
            "named.",
            "τ between seeds: Kendall's τ-b between the loss rankings of two seeds, over the "
            f"losses with a finite mean on both (at least {MIN_LOSSES}, else n/a); mean and "
            "min over the pairs of seeds (1 = every seed ranks the losses alike, 0 = no "
            "agreement)."]


def to_markdown(items: Sequence[BlockSeeds], heading: str = "####") -> str:
    """The section appended to a table's Markdown: one line per block × metric."""
    out = [f"{heading} {TITLE}", ""]
    if not any(i.measurable for i in items):
        return "\n".join([*out, f"- {ONE_SEED}.", ""]) + "\n"
    out += ["| " + " | ".join(HEAD) + " |", "|:--|" + "--:|" * (len(HEAD) - 1)]
    blank = [""] * (len(HEAD) - 1)
    for item in items:
        title = item.title.replace("|", "\\|")
        out.append("| " + " | ".join([f"**{title}**", *blank]) + " |")
        if not item.measurable:
            out.append("| " + " | ".join([ONE_SEED, *blank]) + " |")
        for m in item.metrics:
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in _cells(m)) + " |")
    out.append("")
    out += [f"- {n}" for n in notes(items)]
    return "\n".join(out) + "\n"


def to_csv(key: str, items: Sequence[BlockSeeds]) -> str:
    """One line per block × metric, numbers at full precision (empty where undefined)."""
    def num(v: float) -> str:
        return repr(v) if math.isfinite(v) else ""

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["table", "block", "seeds", "metric", "n_losses", "sd_median", "sd_max",
                "sd_max_loss", "tau_mean", "tau_min", "n_seed_pairs"])
    for item in items:
        for m in item.metrics:
            w.writerow([key, item.title, " ".join(map(str, item.seeds)), m.metric, m.n_losses,
                        num(m.median_sd), num(m.max_sd), m.max_loss, num(m.tau_mean),
                        num(m.tau_min), m.n_pairs])
    return buf.getvalue()


def to_latex(key: str, items: Sequence[BlockSeeds]) -> str:
    """A booktabs table of the section (needs ``\\usepackage{booktabs}``)."""
    n = len(HEAD)
    caption = tex_escape(f"{key}: {TITLE}. " + " ".join(notes(items)))
    out = [f"% {key}: {TITLE}", "% written by `salloss report`; needs \\usepackage{booktabs}",
           r"\begin{table}[t]", r"\centering", r"\small", f"\\caption{{{caption}}}",
           f"\\label{{tab:salloss-{key}-seeds}}", r"\begin{tabular}{l" + "r" * (n - 1) + "}",
           r"\toprule", " & ".join(tex_escape(h) for h in HEAD) + r" \\", r"\midrule"]
    for b, item in enumerate(items):
        if b:
            out.append(r"\midrule")
        out.append(f"\\multicolumn{{{n}}}{{l}}{{\\textbf{{{tex_escape(item.title)}}}}} \\\\")
        if not item.measurable:
            out.append(f"\\multicolumn{{{n}}}{{l}}{{{tex_escape(ONE_SEED)}}} \\\\")
        for m in item.metrics:
            out.append(" & ".join(tex_escape(c) for c in _cells(m)) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"
