"""The params schema (params.yaml, config/paper.yaml): validated before any job is planned.

Every error names the key's path in the file (e.g. ``grid.table2.losses[3]``) and the valid
choices. Validation is complete up front: dataset options, loss specs, training settings and
metric names are all checked against the registries they will be looked up in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from salloss.errors import ConfigError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
TOP_KEYS = {
    "preset": "name of this preset; artefacts go to <results_dir>/<preset>/ (required)",
    "description": "free text shown in the report",
    "seeds": "training seeds; every run is repeated per seed (list of ints >= 0)",
    "device": "auto | cpu | cuda | cuda:N",
    "backbone_weights": "VGG-16 weights for models and perceptual losses: imagenet | none | PATH",
    "data_dir": "where raw and prepared datasets live (default: data)",
    "results_dir": "where run artefacts and reports go (default: results)",
    "datasets": "dataset key -> {loader, root, options, split, split_seed, fetch, synthesize}",
    "archs": "architecture key -> {model, input_size, model_options, train}",
    "losses": "loss id -> loss spec string (see `salloss losses`)",
    "grid": "group -> {datasets, archs, losses}: the runs of each results table",
    "evaluation": "{split, convention, metrics, empirical_sigma}",
    "report": "{figure3_losses, figure3_images, figure4_group, reference, conventions_loss}",
    "sweeps": "sweep id -> {dataset, arch, group, terms, coef_range, candidates, seed, select}: "
              "random search over a combination's coefficients (optional)",
}
DATASET_KEYS = ("loader", "root", "options", "split", "split_seed", "fetch", "center_bias_size",
                "synthesize")
ARCH_KEYS = ("model", "input_size", "model_options", "train")
GRID_KEYS = ("datasets", "archs", "losses")
EVAL_KEYS = ("split", "convention", "metrics", "empirical_sigma")
REPORT_KEYS = ("figure3_losses", "figure3_images", "figure4_group", "reference",
               "conventions_loss")
SWEEP_KEYS = ("dataset", "arch", "group", "terms", "coef_range", "candidates", "seed", "select")
# Training settings owned by the pipeline (the rest of TrainConfig may be set under `train`).
PIPELINE_OWNED = {"arch", "loss", "weights", "seed", "input_size", "model_options", "device"}


@dataclass(frozen=True)
class DatasetCfg:
    """One dataset of a preset; `loader` is a `salloss.data` loader name."""

    key: str
    loader: str
    root: str
    options: dict[str, Any]
    split: Any
    split_seed: int
    fetch: bool
    center_bias_size: tuple[int, int] | None
    # rehearsal: write `salloss data synth` data in this loader's layout instead of downloading
    # (None: no; an int: that many images; the real count when `true`)
    synthesize: int | None = None


@dataclass(frozen=True)
class ArchCfg:
    """One architecture: a `salloss.models` name, its input size and training settings."""

    key: str
    model: str
    input_size: tuple[int, int]
    model_options: dict[str, Any]
    train: dict[str, Any]


@dataclass(frozen=True)
class SweepCfg:
    """A random search over the coefficients of `terms` (see `salloss.pipeline.sweep`): one
    training per candidate index at `seed` (which also draws the coefficients), selected on
    the validation split by `select`; the winner is retrained at every seed of the params'
    `seeds`, each scored once on the test split, and reported as a row of grid group `group`."""

    key: str
    dataset: str
    arch: str
    group: str
    terms: tuple[str, ...]
    coef_range: tuple[float, float]
    candidates: tuple[int, ...]
    seed: int
    select: str


@dataclass(frozen=True)
class PipelineConfig:
    """A validated params file (see `TOP_KEYS`)."""

    path: str
    preset: str
    description: str
    seeds: tuple[int, ...]
    device: str
    backbone_weights: str
    data_dir: str
    results_dir: str
    datasets: dict[str, DatasetCfg]
    archs: dict[str, ArchCfg]
    losses: dict[str, str]
    grid: dict[str, dict[str, tuple[str, ...]]]
    evaluation: dict[str, Any]
    report: dict[str, Any]
    sweeps: dict[str, SweepCfg] = field(default_factory=dict)
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def load_params(path: str | Path) -> PipelineConfig:
    """Read and validate a params file; raise `ConfigError` naming the file and key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file not found: {path}")
    try:
        # libyaml's loader when PyYAML has it: ~10x faster, and every pipeline job reads this
        raw = yaml.load(path.read_text(encoding="utf-8"),
                        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    try:
        return validate(raw, str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def validate(raw: Any, path: str = "<params>") -> PipelineConfig:
    """Validate a parsed params mapping (the schema is `TOP_KEYS`)."""
    top = _mapping(raw, "(top level)")
    _known(top, TOP_KEYS, "(top level)")
    preset = _ident(_required(top, "preset", "(top level)"), "preset")
    seeds = tuple(_int_list(top.get("seeds", [0]), "seeds", minimum=0))
    if not seeds:
        raise ConfigError("seeds: give at least one seed, e.g. [0]")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds: duplicates in {list(seeds)}")
    device = str(top.get("device", "auto"))
    if not (device in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", device)):
        raise ConfigError(f"device: {device!r}; valid choices: auto, cpu, cuda, cuda:N")
    weights = str(top.get("backbone_weights", "imagenet"))
    data_dir = str(top.get("data_dir", "data"))
    datasets = {
        k: _dataset(k, v, data_dir)
        for k, v in _mapping(_required(top, "datasets", "(top level)"), "datasets").items()
    }
    archs = {
        k: _arch(k, v, weights)
        for k, v in _mapping(_required(top, "archs", "(top level)"), "archs").items()
    }
    losses = _losses(_mapping(_required(top, "losses", "(top level)"), "losses"))
    grid = _grid(_mapping(_required(top, "grid", "(top level)"), "grid"), datasets, archs, losses)
    evaluation = _evaluation(top.get("evaluation", {}), datasets)
    report = _report(top.get("report", {}), losses, grid)
    sweeps = {k: _sweep(k, v, datasets, archs, losses, grid, evaluation)
              for k, v in _mapping(top.get("sweeps", {}) or {}, "sweeps").items()}
    cfg = PipelineConfig(
        path=path, preset=preset, description=str(top.get("description", "")), seeds=seeds,
        device=device, backbone_weights=weights, data_dir=data_dir,
        results_dir=str(top.get("results_dir", "results")), datasets=datasets, archs=archs,
        losses=losses, grid=grid, evaluation=evaluation, report=report, sweeps=sweeps, raw=top,
    )
    _check_runs_disjoint(cfg)
    _check_all_used(cfg)
    return cfg


# --- sections -----------------------------------------------------------------------------


def _dataset(key: str, raw: Any, data_dir: str) -> DatasetCfg:
    from salloss.data.registry import DATASETS, dataset_options

    where = f"datasets.{_ident(key, 'datasets key')}"
    d = _mapping(raw, where)
    _known(d, DATASET_KEYS, where)
    loader = d.get("loader", key)
    usable = sorted(n for n in DATASETS if n != "mit300")  # MIT300 has no ground truth
    if loader not in usable:
        raise ConfigError(f"{where}.loader: unknown dataset loader {loader!r}; valid choices: "
                          f"{', '.join(usable)}")
    options = _mapping(d.get("options", {}) or {}, f"{where}.options")
    valid = dataset_options(loader)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"{where}.options: unknown option(s) {', '.join(unknown)} for loader "
                          f"{loader!r}; valid options: {', '.join(sorted(valid)) or 'none'}")
    split = d.get("split")
    if split is not None and not isinstance(split, str | list | dict):
        raise ConfigError(f"{where}.split: expected sizes like '500,200,rest', a list of 3 "
                          f"sizes, or a split file path; got {split!r}")
    split_seed = _int(d.get("split_seed", 0), f"{where}.split_seed", minimum=0)
    cbs = d.get("center_bias_size")
    synth = _synthesize(d.get("synthesize"), loader, f"{where}.synthesize")
    return DatasetCfg(
        key=key, loader=loader, root=_root(d.get("root"), where, key),
        options=dict(options), split=split, split_seed=split_seed,
        fetch=bool(d.get("fetch", loader not in ("synthetic", "folder") and synth is None)),
        center_bias_size=None if cbs is None else _size(cbs, f"{where}.center_bias_size"),
        synthesize=synth,
    )


def _root(value: Any, where: str, key: str) -> str:
    """The dataset's raw folder: required, because it is the fetch stage's output in dvc.yaml
    (which can only read what params.yaml states) as in the Snakefile."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{where}.root: required — the folder that holds (or will receive, when salloss "
            f"downloads or generates it) the raw dataset, e.g. `root: data/raw/{key}`; got "
            f"{value!r}")
    return value.strip()


def _synthesize(value: Any, loader: str, where: str) -> int | None:
    """`synthesize: true` (the real count) or a number of images, for loaders with a
    `salloss data synth` layout; None when absent or false."""
    from salloss.data.synthlayout import LAYOUTS

    if value is None or value is False:
        return None
    if loader not in LAYOUTS:
        raise ConfigError(f"{where}: loader {loader!r} has no synthetic layout; valid loaders: "
                          f"{', '.join(LAYOUTS)}")
    count = LAYOUTS[loader].count
    if value is True:
        return count
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= count:
        raise ConfigError(f"{where}: expected true (all {count} images) or a number of images "
                          f"in 1…{count}, got {value!r}")
    return value


def _arch(key: str, raw: Any, weights: str) -> ArchCfg:
    from salloss.models import registry
    from salloss.training.config import TrainConfig

    where = f"archs.{_ident(key, 'archs key')}"
    a = _mapping(raw, where)
    _known(a, ARCH_KEYS, where)
    model = a.get("model", key)
    if model not in registry.MODELS:
        raise ConfigError(f"{where}.model: unknown architecture {model!r}; valid choices: "
                          f"{', '.join(registry.available())}")
    size = _size(_required(a, "input_size", where), f"{where}.input_size")
    train = dict(_mapping(a.get("train", {}) or {}, f"{where}.train"))
    owned = sorted(PIPELINE_OWNED & set(train))
    if owned:
        raise ConfigError(f"{where}.train: {', '.join(owned)} are set by the pipeline (arch, "
                          "loss, seed, backbone_weights, input_size, model_options, device); "
                          "remove them here")
    model_options = dict(_mapping(a.get("model_options", {}) or {}, f"{where}.model_options"))
    try:  # full validation of the training settings, with TrainConfig's own messages
        TrainConfig.from_dict({**train, "arch": model, "loss": "mse", "weights": weights,
                               "input_size": size, "model_options": model_options})
    except ConfigError as exc:
        raise ConfigError(f"{where}.train: {exc}") from None
    return ArchCfg(key=key, model=model, input_size=size, model_options=model_options,
                   train=train)


def _losses(raw: dict[str, Any]) -> dict[str, str]:
    from salloss.losses.spec import parse

    out = {}
    for key, spec in raw.items():
        where = f"losses.{_ident(key, 'loss id')}"
        if not isinstance(spec, str):
            raise ConfigError(f"{where}: expected a loss spec string, got {spec!r}")
        try:
            parse(spec)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        out[key] = spec
    if not out:
        raise ConfigError("losses: define at least one loss (id: spec)")
    return out


def _grid(raw: dict[str, Any], datasets: dict, archs: dict, losses: dict) -> dict:
    out = {}
    choices = {"datasets": datasets, "archs": archs, "losses": losses}
    singular = {"datasets": "dataset", "archs": "arch", "losses": "loss"}
    for group, spec in raw.items():
        where = f"grid.{_ident(group, 'grid group')}"
        g = _mapping(spec, where)
        _known(g, GRID_KEYS, where)
        cell = {}
        for axis in GRID_KEYS:
            values = _required(g, axis, where)
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}.{axis}: expected a non-empty list")
            for i, v in enumerate(values):
                if v not in choices[axis]:
                    raise ConfigError(
                        f"{where}.{axis}[{i}]: unknown {singular[axis]} {v!r}; valid choices: "
                        f"{', '.join(choices[axis])}"
                    )
            if len(set(values)) != len(values):
                raise ConfigError(f"{where}.{axis}: duplicate entries in {values}")
            cell[axis] = tuple(values)
        out[group] = cell
    if not out:
        raise ConfigError("grid: define at least one group")
    return out


def _evaluation(raw: Any, datasets: dict[str, DatasetCfg]) -> dict[str, Any]:
    """``convention`` (mit | tuebingen) picks the metric code and names; ``empirical_sigma``
    (dataset key → px) overrides the Tübingen empirical map's σ, resolved here for every
    dataset (`salloss.metrics.tuebingen_scoring.benchmark_sigma` by default)."""
    from salloss.metrics.scoring import CONVENTIONS, default_metrics, registry
    from salloss.metrics.tuebingen_scoring import NO_IG, benchmark_sigma

    e = _mapping(raw or {}, "evaluation")
    _known(e, EVAL_KEYS, "evaluation")
    split = e.get("split", "test")
    if split not in ("train", "val", "test"):
        raise ConfigError(f"evaluation.split: {split!r}; valid choices: train, val, test")
    convention = e.get("convention", "mit")
    if convention not in CONVENTIONS:
        raise ConfigError(f"evaluation.convention: {convention!r}; valid choices: "
                          f"{', '.join(CONVENTIONS)}")
    metrics = e.get("metrics", list(default_metrics(convention)))
    if not isinstance(metrics, list) or not metrics:
        raise ConfigError("evaluation.metrics: expected a non-empty list")
    known = registry(convention)
    for i, m in enumerate(metrics):
        if m == "IG" and convention == "tuebingen":
            raise ConfigError(f"evaluation.metrics[{i}]: {NO_IG}")
        if m not in known:
            raise ConfigError(f"evaluation.metrics[{i}]: unknown metric {m!r} in the "
                              f"{convention!r} convention; valid choices: {', '.join(known)}")
    if len(set(metrics)) != len(metrics):
        raise ConfigError(f"evaluation.metrics: duplicate entries in {metrics}")
    given = _mapping(e.get("empirical_sigma", {}) or {}, "evaluation.empirical_sigma")
    unknown = sorted(set(given) - set(datasets))
    if unknown:
        raise ConfigError(f"evaluation.empirical_sigma: unknown dataset(s) {', '.join(unknown)}; "
                          f"valid choices: {', '.join(datasets)}")
    sigma = {}
    for key, d in datasets.items():
        value = given.get(key, benchmark_sigma(d.loader, d.options))
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ConfigError(f"evaluation.empirical_sigma.{key}: expected a number of pixels "
                              f"> 0, got {value!r}")
        sigma[key] = float(value)
    return {"split": split, "convention": convention, "metrics": tuple(metrics),
            "empirical_sigma": sigma}


def _report(raw: Any, losses: dict, grid: dict) -> dict[str, Any]:
    r = _mapping(raw or {}, "report")
    _known(r, REPORT_KEYS, "report")
    fig3 = r.get("figure3_losses", list(losses)[:4])
    if not isinstance(fig3, list):
        raise ConfigError("report.figure3_losses: expected a list of loss ids")
    for i, v in enumerate(fig3):
        if v not in losses:
            raise ConfigError(f"report.figure3_losses[{i}]: unknown loss id {v!r}; valid "
                              f"choices: {', '.join(losses)}")
    n = _int(r.get("figure3_images", 4), "report.figure3_images", minimum=1)
    fig4 = r.get("figure4_group")
    if fig4 is not None and fig4 not in grid:
        raise ConfigError(f"report.figure4_group: unknown grid group {fig4!r}; valid choices: "
                          f"{', '.join(grid)}")
    conv = r.get("conventions_loss")
    if conv is not None and conv not in losses:
        raise ConfigError(f"report.conventions_loss: unknown loss id {conv!r}; valid choices: "
                          f"{', '.join(losses)}")
    return {"figure3_losses": tuple(fig3), "figure3_images": n, "figure4_group": fig4,
            "reference": str(r.get("reference", "results/paper_reference")),
            "conventions_loss": conv}


def _sweep(key: str, raw: Any, datasets: dict, archs: dict, losses: dict, grid: dict,
           evaluation: dict) -> SweepCfg:
    from salloss.pipeline.sweep import check_terms

    where = f"sweeps.{_ident(key, 'sweep id')}"
    if key in losses:
        raise ConfigError(f"{where}: the sweep id names its row in the tables; it must differ "
                          f"from the loss ids ({key!r} is one)")
    s = _mapping(raw, where)
    _known(s, SWEEP_KEYS, where)
    choices = {"dataset": datasets, "arch": archs, "group": grid}
    picked = {}
    for name, valid in choices.items():
        value = _required(s, name, where)
        if value not in valid:
            raise ConfigError(f"{where}.{name}: unknown {name} {value!r}; valid choices: "
                              f"{', '.join(valid)}")
        picked[name] = value
    g = grid[picked["group"]]
    if g["datasets"] != (picked["dataset"],) or g["archs"] != (picked["arch"],):
        raise ConfigError(f"{where}.group: the best candidate becomes a row of grid group "
                          f"{picked['group']!r}, so that group must hold exactly dataset "
                          f"{picked['dataset']!r} and arch {picked['arch']!r}")
    terms = _required(s, "terms", where)
    check_terms(terms, f"{where}.terms")
    lo_hi = s.get("coef_range", [0.1, 10.0])
    if (not isinstance(lo_hi, list) or len(lo_hi) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in lo_hi)
            or not 0 < lo_hi[0] < lo_hi[1]):
        raise ConfigError(f"{where}.coef_range: expected [low, high] with 0 < low < high, got "
                          f"{lo_hi!r}")
    candidates = _int_list(_required(s, "candidates", where), f"{where}.candidates", minimum=0)
    if not candidates or len(set(candidates)) != len(candidates):
        raise ConfigError(f"{where}.candidates: give distinct candidate indices, e.g. [0, 1, 2]")
    select = s.get("select", "CC")
    if select not in evaluation["metrics"]:
        raise ConfigError(f"{where}.select: {select!r} is not one of evaluation.metrics "
                          f"({', '.join(evaluation['metrics'])})")
    return SweepCfg(key=key, dataset=picked["dataset"], arch=picked["arch"],
                    group=picked["group"], terms=tuple(terms),
                    coef_range=(float(lo_hi[0]), float(lo_hi[1])),
                    candidates=tuple(candidates),
                    seed=_int(s.get("seed", 0), f"{where}.seed", minimum=0), select=select)


def _check_runs_disjoint(cfg: PipelineConfig) -> None:
    """Two grid groups must not plan the same (dataset, arch, loss): DVC refuses overlapping
    stage outputs, and a run belongs to one table group."""
    seen: dict[tuple[str, str, str], str] = {}
    for group, g in cfg.grid.items():
        for d in g["datasets"]:
            for a in g["archs"]:
                for loss in g["losses"]:
                    other = seen.setdefault((d, a, loss), group)
                    if other != group:
                        raise ConfigError(
                            f"grid.{group}: run ({d}, {a}, {loss}) is also in grid.{other}; "
                            "each run belongs to one group (reports may read any group)"
                        )


def _check_all_used(cfg: PipelineConfig) -> None:
    """Every dataset and arch is prepared/cached for the whole product, so an unused one
    would cost preparation time for nothing: refuse it with a pointer to the fix."""
    for section in ("datasets", "archs"):
        used = {v for g in cfg.grid.values() for v in g[section]}
        for key in getattr(cfg, section):
            if key not in used:
                raise ConfigError(f"{section}.{key} is not used by any grid group; add it to a "
                                  f"group's {section} list or remove it")


# --- small validators -----------------------------------------------------------------------


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _known(d: dict[str, Any], valid: Any, where: str) -> None:
    unknown = [k for k in d if k not in valid]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; valid keys: "
                          f"{', '.join(valid)}")


def _required(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ConfigError(f"{where}: missing required key {key!r}")
    return d[key]


def _ident(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ConfigError(f"{what} {value!r}: use letters, digits, '.', '_' or '-' (it becomes "
                          "part of file paths and stage names)")
    return value


def _int(value: Any, where: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def _int_list(value: Any, where: str, minimum: int) -> list[int]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of integers, got {value!r}")
    return [_int(v, f"{where}[{i}]", minimum) for i, v in enumerate(value)]


def _size(value: Any, where: str) -> tuple[int, int]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int) and v >= 32 for v in value)):
        raise ConfigError(f"{where}: expected [height, width] in pixels (each >= 32), "
                          f"got {value!r}")
    return int(value[0]), int(value[1])
