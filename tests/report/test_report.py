"""The whole report with figures: every file written and listed, summary links resolve, Figure 4's
paired statistics, the baseline cache, stale-file clean-up and the `salloss report` CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from salloss.pipeline.plan import Run, plan_runs, report_dir

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_file_is_written_and_listed(built):
    cfg, report, root = built
    listed = set(report["files"])
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert listed == on_disk
    for key in ("table1", "table2", "table3", "table4"):
        assert {f"tables/{key}.{ext}" for ext in ("md", "csv", "tex")} <= listed
        if key != "table1":
            assert f"tables/{key}_significance.csv" in listed
    stems = {"fig2_center_bias_mit1003", "fig2_center_bias_cat2000", "fig3_predictions",
             "fig4_table4_mit1003_sam_vgg", "heatmap_table2_mit1003_baseline",
             "heatmap_table3_cat2000_baseline", "heatmap_table4_mit1003_sam_vgg",
             "curves_table2_mit1003_baseline", "curves_table3_cat2000_baseline",
             "curves_table4_mit1003_sam_vgg", "cd_table2_mit1003_baseline",
             "cd_table3_cat2000_baseline", "cd_table4_mit1003_sam_vgg"}
    for stem in stems:
        png, pdf = root / f"figures/{stem}.png", root / f"figures/{stem}.pdf"
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 5000, stem
        assert pdf.read_bytes()[:5] == b"%PDF-", stem
    assert not [p for p in root.rglob(".*.tmp")]  # atomic writes leave no temp files


def test_report_json_lists_the_planned_runs(built):
    cfg, report, root = built
    on_disk = json.loads((root / "report.json").read_text(encoding="utf-8"))
    assert on_disk == report
    planned = [(r.group, r.dataset, r.arch, r.loss, r.seed) for r in plan_runs(cfg)]
    assert [(r["group"], r["dataset"], r["arch"], r["loss"], r["seed"])
            for r in report["runs"]] == planned
    first = report["runs"][0]
    assert first["spec"] == cfg.losses[first["loss"]]
    assert any(p.endswith("scores.csv") for p in first["inputs"])
    # the 'odd' runs have no dvclive/: their curves come from summary.json's history
    odd = next(r for r in report["runs"] if r["loss"] == "odd")
    assert not any(p.endswith("dvclive") for p in odd["inputs"])
    assert report["warnings"] and "synthetic" in report["warnings"][0]


def test_summary_links_resolve(built):
    import re

    _, _, root = built
    text = (root / "summary.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert len(links) > 30
    for link in links:
        assert (root / link).is_file(), link
    for heading in ("### Table 1", "### Table 2", "### Table 3", "### Table 4", "## Figures",
                    "## Runs", "Figure 3", "Figure 4"):
        assert heading in text


def test_figure4_statistics(built, fakes):
    from scipy import stats

    cfg, report, _ = built
    entry = report["figure4"]["table4/mit1003/sam_vgg"]
    assert (entry["single"], entry["combination"], entry["metric"]) == ("wmse", "lc2", "CC")
    _, single = fakes.scores(cfg, Run("table4", "mit1003", "sam_vgg", "wmse", 0))
    _, combo = fakes.scores(cfg, Run("table4", "mit1003", "sam_vgg", "lc2", 0))
    x = np.array([r["CC"] for r in single])
    y = np.array([r["CC"] for r in combo])
    assert entry["n"] == len(x)
    assert entry["frac_better"] == pytest.approx(np.mean(y > x))
    assert entry["mean_diff"] == pytest.approx(np.mean(y - x))
    assert entry["p_wilcoxon"] == pytest.approx(stats.wilcoxon(x, y).pvalue)


def test_learning_curves_read_dvclive_and_history(built):
    from salloss.report.collect import read_run

    cfg, _, _ = built
    with_live = read_run(cfg, Run("table2", "mit1003", "baseline", "kld", 1))
    without = read_run(cfg, Run("table2", "mit1003", "baseline", "odd", 1))
    for res in (with_live, without):
        epochs, val = res.curves["val/loss"]
        assert list(epochs) == [1, 2, 3, 4]
        assert val == pytest.approx([1.05, 0.55, 1 / 3 + 0.05, 0.25 + 0.05 + 0.2])
    assert "train/kld" in with_live.curves  # DVCLive's per-term series


def test_baseline_scores_are_cached(make_tree, monkeypatch):
    import dataclasses

    from salloss.report import baselines, build_report

    cfg = make_tree()
    build_report(cfg, with_figures=False, progress=False)
    first = (report_dir(cfg) / "tables" / "table1.csv").read_text(encoding="utf-8")

    def boom(*args, **kwargs):
        raise AssertionError("baseline rescored although cached")

    monkeypatch.setattr(baselines, "score_records", boom)
    build_report(cfg, with_figures=False, progress=False)
    assert (report_dir(cfg) / "tables" / "table1.csv").read_text(encoding="utf-8") == first
    # another metric list is another cache key: it is scored again
    other = dataclasses.replace(cfg, evaluation={**cfg.evaluation, "metrics": ("CC", "KL")})
    with pytest.raises(AssertionError, match="rescored"):
        baselines.score_baseline(other, "mit1003", "center_bias", progress=False)


def test_stale_files_of_a_previous_report_are_removed(make_tree):
    from salloss.report import build_report

    grid = {"table2": {"datasets": ["mit1003"], "archs": ["baseline"], "losses": ["mse", "kld"]},
            "extra": {"datasets": ["mit1003"], "archs": ["baseline"], "losses": ["lc1"]}}
    report = {"figure3_losses": ["mse"], "figure3_images": 1}
    cfg = make_tree(grid=grid, report=report)
    build_report(cfg, with_figures=False, progress=False)
    root = report_dir(cfg)
    assert (root / "tables" / "extra.md").is_file()
    mine = root / "notes.txt"  # a file the report never wrote is left alone
    mine.write_text("keep me")
    del grid["extra"]
    cfg = make_tree(grid=grid, report=report)  # same results folder, smaller grid
    build_report(cfg, with_figures=False, progress=False)
    assert not (root / "tables" / "extra.md").exists()
    assert (root / "tables" / "table2.md").is_file()
    assert mine.read_text() == "keep me"


def test_cli(make_tree, capsys):
    from salloss.cli import build_parser, main

    cfg = make_tree()
    assert main(["report", "--params", cfg.path, "--no-figures", "--quiet"]) == 0
    assert "files written" in capsys.readouterr().out
    assert (report_dir(cfg) / "tables" / "table2.tex").is_file()
    help_text = build_parser("report")._subparsers._group_actions[0].choices["report"].format_help()
    assert "--params" in help_text and "--no-figures" in help_text and "summary.md" in help_text
    (report_dir(cfg).parent / "runs").rename(report_dir(cfg).parent / "moved")
    assert main(["report", "--params", cfg.path, "--no-figures", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "salloss report: error: missing input of the report" in err and "scores.csv" in err


def test_figures_are_byte_reproducible(tmp_path):
    from salloss.report.figures import new_figure, save, style

    def draw(stem):
        with style():
            fig = new_figure(2, 2)
            ax = fig.add_subplot()
            ax.plot([1, 2, 3], [3, 1, 2])
            ax.set_title("SIG-MSE (λ = 0.55) ↑")
            return save(fig, stem)

    first = [p.read_bytes() for p in draw(tmp_path / "a")]
    second = [p.read_bytes() for p in draw(tmp_path / "b")]
    assert first == second and first[1][:5] == b"%PDF-"


def test_centre_bias_is_scored_as_a_prediction_is(make_tree, monkeypatch):
    """A centre bias with zeros beside positive pixels (few training images) rings negative
    when bicubic-resized; it is clipped at 0 like every prediction (predict.to_original), so
    KL is finite — it was NaN when the metrics resized the raw map."""
    from salloss.data import PreparedDataset
    from salloss.metrics.mit import kl_div as kl
    from salloss.report import baselines
    from salloss.training.predict import to_original

    cfg = make_tree()
    bias = np.zeros((12, 16), np.float32)
    bias[3:9, 4:12] = 1.0  # a hard-edged block: bicubic undershoot outside it
    monkeypatch.setattr(PreparedDataset, "center_bias", lambda self: bias)
    result = baselines.score_baseline(cfg, "mit1003", "center_bias", progress=False)
    assert np.isfinite(result.scores["KL"]).all()
    prepared = PreparedDataset(baselines.prepared_dir(cfg, "mit1003"))
    first = prepared.split[cfg.evaluation["split"]][0]
    density = prepared.density(first)
    expected = kl(to_original(bias.astype(np.float64), density.shape), density)
    assert result.scores["KL"][result.ids.index(first)] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(kl(bias.astype(np.float64), density))  # the raw map: MATLAB's complex log
    # IG's baseline is the same centre bias, brought to size the same way: IG 0 against itself
    import dataclasses

    with_ig = dataclasses.replace(cfg, evaluation={**cfg.evaluation, "metrics": ("KL", "IG")})
    ig = baselines.score_baseline(with_ig, "mit1003", "center_bias", progress=False).scores["IG"]
    assert np.abs(ig).max() < 1e-12
