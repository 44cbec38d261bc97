"""The benchmarks a trained run can be exported to, and how to open their test stimuli.

Each entry says which `salloss.data` loader holds the benchmark's stimuli, how a user fetches
them (the error message for a missing root quotes the command), and what the benchmark asks
of a submission. Both ask for one 8-bit JPEG per test image with the image's file name and
size (CAT2000 also keeps the test set's ``<Category>/`` folders), zipped in a folder named
after the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salloss.data.records import Dataset
from salloss.errors import ConfigError, DataError


@dataclass(frozen=True)
class Benchmark:
    """One benchmark's test set: loader name/options, fetch command, submission page."""

    name: str
    dataset: str
    title: str
    layout: str  # how the stimuli lie under the root, for messages
    fetch: str  # `salloss data fetch` arguments after the dataset name and --root
    page: str  # the benchmark's own submission instructions
    options: dict[str, Any] = field(default_factory=dict)
    expected_count: int | None = None


BENCHMARKS: dict[str, Benchmark] = {
    "mit300": Benchmark(
        name="mit300", dataset="mit300", title="MIT300 (MIT/Tuebingen saliency benchmark)",
        layout="BenchmarkIMAGES/i<N>.jpg", fetch="",
        page="https://saliency.mit.edu/submission_mit300.html", expected_count=300,
    ),
    "cat2000": Benchmark(
        name="cat2000", dataset="cat2000", title="CAT2000 test set (MIT/Tuebingen benchmark)",
        layout="testSet/Stimuli/<Category>/NNN.jpg", fetch=" --include-optional",
        page="https://saliency.mit.edu/submission_cat2000.html", options={"split": "test"},
        expected_count=2000,
    ),
}


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called `name`; ConfigError listing the valid names otherwise."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ConfigError(
            f"unknown benchmark dataset {name!r}; valid choices: {', '.join(BENCHMARKS)}"
        ) from None


def fetch_command(benchmark: Benchmark, root: str | Path) -> str:
    """The command line that downloads and unpacks this benchmark's stimuli into `root`."""
    return f"salloss data fetch {benchmark.dataset} --root {root}{benchmark.fetch}"


def open_stimuli(benchmark: Benchmark, root: str | Path) -> Dataset:
    """The benchmark's test stimuli under `root` (lazy records, natural order of ids).

    A missing or incomplete root is a DataError that says where the files were expected and
    which command fetches them.
    """
    from salloss.data import open_dataset

    root = Path(root)
    hint = f"fetch them with `{fetch_command(benchmark, root)}`"
    if not root.is_dir():
        raise DataError(f"{benchmark.name}: data root {root} does not exist; {hint} "
                        f"(expected {benchmark.layout} under it)")
    try:
        dataset = open_dataset(benchmark.dataset, root, **benchmark.options)
    except DataError as exc:
        raise DataError(f"{benchmark.name}: no test stimuli ({benchmark.layout}) under {root}; "
                        f"{hint}.\n{exc}") from exc
    return dataset
