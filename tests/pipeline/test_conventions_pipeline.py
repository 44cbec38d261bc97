"""Both metric conventions end to end through the pipeline's own stages (tiny preset, one
trained run): params `evaluation.convention`, evaluate's metrics.json / scores.csv and its
conventions.json, and the report's tables in either convention."""

import csv
import json

import pytest
import yaml
from workflow_utils import TINY, fresh_copy

from salloss.pipeline import plan, stages
from salloss.pipeline.config import load_params

TUE = ["AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM"]


def _params(repo, convention, metrics):
    raw = yaml.safe_load(TINY.read_text())
    raw["grid"] = {"table2": {"datasets": ["mit1003"], "archs": ["baseline"],
                              "losses": ["mse", "kld"]}}
    raw["losses"] = {k: raw["losses"][k] for k in ("mse", "kld")}
    raw["archs"] = {"baseline": raw["archs"]["baseline"]}
    raw["report"].update(figure4_group=None, conventions_loss="kld")
    raw["evaluation"].update(convention=convention, metrics=metrics)
    raw.pop("sweeps")
    path = repo / f"params_{convention}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return load_params(path.relative_to(repo))


@pytest.mark.slow
def test_each_convention_scores_reports_and_agrees_with_the_other(tmp_path, monkeypatch):
    repo = fresh_copy(tmp_path / "clone")
    monkeypatch.chdir(repo)
    mit = _params(repo, "mit", ["CC", "SIM", "AUC-J", "NSS", "KL", "sAUC", "IG"])
    stages.fetch(mit, "mit1003")
    stages.prepare(mit, "mit1003")
    stages.features(mit, "mit1003", "baseline")
    for loss in ("mse", "kld"):
        stages.train(mit, "mit1003", "baseline", loss, 0)
        stages.evaluate(mit, "mit1003", "baseline", loss, 0)
    rd = plan.run_dir(mit, "mit1003", "baseline", "kld", 0)
    both = json.loads((rd / "conventions.json").read_text())
    scored = json.loads((rd / "metrics.json").read_text())
    assert list(both["tuebingen"]) == TUE
    assert both["mit"] == scored  # the params' convention is the run's metrics.json
    assert both["empirical_sigma_px"] == mit.evaluation["empirical_sigma"]["mit1003"]
    stages.report(mit)
    md = (plan.report_dir(mit) / "tables" / "conventions.md").read_text()
    assert "kld · baseline · seed 0" in md and "| KLDiv ↓ |" in md
    # the same run, evaluated in the Tübingen convention, writes the Tübingen names and the
    # same numbers its conventions.json held, and the report's tables use them
    tue = _params(repo, "tuebingen", TUE)
    for loss in ("mse", "kld"):
        stages.evaluate(tue, "mit1003", "baseline", loss, 0)
    again = json.loads((rd / "metrics.json").read_text())
    assert list(again) == TUE
    for m in TUE:
        assert again[m]["mean"] == pytest.approx(both["tuebingen"][m]["mean"], abs=1e-12), m
    with open(rd / "scores.csv") as fh:
        assert next(csv.reader(fh)) == ["id", *TUE]
    swapped = json.loads((rd / "conventions.json").read_text())
    assert swapped["mit"]["NSS"]["mean"] == pytest.approx(both["mit"]["NSS"]["mean"],
                                                          abs=1e-12)
    stages.report(tue)
    table2 = (plan.report_dir(tue) / "tables" / "table2.md").read_text()
    assert "KLDiv ↓" in table2 and "AUC ↑" in table2 and "AUC-J" not in table2
