"""Fixtures of the report tests: prepared synthetic datasets shared by the session, and fake run
trees (see report_fakes.py) built per test or per module."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import report_fakes  # noqa: E402


@pytest.fixture(scope="session")
def fakes():
    return report_fakes


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """Prepared datasets of the tiny preset (built once; the trees below share them)."""
    from salloss.pipeline.config import load_params

    root = tmp_path_factory.mktemp("report-data")
    content = report_fakes.params(root / "data", root / "unused")
    cfg = load_params(report_fakes.write_params(root / "params.yaml", content))
    report_fakes.prepare(cfg)
    return root / "data"


@pytest.fixture(scope="session")
def template(data_dir, tmp_path_factory) -> Path:
    """A results folder with every run of the full tiny preset (both seeds), written once;
    tests copy it (a smaller grid simply reads a subset of it)."""
    from salloss.pipeline.config import load_params

    root = tmp_path_factory.mktemp("report-template")
    cfg = load_params(report_fakes.write_params(
        root / "params.yaml", report_fakes.params(data_dir, root / "results")))
    report_fakes.write_tree(cfg)
    return root / "results"


def _tree(data_dir: Path, template: Path, folder: Path, **overrides):
    from salloss.pipeline.config import load_params

    if not (folder / "results").exists():
        shutil.copytree(template, folder / "results")
    content = report_fakes.params(data_dir, folder / "results")
    content.update(overrides)
    return load_params(report_fakes.write_params(folder / "params.yaml", content))


@pytest.fixture
def make_tree(data_dir, template, tmp_path):
    """make_tree(**params_overrides) -> cfg: a params file in tmp_path over a copy of the
    template run tree (copied on the first call; later calls rewrite only the params)."""

    def make(**overrides):
        return _tree(data_dir, template, tmp_path, **overrides)

    return make


@pytest.fixture(scope="module")
def built(data_dir, template, tmp_path_factory):
    """The full report (figures included) of the tiny preset, built once per module:
    (cfg, report.json content, report folder)."""
    from salloss.pipeline.plan import report_dir
    from salloss.report import build_report

    cfg = _tree(data_dir, template, tmp_path_factory.mktemp("report-built"))
    report = build_report(cfg, progress=False)
    return cfg, report, report_dir(cfg)
