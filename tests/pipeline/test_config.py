"""The params schema: both presets validate, the paper grid is the code's, and every kind of
mistake is refused before any job with the key's path and the valid choices."""

import copy
from pathlib import Path

import pytest
import yaml

from salloss.errors import ConfigError
from salloss.losses.paper import TABLE2, TABLE3, TABLE4
from salloss.losses.spec import canonical
from salloss.pipeline.config import load_params, validate
from salloss.pipeline.plan import plan_runs

ROOT = Path(__file__).resolve().parents[2]
PRESETS = [ROOT / "params.yaml", ROOT / "config" / "paper.yaml"]


def _raw(path=ROOT / "params.yaml"):
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_presets_validate_and_hold_the_paper_grid(path):
    cfg = load_params(path)
    specs = [canonical(cfg.losses[i]) for i in cfg.grid["table2"]["losses"]]
    assert specs == [canonical(s) for _, s in TABLE2]
    for group, table in (("table3", TABLE3), ("table4", TABLE4)):
        assert [canonical(cfg.losses[i]) for i in cfg.grid[group]["losses"]] == [
            canonical(s) for _, s in table
        ]
    assert cfg.grid["table3"]["datasets"] == ("cat2000", "fiwi")
    assert cfg.archs[cfg.grid["table4"]["archs"][0]].model == "sam_vgg"
    # 27 + 3×2 baseline runs and 3 SAM-VGG runs per seed, then Table 5 (beyond the paper)
    t5 = cfg.grid["table5"]
    paper_runs = [r for r in plan_runs(cfg) if r.group != "table5"]
    assert len(paper_runs) == 36 * len(cfg.seeds)
    assert len(plan_runs(cfg)) - len(paper_runs) == len(t5["archs"]) * len(t5["losses"]) * len(
        cfg.seeds)
    assert t5["datasets"] == ("mit1003",)
    assert {cfg.archs[a].model for a in t5["archs"]} == {"encdec"}
    backbones = {cfg.archs[a].model_options["backbone"] for a in t5["archs"]}
    t5_specs = {canonical(cfg.losses[k]) for k in t5["losses"]}
    if path.name == "params.yaml":  # the demo's small version
        assert backbones == {"resnet18", "convnext_tiny"} and len(t5_specs) == 4
    else:  # every loss category of the paper, on ResNet-50, DenseNet-161, EfficientNet-B0
        assert backbones == {"resnet50", "densenet161", "efficientnet_b0"}
        assert {canonical(s) for s in ("wmse", "kld", "-cc", "-nss", "bce",
                                        "10*kld - 2*cc - nss + r")} <= t5_specs
        assert any(cfg.archs[a].model_options.get("finetune") for a in t5["archs"])


def test_presets_share_one_schema():
    demo, paper = _raw(), _raw(ROOT / "config" / "paper.yaml")
    assert set(demo) == set(paper)
    assert demo["losses"] == paper["losses"]
    table5 = {"table5"}  # beyond the paper: the demo's is a small version (checked above)
    assert {k: v for k, v in demo["grid"].items() if k not in table5} == {
        k: v for k, v in paper["grid"].items() if k not in table5}
    assert paper["backbone_weights"] == "imagenet"
    assert paper["archs"]["baseline"]["input_size"] == [300, 400]
    assert {d["loader"] for d in paper["datasets"].values()} == {"mit1003", "cat2000", "fiwi"}


