"""Read-only access to the readiness results store written by `dvc-rollout check`.

The schema is owned by `checks/results.py`; this module only selects from it, opening
the file read-only so the exporter can never alter go-live evidence.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dvc_rollout.errors import DvcRolloutError

LATEST = """
SELECT r.site_code, r.unit, r.district, r.district_code, r.phase, r.go_live, r.check_id,
       r.outcome, r.time
FROM results r
JOIN (SELECT MAX(id) AS id FROM results GROUP BY site_code, host, check_id) newest
  ON r.id = newest.id
ORDER BY r.site_code, r.check_id
"""
OK_OUTCOMES = frozenset({"passed", "skipped"})


@dataclass(frozen=True)
class Latest:
    """The newest outcome of one check on one host of a site."""

    site_code: str
    unit: str
    district: str
    district_code: str
    phase: str
    go_live: str
    check: str
    outcome: str
    time: str

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES


class StoreMissing(DvcRolloutError):
    """The results store does not exist yet: no check has run."""


class StoreUnreadable(DvcRolloutError):
    """The store exists but could not be read in time; `reason` is `timeout` or `unreadable`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def read_latest(path: Path, timeout: float = 10.0) -> list[Latest]:
    """Every (site, host, check)'s newest result, read within `timeout` seconds.

    Raises StoreMissing if there is no store, StoreUnreadable if it cannot be read in
    time (a writer holding a lock, a slow disk): the query is interrupted at the
    deadline rather than holding the scrape.
    """
    if not path.exists():
        raise StoreMissing(f"no results store at {path}: run `dvc-rollout check` first")
    deadline = time.monotonic() + timeout
    uri = f"file:{path}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as db:
            db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            return [Latest(*row) for row in db.execute(LATEST)]
    except sqlite3.Error as e:
        late = time.monotonic() > deadline or "interrupted" in str(e) or "locked" in str(e)
        raise StoreUnreadable(
            "timeout" if late else "unreadable", f"cannot read the results store {path}: {e}"
        ) from None


def timestamp(iso: str) -> float:
    """Seconds since the epoch of an ISO time or date (dates are midnight UTC+7, Hanoi)."""
    if len(iso) == 10:
        iso += "T00:00:00+07:00"
    return datetime.fromisoformat(iso).timestamp()
