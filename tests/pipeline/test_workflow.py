"""End to end on the tiny preset: Snakemake runs every job and writes every table and figure;
an interrupted Snakemake continues where it stopped; `dvc repro` after editing one loss reruns
only that loss's jobs and the report."""

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from workflow_utils import BIN, TINY, env, fresh_copy, run

from salloss.pipeline import plan
from salloss.pipeline.config import load_params

pytestmark = pytest.mark.slow


def _snakemake(repo: Path, *extra: str, check: bool = True):
    return run([str(BIN / "snakemake"), "--cores", "2", "--configfile", str(TINY.relative_to(
        TINY.parents[3])), *extra], repo, check=check)


def _all_outputs(cfg) -> list[Path]:
    return [Path(o) for outs in plan.planned_outputs(cfg).values() for o in outs]


def test_snakemake_runs_every_job_and_writes_the_report(tmp_path):
    repo = fresh_copy(tmp_path / "clone")
    _snakemake(repo)
    cfg = load_params(TINY)
    missing = [str(o) for o in _all_outputs(cfg) if not (repo / o).exists()]
    assert not missing
    report = json.loads((repo / plan.report_dir(cfg) / "report.json").read_text())
    written = [repo / plan.report_dir(cfg) / f for f in report["files"]]
    assert written and all(p.exists() for p in written)
    names = {p.name for p in written}
    for table in ("table1", "table2", "table4"):
        assert {f"{table}.md", f"{table}.csv", f"{table}.tex"} <= names
    assert any(n.endswith(".png") for n in names) and any(n.endswith(".pdf") for n in names)
    # every run of the params is in the report, read from the params (not a glob)
    assert len(report["runs"]) == len(plan.plan_runs(cfg))
    # a second invocation has nothing to do
    again = _snakemake(repo, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_interrupted_snakemake_continues_where_it_stopped(tmp_path):
    repo = fresh_copy(tmp_path / "clone")
    cfg = load_params(TINY)
    rel_tiny = str(TINY.relative_to(TINY.parents[3]))
    proc = subprocess.Popen(
        [str(BIN / "snakemake"), "--cores", "1", "--configfile", rel_tiny],
        cwd=repo, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    first_model = repo / plan.run_dir(cfg, "mit1003", "baseline", "mse", 0) / "model.pt"
    deadline = time.monotonic() + 600
    while not first_model.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert first_model.exists(), "the first training never finished"
    proc.send_signal(signal.SIGINT)  # Ctrl-C: Snakemake stops and marks running jobs incomplete
    proc.communicate(timeout=300)
    finished_before = {p for p in _all_outputs(cfg) if (repo / p).exists()}
    assert not (repo / plan.report_dir(cfg)).exists()
    mtimes = {p: (repo / p).stat().st_mtime for p in finished_before if (repo / p).is_file()}
    log = _snakemake(repo)
    # finished jobs were not redone; the rest completed
    for p, mtime in mtimes.items():
        assert (repo / p).stat().st_mtime == mtime, f"{p} was recomputed"
    assert all((repo / p).exists() for p in _all_outputs(cfg)), log.stdout[-2000:]


def test_dvc_repro_reruns_only_what_an_edit_touches(tmp_path):
    repo = fresh_copy(tmp_path / "clone")
    shutil.copy(TINY, repo / "params.yaml")
    run(["git", "init", "-q"], repo)
    first = run([str(BIN / "dvc"), "repro"], repo, timeout=1500)
    assert "Running stage 'report'" in first.stdout
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["losses"]["kld"] = "kld + mse"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    second = run([str(BIN / "dvc"), "repro"], repo, timeout=1500)
    ran = sorted(line.split("'")[1] for line in second.stdout.splitlines()
                 if line.startswith("Running stage"))
    assert ran == ["evaluate_table2@mit1003-baseline-kld-0", "report",
                   "train_table2@mit1003-baseline-kld-0"], second.stdout
    third = run([str(BIN / "dvc"), "status"], repo)
    assert "up to date" in third.stdout