def _mutated(edit):
    raw = copy.deepcopy(_raw())
    edit(raw)
    return raw


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda r: r.update(epochs=3), ["unknown key 'epochs'", "valid keys", "seeds"]),
        (lambda r: r["grid"]["table2"]["losses"].append("msee"),
         ["grid.table2.losses[27]", "unknown loss 'msee'", "mse"]),
        (lambda r: r["grid"]["table3"]["datasets"].append("salicon1"),
         ["grid.table3.datasets[2]", "unknown dataset 'salicon1'", "mit1003"]),
        (lambda r: r["grid"]["table4"].update(archs=["resnet"]),
         ["grid.table4.archs[0]", "unknown arch 'resnet'", "baseline"]),
        (lambda r: r["datasets"]["fiwi"].update(loader="fiwy"),
         ["datasets.fiwi.loader", "'fiwy'", "cat2000", "synthetic"]),
        (lambda r: r["datasets"]["fiwi"]["options"].update(n_image=3),
         ["datasets.fiwi.options", "n_image", "n_images"]),
        (lambda r: r["losses"].update(mse="mse + +cc"), ["losses.mse"]),
        (lambda r: r["losses"].update(cc="cc"), ["losses.cc"]),
        (lambda r: r["losses"].update(kld="kldd"), ["losses.kld", "kldd"]),
        (lambda r: r["archs"]["baseline"]["train"].update(lr=-1), ["archs.baseline.train", "lr"]),
        (lambda r: r["archs"]["baseline"]["train"].update(optimiser="adam"),
         ["archs.baseline.train", "optimiser", "optimizer"]),
        (lambda r: r["archs"]["baseline"]["train"].update(loss="mse"),
         ["archs.baseline.train", "set by the pipeline"]),
        (lambda r: r["archs"]["sam_vgg"].update(model="sam"), ["archs.sam_vgg.model", "sam_vgg"]),
        (lambda r: r["archs"]["baseline"].update(input_size=[300]), ["archs.baseline.input_size"]),
        (lambda r: r["evaluation"]["metrics"].append("AUC"),
         ["evaluation.metrics[9]", "'AUC'", "AUC-J"]),
        (lambda r: r["evaluation"].update(convention="matlab"),
         ["evaluation.convention", "'matlab'", "mit, tuebingen"]),
        (lambda r: r["evaluation"].update(convention="tuebingen"),  # demo lists MIT names
         ["evaluation.metrics[2]", "'AUC-J'", "'tuebingen' convention", "KLDiv"]),
        (lambda r: r["evaluation"].update(convention="tuebingen", metrics=["AUC", "IG"]),
         ["evaluation.metrics[1]", "probabilistic models"]),
        (lambda r: r["evaluation"].update(convention="tuebingen",
                                          metrics=["AUC", "KLDiv", "CC"]), []),
        (lambda r: r["evaluation"].update(empirical_sigma={"salicon": 3}),
         ["evaluation.empirical_sigma", "salicon", "mit1003"]),
        (lambda r: r["evaluation"].update(empirical_sigma={"fiwi": -1}),
         ["evaluation.empirical_sigma.fiwi", "> 0"]),
        (lambda r: r["report"].update(conventions_loss="nope"),
         ["report.conventions_loss", "'nope'", "lc2"]),
        (lambda r: r.update(seeds=[]), ["seeds"]),
        (lambda r: r.update(seeds=[0, 0]), ["seeds", "duplicates"]),
        (lambda r: r.update(device="tpu"), ["device", "cuda"]),
        (lambda r: r["grid"]["table3"]["losses"].append("mse"), []),  # still valid: no overlap
        (lambda r: r["grid"]["table3"].update(datasets=["mit1003"]),
         ["also in grid.table2", "mit1003"]),
        (lambda r: r["datasets"].update(extra={"loader": "synthetic", "root": "data/x"}),
         ["datasets.extra", "not used by any grid group"]),
        (lambda r: r["datasets"]["fiwi"].pop("root"),
         ["datasets.fiwi.root: required", "root: data/raw/fiwi"]),
        (lambda r: r["report"].update(figure3_losses=["nope"]),
         ["report.figure3_losses[0]", "'nope'"]),
        (lambda r: r.pop("preset"), ["missing required key 'preset'"]),
        (lambda r: r.update(preset="demo/../x"), ["preset", "letters, digits"]),
    ],
)
def test_bad_params_are_refused_with_the_key_and_choices(edit, expected):
    raw = _mutated(edit)
    if not expected:
        validate(raw)
        return
    with pytest.raises(ConfigError) as err:
        validate(raw)
    for fragment in expected:
        assert fragment in str(err.value)


def test_evaluation_convention_and_sigma_resolved_per_dataset():
    cfg = validate(_raw())
    assert cfg.evaluation["convention"] == "mit"
    # the synthetic stand-ins: the generator's blur × long side (0.03 × 128 px)
    assert cfg.evaluation["empirical_sigma"] == pytest.approx(
        {"mit1003": 3.84, "cat2000": 3.84, "fiwi": 3.84})
    paper = validate(_raw(ROOT / "config" / "paper.yaml"))
    assert paper.evaluation["empirical_sigma"] == {"mit1003": 23.99, "cat2000": 40.0,
                                                   "fiwi": 30.0}
    raw = _mutated(lambda r: r["evaluation"].update(convention="tuebingen", metrics=["AUC", "CC"],
                                                    empirical_sigma={"fiwi": 12}))
    tue = validate(raw).evaluation
    assert tue["convention"] == "tuebingen" and tue["empirical_sigma"]["fiwi"] == 12.0
    del raw["evaluation"]["metrics"]
    assert validate(raw).evaluation["metrics"] == ("AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM")


def test_load_params_names_the_file(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("preset: [unclosed\n")
    with pytest.raises(ConfigError, match="p.yaml"):
        load_params(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "missing.yaml")
    good = tmp_path / "q.yaml"
    good.write_text(yaml.safe_dump(_mutated(lambda r: r.update(bogus=1))))
    with pytest.raises(ConfigError, match=r"q\.yaml: .*bogus"):
        load_params(good)
