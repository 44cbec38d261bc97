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

# Modules that contribute subcommands, in --help order.
COMMAND_MODULES = (
    "salloss.data.cli",
    "salloss.training.cli",
    "salloss.metrics.cli",
    "salloss.losses.cli",
    "salloss.report.cli",
    "salloss.pipeline.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every registered subcommand."""
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
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name + ".").startswith(exc.name + "."):  # part not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
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
