"""Holm–Bonferroni correction on hand-worked examples."""

import math

import numpy as np
import pytest

from salloss.errors import DataError
from salloss.stats import holm


def test_holm_hand_worked():
    # Sorted: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04 → the
    # running maximum keeps 0.06). Back in input order:
    adj = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02], rtol=1e-12)


def test_holm_caps_at_one_and_is_monotone():
    # 0.2×3 = 0.6, 0.5×2 = 1.0, 0.9×1 = 0.9 → max keeps 1.0.
    np.testing.assert_allclose(holm([0.5, 0.2, 0.9]), [1.0, 0.6, 1.0], rtol=1e-12)
    p = np.random.default_rng(0).uniform(size=20)
    adj = holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0) and np.all(adj >= p) and np.all(adj <= 1)


def test_holm_leaves_nan_out_of_the_family():
    adj = holm([0.01, math.nan, 0.02])
    # m = 2: 0.01×2 = 0.02, 0.02×1 → max 0.02.
    assert math.isnan(adj[1])
    np.testing.assert_allclose(adj[[0, 2]], [0.02, 0.02], rtol=1e-12)
    assert holm([]).shape == (0,)


def test_holm_rejects_values_that_are_not_p_values():
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        holm([0.1, 1.5])
