"""SLURM integration: the pipeline goes through ``--profile profiles/slurm`` to a real one-node
cluster (see `minicluster`), every job lands with the resources the profile asks for, and a
training job requeued by SLURM mid-run resumes from its checkpoint instead of starting over."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from minicluster import SlurmCluster
from workflow_utils import BIN, TINY, env, fresh_copy

from salloss.pipeline import plan
from salloss.pipeline.config import load_params

pytestmark = pytest.mark.slow

PROFILE = "profiles/slurm"
# On this test cluster (as on any cluster without an accounting database) job states come from
# squeue; the first status check comes after 2 s instead of 40 s to keep the test short.
SLURM_ARGS = ("--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2")
REQUEUE_EPOCHS = 6  # long enough to requeue after epoch 1, short enough for a quick test


def _snakemake_cmd(configfile: str, *targets: str) -> list[str]:
    return [str(BIN / "snakemake"), "--profile", PROFILE, "--configfile", configfile,
            *SLURM_ARGS, *targets]


def _run_snakemake(repo: Path, cluster: SlurmCluster, configfile: str, *targets: str,
                   timeout: float = 900) -> str:
    """Run Snakemake to completion through the SLURM profile; its output (fails with logs)."""
    out = subprocess.run(_snakemake_cmd(configfile, *targets), cwd=repo, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        pytest.fail(_failure(f"snakemake failed ({out.returncode})", out.stdout, cluster))
    return out.stdout


def _failure(what: str, output: str, cluster: SlurmCluster) -> str:
    return f"{what}\n--- snakemake (tail) ---\n{output[-6000:]}\n{cluster.logs(20)}"


def _run_id(output: str) -> str:
    """The SLURM job name Snakemake gave every job of this invocation."""
    match = re.search(r"SLURM run ID: (\S+)", output)
    assert match, "no 'SLURM run ID' in Snakemake's output: was the slurm executor used?"
    return match.group(1)


def _jobs(cluster: SlurmCluster, run_id: str) -> list[dict[str, str]]:
    """`scontrol show job` fields of every job of one Snakemake invocation."""
    jobs = []
    for line in cluster.scontrol("show", "job", "--oneliner").splitlines():
        fields: dict[str, str] = {}
        for token in line.split():
            key, sep, value = token.partition("=")
            if sep:
                fields.setdefault(key, value)
        if fields.get("JobName") == run_id:
            jobs.append(fields)
    return jobs


def _rule(job: dict[str, str]) -> str:
    """The rule name from the job comment the executor sets: ``rule_<name>[_wildcards_…]``."""
    return re.match(r"rule_(.+?)(?:_wildcards_|$)", job["Comment"]).group(1)


def _mb(value: str) -> float:
    """SLURM memory ('16000M', '31.25G') in MB."""
    number, unit = float(value[:-1]), value[-1]
    return number * {"M": 1, "G": 1024, "T": 1024 * 1024}[unit]


def _minutes(value: str) -> float:
    """SLURM time limit ('[D-]HH:MM:SS') in minutes."""
    days, _, clock = value.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return int(days or 0) * 1440 + h * 60 + m + s / 60


def _profile_resources(repo: Path, rule: str) -> dict:
    """What profiles/slurm asks for one rule: default-resources overlaid by set-resources."""
    profile = yaml.safe_load((repo / PROFILE / "config.yaml").read_text())
    return {**profile.get("default-resources", {}),
            **profile.get("set-resources", {}).get(rule, {})}


def test_profile_runs_the_tiny_demo_on_slurm(slurm_cluster, tmp_path):
    """Every job of the tiny preset is submitted with sbatch, scheduled (GPU jobs on the
    `gpu` gres), completes, and leaves every planned output, the report included."""
    repo = fresh_copy(tmp_path / "clone")
    configfile = str(TINY.relative_to(TINY.parents[3]))
    cfg = load_params(TINY)
    output = _run_snakemake(repo, slurm_cluster, configfile)

    planned = plan.planned_outputs(cfg)
    missing = [o for outs in planned.values() for o in outs if not (repo / o).exists()]
    assert not missing, _failure(f"missing outputs: {missing}", output, slurm_cluster)

    jobs = _jobs(slurm_cluster, _run_id(output))
    per_rule: dict[str, int] = {}
    for job in jobs:
        per_rule[_rule(job)] = per_rule.get(_rule(job), 0) + 1
    expected: dict[str, int] = {}
    for job_key in planned:
        stage = job_key.split("/")[0]
        expected[stage] = expected.get(stage, 0) + 1
    assert per_rule == expected, "not every planned job went through SLURM (or some twice)"

    for job in jobs:
        rule, want = _rule(job), _profile_resources(repo, _rule(job))
        where = f"job {job['JobId']} ({job['Comment']})"
        assert job["JobState"] == "COMPLETED" and job["ExitCode"] == "0:0", where
        assert job["Partition"] == want["slurm_partition"], where
        assert int(job["CPUs/Task"]) == want["cpus_per_task"], where
        assert _mb(job["MinMemoryNode"]) == want["mem_mb"], where
        assert _minutes(job["TimeLimit"]) == want["runtime"], where
        if rule in ("train", "evaluate"):  # the Snakefile's `gpu=1` became `--gpus=1`
            assert job.get("TresPerJob") == "gres:gpu:1", where
        if rule in ("prepare", "report"):
            assert "gpu" not in job.get("TresPerJob", ""), where


def _wait_for(ready, timeout: float, what: str, proc: subprocess.Popen, log: Path,
              cluster: SlurmCluster):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(_failure(f"snakemake exited ({proc.returncode}) before {what}",
                                 log.read_text(), cluster))
        time.sleep(0.2)
    pytest.fail(_failure(f"timed out after {timeout:.0f} s waiting for {what}", log.read_text(),
                         cluster))


def test_requeued_training_resumes_from_its_checkpoint(slurm_cluster, tmp_path):
    """`scontrol requeue` on a running training job: SLURM restarts the same job, the trainer
    resumes from the checkpoint it wrote (epoch >= 1, no epoch done twice), Snakemake finishes."""
    repo = fresh_copy(tmp_path / "clone")
    preset = yaml.safe_load(TINY.read_text())
    preset["archs"]["sam_vgg"]["train"].update(max_epochs=REQUEUE_EPOCHS, patience=REQUEUE_EPOCHS)
    (repo / "requeue.yaml").write_text(yaml.safe_dump(preset, sort_keys=False))
    cfg = load_params(repo / "requeue.yaml")
    run = next(r for r in plan.plan_runs(cfg) if r.arch == "sam_vgg")
    run_dir = repo / plan.run_dir(cfg, *run.key())
    checkpoint = repo / plan.checkpoint_dir(cfg, *run.key()) / "last.pt"
    target = str(plan.run_dir(cfg, *run.key()) / "scores.csv")  # prepare → train → evaluate

    log = tmp_path / "snakemake.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(_snakemake_cmd("requeue.yaml", target), cwd=repo, env=env(),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(checkpoint.exists, 600, "the first epoch's checkpoint", proc, log,
                  slurm_cluster)
        run_id = _wait_for(lambda: re.search(r"SLURM run ID: (\S+)", log.read_text()), 10,
                           "the SLURM run ID", proc, log, slurm_cluster).group(1)
        train = [j for j in _jobs(slurm_cluster, run_id)
                 if _rule(j) == "train" and j["JobState"] == "RUNNING"]
        assert len(train) == 1, _failure(f"running train jobs: {train}", log.read_text(),
                                         slurm_cluster)
        job_id = train[0]["JobId"]
        slurm_cluster.scontrol("requeue", job_id)
        # SLURM holds a requeued job back for ~2 minutes (BeginTime); let it start again now
        _wait_for(lambda: slurm_cluster.job_fields(job_id)["JobState"] == "PENDING", 60,
                  f"job {job_id} to be pending again", proc, log, slurm_cluster)
        slurm_cluster.scontrol("update", f"JobId={job_id}", "StartTime=now")
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    output = log.read_text()
    if proc.returncode != 0:
        pytest.fail(_failure(f"snakemake failed after the requeue ({proc.returncode})", output,
                             slurm_cluster))

    job = slurm_cluster.job_fields(job_id)
    assert job["Restarts"] == "1" and job["JobState"] == "COMPLETED", job
    trains = [j for j in _jobs(slurm_cluster, run_id) if _rule(j) == "train"]
    assert [j["JobId"] for j in trains] == [job_id], "Snakemake resubmitted instead of SLURM"

    train_log = repo / f"logs/{cfg.preset}/train/{run.dataset}/{run.arch}/{run.loss}/" \
                       f"seed{run.seed}.log"
    resumed = re.findall(r"resuming \S+ at epoch (\d+), batch (\d+)", train_log.read_text())
    assert len(resumed) == 1, _failure(f"{train_log} does not show one resume", output,
                                       slurm_cluster)
    epoch = int(resumed[0][0])  # the epoch it continued in; epoch - 1 were done before
    assert epoch - 1 >= 1, f"resumed at epoch {epoch}, batch {resumed[0][1]}: nothing was kept"

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["resumes"] == 1
    assert summary["status"] == "finished" and summary["epochs"] == REQUEUE_EPOCHS
    assert [h["epoch"] for h in summary["history"]] == list(range(1, REQUEUE_EPOCHS + 1))
    assert (repo / target).exists()
