# One training job per (dataset, arch, loss, seed). The resumable checkpoint lives in the run's
# checkpoint/ folder, which is deliberately NOT a declared output (Snakemake deletes declared
# outputs before a job starts, which would defeat resume after pre-emption).
from salloss.pipeline.stages import train_config


def _run_dir(w):
    return plan.run_dir(CFG, w.dataset, w.arch, w.loss, int(w.seed))


rule train:
    input:
        prepared=str(plan.prepared_dir(CFG, "{dataset}")),
        features=str(plan.features_dir(CFG, "{dataset}", "{arch}")),
    output:
        model=str(plan.run_dir(CFG, "{dataset}", "{arch}", "{loss}", "{seed}") / "model.pt"),
        summary=str(plan.run_dir(CFG, "{dataset}", "{arch}", "{loss}", "{seed}") / "summary.json"),
        live=directory(str(plan.run_dir(CFG, "{dataset}", "{arch}", "{loss}", "{seed}") / "dvclive")),
    params:
        checkpoint=lambda w: str(plan.checkpoint_dir(CFG, w.dataset, w.arch, w.loss, int(w.seed))),
        # rerun when anything that determines the result changes (spec, optimiser, sizes, …)
        settings=lambda w: repr(sorted(train_config(CFG, w.arch, w.loss, int(w.seed)).items())),
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/train/{{dataset}}/{{arch}}/{{loss}}/seed{{seed}}.log",
    benchmark:
        f"{LOGS}/train/{{dataset}}/{{arch}}/{{loss}}/seed{{seed}}.benchmark.tsv"
    shell:
        SALLOSS.format(stage="train") + " --dataset {wildcards.dataset} --arch {wildcards.arch}"
        " --loss {wildcards.loss} --seed {wildcards.seed} > {log} 2>&1"
