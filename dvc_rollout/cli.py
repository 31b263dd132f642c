"""The `dvc-rollout` command: one entry point whose parts register their own subcommands.

Each part (inventory, lab, configure, check, signoff, status) owns a `cli.py` with a
`register(subparsers)` function, so the parts stay independent and this file only
wires them together and turns project errors into clean messages and exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

from dvc_rollout import __version__
from dvc_rollout.errors import ExitStatus, run_command

# Modules that contribute subcommands; each has `register(subparsers) -> None`.
COMMAND_MODULES: tuple[str, ...] = (
    "inventory.cli",
    "infra.cli",
    "infra.staging.cli",
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
    """Run one command; its status and its errors' messages come from `run_command`.

    A bad flag is argparse's `error:` line and 2 (returned, not raised, so callers and
    tests get a status like any other).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a flag argparse refused
        if isinstance(exc.code, int):
            return exc.code
        return ExitStatus.OK if exc.code is None else ExitStatus.BAD_INPUT
    handler: Handler = args.handler
    return run_command("dvc-rollout", lambda: handler(args))


if __name__ == "__main__":
    sys.exit(main())
