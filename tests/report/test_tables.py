"""The report's tables, end to end from a fake run tree: means and CIs recomputed independently,
marks on the right cells (both directions), published values matched by spec, Table 1's
baselines, and the list of runs taken from the params, not from the disk."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from salloss.errors import DataError
from salloss.pipeline.plan import Run, report_dir, run_dir


def _csv(root, key):
    with (root / "tables" / f"{key}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _row(rows, loss_id):
    found = [r for r in rows if r["loss_id"] == loss_id]
    assert len(found) == 1, loss_id
    return found[0]


def _md_cells(md: str, label: str, nth: int = 0) -> list[str]:
    """Cells (without the label) of the nth Markdown line whose first cell is `label`."""
    lines = [ln for ln in md.splitlines()
             if ln.startswith("|") and ln.split("|")[1].strip() == label]
    return [c.strip() for c in lines[nth].split("|")[2:-1]]


def _expected(fakes, cfg, loss, dataset, metric):
    """Per-seed means from the fake generator (independent of the report code)."""
    means = []
    for seed in cfg.seeds:
        _, rows = fakes.scores(cfg, Run("g", dataset, "baseline", loss, seed))
        x = np.array([r[metric] for r in rows])
        means.append(float(np.nanmean(x)))
    return np.array(means)


@pytest.fixture(scope="module")
def tables_only(data_dir, template, tmp_path_factory, fakes):
    from salloss.pipeline.config import load_params
    from salloss.report import build_report

    root = tmp_path_factory.mktemp("tables")
    shutil.copytree(template, root / "results")
    cfg = load_params(fakes.write_params(root / "params.yaml",
                                         fakes.params(data_dir, root / "results")))
    build_report(cfg, with_figures=False, progress=False)
    return cfg, report_dir(cfg)


def _matrix(fakes, cfg, loss, dataset, metric):
    """Seeds × images scores from the fake generator (independent of the report code)."""
    return np.array([[r[metric] for r in fakes.scores(cfg, Run("g", dataset, "baseline", loss,
                                                                seed))[1]]
                     for seed in cfg.seeds])


def test_means_and_pigeonhole_intervals_over_seeds(tables_only, fakes):
    from salloss.stats import bootstrap_ci, pigeonhole_ci

    cfg, root = tables_only
    rows = _csv(root, "table2")
    for loss in ("mse", "sig55", "kld", "lc1", "odd"):
        for metric in ("CC", "NSS", "KL"):
            per_seed = _expected(fakes, cfg, loss, "mit1003", metric)
            ci = pigeonhole_ci(_matrix(fakes, cfg, loss, "mit1003", metric), level=0.95,
                               n_boot=10_000, seed=0)
            row = _row(rows, loss)
            assert float(row[metric]) == pytest.approx(per_seed.mean(), rel=1e-12)
            assert float(row[f"{metric}_ci95"]) == pytest.approx((ci.high - ci.low) / 2,
                                                                 rel=1e-12)
            low, high = float(row[f"{metric}_ci95_low"]), float(row[f"{metric}_ci95_high"])
            assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-12)
            assert low < float(row[metric]) < high
            # two seeds 0.013 apart: wider than the per-image interval of one seed alone
            x = _matrix(fakes, cfg, loss, "mit1003", metric)[0]
            image_only = bootstrap_ci(x[np.isfinite(x)], n_boot=10_000, seed=0)
            assert high - low > image_only.high - image_only.low
            assert row["seeds"] == "0 1" and row["n_images"] == "28"
    # the NaN NSS of mse's first image is left out of its mean, not counted as 0
    _, mse_rows = fakes.scores(cfg, Run("g", "mit1003", "baseline", "mse", 0))
    assert math.isnan(mse_rows[0]["NSS"])
    md = (root / "tables" / "table2.md").read_text(encoding="utf-8")
    mean = _expected(fakes, cfg, "mse", "mit1003", "CC").mean()
    assert f"{mean:.4f} ± " in _md_cells(md, "MSE ◆")[1]
    assert "pigeonhole bootstrap" in md and "resamples the seeds and the test images" in md


def test_one_seed_gives_the_per_image_bootstrap_interval(make_tree, fakes):
    from salloss.report import build_report
    from salloss.stats import bootstrap_ci

    cfg = make_tree(seeds=[1])
    build_report(cfg, with_figures=False, progress=False)
    row = _row(_csv(report_dir(cfg), "table2"), "kld")
    assert float(row["CC"]) == pytest.approx(_expected(fakes, cfg, "kld", "mit1003", "CC")[0])
    _, rows = fakes.scores(cfg, Run("g", "mit1003", "baseline", "kld", 1))
    per_image = np.array([r["CC"] for r in rows])
    ci = bootstrap_ci(per_image[np.isfinite(per_image)], level=0.95, n_boot=10_000, seed=0)
    assert float(row["CC_ci95"]) == pytest.approx((ci.high - ci.low) / 2)
    assert ci.low < float(row["CC"]) < ci.high
    md = (report_dir(cfg) / "tables" / "table2.md").read_text(encoding="utf-8")
    assert "±" in _md_cells(md, "KLD")[2]
    assert "per-image bootstrap" in md
    # one seed: no ▲/▼ anywhere, the note says why, and no seed-to-seed spread is claimed
    assert "▲" not in md.split("\n- ")[0] and "▼" not in md.split("\n- ")[0]
    assert "one training seed: training noise cannot be measured, so no difference is " \
           "marked significant" in md
    assert "one seed: seed-to-seed spread not measurable" in md
    assert not (report_dir(cfg) / "tables" / "table2_seeds.csv").exists()


def test_marks_are_direction_aware(tables_only):
    _, root = tables_only
    md = (root / "tables" / "table2.md").read_text(encoding="utf-8")
    header = [c.strip() for c in md.splitlines()[2].split("|")[1:-1]]
    cc, kl = header.index("CC ↑") - 1, header.index("KL ↓") - 1
    # CC (higher is better): lc1 > sig55 > kld > mse > odd
    assert _md_cells(md, "KLD + CC + NSS")[cc].startswith("**")
    assert _md_cells(md, "SIG-MSE (λ = 0.55)")[cc].startswith("_")
    assert _md_cells(md, "KLD")[cc].startswith("<ins>")
    assert not _md_cells(md, "MSE ◆")[cc].startswith(("*", "_", "<"))
    # KL (lower is better): kld < sig55 < lc1 < mse < odd
    assert _md_cells(md, "KLD")[kl].startswith("**")
    assert _md_cells(md, "SIG-MSE (λ = 0.55)")[kl].startswith("_")
    assert _md_cells(md, "KLD + CC + NSS")[kl].startswith("<ins>")
    assert not _md_cells(md, "odd")[kl].startswith(("*", "_", "<"))
    rows = _csv(root, "table2")
    assert [_row(rows, k)["KL_rank"] for k in ("kld", "sig55", "lc1", "mse", "odd")] == \
        ["1", "2", "3", "4", "5"]
    # the paper's own ranking of these five rows, on its line under ours (KL: KLD best)
    assert _md_cells(md, "↳ paper", 2)[kl] == "**0.8336**"
    tex = (root / "tables" / "table2.tex").read_text(encoding="utf-8")
    assert r"\textbf{0.4939" in tex or r"\textbf{0.49" in tex
    assert r"\underline{" in tex and r"\textit{" in tex


def test_significance_against_the_reference(tables_only, fakes):
    cfg, root = tables_only
    md = (root / "tables" / "table2.md").read_text(encoding="utf-8")
    header = [c.strip() for c in md.splitlines()[2].split("|")[1:-1]]
    cc, kl = header.index("CC ↑") - 1, header.index("KL ↓") - 1
    # every image of lc1 beats mse by ~0.2 CC; odd loses by ~0.1; KL: kld is lower (better)
    assert _md_cells(md, "KLD + CC + NSS")[cc].endswith("▲")
    assert _md_cells(md, "odd")[cc].endswith("▼")
    assert _md_cells(md, "KLD")[kl].endswith("▲") and _md_cells(md, "odd")[kl].endswith("▼")
    assert not _md_cells(md, "MSE ◆")[cc].endswith(("▲", "▼"))
    rows = _csv(root, "table2")
    assert _row(rows, "mse")["reference"] == "yes" and _row(rows, "mse")["CC_sig"] == ""
    assert (_row(rows, "lc1")["CC_sig"], _row(rows, "odd")["CC_sig"]) == ("1", "-1")
    # the raw p-value, recomputed with SciPy on the seed-averaged per-image scores
    per_loss = {}
    for loss in ("lc1", "mse"):
        seeds = [fakes.scores(cfg, Run("g", "mit1003", "baseline", loss, s))[1]
                 for s in cfg.seeds]
        per_loss[loss] = np.mean([[r["CC"] for r in rows_] for rows_ in seeds], axis=0)
    with (root / "tables" / "table2_significance.csv").open(encoding="utf-8") as fh:
        comps = list(csv.DictReader(fh))
    hit = [c for c in comps if (c["metric"], c["model_a"], c["model_b"]) == ("CC", "lc1", "mse")]
    assert float(hit[0]["wilcoxon_p"]) == pytest.approx(
        stats.wilcoxon(per_loss["lc1"] - per_loss["mse"]).pvalue, rel=1e-9)
    # the seed-level Welch p-value on the per-seed means, and both levels behind the mark
    welch = stats.ttest_ind(_expected(fakes, cfg, "lc1", "mit1003", "CC"),
                            _expected(fakes, cfg, "mse", "mit1003", "CC"), equal_var=False)
    assert float(hit[0]["seed_welch_p"]) == pytest.approx(welch.pvalue, rel=1e-9)
    assert float(hit[0]["holm_seed_welch_p"]) < 0.05 and hit[0]["marked"] == "True"
    assert "Welch's two-sample t-test" in md and "per-seed test-set means" in md
    assert {(c["model_a"], c["model_b"]) for c in comps} == {
        ("sig55", "mse"), ("kld", "mse"), ("lc1", "mse"), ("odd", "mse")}
    # Tables 3 and 4: the one-term W-MSE is the reference, and LC 1 is compared with LC 2
    t3 = _csv(root, "table3")
    assert _row(t3, "wmse")["reference"] == "yes"
    with (root / "tables" / "table3_significance.csv").open(encoding="utf-8") as fh:
        pairs = {(c["model_a"], c["model_b"]) for c in csv.DictReader(fh)}
    assert pairs == {("lc1r", "wmse"), ("lc2", "wmse"), ("lc1r", "lc2")}
    tex = (root / "tables" / "table2.tex").read_text(encoding="utf-8")
    assert r"$^{\blacktriangle}$" in tex and r"MSE $\diamond$" in tex


def test_seed_stability_section(tables_only):
    """Every loss of the fake tree has the same seed shift (0.013): per loss the SD of its two
    per-seed means is 0.013 / √2 on every metric, and both seeds rank the losses alike."""
    _, root = tables_only
    md = (root / "tables" / "table2.md").read_text(encoding="utf-8")
    section = md[md.index("#### Stability across training seeds"):]
    assert "| CC | 5 | 0.0092 | 0.0092 (" in section and "| 1.00 | 1.00 | 1 |" in section
    rows = _csv(root, "table2_seeds")
    assert {r["metric"] for r in rows} == set(fakes_metrics(root))
    for r in rows:
        assert float(r["sd_median"]) == pytest.approx(0.013 / math.sqrt(2), rel=1e-9)
        assert float(r["sd_max"]) == pytest.approx(0.013 / math.sqrt(2), rel=1e-9)
        assert float(r["tau_mean"]) == float(r["tau_min"]) == 1.0 and r["n_seed_pairs"] == "1"
        assert r["seeds"] == "0 1" and r["n_losses"] == "5"
    assert (root / "tables" / "table2_seeds.tex").is_file()
    assert (root / "tables" / "table3_seeds.csv").is_file()


def fakes_metrics(root: Path) -> list[str]:
    header = next(iter(_csv(root, "table2")))
    return [k for k in header if k + "_ci95" in header]


def test_paper_values_matched_by_canonical_spec(tables_only):
    _, root = tables_only
    rows = _csv(root, "table2")
    lc1 = _row(rows, "lc1")  # written '10 * kld-2*cc - nss' in the params
    assert lc1["label"] == "KLD + CC + NSS" and lc1["CC_paper"] == "0.7288"
    assert lc1["section"] == "Linear combinations"
    sig = _row(rows, "sig55")
    assert sig["label"] == "SIG-MSE (λ = 0.55)" and float(sig["KL_paper"]) == 0.8478
    assert sig["section"] == "Pixel-based"
    odd = _row(rows, "odd")  # 'mse + r' is not in the paper
    assert odd["CC_paper"] == "" and odd["label"] == "odd"
    assert odd["section"] == "Linear combinations"
    assert _row(rows, "kld")["section"] == "Distribution-based"
    # Table 3: CAT2000 rows, terms of LC 1 given in another order
    t3 = [r for r in _csv(root, "table3") if not r["reference_map"]]
    assert [(r["loss_id"], r["label"], r["CC_paper"]) for r in t3] == [
        ("wmse", "W-MSE", "0.508"), ("lc1r", "LC 1", "0.5535"), ("lc2", "LC 2", "0.5937")]
    assert t3[0]["EMD_paper"] == ""  # the paper gives no EMD in Table 3
    t4 = [r for r in _csv(root, "table4") if not r["reference_map"]]
    assert [r["NSS_paper"] for r in t4] == ["2.0037", "2.1694", "2.0741"]


def test_sections_follow_the_paper_order(tables_only):
    _, root = tables_only
    md = (root / "tables" / "table2.md").read_text(encoding="utf-8")
    order = [s for s in ("*Pixel-based*", "*Distribution-based*", "*Linear combinations*")
             if s in md]
    assert order == sorted(order, key=md.index) and len(order) == 3
    assert md.index("| MSE ◆ |") < md.index("| SIG-MSE") < md.index("| KLD |")


def test_table1_published_rows_and_our_baselines(tables_only):
    from salloss.data import PreparedDataset
    from salloss.metrics import cc, kl_div
    from salloss.pipeline.plan import prepared_dir

    cfg, root = tables_only
    rows = _csv(root, "table1")
    labels = [r["label"] for r in rows]
    assert labels[:9] == ["Itti", "Rare2012", "GBVS", "AWS", "Sam-ResNet", "SalGan", "Sam-VGG",
                          "ShallowNet", "DeepConvNet"]
    assert labels[9:] == ["baseline + MSE", "Center-bias map", "Uniform map",
                          "Oracle (true density)"]
    assert [r["reference_map"] for r in rows[9:]] == ["", "yes", "yes", "yes"]
    assert all(r["CC_rank"] == "" for r in rows[10:])  # reference maps are not ranked
    ours = rows[9]
    assert ours["loss_id"] == "mse" and ours["CC_paper"] == "0.64"  # the paper's "Our model"
    assert rows[5]["CC_paper"] == "0.70" and rows[5]["CC_paper_rank"] == "1"  # SalGan best CC
    prepared = PreparedDataset(prepared_dir(cfg, "mit1003"))
    from salloss.training.predict import to_original

    bias = prepared.center_bias().astype(np.float64)
    test = prepared.split_indices("test")
    # the centre bias is scored as a prediction: at each image's size, ringing clipped at 0
    maps = [(to_original(bias, prepared.density(i).shape), prepared.density(i)) for i in test]
    want_cc = np.mean([cc(s, d) for s, d in maps])
    want_kl = np.mean([kl_div(s, d) for s, d in maps])
    assert float(rows[10]["CC"]) == pytest.approx(want_cc, rel=1e-12)
    assert float(rows[10]["KL"]) == pytest.approx(want_kl, rel=1e-12)
    # a constant map has no variance: CC, SIM, NSS are undefined (MIT conventions), KL is not
    uniform = rows[11]
    assert uniform["CC"] == "nan" and uniform["NSS"] == "nan" and uniform["SIM"] == "nan"
    assert math.isfinite(float(uniform["KL"]))
    md = (root / "tables" / "table1.md").read_text(encoding="utf-8")
    assert _md_cells(md, "Uniform map")[1] == "n/a"  # CC
    assert "NOT COMPARABLE" in md and "synthetic" in md
    assert (root / "baselines" / "mit1003_center_bias.csv").is_file()


def test_runs_removed_from_params_are_not_reported(make_tree, fakes):
    from salloss.pipeline.config import load_params
    from salloss.report import build_report

    cfg = make_tree()  # every run's files, 'odd' included
    grid = {**cfg.raw["grid"], "table2": {**cfg.raw["grid"]["table2"],
                                          "losses": ["mse", "sig55", "kld", "lc1"]}}
    raw = {**cfg.raw, "grid": grid}
    raw["losses"] = {k: v for k, v in raw["losses"].items() if k != "odd"}
    smaller = load_params(fakes.write_params(Path(cfg.path), raw))
    assert run_dir(cfg, "mit1003", "baseline", "odd", 0).joinpath("scores.csv").is_file()
    report = build_report(smaller, with_figures=False, progress=False)
    assert all(r["loss"] != "odd" for r in report["runs"])
    assert len(report["runs"]) == 2 * (4 + 3 + 3)
    root = report_dir(smaller)
    assert "odd" not in {r["loss_id"] for r in _csv(root, "table2")}
    assert "`odd`" not in (root / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["scores.csv", "metrics.json", "summary.json"])
def test_missing_input_names_the_file(make_tree, name):
    from salloss.report import build_report

    cfg = make_tree()
    victim = run_dir(cfg, "cat2000", "baseline", "lc2", 1) / name
    victim.unlink()
    with pytest.raises(DataError, match=str(victim).replace("\\", "\\\\")):
        build_report(cfg, with_figures=False, progress=False)
    assert not (report_dir(cfg) / "report.json").exists()


def test_missing_preview_names_the_file(make_tree, fakes):
    from salloss.report import build_report

    cfg = make_tree(grid={"table2": {"datasets": ["mit1003"], "archs": ["baseline"],
                                     "losses": ["mse", "kld", "lc1"]}},
                    seeds=[0],
                    report={"figure3_losses": ["mse", "kld"], "figure3_images": 2,
                            "reference": str(fakes.REFERENCE)})
    victim = run_dir(cfg, "mit1003", "baseline", "kld", 0) / "preview.npz"
    victim.unlink()
    with pytest.raises(DataError, match="preview.npz"):
        build_report(cfg, progress=False)


def test_stale_summary_is_refused(make_tree):
    import json

    from salloss.report import build_report

    cfg = make_tree()
    path = run_dir(cfg, "mit1003", "baseline", "kld", 0) / "metrics.json"
    content = json.loads(path.read_text())
    content["CC"]["mean"] += 0.01
    path.write_text(json.dumps(content))
    with pytest.raises(DataError, match="differs from the mean of scores.csv"):
        build_report(cfg, with_figures=False, progress=False)


def test_unfinished_run_is_refused(make_tree):
    import json

    from salloss.report import build_report

    cfg = make_tree()
    path = run_dir(cfg, "mit1003", "baseline", "kld", 1) / "summary.json"
    content = json.loads(path.read_text())
    content["status"] = "running"
    path.write_text(json.dumps(content))
    with pytest.raises(DataError, match="not finished"):
        build_report(cfg, with_figures=False, progress=False)


def test_runs_scored_on_different_images_are_refused(make_tree):
    from salloss.report import build_report

    cfg = make_tree()
    path = run_dir(cfg, "mit1003", "baseline", "kld", 0) / "scores.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # one image fewer
    (path.parent / "metrics.json").unlink()
    shutil.copy(run_dir(cfg, "mit1003", "baseline", "mse", 0) / "metrics.json",
                path.parent / "metrics.json")
    with pytest.raises(DataError):
        build_report(cfg, with_figures=False, progress=False)


def test_generic_group_gets_a_table_without_published_values(make_tree, fakes):
    from salloss.report import build_report

    grid = {"ablation": {"datasets": ["mit1003"], "archs": ["baseline"],
                         "losses": ["mse", "kld", "odd"]}}
    cfg = make_tree(grid=grid, seeds=[0], report={
        "figure3_losses": ["mse"], "figure3_images": 1,
        "reference": str(fakes.REFERENCE)})
    report = build_report(cfg, with_figures=False, progress=False)
    rows = [r for r in _csv(report_dir(cfg), "ablation") if not r["reference_map"]]
    assert [r["label"] for r in rows] == ["MSE", "KLD", "odd"]
    assert all(r["CC_paper"] == "" for r in rows)
    assert [r["section"] for r in rows] == ["Pixel-based", "Distribution-based",
                                            "Linear combinations"]
    # Table 1 falls back to the mse run of any group
    t1 = _csv(report_dir(cfg), "table1")
    assert "mse" in {r["loss_id"] for r in t1}
    assert "tables/ablation.md" in report["files"]


def test_reference_maps_and_the_oracle_gap(tables_only):
    """Every block ends with the centre-bias, uniform and oracle (true density) rows, scored on
    the same images; the gap column reads each loss as the share of the centre bias → oracle
    distance it closes, recomputed here from the CSV."""
    from salloss.data import PreparedDataset
    from salloss.metrics import nss
    from salloss.pipeline.plan import prepared_dir

    cfg, root = tables_only
    rows = _csv(root, "table2")
    refs = {r["label"]: r for r in rows if r["reference_map"]}
    assert list(refs) == ["Center-bias map", "Uniform map", "Oracle (true density)"]
    assert {r["section"] for r in refs.values()} == {"Reference maps"}
    assert rows[-3:] == list(refs.values())  # after the losses
    prepared = PreparedDataset(prepared_dir(cfg, "mit1003"))
    want = np.nanmean([nss(prepared.true_density(i), prepared.fixation_map(i))
                       for i in prepared.split_indices("test")])
    oracle, center = refs["Oracle (true density)"], refs["Center-bias map"]
    assert float(oracle["NSS"]) == pytest.approx(want, rel=1e-9)
    lo, hi = float(center["NSS"]), float(oracle["NSS"])
    assert hi > lo
    for r in rows:
        if r["loss_id"]:
            assert float(r["NSS_gap"]) == pytest.approx((float(r["NSS"]) - lo) / (hi - lo))
    assert float(oracle["NSS_gap"]) == pytest.approx(1.0)
    assert float(center["NSS_gap"]) == pytest.approx(0.0, abs=1e-12)
    assert refs["Uniform map"]["NSS_gap"] == ""
    md = (root / "tables" / "table2.md").read_text(encoding="utf-8")
    assert "NSS gap ↑" in md.splitlines()[2] and _md_cells(md, "Oracle (true density)")[-1] == \
        "100 %"
    assert "*Reference maps*" in md and "true density" in md
    assert not any(_md_cells(md, "Oracle (true density)")[i].startswith(("**", "_", "<ins>"))
                   for i in range(9))
    tex = (root / "tables" / "table2.tex").read_text(encoding="utf-8")
    assert r"NSS gap $\uparrow$" in tex and r"100 \%" in tex


def test_runs_that_did_not_converge_are_marked(make_tree):
    """A run that stopped at max_epochs (†) or whose best epoch is its first (‡) carries the
    mark after its label, and the notes count the converged runs."""
    import json

    from salloss.report import build_report

    cfg = make_tree(seeds=[0])
    capped = run_dir(cfg, "mit1003", "baseline", "kld", 0) / "summary.json"
    summary = json.loads(capped.read_text())
    summary.update(stopped_by="max_epochs", stop_reason="max_epochs (4) reached")
    capped.write_text(json.dumps(summary))
    first = run_dir(cfg, "mit1003", "baseline", "odd", 0) / "summary.json"
    summary = json.loads(first.read_text())
    summary["best_epoch"] = 1
    first.write_text(json.dumps(summary))
    build_report(cfg, with_figures=False, progress=False)
    rows = _csv(report_dir(cfg), "table2")
    assert _row(rows, "kld")["training_marks"] == "†"
    assert _row(rows, "odd")["training_marks"] == "‡"
    assert _row(rows, "mse")["training_marks"] == ""
    md = (report_dir(cfg) / "tables" / "table2.md").read_text(encoding="utf-8")
    assert _md_cells(md, "KLD †") and _md_cells(md, "odd ‡")
    n = len([r for r in rows if r["loss_id"]])
    assert f"Convergence: {n - 2} of {n} runs of this table stopped because" in md
    assert "† stopped at max_epochs" in md and "‡ best validation epoch is its first" in md
    summary_md = (report_dir(cfg) / "summary.md").read_text(encoding="utf-8")
    assert "| no † |" in summary_md and "| no ‡ |" in summary_md
