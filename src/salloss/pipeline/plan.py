"""The run grid and every artefact path, as pure functions of the validated params.

Paths (DESIGN.md): a run's artefacts live in
``<results>/<preset>/runs/<dataset>/<arch>/<loss_id>/seed<k>/``; prepared data in
``<data>/prepared/<preset>/<dataset>/``; the baseline's frozen-feature cache in
``<data>/features/<preset>/<dataset>/<arch>/``; the report in ``<results>/<preset>/report/``.
Aggregation reads this list of runs — never a directory glob, so runs dropped from the grid
do not reappear in tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from salloss.pipeline.config import PipelineConfig

# Files each stage declares as outputs (relative to its folder).
TRAIN_OUTPUTS = ("model.pt", "summary.json")
EVAL_OUTPUTS = ("scores.csv", "metrics.json", "preview.npz", "conventions.json")
VALIDATE_OUTPUTS = ("val_scores.csv", "val_metrics.json")
SWEEP_TEST_OUTPUTS = ("scores.csv", "metrics.json", "preview.npz", "summary.json")
PREPARED_MARKER = "manifest.json"
FEATURES_MARKER = "manifest.json"
REPORT_MARKER = "report.json"


@dataclass(frozen=True, order=True)
class Run:
    """One training run: (dataset, arch, loss id, seed) and the grid group it belongs to."""

    group: str
    dataset: str
    arch: str
    loss: str
    seed: int

    def key(self) -> tuple[str, str, str, int]:
        return (self.dataset, self.arch, self.loss, self.seed)


def plan_runs(cfg: PipelineConfig) -> list[Run]:
    """Every run of the grid × seeds, in params order (groups, datasets, archs, losses, seeds)."""
    runs = []
    for group, g in cfg.grid.items():
        for d in g["datasets"]:
            for a in g["archs"]:
                for loss in g["losses"]:
                    for s in cfg.seeds:
                        runs.append(Run(group, d, a, loss, s))
    return runs


def run_dir(cfg: PipelineConfig, dataset: str, arch: str, loss: str, seed: int) -> Path:
    """Folder of one run's artefacts."""
    return runs_root(cfg) / dataset / arch / loss / f"seed{seed}"


def runs_root(cfg: PipelineConfig) -> Path:
    """Parent folder of every run (the report stage depends on it as a whole)."""
    return Path(cfg.results_dir) / cfg.preset / "runs"


def checkpoint_dir(cfg: PipelineConfig, dataset: str, arch: str, loss: str, seed: int) -> Path:
    """Where the trainer keeps its resumable checkpoint. Deliberately NOT a declared output:
    Snakemake and DVC delete declared outputs before a job starts, which would defeat resume."""
    return run_dir(cfg, dataset, arch, loss, seed) / "checkpoint"


def raw_dir(cfg: PipelineConfig, dataset: str) -> Path:
    """Folder the dataset's archives are unpacked into (its loader's `root`)."""
    return Path(cfg.datasets[dataset].root)


def prepared_dir(cfg: PipelineConfig, dataset: str) -> Path:
    """Prepared (resized, memory-mappable) copy of a dataset, with split and center bias."""
    return Path(cfg.data_dir) / "prepared" / cfg.preset / dataset


def targets_dir(cfg: PipelineConfig, dataset: str) -> Path:
    """Training targets resized to each model output size, shared by the runs of a dataset.
    A cache, not an artefact: no stage declares it, and it must stay OUTSIDE the prepared
    folder — writing into another stage's output would make DVC see that output modified."""
    return Path(cfg.data_dir) / "cache" / cfg.preset / dataset / "targets"


def features_dir(cfg: PipelineConfig, dataset: str, arch: str) -> Path:
    """Cached frozen-VGG features of `dataset` for architecture `arch` (baseline only)."""
    return Path(cfg.data_dir) / "features" / cfg.preset / dataset / arch


def sweep_dir(cfg: PipelineConfig, sweep: str) -> Path:
    """A sweep's folder: candidates/cand<k>/ per candidate (trained at the sweep's own seed),
    best.json (the winner, selected on the validation split), and seeds/seed<s>/ per seed of
    the params' `seeds` (the winner retrained at that seed, and its test/ scores)."""
    return Path(cfg.results_dir) / cfg.preset / "sweeps" / sweep


def sweep_seed_dir(cfg: PipelineConfig, sweep: str, seed: int) -> Path:
    """The sweep winner's training at seed `seed` (a run folder: TRAIN_OUTPUTS, dvclive/, and
    its resumable checkpoint/, which is not a declared output)."""
    return sweep_dir(cfg, sweep) / "seeds" / f"seed{seed}"


