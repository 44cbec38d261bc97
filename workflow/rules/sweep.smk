# Coefficient sweeps (params `sweeps:`): one training per candidate on the train split, at the
# sweep's OWN seed (`sweeps.<id>.seed`, independent of the seeds the tables report), scored on
# the VALIDATION split; the best is selected on validation only. The winner is then retrained
# at every seed of `seeds` (sweep_seed) and each of those models is scored once on test
# (sweep_test): its row in the tables has one result per seed, like every run.
# As for train.smk, a training's checkpoint/ folder is deliberately NOT a declared output.
from salloss.pipeline.stages import train_config
from salloss.pipeline.sweep import spec_of


def _candidate_settings(w):
    s = CFG.sweeps[w.sweep]
    config = train_config(CFG, s.arch, "", s.seed, spec=spec_of(s, int(w.candidate)))
    return repr(sorted(config.items()))


rule sweep_train:
    input:
        prepared=lambda w: str(plan.prepared_dir(CFG, CFG.sweeps[w.sweep].dataset)),
        features=lambda w: str(plan.features_dir(CFG, CFG.sweeps[w.sweep].dataset,
                                                 CFG.sweeps[w.sweep].arch)),
    output:
        [str(plan.candidate_dir(CFG, "{sweep}", "{candidate}") / f) for f in plan.TRAIN_OUTPUTS],
        directory(str(plan.candidate_dir(CFG, "{sweep}", "{candidate}") / "dvclive")),
    params:
        # rerun when what determines the candidate's result changes (its spec, the sweep seed
        # it trains at, the arch's optimiser and sizes, …) — not when candidates are added
        settings=_candidate_settings,
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
    params:
        settings=lambda w: repr((CFG.evaluation, CFG.sweeps[w.sweep].seed)),
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
    params:
        settings=lambda w: repr(CFG.sweeps[w.sweep]),
    log:
        f"{LOGS}/sweep_select/{{sweep}}.log",
    shell:
        SALLOSS.format(stage="sweep_select") + " --sweep {wildcards.sweep} > {log} 2>&1"


rule sweep_seed:
    input:
        best=str(plan.sweep_dir(CFG, "{sweep}") / "best.json"),  # the spec to train
        prepared=lambda w: str(plan.prepared_dir(CFG, CFG.sweeps[w.sweep].dataset)),
        features=lambda w: str(plan.features_dir(CFG, CFG.sweeps[w.sweep].dataset,
                                                 CFG.sweeps[w.sweep].arch)),
    output:
        [str(plan.sweep_seed_dir(CFG, "{sweep}", "{seed}") / f) for f in plan.TRAIN_OUTPUTS],
        directory(str(plan.sweep_seed_dir(CFG, "{sweep}", "{seed}") / "dvclive")),
    params:
        # the spec comes from best.json (an input); everything else that determines the result
        settings=lambda w: repr(sorted(train_config(
            CFG, CFG.sweeps[w.sweep].arch, "", int(w.seed), spec="<best.json>").items())),
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/sweep_seed/{{sweep}}/seed{{seed}}.log",
    benchmark:
        f"{LOGS}/sweep_seed/{{sweep}}/seed{{seed}}.benchmark.tsv"
    shell:
        SALLOSS.format(stage="sweep_seed") + " --sweep {wildcards.sweep}"
        " --seed {wildcards.seed} > {log} 2>&1"


rule sweep_test:
    input:
        str(plan.sweep_dir(CFG, "{sweep}") / "best.json"),
        [str(plan.sweep_seed_dir(CFG, "{sweep}", "{seed}") / f) for f in plan.TRAIN_OUTPUTS],
    output:
        [str(plan.sweep_test_dir(CFG, "{sweep}", "{seed}") / f) for f in plan.SWEEP_TEST_OUTPUTS],
    params:
        settings=lambda w: repr((CFG.evaluation, CFG.report["figure3_images"])),
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/sweep_test/{{sweep}}/seed{{seed}}.log",
    shell:
        SALLOSS.format(stage="sweep_test") + " --sweep {wildcards.sweep}"
        " --seed {wildcards.seed} > {log} 2>&1"
