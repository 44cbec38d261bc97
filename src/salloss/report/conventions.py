"""The report's "conventions" table: one run per dataset scored in both benchmark conventions.

Every evaluation writes ``conventions.json`` beside ``metrics.json``: the same test predictions
scored the MIT MATLAB way (``mit``) and the MIT/Tübingen benchmark's own way (``tuebingen``;
`salloss.metrics.tuebingen_scoring`). This table puts the two side by side, metric by metric,
with the reason for each difference in one line, so a reader knows which of our numbers to put
beside which published number (MIT-benchmark-era papers, including Bruckert et al.: ``mit``;
the benchmark's current leaderboards for MIT300 / CAT2000: ``tuebingen``).

The run of each dataset: ``report.conventions_loss`` (default: the first loss, in the params'
order, trained on every dataset), its first architecture and first seed.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salloss.errors import DataError
from salloss.pipeline.config import PipelineConfig
from salloss.report.collect import RunResult
from salloss.report.render import tex_escape
from salloss.report.tables import dataset_title, higher_is_better

log = logging.getLogger(__name__)

FILE = "conventions.json"  # written by `salloss.pipeline.stages.evaluate`

# (MIT metric, Tübingen metric, why the two numbers differ), in the paper's column order.
PAIRS: tuple[tuple[str | None, str | None, str], ...] = (
    ("CC", "CC", "same Pearson formula; ground truth is the fixation counts blurred by σ px "
                 "(reflect), not the dataset's density map"),
    ("SIM", "SIM", "no min-max normalisation (a map is only shifted if negative), against the "
                   "empirical map"),
    ("AUC-J", "AUC", "every fixation ranked against ALL pixels, ties ½, no jitter (MIT: fixated "
                     "vs unfixated pixels, thresholds at fixated values, jittered)"),
    ("AUC-B", None, "the benchmark's Python code has no AUC-Borji"),
    ("NSS", "NSS", "population std over the H·W pixels (MIT: sample std, a factor "
                   "√(HW/(HW−1)) apart); duplicate fixations weighted (MIT: once)"),
    ("EMD", None, "the benchmark's Python code has no EMD"),
    ("KL", "KLDiv", "ε = 2.2204e-16 and negative maps shifted; against the empirical map, not "
                    "the dataset's density map"),
    ("sAUC", "sAUC", "negatives are every fixation of every other test image, exact ranks "
                     "(MIT: 10 random other images' fixated pixels, 100 subsampled splits)"),
    ("IG", None, "the benchmark reports IG only for probabilistic models, not saliency maps"),
)
COMMON = ("Both columns score the same predictions, already at each image's size (so the "
          "conventions' different resizing plays no part). Fixations are the dataset's binary "
          "fixation maps, so the benchmark's duplicate counting has no duplicates to count.")


@dataclass(frozen=True)
class ConventionRow:
    """One metric pair of one dataset; a value is None where that convention lacks it."""

    dataset: str
    mit_metric: str | None
    mit: float | None
    tuebingen_metric: str | None
    tuebingen: float | None
    reason: str


@dataclass(frozen=True)
class ConventionBlock:
    """The rows of one dataset's chosen run."""

    dataset: str
    title: str
    run: str
    n_images: int
    sigma: float
    rows: tuple[ConventionRow, ...]


def chosen_runs(cfg: PipelineConfig, results: Sequence[RunResult]) -> dict[str, RunResult]:
    """Dataset → the run its conventions block shows (module doc); datasets without one are
    left out (logged)."""
    ours = [r for r in results if r.run.seed == cfg.seeds[0] and (r.dir / FILE).is_file()]
    datasets = [d for d in cfg.datasets if any(r.run.dataset == d for r in ours)]
    loss = cfg.report.get("conventions_loss")
    if loss is None:
        on_all = [k for k in cfg.losses
                  if all(any(r.run.dataset == d and r.run.loss == k for r in ours)
                         for d in datasets)]
        loss = on_all[0] if on_all else None
    out = {}
    for d in datasets:
        here = [r for r in ours if r.run.dataset == d]
        pick = [r for r in here if r.run.loss == loss] or here
        if loss is not None and pick[0].run.loss != loss:
            log.warning("conventions table: loss %s is not run on %s; showing %s", loss, d,
                        pick[0].run.loss)
        archs = list(cfg.archs)
        out[d] = min(pick, key=lambda r: archs.index(r.run.arch))
    return out


