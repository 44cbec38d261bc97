# Coefficient sweeps (params `sweeps:`): one training per candidate on the train split, scored
# on the VALIDATION split; the best is selected on validation only, then scored once on test.


def _cand(w):
    return plan.candidate_dir(CFG, w.sweep, int(w.candidate))


rule sweep_train:
    input:
        prepared=lambda w: str(plan.prepared_dir(CFG, CFG.sweeps[w.sweep].dataset)),
        features=lambda w: str(plan.features_dir(CFG, CFG.sweeps[w.sweep].dataset,
                                                 CFG.sweeps[w.sweep].arch)),
    output:
        [str(plan.candidate_dir(CFG, "{sweep}", "{candidate}") / f) for f in plan.TRAIN_OUTPUTS],
        directory(str(plan.candidate_dir(CFG, "{sweep}", "{candidate}") / "dvclive")),
    params:
        settings=lambda w: repr((CFG.sweeps[w.sweep], CFG.archs[CFG.sweeps[w.sweep].arch],
                                 CFG.backbone_weights, CFG.seeds[0])),
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/sweep_train/{{sweep}}/cand{{candidate}}.log",
    benchmark:
        f"{LOGS}/sweep_train/{{sweep}}/cand{{candidate}}.benchmark.tsv"
    shell:
        SALLOSS.format(stage="sweep_train") + " --sweep {wildcards.sweep}"
        " --candidate {wildcards.candidate} > {log} 2>&1"


rule sweep_validate:
    input:
        [str(plan.candidate_dir(CFG, "{sweep}", "{candidate}") / f) for f in plan.TRAIN_OUTPUTS],
    output:
        [str(plan.candidate_dir(CFG, "{sweep}", "{candidate}") / f)
         for f in plan.VALIDATE_OUTPUTS],
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/sweep_validate/{{sweep}}/cand{{candidate}}.log",
    shell:
        SALLOSS.format(stage="sweep_validate") + " --sweep {wildcards.sweep}"
        " --candidate {wildcards.candidate} > {log} 2>&1"


rule sweep_select:
    input:
        lambda w: [str(plan.candidate_dir(CFG, w.sweep, k) / "val_metrics.json")
                   for k in CFG.sweeps[w.sweep].candidates],
    output:
        str(plan.sweep_dir(CFG, "{sweep}") / "best.json"),
    log:
        f"{LOGS}/sweep_select/{{sweep}}.log",
    shell:
        SALLOSS.format(stage="sweep_select") + " --sweep {wildcards.sweep} > {log} 2>&1"


rule sweep_test:
    input:
        str(plan.sweep_dir(CFG, "{sweep}") / "best.json"),
    output:
        [str(plan.sweep_dir(CFG, "{sweep}") / "test" / f) for f in plan.SWEEP_TEST_OUTPUTS],
    params:
        settings=lambda w: repr((CFG.evaluation, CFG.report["figure3_images"])),
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/sweep_test/{{sweep}}.log",
    shell:
        SALLOSS.format(stage="sweep_test") + " --sweep {wildcards.sweep} > {log} 2>&1"
