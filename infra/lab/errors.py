"""Errors of the local lab, so the CLI can tell a bad program or engine from a bug."""

from __future__ import annotations

from dvc_rollout.errors import DvcRolloutError, EnvironmentProblem, UsageError


class UnsupportedByLab(UsageError):
    """The program asked the in-process lab for a resource type or argument it cannot realise."""


class LabEngineProblem(EnvironmentProblem):
    """The Docker engine refused or is missing something the lab needs."""


class LabNotHealthy(DvcRolloutError):
    """Containers were created but did not become healthy in time (a failure: exit 1)."""
