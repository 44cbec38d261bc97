"""SLURM integration: a reduced demo target goes through ``--profile profiles/slurm`` to a real
one-node cluster (see `minicluster`); every job lands with the resources the profile asks for and
completes; a training job requeued by SLURM mid-run resumes from its checkpoint instead of
starting over, and Snakemake still finishes.

One Snakemake run serves both tests (each job costs ~20 s of scheduling and start-up on 2
cores): the baseline's mse run of the tiny preset, and its SAM-VGG mse run made a few epochs
longer so that it can be requeued after its first checkpoint. The preset's device is `auto`, as
in the paper preset, so the Snakefile claims GPUs as it would for the real study (the jobs see
the /dev/null "GPU", find no CUDA and run on the CPU).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from minicluster import SlurmCluster
from workflow_utils import BIN, TINY, env, fresh_copy

from salloss.pipeline import plan
from salloss.pipeline.config import PipelineConfig, load_params

pytestmark = pytest.mark.slow

PROFILE = "profiles/slurm"
# On this test cluster (as on any cluster without an accounting database) job states come from
# squeue; the first status check comes after 2 s instead of 40 s to keep the test short.
# One thread per job: the CI machine has 2 cores (SLURM still gets the profile's cpus_per_task).
SLURM_ARGS = ("--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
              "--set-threads", "features=1", "train=1", "evaluate=1")
PRESET = "requeue.yaml"
LONG_ARCH = "sam_vgg"  # 4-12 s per epoch here (a 600 MB checkpoint each): time to requeue
LONG_EPOCHS = 3  # requeued after epoch 1, so at least one whole epoch is left to resume
TIMEOUT = 900


@dataclass
class SlurmRun:
    """What the shared Snakemake run left for the tests to check."""

    repo: Path
    cfg: PipelineConfig
    runs: list[plan.Run]
    output: str
    returncode: int
    run_id: str
    requeued_job: str
    requeued_run: plan.Run
    cluster: SlurmCluster

    def failure(self, what: str) -> str:
        return f"{what}\n--- snakemake (tail) ---\n{self.output[-6000:]}\n{self.cluster.logs(20)}"

    def jobs(self) -> list[dict[str, str]]:
        """`scontrol show job` fields of every job of this Snakemake invocation."""
        jobs = []
        for line in self.cluster.scontrol("show", "job", "--oneliner").splitlines():
            fields: dict[str, str] = {}
            for token in line.split():
                key, sep, value = token.partition("=")
                if sep:
                    fields.setdefault(key, value)
            if fields.get("JobName") == self.run_id:
                jobs.append(fields)
        return jobs


def _rule(job: dict[str, str]) -> str:
    """The rule name from the job comment the executor sets: ``rule_<name>[_wildcards_…]``."""
    return re.match(r"rule_(.+?)(?:_wildcards_|$)", job["Comment"]).group(1)


def _wait_for(ready, timeout: float, what: str, proc: subprocess.Popen, log: Path,
              cluster: SlurmCluster):
    """Poll ``ready()`` until truthy (returned); fail if Snakemake exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    why = (f"snakemake exited ({proc.returncode})" if proc.poll() is not None
           else f"timed out after {timeout:.0f} s")
    pytest.fail(f"{why} while waiting for {what}\n--- snakemake (tail) ---\n"
                f"{log.read_text()[-6000:]}\n{cluster.logs(20)}")


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster: SlurmCluster, tmp_path_factory) -> SlurmRun:
    """Run the reduced target through the SLURM profile; requeue the long training once its
    first checkpoint exists (and let SLURM start it again at once)."""
    tmp = tmp_path_factory.mktemp("slurm_run")
    repo = fresh_copy(tmp / "clone")
    preset = yaml.safe_load(TINY.read_text())
    preset["archs"][LONG_ARCH]["train"].update(max_epochs=LONG_EPOCHS, patience=LONG_EPOCHS)
    preset["device"] = "auto"  # a GPU preset: CPU-only presets claim no GPU
    (repo / PRESET).write_text(yaml.safe_dump(preset, sort_keys=False))
    cfg = load_params(repo / PRESET)
    runs = [next(r for r in plan.plan_runs(cfg) if r.arch == arch and r.loss == "mse")
            for arch in ("baseline", LONG_ARCH)]
    long_run = runs[1]
    checkpoint = repo / plan.checkpoint_dir(cfg, *long_run.key()) / "last.pt"
    targets = [str(plan.run_dir(cfg, *r.key()) / "scores.csv") for r in runs]

    log = tmp / "snakemake.log"
    cmd = [str(BIN / "snakemake"), *targets, "--profile", PROFILE, "--configfile", PRESET,
           *SLURM_ARGS]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=repo, env=env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_for(checkpoint.exists, TIMEOUT, f"the first checkpoint {checkpoint}", proc, log,
                  slurm_cluster)
        found = re.search(r"SLURM run ID: (\S+)", log.read_text())
        assert found, f"no 'SLURM run ID' in {log}: was the slurm executor used?"
        run_id = found.group(1)
        partial = SlurmRun(repo, cfg, runs, "", -1, run_id, "", long_run, slurm_cluster)
        train = [j for j in partial.jobs() if _rule(j) == "train"
                 and j["JobState"] == "RUNNING" and LONG_ARCH in j["Comment"]]
        assert len(train) == 1, f"running {LONG_ARCH} train jobs: {train}"
        job_id = train[0]["JobId"]
        # `Incomplete`: a job that finished meanwhile is left alone, not run again. Without
        # the profile's --requeue this fails ("presently disabled": JobRequeue=0 here).
        slurm_cluster.scontrol("requeue", "Incomplete", job_id)
        # SLURM holds a requeued job back for ~2 minutes (BeginTime); let it start again now
        _wait_for(lambda: slurm_cluster.job_fields(job_id)["JobState"] == "PENDING", 60,
                  f"job {job_id} to be pending again (if it finished before the requeue, "
                  "raise LONG_EPOCHS)", proc, log, slurm_cluster)
        slurm_cluster.scontrol("update", f"JobId={job_id}", "StartTime=now")
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    return SlurmRun(repo, cfg, runs, log.read_text(), proc.returncode, run_id, job_id, long_run,
                    slurm_cluster)


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


