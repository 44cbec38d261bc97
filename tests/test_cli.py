"""The top-level CLI: every subcommand has --help, and the lazy command table matches what each
module registers (so `salloss CMD` imports only CMD's module)."""

import argparse
import importlib

import pytest

from salloss.cli import COMMANDS, build_parser, main


def _registered(module_name: str) -> set[str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module_name).register(sub)
    return set(sub.choices)


def test_command_table_matches_registrations():
    for module in set(COMMANDS.values()):
        expected = {c for c, m in COMMANDS.items() if m == module}
        assert _registered(module) == expected, module


def test_full_parser_lists_every_command():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    # `metrics` is an alias of `evaluate`: argparse prints the canonical name
    shown = "evaluate" if command == "metrics" else command
    assert f"usage: salloss {shown}" in out and len(out) > 200


def test_user_errors_exit_2_with_a_message(capsys, tmp_path):
    code = main(["plan", "--params", str(tmp_path / "nope.yaml")])
    assert code == 2
    assert "params file not found" in capsys.readouterr().err
