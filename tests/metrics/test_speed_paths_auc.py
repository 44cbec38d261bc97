"""The fast paths of the MIT ROC metrics give the bits of the straightforward algorithm: bucketed
counting (`count_below`), AUC-Judd's sparse jitter (only the noise values it needs), AUC-Borji's
grouped threshold grids and lazy normalisation — against reference implementations written the
plain way (whole-map normalisation, sorts, one grid per split)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from salloss.metrics import auc_borji, auc_judd, auc_shuffled, imresize
from salloss.metrics.auc import count_below, matlab_colon

auc_module = importlib.import_module("salloss.metrics.auc")


# --- reference implementations (the MIT algorithms, whole map, sorts) ----------------------

def _normalised(s: np.ndarray) -> np.ndarray:
    out = s.ravel() - s.min()
    out /= s.max() - s.min()
    return out


def ref_auc_judd(sal, fix, jitter=True, seed=0):
    s = imresize(sal, size=fix.shape) if sal.shape != fix.shape else sal.astype(float)
    mask = fix.ravel().astype(bool)
    if jitter:
        noise = np.random.default_rng(seed).random(s.shape)
        noise /= 10000000.0
        noise += s
        s = noise
    if s.min() == s.max():
        return 0.5 if not jitter else float("nan")
    norm = _normalised(s)
    ordered = np.sort(norm)
    fixated = np.sort(norm[mask])
    n_pix, n_fix = mask.size, int(mask.sum())
    if jitter:
        above = (n_pix - np.searchsorted(ordered, fixated, side="left"))[::-1].astype(float)
        i = np.arange(1, n_fix + 1, dtype=float)
        tp, fp = i / n_fix, (above - i) / (n_pix - n_fix)
    else:
        distinct = np.unique(fixated)[::-1]
        fix_above = n_fix - np.searchsorted(fixated, distinct, side="left")
        all_above = n_pix - np.searchsorted(ordered, distinct, side="left")
        tp, fp = fix_above / n_fix, (all_above - fix_above) / (n_pix - n_fix)
    return float(np.trapezoid(np.r_[0.0, tp, 1.0], np.r_[0.0, fp, 1.0]))


def ref_split_aucs(positives, negatives, step, n_neg):
    n_pos = positives.size
    tops = np.maximum(positives.max(), negatives.max(axis=1))
    grids = {top: matlab_colon(0.0, step, top)[::-1] for top in np.unique(tops)}
    width = max(g.size for g in grids.values())
    thr = np.full((tops.size, width), np.inf)
    for top, grid in grids.items():
        thr[tops == top, width - grid.size:] = grid
    tp = (n_pos - np.searchsorted(np.sort(positives), thr, side="left")) / n_pos
    fp = (negatives[:, :, None] >= thr[:, None, :]).sum(axis=1) / n_neg
    rows = tops.size
    tp = np.hstack([np.zeros((rows, 1)), tp, np.ones((rows, 1))])
    fp = np.hstack([np.zeros((rows, 1)), fp, np.ones((rows, 1))])
    return float(np.mean(np.trapezoid(tp, fp, axis=1)))


def ref_auc_borji(sal, fix, n_splits=100, step=0.1, seed=0):
    norm = _normalised(sal.astype(float))
    positives = norm[fix.ravel().astype(bool)]
    idx = np.random.default_rng(seed).integers(0, norm.size, size=(n_splits, positives.size))
    return ref_split_aucs(positives, norm[idx], step, positives.size)


def ref_auc_shuffled(sal, fix, other, n_splits=100, step=0.1, seed=0):
    norm = _normalised(sal.astype(float))
    positives = norm[fix.ravel().astype(bool)]
    candidates = np.flatnonzero(other)
    n_neg = min(positives.size, candidates.size)
    rng = np.random.default_rng(seed)
    picks = np.stack([candidates[rng.permutation(candidates.size)[:n_neg]]
                      for _ in range(n_splits)])
    return ref_split_aucs(positives, norm[picks], step, n_neg)


# --- inputs: smooth, ties, plateaus, dense values, offsets, small ranges --------------------

KINDS = ["smooth", "ties", "plateau", "dense", "offset", "uint8", "pairs", "tiny_range"]


def make_map(kind: str, shape, rng) -> np.ndarray:
    s = gaussian_filter(rng.random(shape), 3.0)
    if kind == "ties":
        s = np.round(s * 40) / 40
    elif kind == "plateau":
        s = np.clip(s - np.median(s), 0, None)
    elif kind == "dense":  # values within a few 1e-7 of each other: the noise decides a lot
        s = 0.5 + (s - s.mean()) * 2e-4
    elif kind == "offset":
        s = s * 1e-3 + 1234.5
    elif kind == "uint8":
        s = np.round(s / s.max() * 255).astype(np.uint8)
    elif kind == "pairs":  # every other value within 2e-7 of its neighbour
        flat = s.ravel()
        flat[1::2] = flat[0::2][: flat[1::2].size] + rng.uniform(0, 2e-7, flat[1::2].size)
    elif kind == "tiny_range":
        s = 3.0 + s * 1e-6
    return s


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("jitter", [True, False])
def test_auc_judd_is_the_plain_algorithm_bit_for_bit(kind, jitter):
    rng = np.random.default_rng(KINDS.index(kind))
    for trial in range(3):
        shape = (int(rng.integers(40, 160)), int(rng.integers(40, 160)))
        sal = make_map(kind, shape, rng)
        fix = rng.random(shape) < rng.uniform(0.002, 0.05)
        fix.flat[0] = True
        seed = int(rng.integers(0, 2**32))
        assert auc_judd(sal, fix, jitter=jitter, seed=seed) == ref_auc_judd(
            sal, fix, jitter=jitter, seed=seed), (kind, trial)


def test_auc_judd_resized_and_benchmark_sized_inputs():
    rng = np.random.default_rng(5)
    small = gaussian_filter(rng.random((120, 160)), 4)
    fix = rng.random((240, 320)) < 0.003
    assert auc_judd(small, fix, seed=3) == ref_auc_judd(small, fix, seed=3)
    big = gaussian_filter(rng.random((384, 512)), 10)
    fix = rng.random(big.shape) < 0.001
    assert auc_judd(big, fix, seed=11) == ref_auc_judd(big, fix, seed=11)


@pytest.mark.parametrize("kind", ["smooth", "pairs", "dense", "plateau"])
def test_sparse_jitter_route_equals_the_full_noise_map(kind, monkeypatch):
    rng = np.random.default_rng(20 + KINDS.index(kind))
    taken = 0
    for _ in range(4):
        s = make_map(kind, (150, 200), rng).ravel()
        fixed = np.flatnonzero(rng.random(s.size) < 0.004)
        seed = int(rng.integers(0, 2**32))
        sparse = auc_module._sparse_jitter_above(s, fixed, seed, s)
        monkeypatch.setattr(auc_module, "_SPARSE_OK", False)
        full = auc_module._jittered_above(s, fixed, seed, s)
        monkeypatch.undo()
        if sparse is not None:
            taken += 1
            np.testing.assert_array_equal(sparse, full)
    if kind in ("smooth", "pairs"):
        assert taken  # the cheap route is the common one for smooth maps


@pytest.mark.parametrize("count", [6, 1000])  # one jump at a time / all at once
def test_uniform_at_is_generator_random(count):
    seed = 987654321
    full = np.random.default_rng(seed).random(300 * 400)
    rng = np.random.default_rng(count)
    picks = np.unique(np.concatenate([[0, 1, full.size - 1],
                                      rng.choice(full.size, count, replace=False)]))
    np.testing.assert_array_equal(auc_module._uniform_at(seed, picks), full[picks])


@pytest.mark.parametrize("kind", ["smooth", "ties", "uint8", "offset", "plateau"])
def test_auc_borji_and_shuffled_are_the_plain_algorithm(kind):
    rng = np.random.default_rng(40 + KINDS.index(kind))
    shape = (60, 90)
    sal = make_map(kind, shape, rng)
    fix = rng.random(shape) < 0.05
    other = rng.random(shape) < 0.1
    for step, splits in [(0.1, 100), (0.05, 7), (0.3, 13)]:
        assert auc_borji(sal, fix, n_splits=splits, step=step, seed=4) == ref_auc_borji(
            sal, fix, splits, step, 4)
        assert auc_shuffled(sal, fix, other, n_splits=splits, step=step, seed=5) == (
            ref_auc_shuffled(sal, fix, other, splits, step, 5))


def test_same_colon_groups_tops_with_identical_grids():
    step = 0.1
    tops = np.array([1.0, 0.3, 0.30000000000000004, 0.95, 0.96, 0.0, 0.05, 0.999999, 1.0, 0.7])
    for members in auc_module._same_colon(tops, step):
        grids = [matlab_colon(0.0, step, float(t)) for t in tops[members]]
        for g in grids[1:]:
            np.testing.assert_array_equal(g, grids[0])


# --- count_below ----------------------------------------------------------------------------

def brute_below(values, points, key=lambda x: x):
    v, p = key(values), key(points)
    return (v[None, :] < p[:, None]).sum(axis=1), (v[None, :] <= p[:, None]).sum(axis=1)


CASES = ["random", "ties", "ulps", "offset", "outside", "subnormal"]


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_count_below_matches_brute_force(case, scaled):
    rng = np.random.default_rng(CASES.index(case))
    v = rng.random(20000)
    if case == "ties":
        v = np.round(v * 30) / 30
    elif case == "ulps":  # runs of neighbouring doubles: normalisation merges some
        v = 0.3 + np.arange(20000) % 7 * np.spacing(0.3) + rng.integers(0, 50, 20000) * 1e-9
    elif case == "offset":
        v = 1e6 + v * 1e-5
    elif case == "subnormal":
        v = v * 1e-310
    points = np.concatenate([rng.choice(v, 300), [v.min(), v.max()]])
    if case == "outside":
        points = np.concatenate([points, [-5.0, 7.0, v.max() + 1e-3, -np.inf, np.inf]])
    lo, hi = float(v.min()), float(v.max())

    def key(x):
        return (x - lo) / (hi - lo) if scaled else x

    got = count_below(v, points, lo, hi, scaled=scaled)
    want = brute_below(v, points, key)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
