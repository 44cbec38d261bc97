"""Fixtures for the data tests: the layout generator module and ready-made dataset trees."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import fixture_layouts  # noqa: E402


@pytest.fixture(scope="session")
def layouts():
    return fixture_layouts


@pytest.fixture(scope="session")
def mit1003_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("mit1003")
    return root, fixture_layouts.write_mit1003(root)


@pytest.fixture(scope="session")
def cat2000_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("cat2000")
    return root, fixture_layouts.write_cat2000(root)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """A small synthetic dataset generated once per session (read-only for tests)."""
    from salloss.data.synthetic import SyntheticParams, generate

    root = tmp_path_factory.mktemp("synth") / "synthetic"
    generate(root, SyntheticParams(n_images=24, long_side=96))
    return root


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server over tmp_path/'www' (stopped after the test)."""
    import http_fixture

    folder = tmp_path / "www"
    folder.mkdir()
    with http_fixture.serve(folder) as state:
        yield state
