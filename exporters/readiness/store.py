"""Read-only access to the readiness results store written by `dvc-rollout check`.

The schema is owned by `checks/results.py`; this module only selects from it, opening
the file read-only so the exporter can never alter go-live evidence.
"""

from __future__ import annotations

import sqlite3
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


def read_latest(path: Path) -> list[Latest]:
    """Every (site, host, check)'s newest result; raises StoreMissing if there is no store."""
    if not path.exists():
        raise StoreMissing(f"no results store at {path}: run `dvc-rollout check` first")
    uri = f"file:{path}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
        return [Latest(*row) for row in db.execute(LATEST)]


def timestamp(iso: str) -> float:
    """Seconds since the epoch of an ISO time or date (dates are midnight UTC+7, Hanoi)."""
    if len(iso) == 10:
        iso += "T00:00:00+07:00"
    return datetime.fromisoformat(iso).timestamp()
