"""Which differences in a table are real: paired tests across test images (`salloss.stats`) of
every loss against the block's reference loss, plus LC 1 against LC 2, Holm-corrected per
metric; and the Friedman/Nemenyi mean ranks behind the critical-difference diagram.

The reference of a block is its MSE run (Table 2), else its first one-term loss in table order
(W-MSE in Tables 3 and 4). A cell is marked significantly better (+1) or worse (−1) than the
reference when both the Wilcoxon signed-rank and the sign-flip permutation test reject at
α = 0.05 after Holm correction within the metric's family of comparisons. With several seeds,
each image's score is first averaged over seeds (`salloss.stats.mean_over_seeds`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from salloss.errors import DataError
from salloss.losses import paper
from salloss.report.collect import RunResult
from salloss.report.reference import spec_category, spec_key
from salloss.report.tables import Block, Row, Table, higher_is_better

log = logging.getLogger(__name__)

ALPHA = 0.05
# (LC 1, LC 2) pairs compared besides "every loss vs the reference" (Table 2's LC 1 has no R;
# Tables 3-4 call the variant with R "LC 1").
LC_PAIRS = ((paper.LC1, paper.LC2), (paper.LC1_R, paper.LC2))


def _our_rows(block: Block) -> list[Row]:
    return [r for s in block.sections for r in s.rows if r.ours is not None and r.loss_id]


def reference_row(rows: Sequence[Row]) -> Row | None:
    """The block's reference: the MSE row, else the first one-term loss, else None."""
    mse = spec_key("mse")
    for row in rows:
        if spec_key(row.spec) == mse:
            return row
    return next((r for r in rows if spec_category(r.spec) != "combination"), None)


def image_table(results: Sequence[RunResult]) -> dict[str, dict[str, float]]:
    """One loss's per-image scores (image id -> {metric: score}), averaged over its seeds."""
    from salloss.stats import mean_over_seeds

    tables = [{i: {m: float(v[k]) for m, v in r.scores.items()} for k, i in enumerate(r.ids)}
              for r in results]
    return mean_over_seeds(tables)


def mark_table(table: Table, results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """Run the tests of every block of `table`, store each of our entries' marks in
    ``entry.sig`` (metric -> +1/−1/0), flag the reference rows, add a note, and return the
    comparisons as dicts (block, metric, model_a, model_b, p-values, …)."""
    from salloss.stats import compare_pairs, significance_marks, standard_pairs

    out: list[dict[str, Any]] = []
    refs = []
    for block in table.blocks:
        rows = _our_rows(block)
        ref = reference_row(rows)
        if len(rows) < 2 or ref is None:
            continue
        runs = {r.loss_id: [x for x in results if (x.run.dataset, x.run.arch, x.run.loss)
                            == (r.dataset, r.arch, r.loss_id)] for r in rows}
        tables = {loss: image_table(rs) for loss, rs in runs.items()}
        by_spec = {spec_key(r.spec): r.loss_id for r in rows}
        extra = [(by_spec[spec_key(a)], by_spec[spec_key(b)]) for a, b in LC_PAIRS
                 if spec_key(a) in by_spec and spec_key(b) in by_spec]
        pairs = standard_pairs([r.loss_id for r in rows], baseline=ref.loss_id, extra=extra)
        directions = {m: higher_is_better(m) for m in table.metrics}
        try:
            comparisons = compare_pairs(tables, pairs, directions, list(table.metrics),
                                        alpha=ALPHA)
        except DataError as exc:
            raise DataError(f"{table.key}, {block.title}: {exc}") from exc
        marks = significance_marks(comparisons, ref.loss_id)
        for row in rows:
            row.ours.sig = dict(marks.get(row.loss_id, {}))
        ref.reference = True
        refs.append(ref.label)
        out += [{"table": table.key, "block": block.title, **c.as_dict()} for c in comparisons]
    if refs:
        names = ", ".join(dict.fromkeys(refs))
        table.notes.append(
            f"▲/▼: significantly better/worse than the reference ({names}, marked ◆) on that "
            "metric: paired Wilcoxon signed-rank and sign-flip permutation tests over the test "
            f"images, both Holm-adjusted p < {ALPHA} within the metric's family of comparisons "
            "(every loss vs the reference, and LC 1 vs LC 2); per-image scores averaged over "
            "seeds.")
    return out


def mean_rank_table(block: Block, metrics: Sequence[str]) -> dict[str, dict[str, float]]:
    """loss label -> {metric: our mean}: the input of the Friedman test over metrics."""
    rows = _our_rows(block)
    labels = [r.label for r in rows]
    names = [f"{r.label} [{r.loss_id}]" if labels.count(r.label) > 1 else r.label for r in rows]
    return {n: {m: r.ours.stats[m].mean for m in metrics} for n, r in zip(names, rows,
                                                                             strict=True)}
