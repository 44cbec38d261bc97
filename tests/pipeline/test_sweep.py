"""The coefficient sweep: candidates are a pure function of (seed, index), the plan has the
right jobs, the search reads only the train and validation splits, and the winner's row is
reproducible from the coefficients it records."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from workflow_utils import ROOT, TINY, fresh_copy

from salloss.errors import ConfigError
from salloss.losses.spec import parse
from salloss.pipeline import plan, stages, sweep
from salloss.pipeline.config import load_params, validate

TERMS = ["kld", "cc", "nss", "sigmse(lam=0.55)", "df", "gm", "r"]


def test_candidates_are_pure_functions_of_seed_and_index():
    a = sweep.candidate_coefficients(0, 3, len(TERMS), (0.1, 10))
    assert a == sweep.candidate_coefficients(0, 3, len(TERMS), (0.1, 10))
    assert a != sweep.candidate_coefficients(0, 4, len(TERMS), (0.1, 10))
    assert a != sweep.candidate_coefficients(1, 3, len(TERMS), (0.1, 10))
    draws = np.array([sweep.candidate_coefficients(0, k, len(TERMS), (0.1, 10))
                      for k in range(200)])
    assert draws.min() >= 0.1 and draws.max() <= 10
    # log-uniform: about half of the draws below the geometric mean 1
    assert 0.4 < float((draws < 1).mean()) < 0.6


def test_candidate_spec_negates_similarities_and_parses():
    spec = sweep.candidate_spec(TERMS, [1.5, 2, 3, 0.5, 0.25, 4, 1])
    terms = {t.name: t.coef for t in parse(spec)}
    assert terms == {"kld": 1.5, "cc": -2.0, "nss": -3.0, "sigmse": 0.5, "df": 0.25,
                     "gm": 4.0, "r": 1.0}


def _raw():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.mark.parametrize("edit, fragment", [
    (lambda s: s["terms"].append("-cc"), "without a coefficient or sign"),
    (lambda s: s["terms"].append("2*kld"), "without a coefficient or sign"),
    (lambda s: s["terms"].append("kldd"), "unknown loss term 'kldd'"),
    (lambda s: s.update(group="table3"), "must hold exactly dataset 'mit1003'"),
    (lambda s: s.update(select="AUC"), "not one of evaluation.metrics"),
    (lambda s: s.update(coef_range=[10, 1]), "0 < low < high"),
    (lambda s: s.update(candidates=[1, 1]), "distinct candidate indices"),
    (lambda s: s.update(arch="resnet"), "unknown arch 'resnet'"),
    (lambda s: s.update(budget=3), "unknown key 'budget'"),
])
def test_bad_sweeps_are_refused(edit, fragment):
    raw = copy.deepcopy(_raw())
    edit(raw["sweeps"]["lc_opt"])
    with pytest.raises(ConfigError, match="sweeps.lc_opt") as err:
        validate(raw)
    assert fragment in str(err.value)


def test_sweep_id_must_not_shadow_a_loss_id():
    raw = copy.deepcopy(_raw())
    raw["sweeps"]["mse"] = raw["sweeps"].pop("lc_opt")
    with pytest.raises(ConfigError, match="must differ from the loss ids"):
        validate(raw)


@pytest.mark.parametrize("preset", [ROOT / "params.yaml", ROOT / "config" / "paper.yaml", TINY])
def test_the_plan_has_two_jobs_per_candidate_plus_select_and_test(preset):
    cfg = load_params(preset)
    jobs = plan.planned_outputs(cfg)
    for sid, sw in cfg.sweeps.items():
        mine = [j for j in jobs if j.startswith("sweep_") and f"/{sid}" in j]
        assert len(mine) == 2 * len(sw.candidates) + 2
        for k in sw.candidates:
            assert f"sweep_train/{sid}/cand{k}" in jobs and f"sweep_validate/{sid}/cand{k}" in jobs


def _ids(csv_path: Path) -> set[str]:
    return {line.split(",")[0] for line in csv_path.read_text().splitlines()[1:]}


def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.mark.slow
def test_search_reads_only_train_and_val_and_the_winner_is_reproducible(tmp_path, monkeypatch):
    repo = fresh_copy(tmp_path / "clone")
    monkeypatch.chdir(repo)
    cfg = load_params(TINY.relative_to(ROOT))
    sid, sw = next(iter(cfg.sweeps.items()))
    stages.fetch(cfg, sw.dataset)
    stages.prepare(cfg, sw.dataset)
    stages.features(cfg, sw.dataset, sw.arch)
    for k in sw.candidates:
        stages.sweep_train(cfg, sid, k)
        stages.sweep_validate(cfg, sid, k)
    best_path = stages.sweep_select(cfg, sid)
    from salloss.data import PreparedDataset

    prepared = PreparedDataset(plan.prepared_dir(cfg, sw.dataset))
    val_ids, test_ids = set(prepared.split["val"]), set(prepared.split["test"])
    for k in sw.candidates:
        cd = plan.candidate_dir(cfg, sid, k)
        summary = json.loads((cd / "summary.json").read_text())
        assert summary["train_images"] == len(prepared.split["train"])
        assert summary["val_images"] == len(val_ids)
        val = json.loads((cd / "val_metrics.json").read_text())
        assert val["split"] == "val" and val["spec"] == sweep.spec_of(sw, k)
        scored = _ids(cd / "val_scores.csv")
        assert scored == val_ids and not scored & test_ids
        assert not list(cd.glob("scores.csv")), "a candidate was scored on the test split"
    best = json.loads(best_path.read_text())
    assert best["select_split"] == "val"
    scores = {c["candidate"]: c["val_score"] for c in best["candidates"]}
    assert best["val_score"] == max(scores.values()) == scores[best["candidate"]]
    stages.sweep_test(cfg, sid)
    test_dir = plan.sweep_dir(cfg, sid) / "test"
    tested = _ids(test_dir / "scores.csv")
    assert tested == test_ids
    # reproducible from its recorded coefficients alone
    spec = " ".join(f"{c:+g}*{t}" for t, c in best["coefficients"].items()).lstrip("+")
    config = stages.train_config(cfg, sw.arch, "", cfg.seeds[0], spec=spec)
    stages.train_into(cfg, sw.dataset, sw.arch, config, tmp_path / "again")
    ours = _state(tmp_path / "again" / "model.pt")
    theirs = _state(plan.candidate_dir(cfg, sid, best["candidate"]) / "model.pt")
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
