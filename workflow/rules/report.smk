# Aggregation: the list of runs comes from the params (plan.plan_runs), never from a glob.


def _report_inputs(w):
    files = []
    for r in RUNS:
        rd = plan.run_dir(CFG, r.dataset, r.arch, r.loss, r.seed)
        files += [str(rd / f) for f in plan.EVAL_OUTPUTS + plan.TRAIN_OUTPUTS]
        files.append(str(rd / "dvclive"))
    files += [str(plan.prepared_dir(CFG, d)) for d in CFG.datasets]
    files.append(CFG.report["reference"])  # the paper's published values
    for sid in CFG.sweeps:  # each sweep's winner is a row of its table, one result per seed
        files.append(str(plan.sweep_dir(CFG, sid) / "best.json"))
        for s in CFG.seeds:
            files += [str(plan.sweep_test_dir(CFG, sid, s) / f) for f in plan.SWEEP_TEST_OUTPUTS]
    return files


rule report:
    input:
        _report_inputs,
    output:
        report(
            directory(str(plan.report_dir(CFG))),
            patterns=["figures/{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    params:
        settings=lambda w: repr((CFG.report, CFG.grid, CFG.losses, CFG.seeds, CFG.evaluation,
                                 CFG.datasets, CFG.sweeps)),
    log:
        f"{LOGS}/report.log",
    benchmark:
        f"{LOGS}/report.benchmark.tsv"
    shell:
        SALLOSS.format(stage="report") + " > {log} 2>&1"
