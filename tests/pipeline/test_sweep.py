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
def test_the_plan_has_two_jobs_per_candidate_select_and_two_per_seed(preset):
    cfg = load_params(preset)
    jobs = plan.planned_outputs(cfg)
    for sid, sw in cfg.sweeps.items():
        mine = [j for j in jobs if j.startswith("sweep_") and f"/{sid}" in j]
        assert len(mine) == 2 * len(sw.candidates) + 1 + 2 * len(cfg.seeds)
        for k in sw.candidates:
            assert f"sweep_train/{sid}/cand{k}" in jobs and f"sweep_validate/{sid}/cand{k}" in jobs
        for s in cfg.seeds:  # the winner, retrained and tested at every seed of the tables
            sd = plan.sweep_dir(cfg, sid) / "seeds" / f"seed{s}"
            assert jobs[f"sweep_seed/{sid}/seed{s}"] == [
                str(sd / "model.pt"), str(sd / "summary.json"), str(sd / "dvclive")]
            assert jobs[f"sweep_test/{sid}/seed{s}"] == [
                str(sd / "test" / f) for f in plan.SWEEP_TEST_OUTPUTS]
        assert f"sweep_test/{sid}" not in jobs


def _cfg(tmp_path, seeds=(0, 1, 2), sweep_seed=7):
    raw = copy.deepcopy(_raw())
    raw["seeds"] = list(seeds)
    raw["sweeps"]["lc_opt"]["seed"] = sweep_seed
    raw["results_dir"] = str(tmp_path / "results")
    raw["data_dir"] = str(tmp_path / "data")
    return validate(raw)


def _capture_training(monkeypatch) -> list[tuple[dict, Path]]:
    trained = []
    monkeypatch.setattr(stages, "train_into",
                        lambda cfg, dataset, arch, config, rd: trained.append((config, rd)))
    return trained


