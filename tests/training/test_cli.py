"""`salloss features | train | predict | score`: help texts, exit codes, an end-to-end run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from salloss import cli
from salloss.training import cli as training_cli

COMMANDS = ("features", "train", "predict", "score")


def _own_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salloss")
    training_cli.register(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_a_helpful_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        _own_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text and len(text) > 600


def test_subcommands_are_registered_in_the_salloss_command(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for command in COMMANDS:
        assert command in text


def test_bad_settings_exit_2_with_a_clear_message(prepared: Path, tmp_path: Path,
                                                  capsys) -> None:
    base = ["train", "--prepared", str(prepared), "--run-dir", str(tmp_path / "r"),
            "--weights", "none", "--no-progress", "--no-live"]
    cases = [
        (["--arch", "vgg19"], "arch: unknown architecture 'vgg19'; valid choices: baseline"),
        (["--lr", "-1"], "lr must be a finite number > 0"),
        (["--batch-size", "100"], "batch_size 100 is larger than the 'train' split (30 images"),
        (["--input-size", "48by64"], "expected HEIGHTxWIDTH"),
        (["--model-option", "dropout"], "--model-option 'dropout': expected KEY=VALUE"),
    ]
    for extra, needle in cases:
        assert cli.main(base + extra) == 2
        assert needle in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_end_to_end_train_predict_score(prepared: Path, features: Path, tmp_path: Path,
                                        capsys) -> None:
    config = tmp_path / "train.yaml"
    config.write_text("loss: 10*kld - 2*cc - nss\nweights: none\nbatch_size: 10\n"
                      "input_size: [48, 64]\nmax_epochs: 5\nlr: 0.01\n")
    run = tmp_path / "run"
    args = ["train", "--prepared", str(prepared), "--run-dir", str(run), "--config", str(config),
            "--max-epochs", "1", "--features-cache", str(features), "--no-progress", "--no-live",
            "--model-option", "blur_padding=replicate"]
    assert cli.main(args) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == 1  # the flag overrode the file
    assert summary["activation"] == "sigmoid"  # kld is distribution-based
    assert summary["params"]["model_options"] == {"blur_padding": "replicate"}
    assert summary["params"]["batch_size"] == 10
    assert cli.main(args) == 0  # finished: a no-op
    assert cli.main(["predict", "--run-dir", str(run), "--prepared", str(prepared),
                     "--split", "val", "--out", str(tmp_path / "pred"), "--images",
                     str(tmp_path / "jpg"), "--image-format", "jpg", "--no-progress"]) == 0
    assert len(list((tmp_path / "jpg").glob("*.jpg"))) == 12
    assert cli.main(["score", "--predictions", str(tmp_path / "pred"), "--prepared",
                     str(prepared), "--split", "val", "--csv", str(tmp_path / "s.csv"),
                     "--summary", str(tmp_path / "s.json"), "--metrics", "CC,KL",
                     "--no-progress"]) == 0
    assert set(json.loads((tmp_path / "s.json").read_text())) == {"CC", "KL"}
    out = capsys.readouterr().out
    assert '"CC"' in out


def test_features_command_is_idempotent(prepared: Path, features: Path, capsys) -> None:
    before = (features / "features.npy").stat().st_mtime_ns
    assert cli.main(["features", "--prepared", str(prepared), "--out", str(features),
                     "--input-size", "48x64", "--weights", "none", "--no-progress"]) == 0
    assert (features / "features.npy").stat().st_mtime_ns == before
    # another key in the same folder is refused, naming what differs
    assert cli.main(["features", "--prepared", str(prepared), "--out", str(features),
                     "--input-size", "48x64", "--weights", "none", "--seed", "3",
                     "--no-progress"]) == 2
    assert "seed: cache has 0, expected 3" in capsys.readouterr().err
