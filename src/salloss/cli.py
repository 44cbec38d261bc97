"""The `salloss` command line: one subcommand group per part of the library.

Each part registers its own subcommands (``register(subparsers)`` in its ``cli`` module), so a
part's options live next to its code. Only the chosen command's module is imported: pipeline
jobs start one process each, and ``salloss`` / ``salloss --help`` must answer at once, so the
command list below carries each command's one-line help (tests/test_cli.py checks it against
what each module registers).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from salloss import __version__, numerics
from salloss.errors import SallossError

# Subcommand → (the module that registers it, its one-line help), in --help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("salloss.data.cli",
             "list, fetch, synthesise, inspect, split and prepare datasets"),
    "features": ("salloss.training.cli",
                 "cache the baseline's frozen VGG-16 features of a prepared dataset"),
    "train": ("salloss.training.cli",
              "train one model (resumes automatically; no-op when finished)"),
    "predict": ("salloss.training.cli",
                "write a trained run's predictions for a split at original resolution"),
    "score": ("salloss.training.cli",
              "score a predictions folder against a dataset split (MIT metrics)"),
    "evaluate": ("salloss.metrics.cli",
                 "score predictions with the MIT-benchmark metrics (per-image CSV + summary)"),
    "metrics": ("salloss.metrics.cli", "alias of evaluate"),
    "losses": ("salloss.losses.cli", "list the loss terms, validate a loss spec"),
    "report": ("salloss.report.cli",
               "tables 1-4, figures and summary.md of a preset (after training and "
               "evaluation)"),
    "run": ("salloss.pipeline.cli", "run one pipeline job (what Snakemake/DVC call)"),
    "plan": ("salloss.pipeline.cli", "validate a params file and list the jobs it plans"),
    "export": ("salloss.export.cli",
               "write a run's MIT300 / CAT2000-test predictions in the benchmark's format"),
}
DESCRIPTION = (
    "Deep saliency models: the quest for the loss function — data, losses, training, "
    "MIT-benchmark metrics and reports. Each subcommand has its own --help."
)


class SpecArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that lets a loss spec starting with '-' (``-cc``, ``-nss + kld``)
    through as a value: ``--loss -cc`` and ``salloss losses check -cc`` work as written.

    A word starting with a single '-' that is not one of the parser's own options is an
    argument, not an unknown option; ``--loss=-cc`` and ``--`` before a positional spec work
    too (the portable spellings).
    """

    def _parse_optional(self, arg_string: str):  # type: ignore[no-untyped-def]
        if (
            arg_string.startswith("-")
            and not arg_string.startswith("--")
            and arg_string not in self._option_string_actions
        ):
            return None
        return super()._parse_optional(arg_string)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser. With a known `command`, only the module registering it is imported and its
    options are parsed; otherwise (``salloss``, ``salloss --help``) every command is listed
    from `COMMANDS` without importing anything."""
    parser = SpecArgumentParser(prog="salloss", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"salloss {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=SpecArgumentParser)
    if command in COMMANDS:
        importlib.import_module(COMMANDS[command][0]).register(sub)
    else:
        for name, (_, help_text) in COMMANDS.items():
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _command(argv: list[str]) -> str | None:
    """The subcommand named on the command line (first non-option word), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code.

    Called without ``argv`` (the process's own command line, i.e. the console script),
    ``salloss run ...`` — one pipeline job — goes through the warm-start server when it can
    (`salloss.warm`): same command, same result, without paying the imports again. With an
    explicit ``argv`` (from Python) the command always runs in this process.

    First of all, before torch or NumPy is imported, the CPU numerics profile is applied
    (`salloss.numerics`: portable AVX2 code paths unless ``SALLOSS_CPU_NUMERICS=native``)."""
    try:
        numerics.apply_env()
    except SallossError as exc:
        print(f"salloss: error: {exc}", file=sys.stderr)
        return 2
    if argv is None:
        argv = sys.argv[1:]
        if argv[:1] == ["run"]:
            from salloss import warm

            if warm.enabled(argv):
                code = warm.run(argv)
                if code is not None:
                    return code
    return run_command(list(argv))


def run_command(argv: list[str]) -> int:
    """Parse ``argv`` and run the subcommand in this process; returns the exit code."""
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
    except BrokenPipeError:  # `salloss plan | head`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
