"""DVC used as its users use it, on the tiny preset: outputs made by Snakemake adopted with
`dvc commit`, `dvc push` to the repository's default (local-folder) remote, a fresh `git clone`
+ `dvc pull` that restores every model byte for byte, after which neither `dvc repro` nor
Snakemake (after its documented `--touch` hand-over) reruns anything; then `dvc exp run -S`
(only the touched loss reruns), `dvc exp show` (the run's test metrics and the param that
defines it), `dvc exp apply` / `branch`, and `dvc plots show` / `diff` (the declared learning
curves and per-loss bars)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from workflow_utils import BIN, TINY, fresh_copy, run

from salloss.pipeline import plan
from salloss.pipeline.config import load_params

pytestmark = pytest.mark.slow
DVC, SNAKEMAKE = str(BIN / "dvc"), str(BIN / "snakemake")


def _git(repo: Path, *args: str):
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], repo)


def _ran(stdout: str) -> list[str]:
    return sorted(line.split("'")[1] for line in stdout.splitlines()
                  if line.startswith("Running stage"))


def test_push_clone_pull_reruns_nothing_then_experiments_and_plots(tmp_path):
    origin = fresh_copy(tmp_path / "origin")
    shutil.copy(TINY, origin / "params.yaml")
    _git(origin, "init", "-q")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-qm", "tiny preset")
    cfg = load_params(origin / "params.yaml")
    outputs = [o for outs in plan.planned_outputs(cfg).values() for o in outs]

    # Snakemake made the outputs; DVC adopts them (the reverse hand-over) and pushes them
    run([SNAKEMAKE, "--cores", "2"], origin, timeout=900)
    run([DVC, "commit", "-f"], origin)
    assert "Data and pipelines are up to date" in run([DVC, "status"], origin).stdout
    run([DVC, "push"], origin)
    store = tmp_path / "salloss-dvc-store"  # .dvc/config's default: beside the repository
    assert store.is_dir() and any(store.rglob("*"))
    _git(origin, "add", "-A")
    _git(origin, "commit", "-qm", "tiny results")
    tracked = run(["git", "ls-files"], origin).stdout.splitlines()
    assert "dvc.lock" in tracked
    assert not [f for f in tracked if f.endswith(("model.pt", "scores.csv", "features.npy"))]

    # a fresh clone: git brings code, lock and report; dvc pull brings everything else
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(origin), str(clone)], tmp_path)
    model = Path(plan.run_dir(cfg, "mit1003", "baseline", "kld", 0)) / "model.pt"
    assert not (clone / model).exists()
    run([DVC, "pull"], clone)
    assert (clone / model).read_bytes() == (origin / model).read_bytes()
    assert all((clone / o).exists() for o in outputs), [o for o in outputs
                                                        if not (clone / o).exists()]
    assert "Data and pipelines are up to date" in run([DVC, "status"], clone).stdout
    assert _ran(run([DVC, "repro"], clone).stdout) == []
    run([SNAKEMAKE, "--cores", "2", "--touch"], clone)  # pulled files carry checkout mtimes
    dry = run([SNAKEMAKE, "--cores", "2", "--dry-run"], clone)
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # an experiment: one loss changed, only its jobs and the report rerun
    exp = run([DVC, "exp", "run", "-S", "losses.kld=kld + mse", "-n", "kld-mse"], clone,
              timeout=900)
    assert _ran(exp.stdout) == [  # kld's runs in Table 2 and Table 5, and the report
        "evaluate_table2@mit1003-baseline-kld-0",
        "evaluate_table5@mit1003-encdec_convnext_tiny-kld-0", "report",
        "train_table2@mit1003-baseline-kld-0",
        "train_table5@mit1003-encdec_convnext_tiny-kld-0"], exp.stdout
    shown = json.loads(run([DVC, "exp", "show", "--json"], clone).stdout)
    head = next(e for e in shown if e["rev"] != "workspace")
    ours = next(x for x in head["experiments"] if x["name"] == "kld-mse")["revs"][0]["data"]
    assert ours["params"]["params.yaml"]["data"]["losses"]["kld"] == "kld + mse"
    metrics = ours["metrics"][f"{model.parent}/metrics.json"]["data"]
    assert set(metrics) == set(cfg.evaluation["metrics"])
    assert 0 < metrics["CC"]["mean"] <= 1
    before = head["data"]["metrics"][f"{model.parent}/metrics.json"]["data"]
    assert before["CC"]["mean"] != metrics["CC"]["mean"]  # the experiment's own numbers

    # `dvc exp run -S` leaves the change in the workspace; restore, then apply / branch
    _git(clone, "checkout", "--", ".")
    run([DVC, "checkout", "-f"], clone)
    assert yaml.safe_load((clone / "params.yaml").read_text())["losses"]["kld"] == "kld"
    run([DVC, "exp", "apply", "kld-mse"], clone)
    assert yaml.safe_load((clone / "params.yaml").read_text())["losses"]["kld"] == "kld + mse"
    run([DVC, "exp", "branch", "kld-mse", "kld-plus-mse"], clone)
    assert "kld-plus-mse" in run(["git", "branch", "--list"], clone).stdout

    # plots: the declared per-loss bars and every run's DVCLive curves
    plots = json.loads(run([DVC, "plots", "show", "--json"], clone).stdout)
    assert not plots.get("errors"), plots.get("errors")
    assert {"NSS per loss (Table 2)", "CC per loss (Table 2)"} <= set(plots["data"])
    curves = {k for k in plots["data"] if k.endswith("/dvclive/plots/metrics/val/loss.tsv")}
    trainings = len(plan.plan_runs(cfg)) + sum(len(s.candidates) + len(cfg.seeds)
                                               for s in cfg.sweeps.values())
    assert len(curves) == trainings  # every run's, sweep candidate's and sweep winner seed's
    run([DVC, "plots", "show"], clone)
    assert (clone / "dvc_plots" / "index.html").stat().st_size > 1000
    diff = json.loads(run([DVC, "plots", "diff", "HEAD", "kld-mse", "--json"], clone).stdout)
    bars = diff["data"]["NSS per loss (Table 2)"][0]
    assert len(bars["revisions"]) == 2, bars["revisions"]
