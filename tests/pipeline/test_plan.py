"""Snakemake and DVC plan the same jobs with the same outputs — the ones `salloss.pipeline.plan`
defines — for both presets, and both call the same `salloss run` command per job."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from salloss.pipeline import plan
from salloss.pipeline.config import load_params

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _kind(job_or_stage: str) -> str:
    """'train/mit1003/…', 'train_table2@mit…' → 'train'; 'sweep_test_lc_opt' → 'sweep_test'."""
    base = re.split(r"[/@]", job_or_stage)[0]
    if base.startswith("fetch_"):  # the Snakefile's per-dataset fetch rules
        return "fetch"
    return re.sub(r"_(table\d+|lc_opt)$", "", base)


def _planned(cfg) -> set[tuple[str, str]]:
    return {(_kind(job), out) for job, outs in plan.planned_outputs(cfg).items() for out in outs}


def _snakemake(params: Path) -> set[tuple[str, str]]:
    cmd = [str(BIN / "snakemake"), "--summary", "--cores", "1"]
    if params.name != "params.yaml":
        cmd += ["--configfile", str(params)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split("\t") for line in out.stdout.splitlines()[1:] if "\t" in line]
    return {(r[2], r[0]) for r in rows}


def _dvc_stages(tmp_path: Path, params: Path):
    """dvc.yaml resolved against `params` (copied as params.yaml into a scratch repo)."""
    from dvc.repo import Repo

    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    shutil.copy(ROOT / "dvc.yaml", repo_dir / "dvc.yaml")
    shutil.copy(params, repo_dir / "params.yaml")
    subprocess.run(["git", "init", "-q"], cwd=repo_dir, check=True)
    Repo.init(str(repo_dir))
    with Repo(str(repo_dir)) as repo:
        # DVC declares a DVCLive folder as its two parts (metrics.json an output, plots/ the
        # stage's plots, so `dvc plots show` finds the curves); the plan names the folder
        return [(s.name, s.cmd, sorted({re.sub(r"/dvclive/.+$", "/dvclive", str(o.def_path))
                                        for o in s.outs})) for s in repo.index.stages]


@pytest.mark.parametrize("preset", ["params.yaml", "config/paper.yaml"])
def test_snakemake_and_dvc_plan_the_same_jobs(preset, tmp_path):
    params = ROOT / preset
    cfg = load_params(params)
    expected = _planned(cfg)
    assert len(expected) == sum(len(v) for v in plan.planned_outputs(cfg).values())

    snake = {(_kind(k), o) for k, o in _snakemake(params) if k != "all"}
    assert snake == expected

    stages = _dvc_stages(tmp_path, params)
    dvc = {(_kind(name), out) for name, _, outs in stages for out in outs}
    assert dvc == expected
    assert len(stages) == len(plan.planned_outputs(cfg))


def test_dvc_commands_name_their_job(tmp_path):
    """Each DVC stage runs `salloss run <kind>` for exactly the keys in its stage name."""
    for name, cmd, outs in _dvc_stages(tmp_path, ROOT / "params.yaml"):
        kind = _kind(name)
        assert cmd.startswith(f"salloss run {kind} --params params.yaml"), cmd
        if kind in ("train", "evaluate"):
            keys = dict(re.findall(r"--(dataset|arch|loss|seed) (\S+)", cmd))
            d, a, loss, s = keys["dataset"], keys["arch"], keys["loss"], keys["seed"]
            assert name.endswith(f"@{d}-{a}-{loss}-{s}")
            assert all(f"/runs/{d}/{a}/{loss}/seed{s}/" in o for o in outs)
        if kind in ("sweep_seed", "sweep_test"):  # one job per seed of `seeds`
            s = re.fullmatch(rf"salloss run {kind} --params params.yaml --sweep lc_opt "
                             r"--seed (\d+)", cmd).group(1)
            assert name == f"{kind}_lc_opt@{s}"
            assert all(f"/sweeps/lc_opt/seeds/seed{s}/" in o for o in outs)
            assert ("/test/" in outs[0]) == (kind == "sweep_test")


def test_snakemake_sweep_commands_name_their_seed():
    """The winner's retraining and test jobs run once per seed of `seeds`, with that seed."""
    cfg = load_params(ROOT / "params.yaml")
    out = subprocess.run([str(BIN / "snakemake"), "--dry-run", "--printshellcmds", "--cores",
                          "1", "--forceall", "--until", "sweep_test"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    for kind in ("sweep_seed", "sweep_test"):
        cmds = re.findall(rf"salloss run {kind} .*--sweep (\S+) --seed (\d+) > "
                          rf"logs/{cfg.preset}/{kind}/(\S+)/seed(\d+)\.log", text)
        assert sorted(cmds) == [("lc_opt", str(s), "lc_opt", str(s)) for s in cfg.seeds], kind


def test_artefact_paths_are_pure_functions_of_the_run():
    cfg = load_params(ROOT / "params.yaml")
    rd = plan.run_dir(cfg, "mit1003", "baseline", "lc2", 3)
    assert rd == Path("results/demo/runs/mit1003/baseline/lc2/seed3")
    assert plan.checkpoint_dir(cfg, "mit1003", "baseline", "lc2", 3).parent == rd
    # the checkpoint is never a declared output (Snakemake/DVC delete those before a job)
    all_outputs = [o for outs in plan.planned_outputs(cfg).values() for o in outs]
    assert not any("checkpoint" in o for o in all_outputs)
    assert len(all_outputs) == len(set(all_outputs))


def test_the_committed_dvc_lock_is_the_demo_presets(tmp_path):
    """dvc.lock (committed beside the demo report) has every stage of dvc.yaml for params.yaml,
    with the same commands and the params values params.yaml has now — so a params edit
    without a rerun (and a lock left from another preset) fails here, not on a user's clone."""
    import yaml

    lock = yaml.safe_load((ROOT / "dvc.lock").read_text(encoding="utf-8"))["stages"]
    stages = {name: cmd for name, cmd, _ in _dvc_stages(tmp_path, ROOT / "params.yaml")}
    assert set(lock) == set(stages)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for name, entry in lock.items():
        assert entry["cmd"] == stages[name], name
        for key, value in entry.get("params", {}).get("params.yaml", {}).items():
            node = params
            for part in key.split("."):
                node = node[part]
            assert node == value, f"{name}: params.yaml {key} is {node!r}, the lock has {value!r}"
        outs = [o["path"] for o in entry.get("outs", [])]
        assert all("md5" in o for o in entry.get("outs", [])), (name, outs)


def test_snakemake_fetch_commands_name_their_dataset():
    """The per-dataset fetch rules are made in a loop: each must fetch its own dataset (a shell
    string evaluated at run time would see the loop's last key)."""
    out = subprocess.run([str(BIN / "snakemake"), "--dry-run", "--printshellcmds", "--cores",
                          "1", "--forceall", "--until", "fetch_mit1003", "fetch_cat2000",
                          "fetch_fiwi"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    cmds = re.findall(r"salloss run fetch .*--dataset (\S+) > logs/\S+/fetch/(\S+)\.log",
                      out.stdout + out.stderr)
    assert sorted(cmds) == [("cat2000", "cat2000"), ("fiwi", "fiwi"), ("mit1003", "mit1003")]


def test_frozen_encoders_use_the_feature_cache_only_where_a_run_reads_it(tmp_path):
    """Frozen `encdec` archs share a feature cache like the baseline; a fine-tuned one does not;
    the (dataset, arch) pairs no run trains (the features matrix is a full product) write a
    marker instead of a cache (a ResNet-50 cache is ~13.6 MB per image at 300×400)."""
    import json

    import yaml

    from salloss.pipeline import stages
    from salloss.pipeline.config import validate

    paper = load_params(ROOT / "config" / "paper.yaml")
    assert plan.uses_feature_cache(paper, "baseline")
    assert plan.uses_feature_cache(paper, "encdec_resnet50")
    assert not plan.uses_feature_cache(paper, "encdec_resnet50_ft")
    assert not plan.uses_feature_cache(paper, "sam_vgg")
    assert plan.runs_on(paper, "mit1003", "encdec_densenet161")
    assert not plan.runs_on(paper, "cat2000", "encdec_densenet161")
    assert plan.runs_on(paper, "cat2000", "baseline")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data_dir"] = str(tmp_path / "data")
    cfg = validate(raw)
    out = stages.features(cfg, "cat2000", "encdec_resnet18")  # no prepared data needed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["unused"] is True and not (out / "features.npy").exists()
