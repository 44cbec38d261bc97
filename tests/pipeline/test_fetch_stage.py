"""The fetch stage: it generates seeded data into the dataset's root (the same bytes twice),
checks a user's folder instead of writing one, and prepare refuses to run before it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from workflow_utils import TINY

from salloss.errors import ConfigError
from salloss.pipeline import stages
from salloss.pipeline.config import load_params


def _params(tmp_path: Path, **dataset: object) -> Path:
    p = yaml.safe_load(TINY.read_text())
    p["data_dir"], p["results_dir"] = str(tmp_path / "data"), str(tmp_path / "results")
    p["datasets"]["mit1003"].update(dataset)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return path


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_fetch_generates_the_same_bytes_into_root(tmp_path):
    roots = []
    for k in range(2):
        cfg = load_params(_params(tmp_path / f"t{k}", root=str(tmp_path / f"raw{k}")))
        roots.append(stages.fetch(cfg, "mit1003"))
    assert roots == [tmp_path / "raw0", tmp_path / "raw1"]
    first, second = (_digest(r) for r in roots)
    assert len(first) > 16 and first == second  # seeded: what dvc.lock hashes is reproducible


def test_a_users_folder_is_checked_not_written(tmp_path):
    missing = tmp_path / "mine"
    cfg = load_params(_params(tmp_path, loader="folder", root=str(missing), options={}))
    with pytest.raises(ConfigError, match=r"datasets.mit1003.root: .*mine does not exist"):
        stages.fetch(cfg, "mit1003")
    assert not missing.exists()


def test_prepare_before_fetch_says_what_to_run(tmp_path):
    cfg = load_params(_params(tmp_path, root=str(tmp_path / "raw")))
    with pytest.raises(ConfigError, match=r"salloss run fetch --dataset mit1003"):
        stages.prepare(cfg, "mit1003")
