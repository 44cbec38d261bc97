"""Friedman against SciPy, mean ranks with ties, Nemenyi q and CD against Demšar (2006)."""

import math

import numpy as np
import pytest
from scipy import stats

from salloss.errors import DataError
from salloss.stats import (
    cd_groups,
    critical_difference,
    friedman,
    friedman_table,
    mean_ranks,
    nemenyi_q,
    rank_blocks,
)

# Demšar (2006) Table 5(a): critical values of the two-tailed Nemenyi test, k = 2..10.
DEMSAR_Q05 = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
DEMSAR_Q10 = [1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920]


@pytest.mark.parametrize(("alpha", "table"), [(0.05, DEMSAR_Q05), (0.10, DEMSAR_Q10)])
def test_nemenyi_q_matches_demsar_table(alpha, table):
    for k, q in zip(range(2, 11), table, strict=True):
        assert nemenyi_q(k, alpha) == pytest.approx(q, abs=1e-3)


def test_critical_difference_of_demsars_worked_example():
    # Demšar §3.2.2: four classifiers on 14 data sets, CD = 2.569 · sqrt(4·5 / (6·14)) = 1.25.
    assert critical_difference(4, 14, 0.05) == pytest.approx(1.25, abs=0.005)
    assert critical_difference(4, 56) == pytest.approx(critical_difference(4, 14) / 2)


def test_mean_ranks_with_ties_and_directions():
    scores = np.array([
        [0.9, 0.5, 0.5, 0.1],  # higher better: ranks 1, 2.5, 2.5, 4
        [0.2, 0.8, 0.8, 0.8],  # higher better: 4, 2, 2, 2
        [1.0, 2.0, 3.0, 1.0],  # lower better (e.g. KL): 1.5, 3, 4, 1.5
    ])
    hib = [True, True, False]
    np.testing.assert_allclose(rank_blocks(scores, hib),
                               [[1, 2.5, 2.5, 4], [4, 2, 2, 2], [1.5, 3, 4, 1.5]])
    np.testing.assert_allclose(mean_ranks(scores, hib), [6.5 / 3, 7.5 / 3, 8.5 / 3, 7.5 / 3])


def test_friedman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=(12, 5)) + np.arange(5) * 0.4, 1)  # rounding makes ties
    ref = stats.friedmanchisquare(*s.T)
    for hib in (True, False):  # reversing every ranking leaves χ² unchanged
        res = friedman(s, hib)
        assert res.statistic == pytest.approx(float(ref.statistic), rel=1e-12)
        assert res.pvalue == pytest.approx(float(ref.pvalue), rel=1e-10)
        assert (res.k, res.n_blocks) == (5, 12)
    f = res.statistic
    assert res.iman_davenport == pytest.approx(11 * f / (12 * 4 - f))
    assert res.iman_davenport_p == pytest.approx(stats.f.sf(res.iman_davenport, 4, 44))


def test_friedman_table_drops_incomplete_blocks_and_uses_metric_directions():
    table = {
        "mse": {("mit", "CC"): 0.50, ("mit", "KL"): 1.2, ("cat", "CC"): 0.55, ("cat", "KL"): 1.0},
        "kld": {("mit", "CC"): 0.60, ("mit", "KL"): 0.9, ("cat", "CC"): 0.65, ("cat", "KL"): 0.8},
        "cc": {("mit", "CC"): 0.62, ("mit", "KL"): 1.1, ("cat", "CC"): math.nan,
               ("cat", "KL"): 0.9},
    }
    res = friedman_table(table, {"CC": True, "KL": False})
    assert res.dropped_blocks == [("cat", "CC")] and res.n_blocks == 3
    # mit CC: cc 1, kld 2, mse 3; mit KL: kld 1, cc 2, mse 3; cat KL: kld 1, cc 2, mse 3.
    assert res.mean_ranks == pytest.approx({"mse": 3.0, "kld": 4 / 3, "cc": 5 / 3})
    with pytest.raises(Exception, match="no direction"):
        friedman_table(table, {"CC": True})


def test_cd_groups_hand_worked():
    r = {"a": 1.0, "b": 1.5, "c": 2.4, "d": 3.5, "e": 3.9}
    # With CD = 1.0: from a, only b is closer than 1 (c is 1.4 away); from b, c (0.9); from c,
    # nothing further (d is 1.1 away); from d, e (0.4). Maximal runs: [a, b], [b, c], [d, e].
    assert cd_groups(r, 1.0) == [["a", "b"], ["b", "c"], ["d", "e"]]
    assert cd_groups(r, 10.0) == [["a", "b", "c", "d", "e"]]
    assert cd_groups(r, 0.1) == []


def test_friedman_refuses_too_few_complete_blocks():
    with pytest.raises(DataError, match="at least 2 blocks"):
        friedman([[1.0, 2.0, 3.0], [1.0, math.nan, 2.0]], True)
