# Data: fetch (download + verify + unpack, generate, or check the user's copy) into each
# dataset's `root`, prepare, then the frozen-feature caches.
#
# One fetch rule per raw folder (a dataset's root is any path, so it cannot be a wildcard
# pattern); each is named fetch_<dataset>. Its one param is the dataset key (a rule's shell
# string in a loop is evaluated at run time, with the loop's last key; params are bound now);
# no settings in params on purpose: a settings change must not make Snakemake delete (and
# re-download) a raw folder; prepare's params carry them.
_FETCHED = set()
for _key, _d in CFG.datasets.items():
    if _d.root in _FETCHED:  # two dataset keys over one raw folder: one job
        continue
    _FETCHED.add(_d.root)

    rule:
        name:
            f"fetch_{_key}"
        # a download needs the internet, which cluster compute nodes often lack: run it where
        # Snakemake runs (`localrule`), never as a SLURM job
        localrule: True
        output:
            directory(_d.root),
        params:
            dataset=_key,
        threads: JOB_THREADS
        log:
            f"{LOGS}/fetch/{_key}.log",
        benchmark:
            f"{LOGS}/fetch/{_key}.benchmark.tsv"
        shell:
            SALLOSS.format(stage="fetch") + " --dataset {params.dataset} > {log} 2>&1"


rule prepare:
    input:
        lambda w: CFG.datasets[w.dataset].root,
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
