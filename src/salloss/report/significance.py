"""Which differences in a table are real: paired tests across test images (`salloss.stats`) of
every loss against the block's reference loss, plus LC 1 against LC 2, Holm-corrected per
metric; and the Friedman/Nemenyi mean ranks behind the critical-difference diagram.

The reference of a block is its MSE run (Table 2), else its first one-term loss in table order
(W-MSE in Tables 3 and 4). The training seed is the unit of replication: a cell is marked
significantly better (+1) or worse (−1) than the reference only when

- the seed-level test rejects: Welch's two-sample t-test on the per-seed test-set means of the
  two losses (`salloss.stats.welch_seed_test`), and
- both image-level tests reject: the Wilcoxon signed-rank and the sign-flip permutation test
  over the test images, on each image's score averaged over the seeds
  (`salloss.stats.mean_over_seeds`),

each at α = 0.05 after Holm correction within the metric's family of comparisons, and the two
levels agree on the direction. So a mark says the difference exceeds seed-to-seed training
noise and holds across images. With fewer than two seeds for some loss of a table, training
noise cannot be measured and the table gets no marks (the image-level tests are still written);
a comparison with fewer than two finite per-seed means on a side has no seed-level p and no
mark.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

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


def seed_level(comparisons: Sequence[Any], per_seed: Mapping[str, Mapping[str, Sequence[float]]],
               directions: Mapping[str, bool], alpha: float = ALPHA) -> list[dict[str, Any]]:
    """The image-level `comparisons` (`salloss.stats.ComparisonRow`) with the seed-level test
    added, as dicts: `seed_n_a`/`seed_n_b` (finite per-seed means), `seed_mean_diff` (A − B),
    `seed_welch_p` (Welch's t on the per-seed means of `per_seed[loss][metric]`),
    `holm_seed_welch_p` (Holm within the metric's family, the same pairs as the image-level
    Holm), `seed_significant`, `marked` (both levels significant and agreeing on the better
    model) and `marked_better` (that model; None when not marked). `significant` and `better`
    stay the image-level verdict."""
    from salloss.stats import holm, welch_seed_test

    tests = [welch_seed_test(per_seed[c.model_a][c.metric], per_seed[c.model_b][c.metric])
             for c in comparisons]
    adjusted = np.full(len(comparisons), np.nan)
    for metric in dict.fromkeys(c.metric for c in comparisons):
        idx = [k for k, c in enumerate(comparisons) if c.metric == metric]
        adjusted[idx] = holm([tests[k].pvalue for k in idx])
    out = []
    for c, t, adj in zip(comparisons, tests, adjusted, strict=True):
        seed_sig = bool(adj < alpha)  # NaN (no seed-level test) is never significant
        seed_better = None
        if seed_sig:
            a_higher = t.mean_diff > 0
            seed_better = c.model_a if a_higher == bool(directions[c.metric]) else c.model_b
        marked = bool(c.significant and seed_sig and c.better == seed_better)
        out.append({**c.as_dict(), "seed_n_a": t.n_a, "seed_n_b": t.n_b,
                    "seed_mean_diff": t.mean_diff, "seed_welch_p": t.pvalue,
                    "holm_seed_welch_p": float(adj), "seed_significant": seed_sig,
                    "marked": marked, "marked_better": c.better if marked else None})
    return out


def marks_of(rows: Sequence[Mapping[str, Any]], reference: str) -> dict[str, dict[str, int]]:
    """model → metric → +1/−1/0 against `reference`, from `seed_level` rows (only `marked`
    differences count; see `salloss.stats.significance_marks` for the image-level version)."""
    marks: dict[str, dict[str, int]] = {}
    for r in rows:
        a, b = r["model_a"], r["model_b"]
        if reference not in (a, b) or a == b:
            continue
        other = b if a == reference else a
        better = r["marked_better"] if r["marked"] else None
        marks.setdefault(other, {})[r["metric"]] = 0 if better is None else (
            1 if better == other else -1)
    return marks


NO_SEEDS_NOTE = ("one training seed: training noise cannot be measured, so no difference is "
                 "marked significant")


def mark_note(refs: Sequence[str], key: str, n_seeds: int) -> str:
    """The note under a table on its ▲/▼ marks (`n_seeds`: the fewest seeds of a compared
    loss)."""
    names = ", ".join(dict.fromkeys(refs))
    if n_seeds < 2:
        why = NO_SEEDS_NOTE if n_seeds == 1 else NO_SEEDS_NOTE.replace(
            "one training seed", "fewer than two training seeds for some loss")
        return (f"No ▲/▼ marks: {why}. The paired tests over the test images against the "
                f"reference ({names}, marked ◆) are in {key}_significance.csv.")
    return (f"▲/▼: significantly better/worse than the reference ({names}, marked ◆) on that "
            "metric, with the training seed as the unit of replication: marked only when "
            f"Welch's two-sample t-test on the two losses' per-seed test-set means (≥ {n_seeds} "
            "seeds each) AND both paired tests over the test images (Wilcoxon signed-rank and "
            "sign-flip permutation, on per-image scores averaged over seeds) reject, each "
            f"Holm-adjusted p < {ALPHA} within the metric's family of comparisons (every loss "
            "vs the reference, and LC 1 vs LC 2), and agree on the direction: the difference "
            "exceeds seed-to-seed training noise and holds across images. A comparison with "
            "fewer than two finite per-seed means on a side is not marked. p-values of both "
            f"levels: {key}_significance.csv.")


def mark_table(table: Table, results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """Run the tests of every block of `table`, store each of our entries' marks in
    ``entry.sig`` (metric -> +1/−1/0), flag the reference rows, add a note, and return the
    comparisons as dicts (block, metric, model_a, model_b, image- and seed-level p-values, …;
    `seed_level`)."""
    from salloss.stats import compare_pairs, standard_pairs

    out: list[dict[str, Any]] = []
    refs: list[str] = []
    marked: list[tuple[list[Row], Row, list[dict[str, Any]]]] = []
    fewest = math.inf
    directions = {m: higher_is_better(m) for m in table.metrics}
    for block in table.blocks:
        rows = _our_rows(block)
        ref = reference_row(rows)
        if len(rows) < 2 or ref is None:
            continue
        runs = {r.loss_id: [x for x in results if (x.run.dataset, x.run.arch, x.run.loss)
                            == (r.dataset, r.arch, r.loss_id)] for r in rows}
        tables = {loss: image_table(rs) for loss, rs in runs.items()}
        per_seed = {loss: {m: [x.mean(m) for x in rs] for m in table.metrics}
                    for loss, rs in runs.items()}
        fewest = min(fewest, *(len(rs) for rs in runs.values()))
        by_spec = {spec_key(r.spec): r.loss_id for r in rows}
        extra = [(by_spec[spec_key(a)], by_spec[spec_key(b)]) for a, b in LC_PAIRS
                 if spec_key(a) in by_spec and spec_key(b) in by_spec]
        pairs = standard_pairs([r.loss_id for r in rows], baseline=ref.loss_id, extra=extra)
        try:
            comparisons = compare_pairs(tables, pairs, directions, list(table.metrics),
                                        alpha=ALPHA)
        except DataError as exc:
            raise DataError(f"{table.key}, {block.title}: {exc}") from exc
        both = seed_level(comparisons, per_seed, directions, ALPHA)
        marked.append((rows, ref, both))
        ref.reference = True
        refs.append(ref.label)
        out += [{"table": table.key, "block": block.title, **c} for c in both]
    if not refs:
        return out
    n_seeds = int(fewest)
    for rows, ref, both in marked:
        marks = marks_of(both, ref.loss_id) if n_seeds >= 2 else {}
        for row in rows:
            row.ours.sig = dict(marks.get(row.loss_id, {}))
    table.notes.append(mark_note(refs, table.key, n_seeds))
    return out


def mean_rank_table(block: Block, metrics: Sequence[str]) -> dict[str, dict[str, float]]:
    """loss label -> {metric: our mean}: the input of the Friedman test over metrics."""
    rows = _our_rows(block)
    labels = [r.label for r in rows]
    names = [f"{r.label} [{r.loss_id}]" if labels.count(r.label) > 1 else r.label for r in rows]
    return {n: {m: r.ours.stats[m].mean for m in metrics} for n, r in zip(names, rows,
                                                                             strict=True)}
