"""`salloss export`: help, a run end to end through `salloss.cli.main`, and exit code 2 with a
message for user errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from export_helpers import files_under

from salloss import cli
from salloss.export import cli as export_cli


def test_help_names_every_option_and_the_choices(capsys) -> None:
    parser = argparse.ArgumentParser(prog="salloss")
    export_cli.register(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["export", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--run", "--dataset", "--root", "--out", "--device", "--batch-size",
                   "--quality", "--name"):
        assert option in text
    assert "mit300, cat2000" in text and "salloss data fetch" in text


def _args(run: Path, root: Path, out: Path, dataset: str = "mit300") -> list[str]:
    return ["export", "--run", str(run), "--dataset", dataset, "--root", str(root),
            "--out", str(out), "--device", "cpu", "--batch-size", "2", "--quality", "90",
            "--no-progress"]


def test_cli_writes_the_submission(reference: Path, cat2000_root: Path, tmp_path: Path,
                                   capsys) -> None:
    assert cli.main(_args(reference, cat2000_root, tmp_path, "cat2000")) == 0
    out = capsys.readouterr().out
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["quality"] == 90 and manifest["count"] == 4
    assert str(tmp_path / manifest["archive"]["path"]) in out and "incomplete" in out
    assert files_under(tmp_path / manifest["name"]) == {
        "Action/002.jpg", "Action/134.jpg", "Pattern/002.jpg", "Pattern/134.jpg"}


@pytest.mark.parametrize("case, message", [
    ("dataset", "unknown benchmark dataset 'salicon'; valid choices: mit300, cat2000"),
    ("root", "salloss data fetch mit300 --root"),
    ("run", "is not a finished `salloss train` run"),
])
def test_user_errors_exit_2_with_the_message(reference: Path, mit300_root: Path,
                                             tmp_path: Path, case: str, message: str,
                                             capsys) -> None:
    run, root, dataset = reference, mit300_root, "mit300"
    if case == "dataset":
        dataset = "salicon"
    elif case == "root":
        root = tmp_path / "missing"
    else:
        run = tmp_path
    assert cli.main(_args(run, root, tmp_path / "out", dataset)) == 2
    err = capsys.readouterr().err
    assert err.startswith("salloss export: error: ") and message in err
    assert "Traceback" not in err
