"""`salloss data …` subcommands."""

from __future__ import annotations

import argparse
import json

import pytest

from salloss.data import PreparedDataset
from salloss.data.cli import parse_options, register
from salloss.errors import ConfigError

SUBCOMMANDS = ("list", "info", "fetch", "split", "prepare")


def _run(argv):
    parser = argparse.ArgumentParser(prog="salloss")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_every_subcommand_has_help(sub, capsys):
    with pytest.raises(SystemExit) as info:
        _run(["data", sub, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"salloss data {sub}" in out and len(out) > 200


def test_list(capsys):
    assert _run(["data", "list", "-v"]) == 0
    out = capsys.readouterr().out
    for name in ("mit1003", "cat2000", "fiwi", "salicon", "mit300", "folder", "synthetic"):
        assert name in out
    assert "0d7df8b954ecba69b6796e77b9afe4b6" in out  # ALLSTIMULI.zip's md5


def test_info(mit1003_tree, capsys):
    assert _run(["data", "info", "mit1003", "--root", str(mit1003_tree[0]), "--sizes"]) == 0
    out = capsys.readouterr().out
    assert "archive ALLSTIMULI.zip: missing" in out
    info = json.loads(out[out.index("{"):])
    assert info["images"] == 4 and [24, 32] in info["sizes_hw"]


def test_fetch_synthetic_then_split_and_prepare(tmp_path, capsys):
    root = tmp_path / "synthetic"
    opts = ["-o", "n_images=8", "-o", "long_side=48"]
    assert _run(["data", "fetch", "synthetic", "--root", str(root), *opts]) == 0
    split_file = tmp_path / "split.json"
    argv = ["data", "split", "synthetic", "--root", str(root), "--out", str(split_file),
            "--split-sizes", "4,2,rest", "--seed", "3", *opts]
    assert _run(argv) == 0
    assert json.loads(split_file.read_text())["seed"] == 3
    out = tmp_path / "prep"
    argv = ["data", "prepare", "synthetic", "--root", str(root), "--out", str(out),
            "--size", "12x16", "--size", "24x32", "--center-bias-size", "6x8",
            "--split", str(split_file), *opts]
    assert _run(argv) == 0
    prepared = PreparedDataset(out)
    assert sorted(prepared.input_sizes) == [(12, 16), (24, 32)]
    assert prepared.center_bias().shape == (6, 8)
    assert len(prepared.split["train"]) == 4


def test_split_and_sizes_exclusive(tmp_path, mit1003_tree):
    with pytest.raises(ConfigError, match="either"):
        _run(["data", "prepare", "mit1003", "--root", str(mit1003_tree[0]), "--out",
              str(tmp_path), "--split", "x.json", "--split-sizes", "1,1,rest"])


def test_parse_options():
    assert parse_options(["a=1", "b=0.5", "c=true", "d=none", "e=x"]) == {
        "a": 1, "b": 0.5, "c": True, "d": None, "e": "x"}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_options(["novalue"])


def test_main_prints_user_errors_cleanly(tmp_path, capsys):
    from salloss.cli import main

    assert main(["data", "info", "mit1003", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "salloss data: error: expected ALLSTIMULI" in err and "Traceback" not in err
