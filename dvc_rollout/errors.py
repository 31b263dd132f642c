"""The project's error hierarchy, so the CLI can tell user errors from bugs.

Every error a user can cause (bad input, a missing engine, a failed check) is a
`DvcRolloutError`; the CLI prints it without a traceback and exits with its
`exit_code`. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class DvcRolloutError(Exception):
    """Root of every error the CLI reports without a traceback."""

    exit_code: int = 1


class UsageError(DvcRolloutError):
    """The command line or an input file is wrong; the user must change it."""

    exit_code = 2


class EnvironmentProblem(DvcRolloutError):
    """Something outside the project (engine, tool, network) is missing or down."""

    exit_code = 3
