"""The append-only record of every check result, kept as go-live evidence.

SQLite with triggers that refuse to change or delete a result: the go-live board must
be able to trust that what was recorded is what was observed. A run is opened
`incomplete` and only marked `complete` when it finishes; a crash or Ctrl-C leaves the
results already written and the run marked incomplete. Only the standard library is
used, so the readiness exporter can read the store in a Debian container.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "results.sqlite"
OUTCOMES = ("passed", "failed", "error", "skipped")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL DEFAULT 'incomplete' CHECK (status IN ('complete', 'incomplete')),
    selection TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    time TEXT NOT NULL,
    site_code TEXT NOT NULL,
    unit TEXT NOT NULL,
    unit_code TEXT NOT NULL DEFAULT '',
    district TEXT NOT NULL DEFAULT '',
    district_code TEXT NOT NULL DEFAULT '',
    phase TEXT NOT NULL DEFAULT '',
    go_live TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL,
    check_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('passed', 'failed', 'error', 'skipped')),
    message TEXT NOT NULL DEFAULT '',
    duration REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS results_by_site ON results (site_code, check_id, id);
CREATE INDEX IF NOT EXISTS results_by_run ON results (run_id);
CREATE TRIGGER IF NOT EXISTS results_no_update BEFORE UPDATE ON results
BEGIN SELECT RAISE(ABORT, 'check results are append-only: record a new run instead'); END;
CREATE TRIGGER IF NOT EXISTS results_no_delete BEFORE DELETE ON results
BEGIN SELECT RAISE(ABORT, 'check results are append-only: they are go-live evidence'); END;
CREATE TRIGGER IF NOT EXISTS runs_no_delete BEFORE DELETE ON runs
BEGIN SELECT RAISE(ABORT, 'check runs are append-only: they are go-live evidence'); END;
CREATE TRIGGER IF NOT EXISTS runs_only_complete BEFORE UPDATE ON runs
WHEN OLD.status = 'complete'
    OR NEW.run_id IS NOT OLD.run_id
    OR NEW.started IS NOT OLD.started
    OR NEW.selection IS NOT OLD.selection
BEGIN SELECT RAISE(ABORT, 'a run may only be marked complete once'); END;
"""


def state_dir() -> Path:
    """Runtime state: `$DVC_STATE_DIR` or `state/` at the repo root."""
    return Path(os.environ.get("DVC_STATE_DIR") or REPO_ROOT / "state")


def default_path() -> Path:
    return state_dir() / DB_NAME


def now() -> str:
    """UTC timestamps with microseconds, ISO 8601, so they sort as text."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Result:
    """One check on one host in one run."""

    run_id: int
    time: str
    site_code: str
    unit: str
    host: str
    check_id: str
    outcome: str
    message: str = ""
    duration: float = 0.0
    unit_code: str = ""
    district: str = ""
    district_code: str = ""
    phase: str = ""
    go_live: str = ""


RESULT_FIELDS = tuple(Result.__dataclass_fields__)


@dataclass(frozen=True)
class Run:
    run_id: int
    started: str
    finished: str | None
    status: str
    selection: dict[str, Any]


class Store:
    """One results database; open it per process (SQLite handles the locking)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            # Each result is its own transaction; in WAL mode NORMAL makes a commit a
            # write to the log (no fsync per result): a killed or interrupted run keeps
            # every committed result, only a power loss can take back the newest ones.
            db.execute("PRAGMA synchronous=NORMAL")
            with db:
                yield db

    # -- writing ------------------------------------------------------------------------
    def start_run(self, selection: Mapping[str, Any]) -> int:
        """Open a run as `incomplete`; it stays so unless `finish_run` is reached."""
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO runs (started, selection) VALUES (?, ?)",
                (now(), json.dumps(selection, ensure_ascii=False, sort_keys=True)),
            )
            return int(cur.lastrowid or 0)

    def add(self, result: Result) -> None:
        """Append one result, committed at once so an interruption keeps it."""
        if result.outcome not in OUTCOMES:
            raise ValueError(f"outcome {result.outcome!r} is not one of {OUTCOMES}")
        columns = ", ".join(RESULT_FIELDS)
        marks = ", ".join("?" for _ in RESULT_FIELDS)
        with self._connect() as db:
            db.execute(
                f"INSERT INTO results ({columns}) VALUES ({marks})",
                tuple(getattr(result, f) for f in RESULT_FIELDS),
            )

    def finish_run(self, run_id: int) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status = 'complete', finished = ? WHERE run_id = ?",
                (now(), run_id),
            )

    # -- reading ------------------------------------------------------------------------
    def run(self, run_id: int) -> Run | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def runs(self, site_code: str | None = None) -> list[Run]:
        """Every run, oldest first; with a site, only the runs that checked it."""
        query = "SELECT * FROM runs ORDER BY run_id"
        params: tuple[str, ...] = ()
        if site_code is not None:
            query = (
                "SELECT * FROM runs WHERE run_id IN "
                "(SELECT run_id FROM results WHERE site_code = ?) ORDER BY run_id"
            )
            params = (site_code,)
        with self._connect() as db:
            return [_run(r) for r in db.execute(query, params)]

    def latest_run_id(self) -> int | None:
        with self._connect() as db:
            row = db.execute("SELECT MAX(run_id) FROM runs").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def results(self, run_id: int, site_code: str | None = None) -> list[Result]:
        query = "SELECT * FROM results WHERE run_id = ?"
        params: tuple[object, ...] = (run_id,)
        if site_code is not None:
            query += " AND site_code = ?"
            params += (site_code,)
        with self._connect() as db:
            return [_result(r) for r in db.execute(query + " ORDER BY id", params)]

    def latest(self, site_code: str | None = None) -> list[Result]:
        """The newest result of every (site, host, check): the current state of readiness."""
        query = (
            "SELECT r.* FROM results r JOIN (SELECT MAX(id) AS id FROM results "
            "GROUP BY site_code, host, check_id) newest ON r.id = newest.id"
        )
        params: tuple[str, ...] = ()
        if site_code is not None:
            query += " WHERE r.site_code = ?"
            params = (site_code,)
        with self._connect() as db:
            return [_result(r) for r in db.execute(query + " ORDER BY r.id", params)]


def _run(row: sqlite3.Row) -> Run:
    return Run(
        run_id=int(row["run_id"]),
        started=row["started"],
        finished=row["finished"],
        status=row["status"],
        selection=json.loads(row["selection"] or "{}"),
    )


def _result(row: sqlite3.Row) -> Result:
    return Result(**{f: row[f] for f in RESULT_FIELDS})
