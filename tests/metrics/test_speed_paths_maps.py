"""The fast paths shared by the map metrics: reusable work arrays, chunked sums with NumPy's exact
pairwise order, MIT CC/SIM/KL/NSS/IG against the plain whole-map formulas, and input checks
that now ride on the metrics' own sums and extremes (a NaN or inf anywhere must still fail)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from salloss.errors import DataError
from salloss.metrics import (
    auc_borji,
    auc_judd,
    auc_shuffled,
    cc,
    emd,
    imresize,
    info_gain,
    kl_div,
    nss,
    similarity,
)
from salloss.metrics.resize import CHUNK, chunked_sum, work_arrays

EPS = np.finfo(float).eps


# --- work arrays and chunked sums ----------------------------------------------------------

def test_work_arrays_are_distinct_reused_and_typed():
    with work_arrays((30, 40), 2) as (a, b):
        assert a.shape == b.shape == (30, 40) and a.dtype == np.float64
        assert a.flags.c_contiguous and not np.shares_memory(a, b)
        with work_arrays((1200,), dtype=np.bool_) as (c,):
            assert c.dtype == np.bool_ and c.shape == (1200,)
            assert not np.shares_memory(c, a) and not np.shares_memory(c, b)
        first = a.__array_interface__["data"][0]
    with work_arrays((20, 10)) as (d,):  # a later, smaller request reuses a buffer
        assert d.__array_interface__["data"][0] in {first, b.__array_interface__["data"][0],
                                                    c.__array_interface__["data"][0]}


@pytest.mark.parametrize("n", [1, 7, 129, CHUNK, CHUNK + 1, 3 * CHUNK + 17, 786432, 1080 * 1920])
def test_chunked_sum_has_the_bits_of_the_full_sum(n):
    x = np.random.default_rng(n).standard_normal(n) * 10.0 ** np.random.default_rng(1).uniform(
        -4, 4, n)

    def squares(start, stop, bufs):
        return np.add.reduce(np.multiply(x[start:stop], x[start:stop],
                                         out=bufs[0][: stop - start]))

    assert chunked_sum(n, squares) == (x * x).sum()
    assert chunked_sum(n, lambda a, b, bufs: np.add.reduce(x[a:b])) == x.sum()


# --- MIT map metrics against the plain formulas --------------------------------------------

def ref_cc(s, g):
    a, b = s.ravel() - s.mean(), g.ravel() - g.mean()
    return float(a @ b / math.sqrt((a @ a) * (b @ b)))


def ref_sim(s, g):
    def dist(x):
        if not x.any():
            return x
        y = (x - x.min()) / (x.max() - x.min())
        return y / y.sum()
    return float(np.minimum(dist(s), dist(g)).sum())


def ref_kl(s, g):
    p = s / s.sum() if s.any() else np.zeros_like(s)
    q = g / g.sum() if g.any() else g
    return float((q * np.log(EPS + q / (p + EPS))).sum())


def ref_nss(s, fix):
    z = (s - s.mean()) / s.std(ddof=1)
    return float(z[fix.astype(bool)].mean())


def maps(seed, shape=(150, 210)):
    rng = np.random.default_rng(seed)
    s = gaussian_filter(rng.random(shape), 4) * rng.uniform(0.1, 50) + rng.uniform(-2, 2)
    g = gaussian_filter((rng.random(shape) < 0.01).astype(float), 6)
    fix = rng.random(shape) < 0.01
    fix.flat[0] = True
    return np.clip(s - np.median(s), 0, None) if seed % 2 else s, g, fix  # odd: a 0 plateau


@pytest.mark.parametrize("seed", range(6))
def test_mit_map_metrics_equal_the_plain_formulas(seed):
    s, g, fix = maps(seed)
    assert cc(s, g) == pytest.approx(ref_cc(s, g), rel=1e-12)
    assert similarity(s, g) == pytest.approx(ref_sim(s, g), rel=1e-12)
    if s.min() >= 0:
        assert kl_div(s, g) == pytest.approx(ref_kl(s, g), rel=1e-12)
    assert nss(s, fix) == pytest.approx(ref_nss(s, fix), rel=1e-12)
    b = gaussian_filter(np.random.default_rng(seed).random(s.shape), 20)
    mask = fix.ravel()
    p = ((s - s.min()) / (s.max() - s.min())).ravel()
    pb = ((b - b.min()) / (b.max() - b.min())).ravel()
    ref_ig = np.mean(np.log2(EPS + p[mask] / p.sum()) - np.log2(EPS + pb[mask] / pb.sum()))
    assert info_gain(s, fix, b) == pytest.approx(ref_ig, rel=1e-12)


def test_constant_maps_whose_mean_is_not_exact_are_still_constant():
    # 0.1 summed 10^6 times is not 10^5 exactly: the centred map is not all zero, yet constant.
    const = np.full((1000, 1000), 0.1)
    other = np.random.default_rng(0).random(const.shape)
    fix = other > 0.99
    assert const.mean() != 0.1
    assert math.isnan(cc(const, other)) and math.isnan(cc(other, const))
    assert math.isnan(nss(const, fix)) and math.isnan(similarity(const, other))
    assert similarity(np.zeros((40, 50)), other[:40, :50]) == 0.0
    assert similarity(other[:40, :50], np.zeros((40, 50))) == 0.0
    nearly = const.copy()
    nearly[500, 500] += 1e-12  # not constant: a real (if tiny) variance
    assert not math.isnan(cc(nearly, other)) and not math.isnan(nss(nearly, fix))


# --- the input checks ride on sums and extremes, and still catch every NaN/inf ---------------

SHAPE = (45, 70)
POSITIONS = [(0, 0), (0, 69), (44, 0), (44, 69), (22, 35), (1, 68)]


def _bad(value, pos):
    m = gaussian_filter(np.random.default_rng(3).random(SHAPE), 2) + 0.1
    m[pos] = value
    return m


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("pos", POSITIONS)
def test_a_bad_prediction_value_anywhere_still_raises(value, pos):
    good = gaussian_filter(np.random.default_rng(4).random(SHAPE), 2) + 0.1
    fix = np.zeros(SHAPE, bool)
    fix[10, 10] = fix[30, 50] = True
    bad = _bad(value, pos)
    calls = [lambda: cc(bad, good), lambda: similarity(bad, good), lambda: kl_div(bad, good),
             lambda: nss(bad, fix), lambda: auc_judd(bad, fix), lambda: auc_judd(bad, fix, False),
             lambda: auc_borji(bad, fix), lambda: auc_shuffled(bad, fix, ~fix),
             lambda: emd(bad, good), lambda: info_gain(bad, fix, good),
             lambda: cc(imresize(bad, size=(20, 30)), good)]
    for call in calls:
        with pytest.raises(DataError, match="sal"):
            call()


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("pos", POSITIONS)
def test_a_bad_density_value_anywhere_still_raises(value, pos):
    good = gaussian_filter(np.random.default_rng(5).random(SHAPE), 2) + 0.1
    bad = _bad(value, pos)
    for call in (cc, similarity, kl_div, emd):
        with pytest.raises(DataError, match="density"):
            call(good, bad)


@pytest.mark.parametrize("shape", [(768, 1024), (700, 990), (33, 31), (20, 20), (64, 1000)])
def test_emd_sees_a_nan_at_every_border_through_the_downsampled_sums(shape):
    rng = np.random.default_rng(6)
    good = rng.random(shape)
    for pos in [(0, 0), (0, shape[1] - 1), (shape[0] - 1, 0), (shape[0] - 1, shape[1] - 1),
                (shape[0] // 2, 1), (1, shape[1] // 2)]:
        bad = good.copy()
        bad[pos] = np.nan
        with pytest.raises(DataError, match="density"):
            emd(good, bad)
        with pytest.raises(DataError, match="sal"):
            emd(bad, good)
