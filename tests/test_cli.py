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
    modules = {module for module, _ in COMMANDS.values()}
    for module in modules:
        expected = {c for c, (m, _) in COMMANDS.items() if m == module}
        assert _registered(module) == expected, module


def test_listed_help_is_what_each_module_registers():
    """`salloss --help` lists the commands from COMMANDS without importing their modules;
    each one-line help there must be the one its module registers."""
    for module in {module for module, _ in COMMANDS.values()}:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers(dest="command")
        importlib.import_module(module).register(sub)
        for action in sub._choices_actions:
            assert COMMANDS[action.dest][1] == action.help, action.dest


def test_top_level_help_answers_without_importing_torch():
    import subprocess
    import sys

    code = ("import sys; from salloss.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "usage: salloss" in out and out.strip().endswith("False False")
    for command in COMMANDS:
        assert command in out


def test_a_spec_starting_with_a_minus_is_a_value(capsys):
    """`salloss train --loss -cc` passes -cc to --loss (argparse alone reads it as an option)."""
    code = main(["train", "--prepared", "/nonexistent", "--run-dir", "/nonexistent/r",
                 "--loss", "-cc", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "expected one argument" not in err
    assert "not a prepared dataset" in err  # it got past the command line


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
