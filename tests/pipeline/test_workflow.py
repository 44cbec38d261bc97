"""End to end: the demo preset from a fresh clone runs every job, reproduces the committed
report and agrees with the committed dvc.lock; on the tiny preset, an interrupted Snakemake
continues where it stopped. (DVC's own cycle — push, clone, pull, experiments, plots, and a
params edit rerunning only what it touches — is tests/pipeline/test_dvc_versioning.py.)"""

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from report_compare import compare_reports
from workflow_utils import BIN, ROOT, TINY, env, fresh_copy, run

from salloss.pipeline import plan
from salloss.pipeline.config import load_params

pytestmark = pytest.mark.slow


def _snakemake(repo: Path, *extra: str, check: bool = True):
    return run([str(BIN / "snakemake"), "--cores", "2", "--configfile", str(TINY.relative_to(
        TINY.parents[3])), *extra], repo, check=check)


def _all_outputs(cfg) -> list[Path]:
    return [Path(o) for outs in plan.planned_outputs(cfg).values() for o in outs]


def test_demo_from_a_fresh_clone_regenerates_the_committed_report(tmp_path):
    """`snakemake --cores all` on the demo preset runs every job, writes every table and
    figure, and reproduces the committed results/demo/report: untrained numbers (baselines,
    published rows, labels) exactly, every trained cell within K standard errors of its
    measured seed-to-seed noise (`report_compare`: another CPU's last bits make trainings
    diverge like new seeds; README, "CPU numerics")."""
    repo = fresh_copy(tmp_path / "clone")
    started = time.monotonic()
    run([str(BIN / "snakemake"), "--cores", "all"], repo, timeout=4200)
    elapsed = time.monotonic() - started
    cfg = load_params(ROOT / "params.yaml")
    missing = [str(o) for o in _all_outputs(cfg) if not (repo / o).exists()]
    assert not missing
    out = repo / plan.report_dir(cfg)
    report = json.loads((out / "report.json").read_text())
    names = set(report["files"])
    for table in ("table1", "table2", "table3", "table4"):
        assert {f"tables/{table}.{ext}" for ext in ("md", "csv", "tex")} <= names
    assert any(n.startswith("figures/fig2") for n in names)
    assert any(n.startswith("figures/fig3") for n in names)
    assert any(n.startswith("figures/fig4") for n in names)
    # every run of every table at every seed (≥ 3), each sweep's winner at every seed too
    assert len(cfg.seeds) >= 3
    assert len(report["runs"]) == len(plan.plan_runs(cfg)) + len(cfg.sweeps) * len(cfg.seeds)
    assert {r["seed"] for r in report["runs"]} == set(cfg.seeds)
    comparison = compare_reports(out, ROOT / plan.report_dir(cfg))
    print(f"demo preset end to end: {elapsed:.0f} s; vs the committed report: "
          f"{comparison.summary()}")
    assert not comparison.failures, "\n".join(comparison.failures[:40])
    again = run([str(BIN / "snakemake"), "--cores", "all", "--dry-run"], repo)
    assert "Nothing to be done" in again.stdout + again.stderr
    _agrees_with_the_committed_lock(repo)


def _agrees_with_the_committed_lock(repo: Path) -> None:
    """`dvc status` of the regenerated outputs against the committed dvc.lock: the lock is this
    preset's (every stage there, same commands and params — nothing to rerun for a reason DVC
    can name); only output bytes may differ, and only on a machine whose CPU rounds the last
    bits differently (README, "Versioning with DVC"). They are listed, not hidden."""
    run(["git", "init", "-q"], repo)
    status = json.loads(run([str(BIN / "dvc"), "status", "--json"], repo).stdout or "{}")
    reasons = {stage: [r if isinstance(r, str) else next(iter(r)) for r in entries]
               for stage, entries in status.items()}
    named = {stage: r for stage, r in reasons.items()
             if set(r) - {"changed deps", "changed outs"}}  # command, params, new, deleted
    assert not named, named
    other_bytes = set()
    for stage, entries in status.items():
        for entry in entries:
            if isinstance(entry, dict):
                for kind, paths in entry.items():
                    # 'not in cache': the bytes ARE the lock's (a fresh clone has no cache yet);
                    # 'modified': other bytes (another CPU's last bits) — listed below
                    assert set(paths.values()) <= {"modified", "not in cache"}, (stage, kind,
                                                                                 paths)
                    other_bytes |= {p for p, why in paths.items() if why == "modified"}
    print(f"dvc status vs the committed lock: {len(status)} stages, outputs with other bytes: "
          f"{sorted(other_bytes) or 'none'}")


def _watch_until_a_training_finished(proc) -> dict[str, list[str]]:
    """Read Snakemake's output until a `train` job is reported finished; return the outputs
    of every job reported finished so far (jobid -> outputs)."""
    outputs: dict[str, list[str]] = {}
    rules: dict[str, str] = {}
    finished: dict[str, list[str]] = {}
    pending_outputs: list[str] = []
    rule = ""
    deadline = time.monotonic() + 900
    for line in proc.stdout:
        text = line.strip()
        if text.startswith(("rule ", "localrule ")):
            rule = text.split()[1].rstrip(":")
        elif text.startswith("output:"):
            pending_outputs = [o.strip() for o in text[len("output:"):].split(",")]
        elif text.startswith("jobid:"):
            jobid = text.split()[1]
            outputs[jobid], rules[jobid] = pending_outputs, rule
        elif text.startswith("Finished jobid:"):
            jobid = text.split()[2]
            finished[jobid] = outputs.get(jobid, [])
            if rules.get(jobid) == "train":
                return finished
        if time.monotonic() > deadline:
            break
    raise AssertionError("no training finished")


def test_interrupted_snakemake_continues_where_it_stopped(tmp_path):
    repo = fresh_copy(tmp_path / "clone")
    cfg = load_params(TINY)
    rel_tiny = str(TINY.relative_to(TINY.parents[3]))
    # Snakemake must take Ctrl-C as a terminal user's would: a test run started in the
    # background (`cmd &` in a script) inherits SIGINT ignored, and Python then never installs
    # its KeyboardInterrupt handler — Snakemake ran to the end so in two local CI runs
    proc = subprocess.Popen(
        [str(BIN / "snakemake"), "--cores", "1", "--configfile", rel_tiny],
        cwd=repo, env={**env(), "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    finished = _watch_until_a_training_finished(proc)
    # Ctrl-C: Snakemake stops and marks running jobs incomplete; pressed again, as a user would,
    # until Snakemake has exited.
    for _ in range(60):
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=5)  # drains its output, so it can never block on a pipe
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        proc.kill()
        raise AssertionError("Snakemake did not stop on Ctrl-C")
    assert not (repo / plan.report_dir(cfg)).exists()
    done = [Path(o) for outs in finished.values() for o in outs if (repo / o).is_file()]
    assert any(p.name == "model.pt" for p in done)
    mtimes = {p: (repo / p).stat().st_mtime for p in done}
    log = _snakemake(repo)
    # jobs that had finished were not redone; everything else completed
    for p, mtime in mtimes.items():
        assert (repo / p).stat().st_mtime == mtime, f"{p} was recomputed"
    assert all((repo / p).exists() for p in _all_outputs(cfg)), log.stdout[-2000:]
    # the sweep's winner is a row of its group's table, with its coefficients
    table = (repo / plan.report_dir(cfg) / "tables" / "table2.md").read_text()
    best = json.loads((repo / plan.sweep_dir(cfg, "lc_opt") / "best.json").read_text())
    assert f"Random-search LC: {best['spec']}" in table
