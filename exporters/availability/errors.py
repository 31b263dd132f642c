"""The availability exporter's user errors, rooted in the project's error hierarchy.

`dvc_rollout.errors` is stdlib-only, so the exporter's container ships it alongside.
"""

from __future__ import annotations

from dvc_rollout.errors import UsageError


class AvailabilityConfigError(UsageError):
    """A config file, targets file or command-line value the exporter cannot use."""
