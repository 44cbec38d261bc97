"""Seeds as the unit of replication (issue 18): the Welch gate on the ▲/▼ marks, and the
seed-stability section on a hand-computable case."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from salloss.pipeline.plan import Run
from salloss.report import seeds, significance
from salloss.report.collect import RunResult
from salloss.report.tables import Block, Entry, Row, Section, Table

N_IMAGES = 30
SPECS = {"mse": "mse", "kld": "kld", "lc1": "10*kld - 2*cc - nss"}


def _run(loss: str, seed: int, cc: np.ndarray, kl: np.ndarray) -> RunResult:
    ids = [f"img{k:02d}" for k in range(cc.size)]
    return RunResult(Run("g", "d", "a", loss, seed), SPECS[loss], Path("."), ids,
                     {"CC": cc, "KL": kl}, {}, {})


def _table(losses: list[str]) -> Table:
    rows = [Row(loss, Entry("ours", {}), None, loss_id=loss, spec=SPECS[loss], dataset="d",
                arch="a") for loss in losses]
    return Table("t", "test", ("CC", "KL"), [Block("d · a", [Section("", rows)])], [])


# Per-seed offsets. kld beats mse on EVERY image of the seed-averaged scores by ~0.01, but its
# three seeds overlap mse's (SD 0.03 each): within training noise. lc1 is 0.2 better on every
# seed. KL mirrors CC (lower is better).
OFFSETS = {"mse": [0.0, 0.03, -0.03], "kld": [-0.02, 0.01, 0.04], "lc1": [0.20, 0.21, 0.19]}


def _results(seed_ids=(0, 1, 2)) -> list[RunResult]:
    k = np.arange(N_IMAGES)
    base = 0.5 + 0.05 * np.sin(k)
    out = []
    for loss, offsets in OFFSETS.items():
        extra = 0.001 * np.cos(k) if loss != "mse" else 0.0
        for s in seed_ids:
            cc = base + offsets[s] + extra
            out.append(_run(loss, s, cc, 1.5 - cc))
    return out


def _sig(table: Table) -> dict[str, dict[str, int]]:
    return {r.loss_id: r.ours.sig for s in table.blocks[0].sections for r in s.rows}


def test_overlapping_seeds_get_no_mark_and_a_large_difference_does():
    table = _table(["mse", "kld", "lc1"])
    rows = significance.mark_table(table, _results())
    kld = next(r for r in rows if (r["metric"], r["model_a"]) == ("CC", "kld"))
    # the image-level tests alone would mark kld: every per-image difference is positive
    assert kld["significant"] and kld["better"] == "kld"
    assert not kld["seed_significant"] and not kld["marked"]
    results = _results()
    per_seed = {loss: [r.mean("CC") for r in results if r.run.loss == loss] for loss in OFFSETS}
    ref = stats.ttest_ind(per_seed["kld"], per_seed["mse"], equal_var=False)
    assert kld["seed_welch_p"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert kld["seed_welch_p"] > 0.5 and (kld["seed_n_a"], kld["seed_n_b"]) == (3, 3)
    lc1 = next(r for r in rows if (r["metric"], r["model_a"]) == ("CC", "lc1"))
    assert lc1["marked"] and lc1["holm_seed_welch_p"] < 0.05
    # Holm within the metric's family of two comparisons
    p = sorted([kld["seed_welch_p"], lc1["seed_welch_p"]])
    assert lc1["holm_seed_welch_p"] == pytest.approx(2 * p[0])
    sig = _sig(table)
    assert sig["kld"] == {"CC": 0, "KL": 0}
    assert sig["lc1"] == {"CC": 1, "KL": 1}  # KL: lower is better, lc1 is lower
    assert table.blocks[0].sections[0].rows[0].reference  # mse ◆
    assert "Welch's two-sample t-test" in table.notes[-1]
    assert "exceeds seed-to-seed training noise" in table.notes[-1]


def test_one_seed_gives_no_marks_and_says_why():
    table = _table(["mse", "kld", "lc1"])
    rows = significance.mark_table(table, _results(seed_ids=(0,)))
    assert all(v == {} for v in _sig(table).values())
    assert all(math.isnan(r["seed_welch_p"]) and not r["marked"] for r in rows)
    lc1 = next(r for r in rows if (r["metric"], r["model_a"]) == ("CC", "lc1"))
    assert lc1["significant"]  # the image-level evidence is still recorded
    assert significance.NO_SEEDS_NOTE in table.notes[-1]
    assert "one training seed: training noise cannot be measured, so no difference is " \
           "marked significant" in table.notes[-1]


def test_seed_stability_by_hand():
    # per-seed means (one image per run): A 0.50 0.52 0.54 (SD 0.02), B 0.60 0.60 0.63
    # (SD √0.0003), C 0.55 0.65 0.75 (SD 0.1). Rankings: seed 0 A < C < B, seeds 1 and 2
    # A < B < C: τ(0, 1) = τ(0, 2) = (2 − 1) / 3, τ(1, 2) = 1.
    means = {"mse": [0.50, 0.52, 0.54], "kld": [0.60, 0.60, 0.63], "lc1": [0.55, 0.65, 0.75]}
    results = [_run(loss, s, np.array([v]), np.array([1 - v]))
               for loss, vs in means.items() for s, v in enumerate(vs)]
    sds = seeds.seed_spread(means)
    assert sds == pytest.approx({"mse": 0.02, "kld": math.sqrt(0.0003), "lc1": 0.1})
    assert seeds.summarise_spread(sds) == pytest.approx((0.02, 0.1, "lc1"))
    by_seed = {s: {k: v[s] for k, v in means.items()} for s in range(3)}
    assert seeds.seed_taus(by_seed) == pytest.approx({(0, 1): 1 / 3, (0, 2): 1 / 3, (1, 2): 1})
    table = _table(["mse", "kld", "lc1"])
    for row in table.rows():
        row.label = {"mse": "MSE", "kld": "KLD", "lc1": "LC 1"}[row.loss_id]
    (item,) = seeds.analyse(table, results)
    assert item.seeds == (0, 1, 2)
    cc = item.metrics[0]
    assert (cc.metric, cc.n_losses, cc.max_loss, cc.n_pairs) == ("CC", 3, "LC 1", 3)
    assert (cc.median_sd, cc.max_sd) == pytest.approx((0.02, 0.1))
    assert (cc.tau_mean, cc.tau_min) == pytest.approx((5 / 9, 1 / 3))
    md = seeds.to_markdown([item])
    assert "| CC | 3 | 0.0200 | 0.1000 (LC 1) | 0.56 | 0.33 | 3 |" in md
    csv_text = seeds.to_csv("t", [item])
    assert csv_text.splitlines()[1].startswith("t,d · a,0 1 2,CC,3,0.02")
    assert r"$\tau$ between seeds" in seeds.to_latex("t", [item])


def test_seed_stability_with_one_seed():
    results = [_run(loss, 0, np.array([0.5, 0.6]), np.array([0.4, 0.3])) for loss in SPECS]
    (item,) = seeds.analyse(_table(list(SPECS)), results)
    assert not item.measurable and item.metrics == []
    md = seeds.to_markdown([item])
    assert "one seed: seed-to-seed spread not measurable" in md and "|" not in md
    assert seeds.summarise_spread(seeds.seed_spread({"x": [0.5]}))[2] == ""
