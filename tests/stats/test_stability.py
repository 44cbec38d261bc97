"""Kendall's τ-b against SciPy and by hand, loss rankings, and the joint image bootstrap of τ
between architectures' loss rankings."""

import math

import numpy as np
import pytest
from scipy import stats

from salloss.errors import ConfigError, DataError
from salloss.stats import kendall_tau, loss_ranking, rank_stability
from salloss.stats.stability import MIN_LOSSES


@pytest.mark.parametrize("n", [2, 3, 4, 7, 12, 40, 150])
@pytest.mark.parametrize("ties", [False, True])
def test_kendall_tau_equals_scipy(n, ties):
    rng = np.random.default_rng(1000 * n + ties)
    for _ in range(20):
        if ties:  # few distinct values: many ties in x, in y, and in both
            x, y = rng.integers(0, 3, n).astype(float), rng.integers(0, 4, n).astype(float)
        else:
            x = rng.normal(size=n)
            y = 0.5 * x + rng.normal(size=n)
        want = stats.kendalltau(x, y).statistic
        got = kendall_tau(x, y)
        if math.isnan(want):  # a constant sample (possible with ties)
            assert math.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_kendall_tau_by_hand():
    # x = 1 2 2 3, y = 1 3 2 2: the 6 pairs of items (i, j)
    #   (1,2): x up, y up      concordant
    #   (1,3): x up, y up      concordant
    #   (1,4): x up, y up      concordant
    #   (2,3): x tied          tied in x (n_1)
    #   (2,4): x up, y down    discordant
    #   (3,4): y tied          tied in y (n_2)
    # n_c = 3, n_d = 1, n_0 = 6, n_1 = 1, n_2 = 1:
    # τ_b = (3 − 1) / √((6 − 1)(6 − 1)) = 2 / 5 = 0.4
    assert kendall_tau([1, 2, 2, 3], [1, 3, 2, 2]) == pytest.approx(0.4, abs=1e-15)
    # no ties: 3 items, y swaps the last two → n_c = 2, n_d = 1, τ = 1/3
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))  # constant: zero denominator
    assert math.isnan(kendall_tau([1.0, np.nan, 3], [1, 2, 3]))
    assert math.isnan(kendall_tau([1.0], [2.0]))
    with pytest.raises(DataError):
        kendall_tau([1, 2, 3], [1, 2])


def test_loss_ranking_directions_ties_and_nan():
    means = {"a": 0.7, "b": 0.5, "c": 0.5, "d": 0.1, "e": math.nan}
    r = loss_ranking(means, higher_is_better=True)
    assert [r[k] for k in "abcd"] == [1.0, 2.5, 2.5, 4.0] and math.isnan(r["e"])
    r = loss_ranking(means, higher_is_better=False)  # KL, EMD: lowest is best
    assert [r[k] for k in "abcd"] == [4.0, 2.5, 2.5, 1.0]


def _scores(n, offsets, noise=0.5, seed=0):
    """Per-image scores: loss mean offset + image effect shared by all + independent noise."""
    rng = np.random.default_rng(seed)
    image = rng.normal(size=n)
    return {loss: off + image + noise * rng.normal(size=n) for loss, off in offsets.items()}


OFFSETS_A = {"w": 0.00, "x": 0.05, "y": 0.10, "z": 0.15, "v": 0.20}
OFFSETS_B = {"w": 0.00, "x": 0.10, "y": 0.05, "z": 0.20, "v": 0.15}  # two swaps


def _per_image(n, seed=0):
    return {"arch_a": _scores(n, OFFSETS_A, seed=seed),
            "arch_b": _scores(n, OFFSETS_B, seed=seed + 1)}


def test_rank_stability_point_estimate_ranks_and_ci():
    res = rank_stability(_per_image(60), higher_is_better=True, n_boot=500, seed=3)
    for arch in ("arch_a", "arch_b"):
        means = {k: float(np.mean(v)) for k, v in _per_image(60)[arch].items()}
        assert res.means[arch] == pytest.approx(means, rel=1e-12)
        assert res.ranks[arch] == loss_ranking(means, True)
    (pair,) = res.pairs
    losses = list(OFFSETS_A)
    want = stats.kendalltau([res.means["arch_a"][k] for k in losses],
                            [res.means["arch_b"][k] for k in losses]).statistic
    assert pair.tau == pytest.approx(want, rel=1e-12)
    assert pair.losses == tuple(losses) and pair.reason is None
    assert pair.low <= pair.tau <= pair.high
    assert -1 <= pair.low < pair.high <= 1
    assert pair.n_boot == 500 and pair.boot.shape == (500,)
    assert res.pair("arch_b", "arch_a") is pair
    m = res.matrix()
    assert m[0, 1] == m[1, 0] == pair.tau and m[0, 0] == 1