def _mean(summary: dict[str, Any], metric: str | None, path: Path) -> float | None:
    if metric is None or metric not in summary:
        return None
    entry = summary[metric]
    if not isinstance(entry, dict) or "mean" not in entry:
        raise DataError(f"{path}: no mean for metric {metric}")
    return math.nan if entry["mean"] is None else float(entry["mean"])


def read_block(cfg: PipelineConfig, result: RunResult) -> ConventionBlock:
    """The block of one run from its ``conventions.json`` (`DataError` naming the file)."""
    path = result.dir / FILE
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        mit, tue = content["mit"], content["tuebingen"]
        n, sigma = int(content["n_images"]), float(content["empirical_sigma_px"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: not a conventions summary ({exc}); re-run that "
                        "evaluation") from None
    d = result.run.dataset
    rows = []
    for m, t, why in PAIRS:
        m, t = (m if m in mit else None), (t if t in tue else None)
        if m or t:
            rows.append(ConventionRow(d, m, _mean(mit, m, path), t, _mean(tue, t, path), why))
    run = f"{result.run.loss} · {result.run.arch} · seed {result.run.seed}"
    return ConventionBlock(d, dataset_title(cfg, d), run, n, sigma, tuple(rows))


def build_blocks(cfg: PipelineConfig, results: Sequence[RunResult]) -> list[ConventionBlock]:
    """One block per dataset with a scored run, in params order."""
    return [read_block(cfg, r) for r in chosen_runs(cfg, results).values()]


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def _name(metric: str | None) -> str:
    if metric is None:
        return "–"
    return f"{metric} {'↑' if higher_is_better(metric) else '↓'}"


def _block_head(b: ConventionBlock) -> str:
    return (f"{b.title} · {b.run} · {b.n_images} test images · empirical map σ = "
            f"{b.sigma:g} px")


HEAD = ("MIT metric", "MIT", "Tübingen metric", "Tübingen", "why they differ")
TITLE = "Conventions: the same predictions scored the MIT (MATLAB) way and the Tübingen way"


def to_markdown(blocks: Sequence[ConventionBlock]) -> str:
    """GitHub Markdown: one header line per dataset, then its metric pairs."""
    out = [f"### {TITLE}", "",
           "| " + " | ".join(HEAD) + " |",
           "|:--|--:|:--|--:|:--|"]
    for b in blocks:
        out.append(f"| **{_block_head(b)}** |  |  |  |  |")
        for r in b.rows:
            out.append(f"| {_name(r.mit_metric)} | {_num(r.mit)} | {_name(r.tuebingen_metric)} "
                       f"| {_num(r.tuebingen)} | {r.reason.replace('|', '/')} |")
    out += ["", COMMON, "", "MIT: `salloss.metrics` (the MIT benchmark's MATLAB code; the "
            "paper's tables). Tübingen: `salloss.metrics.tuebingen` (matthias-k/"
            "saliency-benchmarking on pysaliency, today's MIT300 / CAT2000 leaderboards).", ""]
    return "\n".join(out)


def to_csv(blocks: Sequence[ConventionBlock]) -> str:
    """One line per (dataset, metric pair); full precision, empty where a convention lacks
    the metric."""
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "run", "n_images", "empirical_sigma_px", "mit_metric", "mit",
                "tuebingen_metric", "tuebingen", "reason"])
    for b in blocks:
        for r in b.rows:
            w.writerow([b.dataset, b.run, b.n_images, repr(b.sigma), r.mit_metric or "",
                        "" if r.mit is None else repr(r.mit), r.tuebingen_metric or "",
                        "" if r.tuebingen is None else repr(r.tuebingen), r.reason])
    return buf.getvalue()


def to_latex(blocks: Sequence[ConventionBlock]) -> str:
    """A booktabs tabular, one \\midrule-separated part per dataset."""
    out = [r"\begin{table}[t]", r"\centering\small", f"\\caption{{{tex_escape(TITLE)}}}",
           r"\begin{tabular}{lrlrp{7cm}}", r"\toprule",
           " & ".join(tex_escape(c) for c in HEAD) + r" \\"]
    for b in blocks:
        out += [r"\midrule", f"\\multicolumn{{5}}{{l}}{{\\textbf{{{tex_escape(_block_head(b))}}}}}"
                r" \\"]
        for r in b.rows:
            cells = [_name(r.mit_metric), _num(r.mit), _name(r.tuebingen_metric),
                     _num(r.tuebingen), r.reason]
            out.append(" & ".join(tex_escape(c) for c in cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(out)
