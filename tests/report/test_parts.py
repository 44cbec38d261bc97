"""The report's building blocks on their own: statistics, the paper reference and its spec
matching, dataset recognition, rendering helpers, and the file names shared with other parts."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from scipy import stats as sps

from salloss.errors import DataError
from salloss.report import stats
from salloss.report.reference import PaperReference, spec_key


@pytest.fixture(scope="module")
def ref(fakes):
    return PaperReference(fakes.REFERENCE)


# --- statistics -------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [[0.61, 0.64], [0.5, 0.52, 0.49, 0.57, 0.55]])
def test_t_halfwidth_matches_scipy_interval(values):
    x = np.array(values)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert stats.t_halfwidth(x) == pytest.approx((hi - lo) / 2, rel=1e-12)
    assert stats.t_halfwidth([0.5]) is None


def test_seed_stat_leaves_out_nan_seeds():
    s = stats.seed_stat([0.5, math.nan, 0.7])
    assert s.mean == pytest.approx(0.6) and s.n == 2
    assert s.half_width == pytest.approx(stats.t_halfwidth([0.5, 0.7]))
    empty = stats.seed_stat([math.nan])
    assert math.isnan(empty.mean) and empty.n == 0 and empty.half_width is None


def test_ranks_direction_ties_and_missing():
    assert stats.ranks([0.3, 0.9, None, 0.5, math.nan], True) == [3, 1, None, 2, None]
    assert stats.ranks([0.3, 0.9, 0.5], False) == [1, 3, 2]
    assert stats.ranks([0.7, 0.7, 0.2], True) == [1, 1, 3]


def test_paired_test():
    a, b = [0.1, 0.2, 0.3, 0.4, math.nan], [0.2, 0.1, 0.5, 0.7, 0.9]
    out = stats.paired_test(a, b)
    assert out["n"] == 4 and out["frac_better"] == 0.75
    assert out["mean_diff"] == pytest.approx(np.mean([0.1, -0.1, 0.2, 0.3]))
    assert out["p_wilcoxon"] == pytest.approx(sps.wilcoxon(a[:4], b[:4]).pvalue)
    assert stats.paired_test([0.1, 0.2], [0.1, 0.2])["p_wilcoxon"] == 1.0  # no difference


# --- paper reference --------------------------------------------------------------------------


def test_spec_key_is_order_and_format_free():
    assert spec_key("10 * kld-2*cc - nss") == spec_key("-2*cc + 10*kld - nss")
    assert spec_key("focal") == spec_key("focal(gamma=2)")
    assert spec_key("kld - cc") != spec_key("kld - 2*cc")


def test_lookup_by_spec(ref):
    assert ref.lookup("table2", "-cc", None).name == "CC"
    assert ref.lookup("table2", "-cc", None).values["CC"].value == 0.6943
    assert ref.lookup("table2", "kld - cc", None) is None  # not one of the 27 rows
    assert ref.lookup("table2", "wbce(w=0.6)", "MIT1003").values["KL"].text == "0.9862"
    assert ref.lookup("table2", "mse", "CAT2000") is None  # Table 2 is MIT1003 only
    lc2 = "10*kld - 2*cc - nss + df + gm + sigmse(lam=0.55) + r"
    assert ref.lookup("table3", lc2, "FiWi").values["CC"].text == "0.4236"
    assert ref.lookup("table3", lc2, None) is None  # which of CAT2000/FiWi is unknown
    assert ref.lookup("table4", "wmse", None).values["NSS"].value == 2.0037
    assert ref.lookup("table1", "mse", None).name == "Our model"
    assert ref.lookup("table1", "kld", None) is None
    assert ref.lookup("table1", "mse", "FiWi") is None  # Table 1 is MIT1003 only
    assert [r.name for r in ref.published_models()][-1] == "DeepConvNet"


def test_groups_of_specs_outside_the_paper(ref):
    assert ref.group_of("gm") == "Perceptual-based"
    assert ref.group_of("sigmse(lam=0.3)") == "Pixel-based"  # by its term's category
    assert ref.group_of("bhat - nss") == "Linear combinations"
    assert ref.group_order[:2] == ["Pixel-based", "Distribution-based"]


def test_reference_errors_name_the_file(tmp_path, fakes):
    with pytest.raises(DataError, match="table1.csv"):
        PaperReference(tmp_path)
    for name in ("table1", "table2", "table3", "table4"):
        shutil.copy(fakes.REFERENCE / f"{name}.csv", tmp_path)
    text = (tmp_path / "table2.csv").read_text(encoding="utf-8")
    (tmp_path / "table2.csv").write_text(text.replace(",EAD,", ",EADX,"), encoding="utf-8")
    with pytest.raises(DataError, match="table2.csv"):
        PaperReference(tmp_path)


def test_paper_tables_agree_with_the_loss_registry(ref):
    from salloss.losses import paper

    assert [r.name for r in ref.rows["table2"]] == [n for n, _ in paper.TABLE2]
    assert len(ref.rows["table3"]) == 2 * len(paper.TABLE3)


# --- dataset recognition, rendering, shared names ---------------------------------------------


def test_paper_dataset_recognition(fakes, tmp_path):
    from salloss.pipeline.config import validate
    from salloss.report.tables import dataset_title, paper_dataset

    content = fakes.trim(fakes.params(tmp_path / "d", tmp_path / "r"))
    content["datasets"]["synth-fiwi"] = content["datasets"].pop("cat2000")
    content["datasets"]["mine"] = dict(content["datasets"]["mit1003"])
    content["grid"]["table3"]["datasets"] = ["synth-fiwi"]
    content["grid"]["other"] = {"datasets": ["mine"], "archs": ["baseline"], "losses": ["ae"]}
    content["losses"]["ae"] = "ae"
    cfg = validate(content)
    assert paper_dataset(cfg, "mit1003") == "MIT1003"
    assert paper_dataset(cfg, "synth-fiwi") == "FiWi"
    assert paper_dataset(cfg, "mine") is None
    assert dataset_title(cfg, "synth-fiwi") == "FiWi (synth-fiwi, synthetic stand-in)"
    assert dataset_title(cfg, "mine") == "mine (synthetic stand-in)"


def test_tex_escape_and_marks():
    from salloss.report.render import tex_escape
    from salloss.report.stats import Stat
    from salloss.report.tables import Entry, fmt_stat

    assert tex_escape("SIG-MSE (λ = 0.55) & 50% #1_a") == \
        r"SIG-MSE ($\lambda$ = 0.55) \& 50\% \#1\_a"
    assert fmt_stat(Stat(0.51234, 0.0123, 3)) == "0.5123 ± 0.0123"
    assert fmt_stat(Stat(math.nan, None, 0)) == "n/a" and fmt_stat(None) == "–"
    from salloss.report.render import cell_text

    assert cell_text(Entry("paper", {"CC": Stat(0.7, None, 1)}, {"CC": "0.70"}), "CC") == "0.70"


def test_file_names_agree_with_the_pipeline_and_trainer():
    from salloss.pipeline import plan
    from salloss.report import collect
    from salloss.training import loop

    assert collect.TRAIN == loop.SUMMARY and collect.TRAIN in plan.TRAIN_OUTPUTS
    assert {collect.SCORES, collect.SUMMARY, collect.PREVIEW} <= set(plan.EVAL_OUTPUTS)
