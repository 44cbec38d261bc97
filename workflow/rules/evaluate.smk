# One evaluation job per training: predictions at each image's original size, scored with the
# MIT-benchmark metrics (per-image CSV + summary), plus a few predictions for the figures.


rule evaluate:
    input:
        prepared=str(plan.prepared_dir(CFG, "{dataset}")),
        features=str(plan.features_dir(CFG, "{dataset}", "{arch}")),
        model=str(plan.run_dir(CFG, "{dataset}", "{arch}", "{loss}", "{seed}") / "model.pt"),
        summary=str(plan.run_dir(CFG, "{dataset}", "{arch}", "{loss}", "{seed}") / "summary.json"),
    output:
        [str(plan.run_dir(CFG, "{dataset}", "{arch}", "{loss}", "{seed}") / f)
         for f in plan.EVAL_OUTPUTS],
    params:
        settings=lambda w: repr((CFG.evaluation, CFG.report["figure3_images"])),
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/evaluate/{{dataset}}/{{arch}}/{{loss}}/seed{{seed}}.log",
    benchmark:
        f"{LOGS}/evaluate/{{dataset}}/{{arch}}/{{loss}}/seed{{seed}}.benchmark.tsv"
    shell:
        SALLOSS.format(stage="evaluate") + " --dataset {wildcards.dataset} --arch {wildcards.arch}"
        " --loss {wildcards.loss} --seed {wildcards.seed} > {log} 2>&1"
