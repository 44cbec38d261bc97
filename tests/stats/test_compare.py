"""The report-facing helper: tidy rows, Holm per metric, direction-aware significance marks."""

import csv
import math

import numpy as np
import pytest

from salloss.errors import ConfigError, DataError
from salloss.stats import (
    compare_pairs,
    holm,
    mean_over_seeds,
    significance_marks,
    standard_pairs,
    wilcoxon_test,
    write_rows_csv,
)

HIB = {"CC": True, "KL": False}


def _tables(n=60):
    rng = np.random.default_rng(11)
    ids = [f"i{j:03d}" for j in range(n)]
    base_cc, base_kl = rng.uniform(0.3, 0.7, n), rng.uniform(0.8, 1.6, n)
    noise = rng.normal(0, 0.02, (4, n))

    def table(cc, kl):
        return {i: {"CC": float(c), "KL": float(k)} for i, c, k in zip(ids, cc, kl, strict=True)}

    tables = {
        "mse": table(base_cc, base_kl),
        # clearly better on both metrics: higher CC, lower KL
        "lc2": table(base_cc + 0.08 + noise[0], base_kl - 0.2 + noise[1]),
        # clearly worse on CC, no systematic change on KL
        "ae": table(base_cc - 0.08 + noise[2], base_kl + noise[3]),
        "same": table(base_cc, base_kl),
    }
    tables["ae"]["i005"]["CC"] = math.nan
    return tables


def test_rows_mark_direction_aware_significance_and_apply_holm_per_metric():
    tables = _tables()
    pairs = standard_pairs(list(tables), baseline="mse", extra=[("lc2", "ae")])
    assert pairs == [("lc2", "mse"), ("ae", "mse"), ("same", "mse"), ("lc2", "ae")]
    rows = compare_pairs(tables, pairs, HIB, n_resamples=2000)
    assert [(r.metric, r.model_a, r.model_b) for r in rows] == [
        (m, a, b) for m in ("CC", "KL") for a, b in pairs]
    by = {(r.metric, r.model_a, r.model_b): r for r in rows}
    assert by["CC", "lc2", "mse"].better == "lc2" and by["KL", "lc2", "mse"].better == "lc2"
    assert by["KL", "lc2", "mse"].mean_diff < 0  # lower KL is the better direction
    assert by["CC", "ae", "mse"].better == "mse"
    assert by["CC", "ae", "mse"].n == 59 and by["CC", "ae", "mse"].n_dropped == 1
    same = by["CC", "same", "mse"]
    assert not same.significant and same.wilcoxon_p == 1.0 and same.better is None
    for metric in HIB:
        fam = [r for r in rows if r.metric == metric]
        np.testing.assert_allclose([r.holm_wilcoxon_p for r in fam],
                                   holm([r.wilcoxon_p for r in fam]))
        np.testing.assert_allclose([r.holm_perm_p for r in fam], holm([r.perm_p for r in fam]))
    w = wilcoxon_test({i: v["CC"] for i, v in tables["ae"].items()},
                      {i: v["CC"] for i, v in tables["mse"].items()})
    assert by["CC", "ae", "mse"].wilcoxon_p == w.pvalue
    marks = significance_marks(rows, "mse")
    assert marks["lc2"] == {"CC": 1, "KL": 1}
    assert marks["ae"]["CC"] == -1 and marks["same"] == {"CC": 0, "KL": 0}
    assert "mse" not in marks


def test_holm_over_the_family_can_remove_significance():
    # Six images, "a" higher than mse on every one: exact p = 2/2^6 = 0.03125 for both tests.
    # Alone it is significant; beside two identical models (p = 1) Holm makes it 3·0.03125.
    ids = [str(i) for i in range(6)]
    base = [0.1, 0.5, 0.3, 0.9, 0.7, 0.2]
    t = {"mse": {i: {"CC": v} for i, v in zip(ids, base, strict=True)}}
    t["a"] = {i: {"CC": v + 0.01 * (1 + k)} for k, (i, v) in enumerate(zip(ids, base,
                                                                            strict=True))}
    t["b"], t["c"] = t["mse"], t["mse"]
    alone = compare_pairs(t, [("a", "mse")], {"CC": True})[0]
    assert alone.perm_p == pytest.approx(0.03125) and alone.wilcoxon_p == pytest.approx(0.03125)
    assert alone.significant and alone.better == "a"
    fam = compare_pairs(t, standard_pairs(list(t)), {"CC": True})
    assert fam[0].model_a == "a" and fam[0].holm_perm_p == pytest.approx(3 * 0.03125)
    assert fam[0].holm_wilcoxon_p == pytest.approx(3 * 0.03125)
    assert not fam[0].significant and fam[0].better is None
    assert compare_pairs(t, standard_pairs(list(t)), {"CC": True}, alpha=0.1)[0].significant


def test_rows_are_reproducible_and_written_as_csv(tmp_path):
    tables = _tables(30)
    pairs = standard_pairs(list(tables))
    a = compare_pairs(tables, pairs, HIB, n_resamples=500, seed=3)
    b = compare_pairs(tables, pairs[:1], HIB, n_resamples=500, seed=3)
    assert a[0].perm_p == b[0].perm_p  # a comparison's p does not depend on the family
    path = write_rows_csv(tmp_path / "sig" / "significance.csv", a)
    with open(path, newline="") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == len(a) and got[0]["metric"] == "CC"
    assert float(got[0]["holm_perm_p"]) == pytest.approx(a[0].holm_perm_p)
    assert got[2]["better"] == "" and a[2].better is None


def test_mean_over_seeds_ignores_nan_seeds():
    s1 = {"x": {"CC": 0.2, "KL": math.nan}, "y": {"CC": 0.4, "KL": 1.0}}
    s2 = {"x": {"CC": 0.4, "KL": math.nan}, "y": {"CC": math.nan, "KL": 2.0}}
    m = mean_over_seeds([s1, s2])
    assert m["x"]["CC"] == pytest.approx(0.3) and math.isnan(m["x"]["KL"])
    assert m["y"] == {"CC": 0.4, "KL": 1.5}
    with pytest.raises(DataError, match="different images"):
        mean_over_seeds([s1, {"x": {"CC": 1.0}}])


def test_bad_requests_name_the_problem():
    tables = _tables(10)
    with pytest.raises(ConfigError, match="unknown model"):
        compare_pairs(tables, [("lc9", "mse")], HIB)
    with pytest.raises(ConfigError, match="no direction"):
        compare_pairs(tables, [("lc2", "mse")], HIB, metrics=["NSS"])
    with pytest.raises(ConfigError, match="choose one of"):
        compare_pairs(tables, [("lc2", "mse")], HIB, test="ttest")
    with pytest.raises(ConfigError, match="baseline"):
        standard_pairs(["kld", "cc"], baseline="mse")
    short = dict(tables)
    short["lc2"] = {i: v for i, v in tables["lc2"].items() if i != "i000"}
    with pytest.raises(DataError, match="CC, lc2 vs mse.*only in B"):
        compare_pairs(short, [("lc2", "mse")], HIB)
    no_metric = {"a": {"1": {"CC": 1.0}}, "b": {"1": {"KL": 1.0}}}
    with pytest.raises(DataError, match="'b' has no scores for metric 'CC'"):
        compare_pairs(no_metric, [("a", "b")], HIB, metrics=["CC"])
