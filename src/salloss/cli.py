"""The `salloss` command line: one subcommand group per part of the library.

Each part registers its own subcommands (``register(subparsers)`` in its ``cli`` module), so a
part's options live next to its code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from salloss import __version__
from salloss.errors import SallossError

# Subcommand → the module that registers it, in --help order. Only the chosen command's module
# is imported (pipeline jobs start one process each, so start-up time adds up); `salloss --help`
# imports them all. tests/test_cli.py checks this table against what each module registers.
COMMANDS: dict[str, str] = {
    "data": "salloss.data.cli",
    "features": "salloss.training.cli",
    "train": "salloss.training.cli",
    "predict": "salloss.training.cli",
    "score": "salloss.training.cli",
    "evaluate": "salloss.metrics.cli",
    "metrics": "salloss.metrics.cli",
    "losses": "salloss.losses.cli",
    "report": "salloss.report.cli",
    "run": "salloss.pipeline.cli",
    "plan": "salloss.pipeline.cli",
    "export": "salloss.export.cli",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `command`, only the module registering that command is imported."""
    parser = argparse.ArgumentParser(
        prog="salloss",
        description=(
            "Deep saliency models: the quest for the loss function — data, losses, training, "
            "MIT-benchmark metrics and reports. Each subcommand has its own --help."
        ),
    )
    parser.add_argument("--version", action="version", version=f"salloss {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The subcommand named on the command line (first non-option word), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except SallossError as exc:
        print(f"salloss {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
