"""Fixtures for the metrics tests: the pysaliency oracle and synthetic saliency data."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter


@pytest.fixture(scope="session")
def pysaliency():
    """pysaliency 0.2.22 as a test oracle (see METRICS.md for where it agrees with MIT).

    It calls ``np.trapz``, which NumPy >= 2.4 removed: alias it BEFORE importing pysaliency.
    """
    if not hasattr(np, "trapz"):
        np.trapz = np.trapezoid  # noqa: NPY201 (restoring the name pysaliency calls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pkg_resources deprecation inside pysaliency
        module = importlib.import_module("pysaliency")
        importlib.import_module("pysaliency.roc")
    return module


def make_image(seed: int, shape=(60, 80), n_fix: int = 40, sigma: float = 4.0):
    """A smooth positive prediction, a fixation map with unique fixated pixels, and the density
    made from the fixations (Gaussian blur, as MIT builds its ground truth)."""
    rng = np.random.default_rng(seed)
    sal = gaussian_filter(rng.random(shape), sigma)
    sal -= sal.min() - 0.01
    fix = np.zeros(shape, dtype=bool)
    fix[rng.integers(0, shape[0], n_fix), rng.integers(0, shape[1], n_fix)] = True
    density = gaussian_filter(fix.astype(np.float64), sigma)
    return sal, fix, density


@pytest.fixture
def image():
    return make_image(0)


@pytest.fixture
def maker():
    """`make_image` as a fixture (test modules cannot import conftest under importlib mode)."""
    return make_image


def _array_model(base, method: str):
    """A subclass of pysaliency's ``base`` whose ``method`` returns given arrays, looked up by
    stimulus hash: ``cls({stimulus_id: array})``."""
    from pysaliency.datasets import get_image_hash

    def __init__(self, lut):
        base.__init__(self, caching=False)
        self.lut = lut

    def lookup(self, stimulus):
        return np.array(self.lut[get_image_hash(stimulus)], dtype=float)

    return type(f"Array{base.__name__}", (base,), {"__init__": __init__, method: lookup})


@pytest.fixture(scope="session")
def array_maps(pysaliency):
    """A pysaliency SaliencyMapModel returning given saliency maps."""
    return _array_model(pysaliency.SaliencyMapModel, "_saliency_map")


@pytest.fixture(scope="session")
def array_log_densities(pysaliency):
    """A pysaliency Model returning given log densities."""
    return _array_model(pysaliency.Model, "_log_density")
