"""Benchmark submissions: a trained run's MIT300 / CAT2000-test maps in the benchmarks' format.

`export_submission(run_dir, dataset, root, out_dir)` is the entry point (`salloss export` on
the command line); `BENCHMARKS` lists the benchmarks; `predict_stimuli` is the batched
stimulus → original-size map step, usable on any `salloss.data` dataset.
"""

from salloss.export.benchmarks import BENCHMARKS, Benchmark, get_benchmark, open_stimuli
from salloss.export.export import (
    MANIFEST,
    NOTE,
    default_name,
    export_submission,
    finished_summary,
    predict_stimuli,
)

__all__ = [
    "BENCHMARKS",
    "MANIFEST",
    "NOTE",
    "Benchmark",
    "default_name",
    "export_submission",
    "finished_summary",
    "get_benchmark",
    "open_stimuli",
    "predict_stimuli",
]
