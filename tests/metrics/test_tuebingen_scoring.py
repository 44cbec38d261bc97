"""The Tübingen convention through the scoring layer (`score_records(convention='tuebingen')`)
against pysaliency's own dataset-level evaluation (the calls saliency-benchmarking makes), on
records built as the pipeline builds them: count maps with duplicates, predictions of another
size, a map with min > 0, ties and a negative map."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from salloss.errors import ConfigError, DataError
from salloss.metrics import Record, score_records, summarise
from salloss.metrics import tuebingen as tue
from salloss.metrics.scoring import check_metric_names, default_metrics, higher_is_better
from salloss.metrics.tuebingen_scoring import (
    benchmark_sigma,
    count_points,
    fixation_count_map,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHAPES = [(40, 56), (30, 44), (48, 36)]
PRED_SHAPES = [(20, 28), (30, 44), (64, 50)]  # 1st and 3rd need resizing
SIGMA = 5.0
KL_ARGS = {"minimum_value": 0, "log_regularization": 2.2204e-16,
           "quotient_regularization": 2.2204e-16}


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(11)
    counts = []
    for h, w in SHAPES:
        c = np.zeros((h, w), dtype=np.int64)
        np.add.at(c, (rng.integers(0, h, 20), rng.integers(0, w, 20)), 1)
        c[3, 4] += 2  # a pixel fixated (at least) twice
        counts.append(c)
    assert max(int(c.max()) for c in counts) >= 2
    preds = [
        gaussian_filter(rng.random(PRED_SHAPES[0]), 2) + 0.5,  # min > 0, resized
        np.round(gaussian_filter(rng.random(PRED_SHAPES[1]), 2) * 8) / 8 - 0.55,  # ties, < 0
        gaussian_filter(rng.random(PRED_SHAPES[2]), 3),  # resized (upsampled)
    ]
    points = [count_points(c) for c in counts]
    records = [Record(f"img{k}", p, fixations=c,
                      other_points=tue.shuffled_nonfixations(k, points, SHAPES))
               for k, (p, c) in enumerate(zip(preds, counts, strict=True))]
    return {"counts": counts, "preds": preds, "points": points, "records": records}


def _pysaliency_dataset(pysaliency, array_maps, case):
    """What saliency-benchmarking reports for these maps (saliency-map submission)."""
    rng = np.random.default_rng(0)
    stimuli = pysaliency.Stimuli([rng.integers(0, 255, s + (3,), dtype=np.uint8)
                                  for s in SHAPES])
    ys = np.concatenate([p[0] for p in case["points"]]).astype(float)
    xs = np.concatenate([p[1] for p in case["points"]]).astype(float)
    ns = np.concatenate([np.full(len(p[0]), k) for k, p in enumerate(case["points"])])
    fixations = pysaliency.Fixations.create_without_history(xs, ys, ns)
    parent = array_maps(dict(zip(stimuli.stimulus_ids, case["preds"], strict=True)))
    model = pysaliency.ResizingSaliencyMapModel(parent, verbose=False)
    gold = pysaliency.FixationMap(stimuli, fixations, kernel_size=SIGMA, caching=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "AUC": model.AUC(stimuli, fixations, nonfixations="uniform", average="image"),
            "sAUC": model.AUC(stimuli, fixations, nonfixations="shuffled", average="image"),
            "NSS": model.NSS(stimuli, fixations, average="image"),
            "CC": float(np.mean(model.CCs(stimuli, gold))),
            "SIM": float(np.mean(model.SIMs(stimuli, gold))),
            "KLDiv": float(np.mean(model.image_based_kl_divergences(stimuli, gold, **KL_ARGS))),
        }


def test_dataset_scores_are_the_benchmarks(pysaliency, array_maps, case):
    rows = score_records(case["records"], default_metrics("tuebingen"), progress=False,
                         convention="tuebingen", sigma=SIGMA)
    ours = {m: s["mean"] for m, s in summarise(rows, default_metrics("tuebingen"),
                                                "tuebingen").items()}
    ref = _pysaliency_dataset(pysaliency, array_maps, case)
    assert set(ours) == set(ref)
    for metric, value in ref.items():
        assert ours[metric] == pytest.approx(value, abs=1e-10), metric


def test_duplicates_count_and_binary_maps_count_once(case):
    rec = case["records"][0]
    dup = score_records([rec], ["NSS", "AUC", "CC"], progress=False, convention="tuebingen",
                        sigma=SIGMA)[0]
    once = Record(rec.id, rec.sal, fixations=rec.fixations > 0)
    single = score_records([once], ["NSS", "AUC", "CC"], progress=False,
                           convention="tuebingen", sigma=SIGMA)[0]
    for m in ("NSS", "AUC", "CC"):
        assert dup[m] != pytest.approx(single[m], abs=1e-9), m
    # counted once, the row equals the counts clipped to 1
    clipped = Record(rec.id, rec.sal, fixations=np.minimum(rec.fixations, 1))
    assert score_records([clipped], ["NSS"], progress=False, convention="tuebingen",
                         sigma=SIGMA)[0]["NSS"] == single["NSS"]


def test_count_points_repeat_each_pixel_by_its_count():
    c = np.array([[0, 2], [1, 0]])
    ys, xs = count_points(c)
    assert sorted(zip(ys.tolist(), xs.tolist(), strict=True)) == [(0, 1), (0, 1), (1, 0)]
    assert fixation_count_map(np.array([[True, False]])).tolist() == [[1, 0]]
    with pytest.raises(DataError, match="non-integer"):
        fixation_count_map(np.array([[0.5, 1.0]]))
    with pytest.raises(DataError, match="negative"):
        fixation_count_map(np.array([[-1, 1]]))


def test_names_directions_and_ig_refusal():
    assert default_metrics("tuebingen") == ("AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM")
    assert not higher_is_better("KLDiv") and higher_is_better("AUC")
    with pytest.raises(ConfigError, match="probabilistic"):
        check_metric_names(["IG"], "tuebingen")
    with pytest.raises(ConfigError, match="AUC-J.*choose from"):
        check_metric_names(["AUC-J"], "tuebingen")
    with pytest.raises(ConfigError, match="valid choices: mit, tuebingen"):
        check_metric_names(["CC"], "matlab")


def test_benchmark_sigma_per_loader():
    assert benchmark_sigma("mit1003") == 23.99
    assert benchmark_sigma("cat2000") == 40.0
    assert benchmark_sigma("fiwi", {"sigma": 25}) == 25.0
    assert benchmark_sigma("synthetic", {"long_side": 100, "blur": 0.05}) == pytest.approx(5.0)


def test_sauc_without_other_points_is_named():
    rec = Record("a", np.ones((4, 4)), fixations=np.eye(4, dtype=bool))
    with pytest.raises(DataError, match="sAUC needs other_points"):
        score_records([rec], ["sAUC"], progress=False, convention="tuebingen")
    row = score_records([rec], ["AUC", "NSS", "CC"], progress=False, convention="tuebingen")[0]
    assert row["AUC"] == 0.5 and row["NSS"] == 0.0  # constant map: the benchmark's values
    assert not math.isnan(row["CC"])
