"""Tübingen-benchmark metrics: pysaliency 0.2.22 called the way the benchmark calls it as the
oracle (AUCs uniform/shuffled, NSSs, CCs, SIMs, image_based_kl_divergences, information_gains,
FixationMap, ResizingSaliencyMapModel, FullShuffledNonfixationProvider), on a small dataset with
duplicate fixations, ties, negative / constant / all-zero maps and mixed image sizes; then where
the Tübingen and MIT conventions must differ."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from salloss.errors import DataError
from salloss.metrics import tuebingen as tue
from salloss.metrics.auc import auc_judd
from salloss.metrics.mit import cc as mit_cc
from salloss.metrics.mit import kl_div as mit_kl_div
from salloss.metrics.mit import nss as mit_nss
from salloss.metrics.mit import similarity as mit_similarity
from salloss.metrics.resize import imresize

KL_ARGS = {"minimum_value": 0, "log_regularization": 2.2204e-16,
           "quotient_regularization": 2.2204e-16}  # evaluation.py::Benchmark.evaluate_KLDiv

SHAPES = [(40, 56), (30, 44), (48, 36), (20, 24)]  # image 3 has no fixations


@pytest.fixture(scope="module")
def ps(pysaliency):
    """pysaliency 0.2.22, the oracle (conftest: imported after restoring ``np.trapz``)."""
    return pysaliency


def _smooth(rng, shape, sigma=3.0):
    return gaussian_filter(rng.random(shape), sigma)


@pytest.fixture(scope="module")
def data(ps, array_maps, array_log_densities):
    rng = np.random.default_rng(7)
    fix = []  # per image: (ys, xs) float coordinates, duplicates included
    h, w = SHAPES[0]
    ys0 = list(rng.uniform(0, h, 25)) + [5.7, 5.1, 20.0, 20.0, 20.0]  # (5,10) twice, (20,30) ×3
    xs0 = list(rng.uniform(0, w, 25)) + [10.2, 10.9, 30.0, 30.0, 30.0]
    fix.append((np.array(ys0), np.array(xs0)))
    h, w = SHAPES[1]
    ys1 = list(rng.uniform(0, h, 15)) + [3.0, 3.5]
    xs1 = list(rng.uniform(0, w, 15)) + [40.2, 40.8]
    fix.append((np.array(ys1), np.array(xs1)))
    h, w = SHAPES[2]
    fix.append((rng.uniform(0, h, 12), rng.uniform(0, w, 12)))
    fix.append((np.empty(0), np.empty(0)))

    maps = [
        _smooth(rng, SHAPES[0]) + 0.5,  # min > 0
        np.round(_smooth(rng, SHAPES[1]) * 8) / 8 - 0.55,  # ties and negative values
        np.full(SHAPES[2], 0.7),  # constant
        np.zeros(SHAPES[3]),  # all zero (no fixations anyway)
    ]
    images = [rng.integers(0, 255, s + (3,), dtype=np.uint8) for s in SHAPES]
    stimuli = ps.Stimuli(images)
    ns = np.concatenate([np.full(len(f[0]), n) for n, f in enumerate(fix)]).astype(int)
    fixations = ps.Fixations.create_without_history(
        np.concatenate([f[1] for f in fix]), np.concatenate([f[0] for f in fix]), ns
    )
    ids = list(stimuli.stimulus_ids)
    return {
        "fix": fix, "maps": maps, "stimuli": stimuli, "fixations": fixations, "ns": ns,
        "ids": ids, "model": array_maps(dict(zip(ids, maps, strict=True))),
        "ArrayMaps": array_maps, "ArrayLogDensities": array_log_densities,
    }


# --- fixations and the empirical density --------------------------------------------------


def test_fixation_indices_truncate_like_pysaliency(data):
    f = data["fixations"]
    rows, cols = [], []
    for (ys, xs), shape in zip(data["fix"], SHAPES, strict=True):
        r, c = tue.fixation_indices(ys, xs, shape)
        rows.append(r)
        cols.append(c)
    np.testing.assert_array_equal(np.concatenate(rows), f.y_int)
    np.testing.assert_array_equal(np.concatenate(cols), f.x_int)
    r, c = tue.fixation_indices([3.9, -0.5], [0.99, 2], (5, 5))  # truncation toward zero
    assert r.tolist() == [3, 0] and c.tolist() == [0, 2]
    with pytest.raises(DataError, match="outside"):
        tue.fixation_indices([5.0], [0.0], (5, 5))
    with pytest.raises(DataError, match="outside"):
        tue.fixation_indices([-1.2], [0.0], (5, 5))
    ys, xs = tue.split_points(np.array([[1, 2], [3, 4]]))
    assert ys.tolist() == [1, 3] and xs.tolist() == [2, 4]


@pytest.mark.parametrize("sigma", [tue.MIT300_SIGMA, tue.CAT2000_SIGMA])
def test_empirical_density_is_fixation_map_bit_for_bit(ps, data, sigma):
    fmap = ps.FixationMap(data["stimuli"], data["fixations"], kernel_size=sigma, caching=False)
    for n, ((ys, xs), shape) in enumerate(zip(data["fix"], SHAPES, strict=True)):
        ref = fmap.saliency_map(data["stimuli"].stimulus_objects[n])
        points = np.column_stack([ys, xs])
        np.testing.assert_array_equal(tue.empirical_density(points, shape, sigma), ref)
        counts = tue.fixation_counts(ys, xs, shape)
        np.testing.assert_array_equal(tue.empirical_density(counts, sigma=sigma), ref)
    counts0 = tue.fixation_counts(*data["fix"][0], SHAPES[0])
    assert counts0[5, 10] == 2 and counts0[20, 30] >= 3  # duplicates add


def test_resize_prediction_is_resizing_saliency_map_model(ps, array_maps):
    rng = np.random.default_rng(3)
    target = (60, 80)
    stimuli = ps.Stimuli([rng.integers(0, 255, target + (3,), dtype=np.uint8)])
    stim = stimuli.stimulus_objects[0]
    for src in [(37, 53), (120, 160), (61, 79), (7, 9)]:
        sal = _smooth(rng, src, 1.5)
        parent = array_maps({stimuli.stimulus_ids[0]: sal})
        ref = ps.ResizingSaliencyMapModel(parent, verbose=False).saliency_map(stim)
        out = tue.resize_prediction(sal, target)
        np.testing.assert_array_equal(out, ref)
        assert out[0, 0] == sal[0, 0] and out[-1, -1] == sal[-1, -1]  # corners aligned
        assert not np.allclose(out, imresize(sal, size=target), atol=1e-6)  # not MIT's bicubic
    sal = _smooth(rng, target)
    assert tue.resize_prediction(sal, target) is sal  # right size: unchanged


# --- AUC, sAUC, NSS: per fixation, exactly as pysaliency ----------------------------------


def _per_fixation(fn, data, **kw):
    return np.concatenate(
        [fn(m, ys, xs, **kw) for m, (ys, xs) in zip(data["maps"], data["fix"], strict=True)]
    )


def test_auc_is_pysaliency_aucs_uniform(ps, data):
    ref = data["model"].AUCs(data["stimuli"], data["fixations"], nonfixations="uniform")
    ours = _per_fixation(tue.auc_values, data)
    np.testing.assert_array_equal(ours, ref)
    assert np.all(tue.auc_values(*(data["maps"][2], *data["fix"][2])) == 0.5)  # constant map
    dataset = ps.utils.average_values(ref, data["fixations"], average="image")
    assert tue.average_per_image(ours, data["ns"]) == pytest.approx(dataset, abs=1e-14)
    per_image = [tue.auc(m, ys, xs) for m, (ys, xs) in zip(data["maps"], data["fix"],
                                                           strict=True)]
    assert math.isnan(per_image[3])  # no fixations
    assert tue.average_over_images(per_image[:3]) == pytest.approx(dataset, abs=1e-14)


def test_auc_closed_form_by_hand():
    sal = np.array([[0.0, 1.0, 1.0], [2.0, 3.0, 1.0]])
    # value 1: 1 pixel below, 3 equal -> (1 + 1.5)/6; value 3: 5 below, 1 equal -> 5.5/6
    assert tue.auc_values(sal, [0, 1, 0], [1, 1, 1]).tolist() == [2.5 / 6, 5.5 / 6, 2.5 / 6]


def test_sauc_is_pysaliency_aucs_shuffled(ps, data):
    stimuli, fixations = data["stimuli"], data["fixations"]
    provider = ps.saliency_map_models.FullShuffledNonfixationProvider(stimuli, fixations)
    ours = []
    for n, (m, (ys, xs)) in enumerate(zip(data["maps"], data["fix"], strict=True)):
        oy, ox = tue.shuffled_nonfixations(n, data["fix"], SHAPES)
        ref_x, ref_y = provider._nonfixations_for_image(n)
        np.testing.assert_array_equal(oy, ref_y)
        np.testing.assert_array_equal(ox, ref_x)
        ours.append(tue.sauc_values(m, ys, xs, oy, ox))
    ref = data["model"].AUCs(stimuli, fixations, nonfixations="shuffled")
    np.testing.assert_array_equal(np.concatenate(ours), ref)
    dataset = ps.utils.average_values(ref, fixations, average="image")
    assert tue.average_per_image(np.concatenate(ours), data["ns"]) == pytest.approx(dataset,
                                                                                    abs=1e-14)


def test_rescale_fixations_rounds_like_full_shuffled_provider(ps):
    # x·(122/14) = 60.99999999999999 but x·122/14 = 61.0 (and y likewise): the ratio is taken
    # first, then the product truncated, exactly as FullShuffledNonfixationProvider does.
    shapes = [(22, 14), (30, 122)]
    rng = np.random.default_rng(0)
    stimuli = ps.Stimuli([rng.integers(0, 255, s + (3,), dtype=np.uint8) for s in shapes])
    fixations = ps.Fixations.create_without_history(
        np.array([7.0, 13.5, 3.0]), np.array([11.0, 21.9, 29.0]), np.array([0, 0, 1]))
    provider = ps.saliency_map_models.FullShuffledNonfixationProvider(stimuli, fixations)
    ref_x, ref_y = provider._nonfixations_for_image(1)
    x, y = tue.rescale_fixations([7.0, 13.5], [11.0, 21.9], shapes[0], shapes[1])
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)
    assert x[0] == 60 and y[0] == 14
    oy, ox = tue.shuffled_nonfixations(
        1, [([11.0, 21.9], [7.0, 13.5]), ([29.0], [3.0])], shapes)
    assert oy.tolist() == ref_y.tolist() and ox.tolist() == ref_x.tolist()


def test_nss_is_pysaliency_nsss(ps, data):
    ref = data["model"].NSSs(data["stimuli"], data["fixations"])
    ours = _per_fixation(tue.nss_values, data)
    np.testing.assert_array_equal(ours, ref)
    assert tue.nss(data["maps"][2], *data["fix"][2]) == 0.0  # constant map
    dataset = ps.utils.average_values(ref, data["fixations"], average="image")
    assert tue.average_per_image(ours, data["ns"]) == pytest.approx(dataset, abs=1e-14)
    ys, xs = data["fix"][0]
    assert tue.nss(data["maps"][0], ys, xs) == pytest.approx(
        ps.metrics.NSS(data["maps"][0], xs, ys).mean(), abs=1e-15)


# --- CC, SIM, KLDiv against the empirical map ---------------------------------------------


def _kind(name, shape):
    rng = np.random.default_rng(11)
    smooth = _smooth(rng, shape)
    return {
        "min_above_zero": smooth + 0.5,
        "negative": smooth - smooth.mean(),
        "ties": np.round(smooth * 6) / 6,
        "constant": np.full(shape, 2.5),
        "all_zero": np.zeros(shape),
    }[name]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("kind", ["min_above_zero", "negative", "ties", "constant", "all_zero"])
def test_cc_sim_kl_are_pysaliency(ps, data, kind):
    stimuli = data["stimuli"]
    emp_model = ps.FixationMap(stimuli, data["fixations"], kernel_size=tue.MIT300_SIGMA,
                               caching=False)
    s0 = stimuli[[0]]
    sal = _kind(kind, SHAPES[0])
    model = data["ArrayMaps"]({data["ids"][0]: sal})
    emp = tue.empirical_density(np.column_stack(data["fix"][0]), SHAPES[0])
    assert tue.cc(sal, emp) == pytest.approx(model.CCs(s0, emp_model)[0], abs=1e-12)
    assert tue.sim(sal, emp) == model.SIMs(s0, emp_model)[0]
    assert tue.sim(sal, emp) == ps.metrics.SIM(sal, emp)
    ref_kl = model.image_based_kl_divergences(s0, emp_model, **KL_ARGS)[0]
    assert tue.kl_div(sal, emp) == ref_kl
    assert tue.kl_div(sal, emp) == ps.metrics.MIT_KLDiv(sal, emp)
    if kind in ("constant", "all_zero"):
        assert tue.cc(sal, emp) == 0.0
        uniform = np.ones(SHAPES[0])
        assert tue.sim(sal, emp) == pytest.approx(tue.sim(uniform, emp), abs=1e-15)
        assert tue.kl_div(sal, emp) == pytest.approx(tue.kl_div(uniform, emp), abs=1e-15)
    if kind == "negative":  # shifted to min 0 before normalising
        assert tue.sim(sal, emp) == pytest.approx(tue.sim(sal - sal.min(), emp), abs=1e-15)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_map_metrics_dataset_means_and_nan_for_empty_image(ps, data):
    stimuli, model = data["stimuli"], data["model"]
    emp_model = ps.FixationMap(stimuli, data["fixations"], kernel_size=tue.MIT300_SIGMA,
                               caching=False)
    emps = [tue.empirical_density(np.column_stack(f), s) for f, s in
            zip(data["fix"], SHAPES, strict=True)]
    pairs = list(zip(data["maps"], emps, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # corrcoef 0/0 on the empty image
        ref_cc = model.CCs(stimuli, emp_model)
    ours_cc = [tue.cc(m, e) for m, e in pairs]
    assert math.isnan(ours_cc[3]) and math.isnan(ref_cc[3])  # constant (zero) empirical map
    np.testing.assert_allclose(ours_cc[:3], ref_cc[:3], rtol=0, atol=1e-12)
    assert math.isnan(tue.average_over_images(ours_cc))  # np.mean, as the benchmark
    ref_sim = [model.SIM(stimuli[[i]], emp_model) for i in range(len(SHAPES))]
    assert tue.average_over_images([tue.sim(m, e) for m, e in pairs]) == pytest.approx(
        np.mean(ref_sim), abs=1e-14)
    ref_kl = model.image_based_kl_divergences(stimuli, emp_model, **KL_ARGS)
    assert tue.average_over_images([tue.kl_div(m, e) for m, e in pairs]) == pytest.approx(
        np.mean(ref_kl), abs=1e-14)
    with pytest.raises(DataError, match="resize_prediction"):
        tue.cc(np.zeros((3, 3)), np.zeros((4, 4)))


# --- information gain ---------------------------------------------------------------------


def _log_density(rng, shape):
    p = _smooth(rng, shape) + 0.05
    return np.log(p / p.sum())


def test_info_gain_is_pysaliency_information_gains(ps, data):
    rng = np.random.default_rng(5)
    logds = [_log_density(rng, s) for s in SHAPES]
    cbs = []
    for s in SHAPES:
        yy, xx = np.mgrid[0 : s[0], 0 : s[1]]
        g = np.exp(-((yy - s[0] / 2) ** 2 + (xx - s[1] / 2) ** 2) / (2 * (s[0] / 4) ** 2))
        cbs.append(np.log(g / g.sum()))
    model = data["ArrayLogDensities"](dict(zip(data["ids"], logds, strict=True)))
    cb = data["ArrayLogDensities"](dict(zip(data["ids"], cbs, strict=True)))
    stimuli, fixations = data["stimuli"], data["fixations"]
    ref = model.information_gains(stimuli, fixations, baseline_model=cb)
    ours = np.concatenate([tue.info_gain_values(ld, ys, xs, b) for ld, b, (ys, xs) in
                           zip(logds, cbs, data["fix"], strict=True)])
    np.testing.assert_array_equal(ours, ref)
    ref_uniform = model.information_gains(stimuli, fixations)
    ours_uniform = np.concatenate([tue.info_gain_values(ld, ys, xs) for ld, (ys, xs) in
                                   zip(logds, data["fix"], strict=True)])
    np.testing.assert_array_equal(ours_uniform, ref_uniform)
    # MIT300: pooled over fixations; the reported IG = IG(model) − IG(centre bias), both vs
    # uniform, which is the same as IG against the centre bias
    ref_cb = cb.information_gains(stimuli, fixations)
    assert ours.mean() == pytest.approx(ref_uniform.mean() - ref_cb.mean(), abs=1e-12)
    with pytest.raises(DataError, match="normalised"):
        tue.info_gain(logds[0] + 0.01, *data["fix"][0])


# --- where the Tübingen and MIT conventions differ -----------------------------------------


def _unique(ys, xs, shape):
    rows, cols = tue.fixation_indices(ys, xs, shape)
    binary = np.zeros(shape, dtype=bool)
    binary[rows, cols] = True
    uy, ux = np.nonzero(binary)
    return binary, uy, ux


def test_nss_differs_from_mit_by_ddof_and_by_duplicates(data):
    sal, (ys, xs) = data["maps"][0], data["fix"][0]
    binary, uy, ux = _unique(ys, xs, SHAPES[0])
    n = sal.size
    factor = math.sqrt((n - 1) / n)
    ours_unique = tue.nss(sal, uy, ux)
    assert mit_nss(sal, binary) == pytest.approx(ours_unique * factor, rel=1e-12)
    assert abs(mit_nss(sal, binary) - ours_unique) > 1e-5 * abs(ours_unique)  # ddof
    assert abs(tue.nss(sal, ys, xs) - ours_unique) > 1e-3  # duplicates weighted


def test_sim_differs_from_mit_unless_min_is_zero(data):
    sal, (ys, xs) = data["maps"][0], data["fix"][0]
    emp = tue.empirical_density(np.column_stack([ys, xs]), SHAPES[0])
    assert sal.min() > 0 and emp.min() > 0
    assert abs(tue.sim(sal, emp) - mit_similarity(sal, emp)) > 1e-3
    a, b = sal - sal.min(), emp - emp.min()
    assert tue.sim(a, b) == pytest.approx(mit_similarity(a, b), abs=1e-12)


def test_kl_mit_nan_for_negative_map_tuebingen_shifts(data):
    sal, (ys, xs) = data["maps"][0], data["fix"][0]
    emp = tue.empirical_density(np.column_stack([ys, xs]), SHAPES[0])
    neg = sal - sal.mean()
    assert math.isnan(mit_kl_div(neg, emp))
    assert tue.kl_div(neg, emp) == pytest.approx(tue.kl_div(neg - neg.min(), emp), abs=1e-13)
    assert math.isfinite(tue.kl_div(neg, emp))
    zero = np.zeros(SHAPES[0])  # MIT keeps it zero (ln(ε + q/ε) ≈ 25); here it is uniform
    assert mit_kl_div(zero, emp) > 10 * tue.kl_div(zero, emp)
    assert tue.kl_div(sal, emp) == pytest.approx(mit_kl_div(sal, emp), rel=1e-9)  # same formula


def test_auc_differs_from_auc_judd(data):
    sal, (ys, xs) = data["maps"][0], data["fix"][0]
    binary, uy, ux = _unique(ys, xs, SHAPES[0])
    judd = auc_judd(sal, binary, jitter=False)
    assert abs(tue.auc(sal, uy, ux) - judd) > 1e-3  # all-pixel negatives, no threshold bias
    assert abs(tue.auc(sal, ys, xs) - tue.auc(sal, uy, ux)) > 1e-3  # duplicates count


def test_constant_and_zero_maps_mit_nan_vs_tuebingen_finite(data):
    (ys, xs) = data["fix"][0]
    binary, _, _ = _unique(ys, xs, SHAPES[0])
    emp = tue.empirical_density(np.column_stack([ys, xs]), SHAPES[0])
    const = np.full(SHAPES[0], 0.3)
    assert math.isnan(mit_nss(const, binary)) and tue.nss(const, ys, xs) == 0.0
    assert math.isnan(mit_cc(const, emp)) and tue.cc(const, emp) == 0.0
    assert tue.auc(const, ys, xs) == 0.5
    assert math.isnan(mit_similarity(const, emp)) and 0 < tue.sim(const, emp) < 1
    zero = np.zeros(SHAPES[0])
    assert mit_similarity(zero, emp) == 0.0
    assert tue.sim(zero, emp) == pytest.approx(tue.sim(np.ones(SHAPES[0]), emp), abs=1e-15)
    sal = data["maps"][0]
    assert tue.cc(sal, emp) == pytest.approx(mit_cc(sal, emp), abs=1e-12)  # same Pearson