def test_candidates_train_at_the_sweep_seed_not_the_reported_seeds(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    sw = cfg.sweeps["lc_opt"]
    trained = _capture_training(monkeypatch)
    for k in sw.candidates:
        stages.sweep_train(cfg, "lc_opt", k)
    assert [c["seed"] for c, _ in trained] == [7] * len(sw.candidates)
    assert [c["loss"] for c, _ in trained] == [sweep.spec_of(sw, k) for k in sw.candidates]
    assert [rd for _, rd in trained] == [plan.candidate_dir(cfg, "lc_opt", k)
                                        for k in sw.candidates]


def _write_best(cfg, spec="+1*kld -2*cc") -> dict:
    best = {"sweep": "lc_opt", "candidate": 1, "spec": spec, "select": "CC"}
    path = plan.sweep_dir(cfg, "lc_opt") / "best.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(best))
    return best


def test_the_winner_is_retrained_at_each_reported_seed(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    best = _write_best(cfg)
    trained = _capture_training(monkeypatch)
    for s in cfg.seeds:
        stages.sweep_seed(cfg, "lc_opt", s)
    assert [(c["seed"], c["loss"]) for c, _ in trained] == [(s, best["spec"]) for s in (0, 1, 2)]
    assert [rd for _, rd in trained] == [plan.sweep_dir(cfg, "lc_opt") / "seeds" / f"seed{s}"
                                        for s in (0, 1, 2)]
    # the same training settings as a grid run at that seed, but the selected spec
    run = stages.train_config(cfg, "baseline", "mse", 1)
    assert trained[1][0] == {**run, "loss": best["spec"]}


def test_seed_jobs_before_select_or_outside_the_seeds_fail_clearly(tmp_path, monkeypatch):
    from salloss.errors import DataError

    cfg = _cfg(tmp_path)
    trained = _capture_training(monkeypatch)
    best = plan.sweep_dir(cfg, "lc_opt") / "best.json"
    for stage in (stages.sweep_seed, stages.sweep_test):
        with pytest.raises(DataError, match="sweep_select") as err:
            stage(cfg, "lc_opt", 0)
        assert str(best) in str(err.value)
    _write_best(cfg)
    with pytest.raises(ConfigError, match=r"seed 5 is not one of the params' seeds \[0, 1, 2\]"):
        stages.sweep_seed(cfg, "lc_opt", 5)
    seed_dir = plan.sweep_dir(cfg, "lc_opt") / "seeds" / "seed1"
    with pytest.raises(DataError, match="sweep_seed --sweep lc_opt --seed 1") as err:
        stages.sweep_test(cfg, "lc_opt", 1)  # not trained yet
    assert str(seed_dir / "model.pt") in str(err.value)
    seed_dir.mkdir(parents=True)
    (seed_dir / "model.pt").write_bytes(b"")
    (seed_dir / "summary.json").write_text(json.dumps({"params": {"loss": "+1*kld", "seed": 1}}))
    with pytest.raises(DataError, match="best.json selected"):
        stages.sweep_test(cfg, "lc_opt", 1)  # a model of an older selection
    assert not trained


def test_the_cli_runs_sweep_seed_and_sweep_test_per_seed(tmp_path, capsys):
    from salloss.cli import main

    raw = copy.deepcopy(_raw())
    raw["results_dir"] = str(tmp_path / "results")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    for stage in ("sweep_seed", "sweep_test"):
        # parsed up to the stage, which needs best.json first (exit code 2: a reported error)
        assert main(["run", stage, "--params", str(params), "--sweep", "lc_opt",
                     "--seed", "0"]) == 2
        assert "best.json" in capsys.readouterr().err
        with pytest.raises(SystemExit):  # --seed is required
            main(["run", stage, "--params", str(params), "--sweep", "lc_opt"])


def _fake_seed_result(cfg, seed: int, spec: str, cc: list[float]) -> None:
    test = plan.sweep_dir(cfg, "lc_opt") / "seeds" / f"seed{seed}" / "test"
    test.mkdir(parents=True)
    metrics = list(cfg.evaluation["metrics"])
    rows = ["id," + ",".join(metrics)] + [
        f"img{i}," + ",".join(str(v if m == "CC" else 0.5) for m in metrics)
        for i, v in enumerate(cc)]
    (test / "scores.csv").write_text("\n".join(rows) + "\n")
    (test / "metrics.json").write_text(json.dumps(
        {m: {"mean": float(np.mean(cc)) if m == "CC" else 0.5} for m in metrics}))
    (test / "summary.json").write_text(json.dumps({
        "status": "finished", "params": {"loss": spec, "seed": seed}, "history": [],
        "sweep": {"sweep": "lc_opt", "spec": spec}}))


def test_the_reports_sweep_row_has_one_result_per_seed(tmp_path):
    from salloss.errors import DataError
    from salloss.report.sweeps import sweep_results

    cfg = _cfg(tmp_path)
    best = _write_best(cfg)
    for s, cc in zip(cfg.seeds, ([0.1, 0.2], [0.3, 0.4], [0.5, 0.6]), strict=True):
        _fake_seed_result(cfg, s, best["spec"], cc)
    seen, results = sweep_results(cfg)
    assert [r.run for r in results] == [plan.Run("table2", "mit1003", "baseline", "lc_opt", s)
                                        for s in (0, 1, 2)]
    assert [r.mean("CC") for r in results] == pytest.approx([0.15, 0.35, 0.55])
    assert all(r.spec == best["spec"] for r in results)
    assert seen.losses["lc_opt"] == best["spec"] and "lc_opt" in seen.grid["table2"]["losses"]
    # a seed scored for an older selection is refused, not silently mixed in
    stale = plan.sweep_dir(cfg, "lc_opt") / "seeds" / "seed2" / "test" / "summary.json"
    content = json.loads(stale.read_text())
    content["sweep"]["spec"] = "+1*kld"
    stale.write_text(json.dumps(content))
    with pytest.raises(DataError, match="rerun the sweep's sweep_seed and sweep_test for seed 2"):
        sweep_results(cfg)
    # a missing seed names its file
    import shutil

    shutil.rmtree(stale.parent)
    with pytest.raises(DataError, match="seed2/test/scores.csv"):
        sweep_results(cfg)


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
    for s in cfg.seeds:
        stages.sweep_seed(cfg, sid, s)
        stages.sweep_test(cfg, sid, s)
        test_dir = plan.sweep_dir(cfg, sid) / "seeds" / f"seed{s}" / "test"
        assert _ids(test_dir / "scores.csv") == test_ids
        tested = json.loads((test_dir / "summary.json").read_text())
        assert tested["params"]["seed"] == s and tested["sweep"]["spec"] == best["spec"]
    # reproducible from its recorded coefficients alone, at the sweep's own seed
    spec = " ".join(f"{c:+g}*{t}" for t, c in best["coefficients"].items()).lstrip("+")
    config = stages.train_config(cfg, sw.arch, "", sw.seed, spec=spec)
    stages.train_into(cfg, sw.dataset, sw.arch, config, tmp_path / "again")
    ours = _state(tmp_path / "again" / "model.pt")
    theirs = _state(plan.candidate_dir(cfg, sid, best["candidate"]) / "model.pt")
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    from salloss.report.sweeps import sweep_results

    _, rows = sweep_results(cfg)
    assert [r.run.seed for r in rows] == list(cfg.seeds)
