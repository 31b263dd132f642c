"""The `dvc-rollout` command: one entry point whose parts register their own subcommands.

Each part (inventory, lab, configure, check, signoff, status) owns a `cli.py` with a
`register(subparsers)` function, so the parts stay independent and this file only
wires them together and turns project errors into clean messages and exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

from dvc_rollout import __version__
from dvc_rollout.errors import DvcRolloutError

# Modules that contribute subcommands; each has `register(subparsers) -> None`.
COMMAND_MODULES: tuple[str, ...] = (
    "inventory.cli",
    "infra.cli",
    "playbooks.cli",
    "checks.cli",
    "signoff.cli",
    "maintenance.cli",
)

Handler = Callable[[argparse.Namespace], int]


class _Registrar(Protocol):
    def __call__(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser from every part that is installed."""
    parser = argparse.ArgumentParser(
        prog="dvc-rollout",
        description="Roll out and watch online public services (DVC) for plan 169/KH-UBND.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that part is not built yet
            raise
        register: _Registrar = module.register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; project errors become a message on stderr and an exit code.

    A bad flag is argparse's `error:` line and 2 (returned, not raised, so callers and
    tests get a status like any other). Output cut off by its reader (`| head`) ends the
    command quietly with 141, as a shell reports a pipe closed under a program.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a flag argparse refused
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler: Handler = args.handler
    try:
        status = handler(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _silence_stdout()
        return CLOSED_PIPE
    except DvcRolloutError as exc:
        print(f"dvc-rollout: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dvc-rollout: interrupted", file=sys.stderr)
        return 130


# 128 + SIGPIPE: what a shell reports for a program whose reader went away.
CLOSED_PIPE = 141


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # stdout is not a real file (e.g. captured by a test): nothing to flush


if __name__ == "__main__":
    sys.exit(main())
