# salloss: the whole study as one workflow. `snakemake --cores all` runs the preset in
# params.yaml (the offline demo); `--configfile config/paper.yaml` runs the paper's preset;
# `--profile profiles/slurm` sends the same rules to a SLURM cluster.
#
# The params file is validated (every key, loss spec, dataset option, metric) before any job
# is planned; the rules are thin: each calls `salloss run STAGE --params FILE` with the job's
# keys, exactly as dvc.yaml does, so both tools run identical commands.
# We do not use conda:/container: directives: the environment is the project's venv (README).

from salloss.pipeline import plan
from salloss.pipeline.config import load_params

configfile: "params.yaml"
report: "workflow/report/workflow.rst"  # `snakemake --report report.html`: figures + run stats

# The LAST --configfile wins whole (not merged key by key into params.yaml: a merge would
# leave demo datasets inside the paper preset); `--config` overrides are not supported.
PARAMS = str(workflow.overwrite_configfiles[-1]) if workflow.overwrite_configfiles else "params.yaml"
CFG = load_params(PARAMS)
RUNS = plan.plan_runs(CFG)
SALLOSS = "salloss run {stage} --params " + PARAMS + " --threads {{threads}}"
LOGS = f"logs/{CFG.preset}"
# CPU-only presets (the demo) run single-threaded jobs side by side and claim no GPU; GPU
# presets claim one GPU per training/evaluation job (capped by the profile on a workstation).
CPU_ONLY = CFG.device == "cpu"
GPU = 0 if CPU_ONLY else 1
JOB_THREADS = 1 if CPU_ONLY else 4

# A workstation's `gpu` cap (profiles/default) must not serialise jobs on a cluster.
resource_scopes:
    gpu="local",

wildcard_constraints:
    dataset="|".join(CFG.datasets),
    arch="|".join(CFG.archs),
    loss="|".join(sorted(CFG.losses, key=len, reverse=True)),
    seed=r"\d+",
    candidate=r"\d+",
    sweep="|".join(CFG.sweeps) or "no-sweeps",

include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/report.smk"


# Every job of the plan (the same set dvc.yaml defines; tests/pipeline checks it).
rule all:
    default_target: True
    input:
        [out for outs in plan.planned_outputs(CFG).values() for out in outs],