def test_ci_narrows_with_more_images():
    widths = []
    for n in (30, 300, 3000):
        (pair,) = rank_stability(_per_image(n), True, n_boot=400, seed=0).pairs
        assert pair.low <= pair.tau <= pair.high
        widths.append(pair.high - pair.low)
    assert widths[0] > widths[1] > widths[2]
    # with 3000 images the two swaps are resolved: τ over 5 losses with 2 discordant pairs
    (pair,) = rank_stability(_per_image(3000), True, n_boot=400, seed=0).pairs
    assert pair.tau == pytest.approx((8 - 2) / 10)


def test_identical_and_reversed_rankings():
    base = _scores(80, OFFSETS_A)
    per_image = {"a": base, "same": {k: v + 3.0 for k, v in base.items()},  # shifted: same order
                 "reversed": {k: -v for k, v in base.items()}}
    res = rank_stability(per_image, higher_is_better=True, n_boot=300, seed=1)
    same, rev = res.pair("a", "same"), res.pair("a", "reversed")
    assert (same.tau, same.low, same.high) == (1.0, 1.0, 1.0)
    assert (rev.tau, rev.low, rev.high) == (-1.0, -1.0, -1.0)
    assert res.ranks["reversed"] == {k: 6.0 - r for k, r in res.ranks["a"].items()}
    # lower-is-better flips both rankings: τ is unchanged
    low = rank_stability(per_image, higher_is_better=False, n_boot=300, seed=1)
    assert low.pair("a", "reversed").tau == -1.0
    assert low.ranks["a"] == res.ranks["reversed"]


def test_seed_determinism():
    per_image = _per_image(50)
    a = rank_stability(per_image, True, n_boot=200, seed=7).pairs[0]
    b = rank_stability(per_image, True, n_boot=200, seed=7).pairs[0]
    c = rank_stability(per_image, True, n_boot=200, seed=8).pairs[0]
    assert (a.tau, a.low, a.high) == (b.tau, b.low, b.high)
    np.testing.assert_array_equal(a.boot, b.boot)
    assert not np.array_equal(a.boot, c.boot)
    assert a.tau == c.tau


def test_resamples_are_joint_across_archs_and_losses():
    """The same image indices for every run: an arch equal to another plus a per-image shift
    shared by all its losses keeps the same order in every resample (τ = 1 exactly), which
    independent resampling of each run would break."""
    base = _scores(40, OFFSETS_A, noise=2.0)
    shift = np.random.default_rng(5).normal(scale=10.0, size=40)
    per_image = {"a": base, "b": {k: v + shift for k, v in base.items()}}
    (pair,) = rank_stability(per_image, True, n_boot=300, seed=0).pairs
    assert np.all(pair.boot == 1.0)


def test_nan_images_are_left_out_of_means():
    per_image = _per_image(40)
    per_image["arch_a"]["w"] = per_image["arch_a"]["w"].copy()
    per_image["arch_a"]["w"][[0, 5]] = np.nan
    res = rank_stability(per_image, True, n_boot=100)
    assert res.means["arch_a"]["w"] == pytest.approx(float(np.nanmean(per_image["arch_a"]["w"])))
    assert math.isfinite(res.pairs[0].tau) and math.isfinite(res.pairs[0].low)
    # a loss undefined on every image is not ranked and not compared
    per_image["arch_a"]["v"] = np.full(40, np.nan)
    res = rank_stability(per_image, True, n_boot=100)
    assert math.isnan(res.ranks["arch_a"]["v"])
    assert res.pairs[0].losses == ("w", "x", "y", "z")


def test_too_few_common_losses_gives_nan_with_a_reason():
    per_image = {"a": _scores(30, OFFSETS_A),
                 "b": _scores(30, {"w": 0.0, "x": 0.1, "extra": 0.2})}
    (pair,) = rank_stability(per_image, True, n_boot=50).pairs
    assert pair.losses == ("w", "x") and pair.n_losses == 2 < MIN_LOSSES
    assert math.isnan(pair.tau) and math.isnan(pair.low) and math.isnan(pair.high)
    assert "at least 3" in pair.reason


def test_misaligned_images_raise():
    per_image = _per_image(20)
    short = {"a": per_image["arch_a"], "b": {k: v[:-1] for k, v in per_image["arch_b"].items()}}
    with pytest.raises(DataError, match="share their test images"):
        rank_stability(short, True, n_boot=10)
    ids = [f"img{i}" for i in range(20)]
    nested = {a: {k: list(ids) for k in losses} for a, losses in per_image.items()}
    rank_stability(per_image, True, n_boot=10, ids=nested)  # aligned: fine
    nested["arch_b"]["y"] = ids[1:] + ids[:1]  # same images, another order
    with pytest.raises(DataError, match="another order"):
        rank_stability(per_image, True, n_boot=10, ids=nested)
    nested["arch_b"]["y"] = [*ids[:-1], "other"]
    with pytest.raises(DataError, match="different images"):
        rank_stability(per_image, True, n_boot=10, ids=nested)
    with pytest.raises(DataError):
        rank_stability(per_image, True, n_boot=10, ids=ids[:-1])
    with pytest.raises(ConfigError):
        rank_stability(per_image, True, n_boot=0)
    with pytest.raises(ConfigError):
        rank_stability(per_image, True, ci=1.5)
