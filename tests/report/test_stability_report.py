"""Table 5 (issue 13): the loss ranking across architectures, from a fake run tree with a
table5 group — its table gathers other groups' runs of the same losses (baseline: table2,
SAM-VGG: table4), the ranks and τ recomputed independently from the fake scores, the figures
written and shown on summary.md."""

from __future__ import annotations

import csv
import math
import shutil

import numpy as np
import pytest
from scipy import stats

from salloss.pipeline.plan import Run, report_dir, run_dir

METRICS = ["CC", "SIM", "AUC-J", "AUC-B", "NSS", "EMD", "KL"]
T5_LOSSES = ["mse", "wmse", "kld", "lc1", "lc1r", "lc2"]
NEW_ARCHS = ["encdec_a", "encdec_b"]
# encdec_a scores like the fakes' other archs; encdec_b gets another loss's scores (so its
# ranking differs): the loss id of the fake scores each (arch, loss) run is given.
SWAP = {"encdec_a": {}, "encdec_b": {"wmse": "lc2", "lc2": "wmse", "kld": "mse", "mse": "kld",
                                     "lc1": "lc1r", "lc1r": "lc1"}}


def _source(arch: str, loss: str) -> str:
    return SWAP.get(arch, {}).get(loss, loss)


def _write_run(fakes, cfg, run: Run) -> None:
    """A fake run whose scores are those the fakes give loss `_source(arch, loss)`."""
    from salloss.metrics.scoring import summarise, write_scores_csv, write_summary

    fakes.write_run(cfg, run)
    _, rows = fakes.scores(cfg, Run(run.group, run.dataset, run.arch,
                                    _source(run.arch, run.loss), run.seed))
    folder = run_dir(cfg, run.dataset, run.arch, run.loss, run.seed)
    write_scores_csv(rows, folder / "scores.csv", METRICS)
    write_summary(summarise(rows, METRICS), folder / "metrics.json")


def _table5_tree(fakes, data_dir, template, folder, seeds=(0, 1)):
    """The fake tree (template copied into `folder`) with group table5 on two new archs, whose
    runs are written here."""
    from salloss.pipeline.config import load_params

    shutil.copytree(template, folder / "results")
    content = fakes.params(data_dir, folder / "results", seeds=tuple(seeds))
    for a in NEW_ARCHS:
        content["archs"][a] = {"model": "baseline", "input_size": [48, 64]}
    content["grid"]["table5"] = {"datasets": ["mit1003"], "archs": NEW_ARCHS,
                                 "losses": T5_LOSSES}
    cfg = load_params(fakes.write_params(folder / "params.yaml", content))
    for a in NEW_ARCHS:
        for loss in T5_LOSSES:
            for s in cfg.seeds:
                _write_run(fakes, cfg, Run("table5", "mit1003", a, loss, s))
    return cfg


