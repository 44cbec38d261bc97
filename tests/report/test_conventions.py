"""The report's conventions table: one run per dataset, every metric in both conventions, a
reason per line; Markdown, CSV and LaTeX."""

from __future__ import annotations

import csv
import json

import pytest

from salloss.errors import DataError
from salloss.pipeline.plan import plan_runs, report_dir, run_dir
from salloss.pipeline.stages import conventions_summary
from salloss.report.conventions import PAIRS

TUE = ("AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM")


def _summary(metrics, base):
    return {m: {"mean": base + k / 100, "std": 0.1, "count": 28, "n_nan": 0,
                "higher_is_better": m not in ("EMD", "KL", "KLDiv")}
            for k, m in enumerate(metrics)}


def _write_conventions(cfg):
    for r in plan_runs(cfg):
        rd = run_dir(cfg, r.dataset, r.arch, r.loss, r.seed)
        mit = json.loads((rd / "metrics.json").read_text())
        base = 0.5 if r.loss == "wmse" else 0.2
        results = {"mit": {"split": "test", "n_images": 28, "summary": mit},
                   "tuebingen": {"split": "test", "n_images": 28,
                                 "summary": _summary(TUE, base)}}
        (rd / "conventions.json").write_text(json.dumps(conventions_summary(
            r.dataset, results, cfg.evaluation["empirical_sigma"][r.dataset])))


def _build(cfg):
    from salloss.report import build_report

    report = build_report(cfg, with_figures=False, progress=False)
    return report, report_dir(cfg) / "tables"


def test_one_run_per_dataset_both_conventions(make_tree):
    cfg = make_tree()
    _write_conventions(cfg)
    report, tables = _build(cfg)
    assert {"tables/conventions.md", "tables/conventions.csv",
            "tables/conventions.tex"} <= set(report["files"])
    with open(tables / "conventions.csv") as fh:
        rows = list(csv.DictReader(fh))
    # default run: the first loss (params order) trained on every dataset — wmse — on the
    # first arch it runs with there (sam_vgg on mit1003, baseline on cat2000), seed 0
    assert {r["dataset"]: r["run"] for r in rows} == {
        "mit1003": "wmse · sam_vgg · seed 0", "cat2000": "wmse · baseline · seed 0"}
    mit1003 = [r for r in rows if r["dataset"] == "mit1003"]
    pairs = [(r["mit_metric"] or None, r["tuebingen_metric"] or None) for r in mit1003]
    # every MIT metric the params score, and every Tübingen one, each on one line
    assert {m for m, _ in pairs} - {None} == set(cfg.evaluation["metrics"])
    assert {t for _, t in pairs} - {None} == set(TUE)
    assert ("KL", "KLDiv") in pairs and ("AUC-J", "AUC") in pairs and ("EMD", None) in pairs
    assert all(r["reason"] for r in mit1003)
    mit = json.loads((run_dir(cfg, "mit1003", "sam_vgg", "wmse", 0) / "metrics.json")
                     .read_text())
    line = next(r for r in mit1003 if r["mit_metric"] == "CC")
    assert float(line["mit"]) == mit["CC"]["mean"]
    assert float(line["tuebingen"]) == pytest.approx(0.5 + TUE.index("CC") / 100)
    assert float(line["empirical_sigma_px"]) == cfg.evaluation["empirical_sigma"]["mit1003"]
    md = (tables / "conventions.md").read_text()
    assert "| KL ↓ |" in md and "| KLDiv ↓ |" in md and "σ = 2.56 px" in md  # 0.04 × 64
    assert "conventions" in (report_dir(cfg) / "summary.md").read_text().lower()
    tex = (tables / "conventions.tex").read_text()
    assert r"\begin{tabular}" in tex and "KLDiv" in tex and "σ" not in tex and "ü" not in tex


def test_chosen_loss_from_params_and_missing_file_named(make_tree):
    cfg = make_tree(report={"figure3_losses": ["mse"], "figure3_images": 2,
                            "figure4_group": "table4", "conventions_loss": "lc2"})
    _write_conventions(cfg)
    _, tables = _build(cfg)
    with open(tables / "conventions.csv") as fh:
        runs = {r["dataset"]: r["run"] for r in csv.DictReader(fh)}
    assert runs == {"mit1003": "lc2 · sam_vgg · seed 0", "cat2000": "lc2 · baseline · seed 0"}
    (run_dir(cfg, "cat2000", "baseline", "lc2", 0) / "conventions.json").write_text("{}")
    with pytest.raises(DataError, match="cat2000/baseline/lc2/seed0/conventions.json"):
        _build(cfg)


def test_no_conventions_files_no_table(make_tree):
    cfg = make_tree()
    for r in plan_runs(cfg):
        (run_dir(cfg, r.dataset, r.arch, r.loss, r.seed) / "conventions.json").unlink(
            missing_ok=True)
    report, _ = _build(cfg)
    assert not any("conventions" in f for f in report["files"])


def test_pairs_cover_both_registries():
    from salloss.metrics.scoring import METRICS
    from salloss.metrics.tuebingen_scoring import TUEBINGEN_METRICS

    assert {m for m, _, _ in PAIRS} - {None} == set(METRICS)
    assert {t for _, t, _ in PAIRS} - {None} == set(TUEBINGEN_METRICS)