def sweep_test_dir(cfg: PipelineConfig, sweep: str, seed: int) -> Path:
    """The sweep winner's seed-`seed` model scored once on the test split (SWEEP_TEST_OUTPUTS)."""
    return sweep_seed_dir(cfg, sweep, seed) / "test"


def candidate_dir(cfg: PipelineConfig, sweep: str, candidate: int) -> Path:
    """One candidate's training run and validation scores."""
    return sweep_dir(cfg, sweep) / "candidates" / f"cand{candidate}"


def report_dir(cfg: PipelineConfig) -> Path:
    """Tables and figures of the preset."""
    return Path(cfg.results_dir) / cfg.preset / "report"


def uses_feature_cache(cfg: PipelineConfig, arch: str) -> bool:
    """Architectures with a frozen backbone share one feature cache per dataset: the baseline,
    and the `encdec` family unless ``model_options.finetune`` trains its encoder."""
    a = cfg.archs[arch]
    return a.model == "baseline" or (a.model == "encdec"
                                     and not a.model_options.get("finetune", False))


def runs_on(cfg: PipelineConfig, dataset: str, arch: str) -> bool:
    """Whether any planned run trains `arch` on `dataset` (sweep candidates included)."""
    if any(r.dataset == dataset and r.arch == arch for r in plan_runs(cfg)):
        return True
    return any(s.dataset == dataset and s.arch == arch for s in cfg.sweeps.values())


def feature_jobs(cfg: PipelineConfig) -> list[tuple[str, str]]:
    """Every (dataset, arch) pair of the params. For an arch without a frozen backbone the job
    only writes a marker; keeping the full product lets dvc.yaml express it as one matrix."""
    return [(d, a) for d in cfg.datasets for a in cfg.archs]


def input_sizes(cfg: PipelineConfig, dataset: str) -> list[tuple[int, int]]:
    """Every model input size a dataset is prepared at (one per arch of the params)."""
    sizes: list[tuple[int, int]] = []
    for a in cfg.archs.values():
        if a.input_size not in sizes:
            sizes.append(a.input_size)
    return sizes


def planned_outputs(cfg: PipelineConfig) -> dict[str, list[str]]:
    """Job id → declared outputs for every job of the pipeline.

    This is the contract that the Snakefile and dvc.yaml both implement; a test checks both
    against it (same jobs, same outputs).
    """
    jobs: dict[str, list[str]] = {}
    for d in cfg.datasets:
        jobs[f"fetch/{d}"] = [str(Path(cfg.datasets[d].root))]
    for d in cfg.datasets:
        jobs[f"prepare/{d}"] = [str(prepared_dir(cfg, d))]
    for d, a in feature_jobs(cfg):
        jobs[f"features/{d}/{a}"] = [str(features_dir(cfg, d, a))]
    for r in plan_runs(cfg):
        rd = run_dir(cfg, r.dataset, r.arch, r.loss, r.seed)
        tag = f"{r.dataset}/{r.arch}/{r.loss}/seed{r.seed}"
        jobs[f"train/{tag}"] = [str(rd / f) for f in TRAIN_OUTPUTS] + [str(rd / "dvclive")]
        jobs[f"evaluate/{tag}"] = [str(rd / f) for f in EVAL_OUTPUTS]
    for sid, sw in cfg.sweeps.items():
        for k in sw.candidates:
            cd = candidate_dir(cfg, sid, k)
            jobs[f"sweep_train/{sid}/cand{k}"] = [str(cd / f) for f in TRAIN_OUTPUTS] + [
                str(cd / "dvclive")]
            jobs[f"sweep_validate/{sid}/cand{k}"] = [str(cd / f) for f in VALIDATE_OUTPUTS]
        jobs[f"sweep_select/{sid}"] = [str(sweep_dir(cfg, sid) / "best.json")]
        for s in cfg.seeds:  # the winner, retrained at every seed the tables report
            sd = sweep_seed_dir(cfg, sid, s)
            jobs[f"sweep_seed/{sid}/seed{s}"] = [str(sd / f) for f in TRAIN_OUTPUTS] + [
                str(sd / "dvclive")]
            jobs[f"sweep_test/{sid}/seed{s}"] = [str(sweep_test_dir(cfg, sid, s) / f)
                                                 for f in SWEEP_TEST_OUTPUTS]
    jobs["report"] = [str(report_dir(cfg))]
    return jobs