def _csv(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# Which arch has which of table5's losses on mit1003: its own, table2's (baseline), table4's.
HAVE = {"baseline": ["mse", "kld", "lc1"], "sam_vgg": ["wmse", "lc1r", "lc2"],
        "encdec_a": T5_LOSSES, "encdec_b": T5_LOSSES}


def _expected_means(fakes, cfg, metric):
    """arch -> loss -> test-set mean, from the fake generator: per image the mean over seeds
    (NaN seeds left out), then the mean over the images where defined."""
    out = {}
    for arch, losses in HAVE.items():
        out[arch] = {}
        for loss in losses:
            per_seed = []
            for s in cfg.seeds:
                _, rows = fakes.scores(cfg, Run("g", "mit1003", arch, _source(arch, loss), s))
                per_seed.append([r[metric] for r in rows])
            per_image = []
            for col in np.array(per_seed, dtype=np.float64).T:  # one image, every seed
                ok = col[np.isfinite(col)]
                per_image.append(ok.mean() if ok.size else np.nan)
            out[arch][loss] = float(np.nanmean(per_image))
    return out


@pytest.fixture(scope="module")
def built5(fakes, data_dir, template, tmp_path_factory):
    """The full report (figures included) of the tree with table5, built once."""
    from salloss.report import build_report

    cfg = _table5_tree(fakes, data_dir, template, tmp_path_factory.mktemp("table5"))
    report = build_report(cfg, progress=False)
    return cfg, report, report_dir(cfg)


def test_ranks_and_tau_recomputed_from_the_fake_scores(built5, fakes):
    cfg, report, root = built5
    for ext in ("md", "csv", "tex"):
        assert f"tables/table5_ranks.{ext}" in report["files"]
        assert (root / "tables" / f"table5_ranks.{ext}").is_file()
    rows = _csv(root / "tables" / "table5_ranks.csv")
    ranks = [r for r in rows if r["kind"] == "rank"]
    taus = {(r["metric"], r["arch"], r["arch_b"]): r for r in rows if r["kind"] == "tau"}
    for metric in METRICS:
        means = _expected_means(fakes, cfg, metric)
        sign = -1.0 if metric in ("EMD", "KL") else 1.0
        for arch, losses in HAVE.items():
            got = {r["loss"]: r for r in ranks if r["metric"] == metric and r["arch"] == arch}
            assert sorted(got) == sorted(losses)
            # by hand: sort the means best first, ties share the average rank
            want = stats.rankdata([-sign * means[arch][k] for k in losses], method="average")
            for loss, rank in zip(losses, want, strict=True):
                assert float(got[loss]["mean"]) == pytest.approx(means[arch][loss], rel=1e-12)
                assert float(got[loss]["rank"]) == rank, (metric, arch, loss)
        for a, b in [("encdec_a", "encdec_b"), ("sam_vgg", "encdec_b"),
                     ("baseline", "encdec_b"), ("sam_vgg", "encdec_a")]:
            common = [k for k in HAVE[a] if k in HAVE[b]]
            want = stats.kendalltau([means[a][k] for k in common],
                                    [means[b][k] for k in common]).statistic
            row = taus[(metric, a, b)]
            assert float(row["tau"]) == pytest.approx(want, abs=1e-12), (metric, a, b)
            assert float(row["ci_low"]) <= float(row["tau"]) <= float(row["ci_high"])
            assert row["losses"].split() == common
        # baseline and SAM-VGG share none of table5's losses: no τ, and the reason says why
        none = taus[(metric, "baseline", "sam_vgg")]
        assert none["tau"] == "nan" and "at least 3" in none["reason"]
    # the identical fakes of sam_vgg and encdec_a rank alike on every resample
    assert taus[("CC", "sam_vgg", "encdec_a")]["tau"] == "1.0"
    assert (taus[("CC", "sam_vgg", "encdec_a")]["ci_low"],
            taus[("CC", "sam_vgg", "encdec_a")]["ci_high"]) == ("1.0", "1.0")
    md = (root / "tables" / "table5_ranks.md").read_text(encoding="utf-8")
    assert "| Loss | id | baseline | sam_vgg | encdec_a | encdec_b |" in md
    assert "| baseline vs sam_vgg | 0 | n/a |" in md
    assert "mean over seeds 0, 1" in md
    tex = (root / "tables" / "table5_ranks.tex").read_text(encoding="utf-8")
    assert r"Kendall $\tau$" in tex and r"sam\_vgg vs encdec\_b" in tex
    assert not any("τ" in line for line in tex.splitlines() if not line.startswith("%"))
    summary = (root / "summary.md").read_text(encoding="utf-8")
    assert "[CSV](tables/table5_ranks.csv)" in summary
    for name in ("fig5_rank_bump_mit1003", "fig5_tau_mit1003"):  # build_report's figures
        assert f"(figures/{name}.png)" in summary
        assert {f"figures/{name}.png", f"figures/{name}.pdf"} <= set(report["files"])


def test_table5_has_a_block_per_arch_with_other_groups_runs(built5):
    cfg, _, root = built5
    md = (root / "tables" / "table5.md").read_text(encoding="utf-8")
    assert md.splitlines()[0].endswith(": Does the loss ranking hold across architectures? "
                                       "(beyond the paper)")
    for arch in HAVE:
        assert f"· {arch} · 28 test images**" in md
    assert "baseline: table2; sam_vgg: table4" in md
    rows = [r for r in _csv(root / "tables" / "table5.csv") if not r["reference_map"]]
    for arch, losses in HAVE.items():
        assert sorted(r["loss_id"] for r in rows if r["arch"] == arch) == sorted(losses)
    # the borrowed rows are the other tables' own rows: same means and intervals
    t2 = {r["loss_id"]: r for r in _csv(root / "tables" / "table2.csv") if r["loss_id"]}
    t4 = {r["loss_id"]: r for r in _csv(root / "tables" / "table4.csv") if r["loss_id"]}
    for r in rows:
        other = t2 if r["arch"] == "baseline" else t4 if r["arch"] == "sam_vgg" else None
        if other is None:
            continue
        for m in ("CC", "KL"):
            assert r[m] == other[r["loss_id"]][m]
            assert r[f"{m}_ci95"] == other[r["loss_id"]][f"{m}_ci95"]
    # significance marks and ranks per block, as in Tables 2–4
    assert any(r["reference"] == "yes" for r in rows if r["arch"] == "encdec_a")
    assert {r["CC_rank"] for r in rows if r["arch"] == "encdec_b"} == set("123456")
    assert all(r["CC_sig"] in ("1", "-1", "0") for r in rows if r["arch"] == "encdec_a"
               and r["reference"] != "yes")


def test_no_table5_group_writes_nothing(make_tree):
    from salloss.report import stability

    cfg = make_tree()
    assert stability.analyse(cfg, None, []) == []


def test_figures_and_summary(fakes, data_dir, template, tmp_path):
    """One seed (its note says so); the bump chart and the τ heat map of the dataset are
    written as PNG + PDF and returned as the summary's figure entries."""
    from salloss.report import stability
    from salloss.report.build import _Writer
    from salloss.report.collect import collect_runs
    from salloss.report.reference import PaperReference
    from salloss.report.summary import write_summary_md

    cfg = _table5_tree(fakes, data_dir, template, tmp_path, seeds=(0,))
    ref = PaperReference(cfg.report["reference"])
    results = collect_runs(cfg, progress=False)
    w = _Writer(tmp_path / "out")
    out = stability.write(cfg, ref, results, w, with_figures=True)
    assert sorted(w.files) == sorted(
        [f"tables/table5_ranks.{e}" for e in ("md", "csv", "tex")]
        + [f"figures/fig5_{k}_mit1003.{e}" for k in ("rank_bump", "tau")
           for e in ("png", "pdf")])
    assert [f.png for f in out.figures] == ["figures/fig5_rank_bump_mit1003.png",
                                            "figures/fig5_tau_mit1003.png"]
    for rel in w.files:
        assert (w.root / rel).stat().st_size > 1000
    assert "seed 0 (one training seed per cell)" in out.tables[0][1]
    (item,) = out.items
    assert item.archs == ["baseline", "sam_vgg", "encdec_a", "encdec_b"]
    assert item.labels["lc1r"] == "LC 1" and item.labels["wmse"] == "W-MSE"
    page = write_summary_md(cfg, out.tables, out.figures, results, [])
    assert "![Figure 5: loss ranks across architectures (mit1003)]" \
           "(figures/fig5_rank_bump_mit1003.png)" in page
    # τ averaged over the metrics: the mean of the per-metric point estimates
    s = next(p for p in item.mean_tau if (p.arch_a, p.arch_b) == ("encdec_a", "encdec_b"))
    per = [item.by_metric[m].pair("encdec_a", "encdec_b").tau for m in METRICS]
    assert s.tau == pytest.approx(float(np.mean(per)))
    assert s.low <= s.tau <= s.high and not math.isnan(s.low)
    # deterministic: a second run writes the same PNG bytes
    first = (w.root / "figures/fig5_tau_mit1003.png").read_bytes()
    stability.write(cfg, ref, results, _Writer(w.root), with_figures=True)
    assert (w.root / "figures/fig5_tau_mit1003.png").read_bytes() == first
