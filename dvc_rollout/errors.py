"""The project's error hierarchy and exit statuses, so every command tells user errors from bugs.

Every error a user can cause (bad input, a missing engine, a failed check) is a
`DvcRolloutError`; a command prints it on one line without a traceback and exits with its
`exit_code`, one of `ExitStatus`. Anything else is a bug and keeps its traceback. Every
entry point (`dvc-rollout`, the exporters, the benchmarks, the helper scripts) runs its
body through `run_command`, so the table below is the only place statuses are decided.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from enum import IntEnum


class ExitStatus(IntEnum):
    """What a command's exit status means, for every command of the project."""

    OK = 0  # done: GO, every selected site ready, nothing failed
    FAILED = 1  # NO-GO, a site not ready, a host or a run failed, a lab not healthy
    BAD_INPUT = 2  # a flag or a file is wrong, missing or unreadable: change it, run again
    ENVIRONMENT = 3  # something outside the project (engine, tool, network, stack) is missing
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT (128 + 2)
    CLOSED_PIPE = 141  # its reader went away (`| head`), as shells report SIGPIPE (128 + 13)


class DvcRolloutError(Exception):
    """Root of every error a command reports without a traceback."""

    exit_code: int = ExitStatus.FAILED


class UsageError(DvcRolloutError):
    """The command line or an input file is wrong; the user must change it."""

    exit_code = ExitStatus.BAD_INPUT


class EnvironmentProblem(DvcRolloutError):
    """Something outside the project (engine, tool, network) is missing or down."""

    exit_code = ExitStatus.ENVIRONMENT


def run_command(prog: str, body: Callable[[], int]) -> int:
    """Run a command's body and return its exit status.

    A project error becomes `<prog>: error: <message>` on stderr and the error's status;
    Ctrl-C becomes `<prog>: interrupted` and 130; output cut off by its reader ends the
    command quietly with 141. Any other exception is a bug: it is not caught, so its
    traceback shows.
    """
    try:
        status = int(body())
        sys.stdout.flush()  # a reader that went away shows here, not at the interpreter's exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return ExitStatus.CLOSED_PIPE
    except DvcRolloutError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # stdout is not a real file (e.g. captured by a test): nothing to flush
