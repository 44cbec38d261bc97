"""The fast paths of the Tübingen-convention metrics stay bit-identical to pysaliency 0.2.22 on
benchmark-sized inputs (the oracle tests use small maps): bucketed AUC over a whole map, sAUC
with few and many negatives and ties, chunked NSS/SIM/KLDiv (including −0.0 and zero maps),
CC to 1e-12; and the value checks that ride on the metrics' own reductions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from salloss.errors import DataError
from salloss.metrics import tuebingen as tue

SHAPE = (300, 400)  # 120,000 pixels: the bucketed AUC path (>= 2^15 negatives) and chunking


def _prediction(kind: str, rng) -> np.ndarray:
    s = gaussian_filter(rng.random(SHAPE), 5)
    return {
        "smooth": s,
        "ties": np.round(s * 50) / 50,
        "negative": s - s.mean(),
        "plateau": np.clip(s - np.median(s), 0, None),
        "signed_zero": np.where(s < np.median(s), -0.0, s),
        "zero": np.zeros(SHAPE),
        "constant": np.full(SHAPE, 0.25),
    }[kind]


KINDS = ["smooth", "ties", "negative", "plateau", "signed_zero", "zero", "constant"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(14)
    ys = rng.integers(0, SHAPE[0], 600)
    xs = rng.integers(0, SHAPE[1], 600)
    ys[-20:], xs[-20:] = ys[:20], xs[:20]  # duplicates
    counts = tue.fixation_counts(ys, xs, SHAPE)
    empirical = tue.empirical_density(counts)
    return rng, ys, xs, empirical


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("kind", KINDS)
def test_fast_paths_are_pysaliency_bit_for_bit(pysaliency, data, kind):
    pm, roc = pysaliency.metrics, pysaliency.roc
    rng, ys, xs, emp = data
    sal = _prediction(kind, np.random.default_rng(KINDS.index(kind)))
    few = (rng.integers(0, SHAPE[0], 500), rng.integers(0, SHAPE[1], 500))
    many = (rng.integers(0, SHAPE[0], 50000), rng.integers(0, SHAPE[1], 50000))
    np.testing.assert_array_equal(tue.auc_values(sal, ys, xs),
                                  roc.general_rocs_per_positive(sal[ys, xs], sal.ravel()))
    for oy, ox in (few, many):
        np.testing.assert_array_equal(tue.sauc_values(sal, ys, xs, oy, ox),
                                      roc.general_rocs_per_positive(sal[ys, xs], sal[oy, ox]))
    np.testing.assert_array_equal(tue.nss_values(sal, ys, xs), pm.NSS(sal, xs, ys))
    for a, b in ((sal, emp), (emp, sal)):
        assert tue.sim(a, b) == pm.SIM(a, b)
        assert tue.kl_div(a, b) == pm.MIT_KLDiv(a, b)
        ref = pm.CC(a, b)
        assert tue.cc(a, b) == pytest.approx(ref, abs=1e-12, nan_ok=True)
    np.testing.assert_array_equal(tue.saliency_to_density(sal),
                                  pm.convert_saliency_map_to_density(
                                      sal.copy(), minimum_value=0))


def test_sauc_ties_with_negatives_count_half(pysaliency):
    sal = np.round(gaussian_filter(np.random.default_rng(2).random((80, 90)), 3) * 20) / 20
    rng = np.random.default_rng(3)
    ys, xs = rng.integers(0, 80, 200), rng.integers(0, 90, 200)
    oy, ox = rng.integers(0, 80, 300), rng.integers(0, 90, 300)
    ref = pysaliency.roc.general_rocs_per_positive(sal[ys, xs], sal[oy, ox])
    np.testing.assert_array_equal(tue.sauc_values(sal, ys, xs, oy, ox), ref)


def test_value_checks_ride_on_the_reductions(data):
    _, ys, xs, emp = data
    for pos in [(0, 0), (SHAPE[0] - 1, SHAPE[1] - 1), (150, 200)]:
        for value in (np.nan, np.inf, -np.inf):
            bad = gaussian_filter(np.random.default_rng(0).random(SHAPE), 3)
            bad[pos] = value
            for metric, other in ((tue.auc, (ys, xs)), (tue.nss, (ys, xs)), (tue.cc, (emp,)),
                                  (tue.sim, (emp,)), (tue.kl_div, (emp,))):
                with pytest.raises(DataError, match="sal"):
                    metric(bad, *other)
            for call in (tue.cc, tue.sim, tue.kl_div):
                with pytest.raises(DataError, match="empirical"):
                    call(emp, bad)
    # sAUC reads only the fixated and negative pixels, and checks those
    bad = gaussian_filter(np.random.default_rng(1).random(SHAPE), 3)
    bad[ys[0], xs[0]] = np.nan
    with pytest.raises(DataError, match="sal"):
        tue.sauc(bad, ys, xs, ys[::-1], xs[::-1])


def test_fixation_indices_checks_bounds_and_does_not_copy_int64():
    ys, xs = np.array([0, 5, 9]), np.array([0, 3, 7])
    rows, cols = tue.fixation_indices(ys, xs, (10, 8))
    assert rows is ys and cols is xs
    for bad_ys, bad_xs in [([0, 10], [0, 1]), ([0, -1], [0, 1]), ([0, 1], [8, 1]),
                           ([0, 1], [0, -3])]:
        with pytest.raises(DataError, match="outside"):
            tue.fixation_indices(np.array(bad_ys), np.array(bad_xs), (10, 8))
    np.testing.assert_array_equal(tue.fixation_indices([2.9, 0.5], [1.99, 7.0], (10, 8))[0],
                                  [2, 0])
