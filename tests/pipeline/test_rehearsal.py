"""config/rehearsal.yaml is the paper preset at the real scale on synthetic data: it validates,
plans every job the paper preset plans, reads the real loaders, and differs from the paper
preset only where its header says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from salloss.pipeline import plan
from salloss.pipeline.config import load_params

ROOT = Path(__file__).resolve().parents[2]


def test_rehearsal_plans_every_job_of_the_paper_preset():
    paper, rehearsal = (load_params(ROOT / "config" / f"{n}.yaml") for n in ("paper",
                                                                            "rehearsal"))
    assert set(plan.planned_outputs(rehearsal)) == set(plan.planned_outputs(paper))
    # 3 fetch + 3 prepare + 3 datasets × 6 archs features + runs × (train, evaluate)
    # + 16 sweep candidates × 2 + select + (retrain, test) per seed + report
    runs, seeds = len(plan.plan_runs(rehearsal)), len(rehearsal.seeds)
    assert len(plan.planned_outputs(rehearsal)) == 3 + 3 + 18 + 2 * runs + 32 + 1 + 2 * seeds + 1
    raw = {d: plan.planned_outputs(rehearsal)[f"fetch/{d}"] for d in rehearsal.datasets}
    assert raw == {d: [f"data/rehearsal/{d}"] for d in rehearsal.datasets}  # not the paper's
    assert len(plan.plan_runs(rehearsal)) == len(plan.plan_runs(paper)) == (36 + 4 * 7) * seeds
    for key, d in rehearsal.datasets.items():
        assert d.loader == paper.datasets[key].loader == key  # the real loaders
        assert d.synthesize == {"mit1003": 1003, "cat2000": 2000, "fiwi": 149}[key]
        assert not d.fetch


def test_rehearsal_differs_from_the_paper_only_as_documented():
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    rehearsal = yaml.safe_load((ROOT / "config" / "rehearsal.yaml").read_text())
    assert rehearsal.pop("backbone_weights") == "none"
    paper.pop("backbone_weights")
    for d in rehearsal["datasets"].values():
        assert d.pop("synthesize") is True and d.pop("root").startswith("data/rehearsal/")
    for d in paper["datasets"].values():
        assert d.pop("root").startswith("data/raw/")
    for arch in paper["archs"]:
        for side in (paper, rehearsal):
            side["archs"][arch]["train"].pop("max_epochs")
            side["archs"][arch]["train"].pop("patience")
    for side in (paper, rehearsal):
        side.pop("preset")
        side.pop("description")
    assert rehearsal == paper


def test_synthesize_key_is_validated(tmp_path):
    from salloss.errors import ConfigError

    text = (ROOT / "config" / "rehearsal.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("synthesize: true               # 149", "synthesize: 500  #"))
    with pytest.raises(ConfigError, match=r"datasets.fiwi.synthesize: expected true .* 1…149"):
        load_params(bad)


@pytest.mark.slow
def test_reduced_rehearsal_runs_end_to_end(tmp_path):
    """A few dozen full-size images per dataset through the rehearsal's own path: synthetic
    data in the real layouts, the real loaders, features at 300×400, one epoch of mse and LC2
    (perceptual terms at full size) on MIT1003 and of W-MSE on CAT2000 and FiWi, evaluation
    with nine metrics at original size, the report — run by Snakemake with --configfile."""
    import json
    import sys

    from workflow_utils import BIN, run

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from paper_scale import bench_params
    finally:
        sys.path.pop(0)
    params = bench_params(tmp_path, {"mit1003": 16, "cat2000": 20, "fiwi": 12}, epochs=1)
    p = yaml.safe_load(params.read_text())
    del p["archs"]["sam_vgg"]  # SAM-VGG at 240×320 on a CPU: minutes per epoch
    p["grid"].pop("table4")
    p["report"]["figure4_group"] = None
    params.write_text(yaml.safe_dump(p, sort_keys=False))
    cfg = load_params(params)
    assert [cfg.datasets[d].loader for d in cfg.datasets] == ["mit1003", "cat2000", "fiwi"]
    out = run([str(BIN / "snakemake"), "--cores", "2", "--configfile", str(params)], ROOT,
              timeout=1500)
    assert "steps (100%) done" in out.stdout + out.stderr
    from salloss.data import PreparedDataset

    for d, shape in (("mit1003", None), ("cat2000", (1080, 1920)), ("fiwi", None)):
        prepared = PreparedDataset(plan.prepared_dir(cfg, d))
        assert len(prepared) == cfg.datasets[d].synthesize
        if shape:
            assert prepared.original_size(0) == shape
        features = np.load(plan.features_dir(cfg, d, "baseline") / "features.npy",
                           mmap_mode="r")
        assert features.shape[1:] == (1280, 37, 50) and features.dtype == np.float16
    for r in plan.plan_runs(cfg):
        metrics = json.loads((plan.run_dir(cfg, r.dataset, r.arch, r.loss, 0)
                              / "metrics.json").read_text())
        assert set(metrics) == set(cfg.evaluation["metrics"])
        assert metrics["CC"]["count"] > 0
    report = json.loads((plan.report_dir(cfg) / "report.json").read_text())
    assert "tables/table2.md" in report["files"]

