"""`salloss losses` through the real console entry point (salloss.cli.main)."""

from __future__ import annotations

import json

import pytest

from salloss import losses as L
from salloss.cli import main
from salloss.losses.paper import LC2, TABLE2


@pytest.mark.parametrize("argv", [["losses"], ["losses", "list"]])
def test_list_prints_every_registered_term(argv, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["name", "category", "better", "activation"]
    names = {line.split()[0] for line in lines[2:]}
    assert names == set(L.REGISTRY)
    row = next(line for line in lines if line.startswith("sigmse "))
    assert "lam=required, k=10" in row and "SIG-MSE" in row and "pixel" in row
    row = next(line for line in lines if line.startswith("kld "))
    assert "sigmoid" in row


def test_list_markdown_is_a_table(capsys):
    assert main(["losses", "list", "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| name |") and lines[1].startswith("|---|")
    assert len(lines) == 2 + len(L.REGISTRY)
    assert all(line.count(" | ") >= 6 for line in lines[2:])  # '|' inside formulas escaped


def test_check_prints_terms_coefficients_and_activation(capsys):
    assert main(["losses", "check", LC2]) == 0
    out = capsys.readouterr().out
    assert f"spec:       {LC2}" in out
    assert f"id:         {L.spec_id(LC2)}" in out
    assert "activation: sigmoid" in out
    assert any(line.split()[:2] == ["sigmse(lam=0.55)", "+1"] for line in out.splitlines())
    assert any(line.split()[:2] == ["cc", "-2"] for line in out.splitlines())
    assert "center-bias map" in out and "VGG-16" in out


@pytest.mark.parametrize("argv", [["-cc"], ["--", "-cc"], ["-", "cc"], ["-cc", "+", "mse"]])
def test_check_accepts_specs_starting_with_minus(argv, capsys):
    assert main(["losses", "check", *argv]) == 0
    assert "activation: relu" in capsys.readouterr().out


def test_check_json(capsys):
    assert main(["losses", "check", "--json", "sigmse(lam=0.25) + r(alpha=0.2)"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "sigmse-lam0.25_r-alpha0.2"
    assert data["terms"][1] == {"label": "r(alpha=0.2)", "name": "r", "coef": 1.0,
                                "params": {"alpha": 0.2}, "category": "regularizer"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [("10*kld + 2*cc", "'cc' is a similarity"), ("kdl", "did you mean 'kld'"),
     ("sigmse", "sigmse needs lam")],
)
def test_check_bad_spec_exits_2_with_the_reason(spec, message, capsys):
    assert main(["losses", "check", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith("salloss losses: error: bad loss spec")
    assert message in err


def test_paper_lists_every_table2_row_with_its_id(capsys):
    assert main(["losses", "paper", "--table", "table2"]) == 0
    out = capsys.readouterr().out
    for row, spec in TABLE2:
        assert row in out and L.spec_id(spec) in out
    assert "table3" not in out


def test_every_subcommand_has_help(capsys):
    for argv in (["losses"], ["losses", "list"], ["losses", "check"], ["losses", "paper"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--help"])
        assert exit_info.value.code == 0
        assert "usage: salloss losses" in capsys.readouterr().out
