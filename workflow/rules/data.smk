# Data: fetch (when the dataset is downloadable) + prepare, then the frozen-feature caches.


rule prepare:
    output:
        directory(str(plan.prepared_dir(CFG, "{dataset}"))),
    params:
        # rerun when the dataset's settings or the set of input sizes change
        settings=lambda w: repr((CFG.datasets[w.dataset], plan.input_sizes(CFG, w.dataset))),
    log:
        f"{LOGS}/prepare/{{dataset}}.log",
    benchmark:
        f"{LOGS}/prepare/{{dataset}}.benchmark.tsv"
    shell:
        SALLOSS.format(stage="prepare") + " --dataset {wildcards.dataset} > {log} 2>&1"


rule features:
    input:
        str(plan.prepared_dir(CFG, "{dataset}")),
    output:
        directory(str(plan.features_dir(CFG, "{dataset}", "{arch}"))),
    params:
        settings=lambda w: repr((CFG.archs[w.arch].model, CFG.archs[w.arch].input_size,
                                 CFG.backbone_weights)),
    threads: JOB_THREADS
    resources:
        gpu=lambda w: GPU * int(plan.uses_feature_cache(CFG, w.arch)),
    log:
        f"{LOGS}/features/{{dataset}}/{{arch}}.log",
    benchmark:
        f"{LOGS}/features/{{dataset}}/{{arch}}.benchmark.tsv"
    shell:
        SALLOSS.format(stage="features") + " --dataset {wildcards.dataset} --arch {wildcards.arch}"
        " > {log} 2>&1"
