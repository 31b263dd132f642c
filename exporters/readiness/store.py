"""The readiness exporter's view of the results store written by `dvc-rollout check`.

The store and its read API belong to `checks/results.py`; this module only asks it for
the newest results, read-only (the exporter can never alter go-live evidence, nor create
a store where there is none), within the scrape's deadline.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from checks import results
from checks.results import Result, Store, StoreMissing
from dvc_rollout.errors import DvcRolloutError

__all__ = ["StoreMissing", "StoreUnreadable", "read_latest", "timestamp"]


class StoreUnreadable(DvcRolloutError):
    """The store exists but could not be read in time; `reason` is `timeout` or `unreadable`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def read_latest(path: Path, timeout: float = 10.0) -> list[Result]:
    """Every (site, host, check)'s newest result, read within `timeout` seconds.

    Raises StoreMissing if there is no store, StoreUnreadable if it cannot be read in
    time (a writer holding a lock, a slow disk) or at all (damaged): the query is
    interrupted at the deadline rather than holding the scrape.
    """
    deadline = time.monotonic() + timeout
    try:
        return Store(path, read_only=True, timeout=timeout).latest(deadline=deadline)
    except results.StoreUnreadable as e:
        late = time.monotonic() > deadline or "interrupted" in str(e) or "locked" in str(e)
        raise StoreUnreadable("timeout" if late else "unreadable", str(e)) from None


def timestamp(iso: str) -> float:
    """Seconds since the epoch of an ISO time or date (dates are midnight UTC+7, Hanoi)."""
    if len(iso) == 10:
        iso += "T00:00:00+07:00"
    return datetime.fromisoformat(iso).timestamp()
