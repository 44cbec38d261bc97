"""`salloss run STAGE` (one pipeline job, as Snakemake/DVC call it) and `salloss plan`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from salloss.errors import ConfigError
from salloss.pipeline import plan, stages
from salloss.pipeline.config import load_params

_RUN_HELP = """Run one job of the pipeline. Every setting comes from the params file; the options
only say which job. This is what the Snakemake rules and DVC stages call, so running a job by
hand gives exactly the pipeline's result. Stages: fetch (per dataset: download and verify it,
generate it, or check the user's copy), prepare (per dataset), features (per dataset and
arch), train and evaluate (per run), report, and for each coefficient sweep: sweep_train and
sweep_validate (per candidate, at the sweep's own seed), sweep_select, then sweep_seed and
sweep_test (per seed of the params' seeds: the winner retrained, then scored on the test
split). On a CPU (device: cpu) a job uses ONE thread unless --threads says otherwise: a CPU's
result depends on its thread count in the last bits, and one fixed count makes Snakemake,
dvc repro and every machine agree."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `run` and `plan`."""
    p = subparsers.add_parser("run", help="run one pipeline job (what Snakemake/DVC call)",
                              description=_RUN_HELP)
    stage = p.add_subparsers(dest="stage", metavar="STAGE", required=True)
    specs = {
        "fetch": ("bring a dataset's raw data into its root: download + verify + unpack, "
                  "generate (synthetic), or check the user's copy", ("dataset",)),
        "prepare": ("prepare a fetched dataset: resized stimuli, split, center bias",
                    ("dataset",)),
        "features": ("cache the frozen VGG features of a dataset", ("dataset", "arch")),
        "train": ("train one run (resumes from its checkpoint)",
                  ("dataset", "arch", "loss", "seed")),
        "evaluate": ("predict and score one run's evaluation split",
                     ("dataset", "arch", "loss", "seed")),
        "sweep_train": ("train one candidate of a coefficient sweep", ("sweep", "candidate")),
        "sweep_validate": ("score one sweep candidate on the validation split",
                           ("sweep", "candidate")),
        "sweep_select": ("pick a sweep's best candidate on the validation split", ("sweep",)),
        "sweep_seed": ("train a sweep's selected spec (best.json) at one of the params' seeds",
                       ("sweep", "seed")),
        "sweep_test": ("score a sweep's selected spec, trained at one seed, once on the test "
                       "split", ("sweep", "seed")),
        "report": ("write the tables and figures", ()),
    }
    for name, (help_text, keys) in specs.items():
        s = stage.add_parser(name, help=help_text, description=help_text)
        s.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
        s.add_argument("--threads", type=int, default=None, metavar="N",
                       help="CPU threads for PyTorch/BLAS in this job (default: 1 when the "
                            "params' device is cpu, else all cores); the Snakemake rules pass "
                            "their `threads`")
        for key in keys:
            numeric = key in ("seed", "candidate")
            s.add_argument(f"--{key}", required=True, type=int if numeric else str,
                           help=f"the {key} of the job (a key of the params' {key}s)"
                           if not numeric else f"the {key} (an integer)")
        s.set_defaults(func=_run)
    q = subparsers.add_parser(
        "plan", help="validate a params file and list the jobs it plans",
        description="Validate a params file (every key, loss spec, dataset option and metric) "
                    "and print the planned jobs with their outputs.",
    )
    q.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    q.add_argument("--json", action="store_true", help="print job → outputs as JSON")
    q.set_defaults(func=_plan)


def _set_threads(threads: int) -> None:
    if threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {threads}")
    # read by torch/OpenMP/BLAS at import; a job forked by the warm-start server (or one that
    # has validated its params) has imported torch already, so set its pool directly as well
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        _set_threads(args.threads)
    cfg = load_params(args.params)
    if args.threads is None and cfg.device == "cpu":
        _set_threads(1)  # reproducible bits: see _RUN_HELP
    keys = {k: getattr(args, k) for k in ("dataset", "arch", "loss", "seed", "sweep", "candidate")
            if hasattr(args, k)}
    getattr(stages, args.stage)(cfg, **keys)
    return 0


def _plan(args: argparse.Namespace) -> int:
    cfg = load_params(args.params)
    jobs = plan.planned_outputs(cfg)
    if args.json:
        print(json.dumps(jobs, indent=2))
    else:
        runs = plan.plan_runs(cfg)
        print(f"{args.params}: preset {cfg.preset!r} is valid — {len(runs)} runs, "
              f"{len(jobs)} jobs")
        for job, outs in jobs.items():
            print(f"  {job:60s} -> {', '.join(outs)}")
    return 0