def test_reduced_demo_completes_through_the_slurm_profile(slurm_run):
    """Every job of the target was submitted with sbatch (none ran locally, none twice),
    asked for what the profile says, got a `gpu` gres exactly when its rule declares one,
    completed, and left its outputs."""
    run = slurm_run
    if run.returncode != 0:
        pytest.fail(run.failure(f"snakemake failed ({run.returncode})"))
    outputs = [o for r in run.runs for o in plan.EVAL_OUTPUTS + plan.TRAIN_OUTPUTS
               if not (run.repo / plan.run_dir(run.cfg, *r.key()) / o).exists()]
    assert not outputs, run.failure(f"missing outputs: {outputs}")

    jobs = run.jobs()
    per_rule: dict[str, int] = {}
    for job in jobs:
        per_rule[_rule(job)] = per_rule.get(_rule(job), 0) + 1
    pairs = {(r.dataset, r.arch) for r in run.runs}
    expected = {"prepare": len({d for d, _ in pairs}), "features": len(pairs),
                "train": len(run.runs), "evaluate": len(run.runs)}
    assert per_rule == expected, run.failure("not every job went through SLURM exactly once")

    for job in jobs:
        rule, want = _rule(job), _profile_resources(run.repo, _rule(job))
        where = f"job {job['JobId']} ({job['Comment']})"
        assert job["JobState"] == "COMPLETED" and job["ExitCode"] == "0:0", where
        assert job["Partition"] == want["slurm_partition"], where
        assert int(job["CPUs/Task"]) == want["cpus_per_task"], where
        assert _mb(job["MinMemoryNode"]) == want["mem_mb"], where
        assert _minutes(job["TimeLimit"]) == want["runtime"], where
        # the Snakefile's `gpu=1` (train, evaluate, the baseline's frozen-VGG features of a
        # GPU preset) became `--gpus=1`; jobs that need no GPU must not hold one
        if rule == "features":
            wants_gpu = any(plan.uses_feature_cache(run.cfg, a)
                            for _, a in pairs if job["Comment"].endswith(f"_{a}"))
        else:
            wants_gpu = rule in ("train", "evaluate")
        gres = job.get("TresPerJob", "")
        assert gres == ("gres:gpu:1" if wants_gpu else ""), f"{where}: TresPerJob={gres!r}"


def test_requeued_training_resumes_from_its_checkpoint(slurm_run):
    """`scontrol requeue` on the running training: SLURM restarts the same job (the profile's
    `slurm-requeue` made it requeueable), the trainer resumes from the checkpoint it wrote
    (epoch >= 1, no epoch trained twice) and the run finishes."""
    run, r = slurm_run, slurm_run.requeued_run
    job = run.cluster.job_fields(run.requeued_job)
    assert job["Requeue"] == "1", "sbatch was not given --requeue (profile: slurm-requeue)"
    assert job["Restarts"] == "1" and job["JobState"] == "COMPLETED", job
    trains = [j["JobId"] for j in run.jobs() if _rule(j) == "train" and LONG_ARCH in j["Comment"]]
    assert trains == [run.requeued_job], "Snakemake resubmitted the job instead of SLURM"

    train_log = run.repo / f"logs/{run.cfg.preset}/train/{r.dataset}/{r.arch}/{r.loss}/" \
                           f"seed{r.seed}.log"
    resumed = re.findall(r"resuming \S+ at epoch (\d+), batch (\d+)", train_log.read_text())
    assert len(resumed) == 1, run.failure(f"{train_log} does not show one resume")
    epoch = int(resumed[0][0])  # the epoch it continued in: epoch - 1 were done before
    assert epoch - 1 >= 1, f"resumed at epoch {epoch}, batch {resumed[0][1]}: nothing was kept"

    # the interrupted attempt left nothing behind that could race the one that finished
    deadline = time.monotonic() + 30
    while run.cluster.leftover_pids() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not run.cluster.leftover_pids(), "job processes outlived their SLURM job"

    summary_path = run.repo / plan.run_dir(run.cfg, *r.key()) / "summary.json"
    summary = json.loads(summary_path.read_text())
    assert summary["resumes"] == 1, summary_path
    assert summary["status"] == "finished" and summary["epochs"] == LONG_EPOCHS
    assert [h["epoch"] for h in summary["history"]] == list(range(1, LONG_EPOCHS + 1))
