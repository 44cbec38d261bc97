"""Scoring layer: per-image rows, NaN accounting, files, sAUC negatives, registry."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from salloss.errors import ConfigError, DataError
from salloss.metrics import (
    METRICS,
    PAPER_METRICS,
    Record,
    auc_borji,
    cc,
    emd,
    imresize,
    score_records,
    summarise,
    write_scores_csv,
    write_summary,
)
from salloss.metrics.scoring import (
    fixation_coords,
    image_seed,
    pick_others,
    score_image,
    shuffled_negatives,
)


def test_registry():
    assert set(PAPER_METRICS) <= set(METRICS) and {"sAUC", "IG"} <= set(METRICS)
    func, needs, higher = METRICS["EMD"]
    assert func is emd and needs == ("density",) and higher is False
    assert METRICS["KL"].higher_is_better is False
    assert all(METRICS[m].higher_is_better for m in ("CC", "SIM", "AUC-J", "AUC-B", "NSS"))


def test_rows_equal_direct_calls_and_sal_is_resized_once(maker):
    sal, fix, density = maker(0)
    small = imresize(sal, size=(30, 40))
    rows = score_records([("a", small, density, fix)], PAPER_METRICS, progress=False)
    assert list(rows[0]) == ["id", *PAPER_METRICS]
    assert rows[0]["CC"] == cc(small, density)
    assert rows[0]["EMD"] == emd(small, density)
    assert rows[0]["AUC-B"] == auc_borji(small, fix, seed=image_seed(0, "a"))


def test_record_forms_and_seeds(maker):
    sal, fix, density = maker(1)
    as_tuple = score_records([("x", sal, density, fix)], ["AUC-J", "KL"], progress=False)
    as_dict = score_records([{"id": "x", "sal": sal, "density": density, "fixations": fix}],
                            ["AUC-J", "KL"], progress=False)
    as_record = score_records([Record("x", sal, density, fix)], ["AUC-J", "KL"], progress=False)
    assert as_tuple == as_dict == as_record
    assert image_seed(0, "x") == image_seed(0, "x") != image_seed(0, "y")
    assert image_seed(1, "x") != image_seed(0, "x")


def test_nan_is_counted_and_excluded_never_zero(maker):
    sal, fix, density = maker(2)
    sal2, fix2, density2 = maker(3)
    no_fix = np.zeros_like(fix)
    rows = score_records(
        [("a", sal, density, fix), ("b", sal2, density2, fix2), ("c", sal, density, no_fix)],
        ["NSS", "CC"], progress=False,
    )
    assert math.isnan(rows[2]["NSS"])
    summary = summarise(rows, ["NSS", "CC"])
    nss = summary["NSS"]
    assert nss["count"] == 2 and nss["n_nan"] == 1
    assert nss["mean"] == pytest.approx((rows[0]["NSS"] + rows[1]["NSS"]) / 2)
    assert nss["std"] == pytest.approx(np.std([rows[0]["NSS"], rows[1]["NSS"]], ddof=1))
    assert summary["CC"]["count"] == 3 and summary["CC"]["n_nan"] == 0
    all_nan = summarise([{"id": "c", "NSS": math.nan}], ["NSS"])["NSS"]
    assert math.isnan(all_nan["mean"]) and all_nan["count"] == 0 and all_nan["n_nan"] == 1


def test_files_round_trip(tmp_path, maker):
    sal, fix, density = maker(4)
    rows = score_records([("a", sal, density, fix), ("b", sal, density, np.zeros_like(fix))],
                         ["CC", "NSS"], progress=False)
    write_scores_csv(rows, tmp_path / "s" / "scores.csv", ["CC", "NSS"])
    with open(tmp_path / "s" / "scores.csv") as fh:
        table = list(csv.DictReader(fh))
    assert [r["id"] for r in table] == ["a", "b"]
    assert float(table[0]["CC"]) == rows[0]["CC"]  # full precision
    assert table[1]["NSS"] == "nan"
    summary = summarise(rows, ["CC", "NSS"])
    write_summary(summary, tmp_path / "summary.json")
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["NSS"]["n_nan"] == 1 and data["NSS"]["std"] is None
    write_summary(summary, tmp_path / "summary.csv")
    with open(tmp_path / "summary.csv") as fh:
        lines = list(csv.DictReader(fh))
    assert [r["metric"] for r in lines] == ["CC", "NSS"] and lines[1]["n_nan"] == "1"
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp files


def test_errors_name_the_problem(maker):
    sal, fix, density = maker(5)
    with pytest.raises(ConfigError, match="unknown metric"):
        score_records([("a", sal, density, fix)], ["AUC"], progress=False)
    with pytest.raises(DataError, match="'a'.*IG needs baseline"):
        score_records([("a", sal, density, fix)], ["IG"], progress=False)
    with pytest.raises(DataError, match="'b'.*2-D"):
        score_image(Record("b", sal[0], density, fix), ["CC"])
    with pytest.raises(DataError, match="unknown keys"):
        score_records([{"id": "a", "pred": sal}], ["CC"], progress=False)


def test_extra_metrics_with_their_inputs(maker):
    sal, fix, density = maker(6)
    others = np.random.default_rng(0).random(fix.shape) > 0.9
    rows = score_records([Record("a", sal, density, fix, others, np.ones((8, 8)) + np.eye(8))],
                         ["sAUC", "IG"], progress=False)
    assert 0 <= rows[0]["sAUC"] <= 1 and math.isfinite(rows[0]["IG"])


def test_shuffled_negatives_rescale_by_pixel_centres():
    fix = np.zeros((4, 6), bool)
    fix[0, 0] = fix[3, 5] = fix[1, 2] = True
    coords, shape = fixation_coords(fix)
    assert shape == (4, 6) and coords.tolist() == [[0, 0], [1, 2], [3, 5]]
    same = shuffled_negatives([(coords, shape)], (4, 6))
    np.testing.assert_array_equal(same, fix)
    double = shuffled_negatives([(coords, shape)], (8, 12))
    assert np.argwhere(double).tolist() == [[1, 1], [3, 5], [7, 11]]
    union = shuffled_negatives([(coords, shape), (np.array([[0, 1]]), (2, 2))], (4, 6))
    assert union[1, 4] and union.sum() == 4


def test_pick_others_excludes_self_and_is_seeded():
    chosen = pick_others(50, 7, m=10, seed=3)
    assert len(chosen) == 10 and 7 not in chosen and len(set(chosen)) == 10
    assert chosen == pick_others(50, 7, m=10, seed=3) != pick_others(50, 7, m=10, seed=4)
    assert pick_others(4, 1, m=10) == [0, 2, 3]
