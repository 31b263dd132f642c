"""The append-only, sealed record of every check result, kept as go-live evidence.

The go-live board must be able to trust that what was recorded is what was observed, and
that it was observed on the estate being signed off. So:

- every run records the estate it checked (`Estate`: the stack, its kind, and where the
  hosts were reached); runs without one (recorded before estates were) are foreign to
  every estate;
- SQLite triggers refuse to change, delete or replace a result or a run, to add results
  to a run that completed or does not exist, and foreign keys are enforced;
- a run is opened `incomplete` and only marked `complete` when every collected check
  reported; completing it seals it: a SHA-256 over the run and all its results, chained
  to the previous seal. `Store.verify()` (`dvc-rollout check verify`) recomputes the
  chain, so an edit made with the triggers dropped is still caught;
- the board's approvals of a sign-off report are appended to the same chain.

Only the standard library is used, so the readiness exporter can read the store in a
Debian container. Readers open it read-only (`Store(path, read_only=True)`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dvc_rollout import statedir
from dvc_rollout.errors import UsageError

OUTCOMES = ("passed", "failed", "error", "skipped")
# The kinds of estate a run can check; issue 16's typed stack outputs carry the same.
ESTATE_KINDS = ("lab", "staging", "production")
SCHEMA_VERSION = 2
# The `previous` of the first seal in a chain.
GENESIS = "0" * 64

TABLES = """
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
"""

# Version 2: estates, the collected checks, the seal chain, approvals.
MIGRATE_2 = """
ALTER TABLE runs ADD COLUMN estate_stack TEXT;
ALTER TABLE runs ADD COLUMN estate_kind TEXT;
ALTER TABLE runs ADD COLUMN estate_where TEXT;
ALTER TABLE runs ADD COLUMN expected TEXT;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) SELECT 'legacy_last_run', COALESCE(MAX(run_id), 0) FROM runs;
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    evidence_sha256 TEXT NOT NULL CHECK (length(evidence_sha256) = 64),
    report TEXT NOT NULL,
    plan TEXT NOT NULL,
    phase INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    scope TEXT NOT NULL,
    estate TEXT NOT NULL,
    name TEXT NOT NULL CHECK (length(trim(name)) > 0),
    role TEXT NOT NULL CHECK (length(trim(role)) > 0)
);
CREATE INDEX approvals_by_evidence ON approvals (evidence_sha256);
CREATE TABLE chain (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('run', 'approval')),
    ref INTEGER NOT NULL,
    digest TEXT NOT NULL,
    previous TEXT NOT NULL,
    seal TEXT NOT NULL,
    time TEXT NOT NULL,
    UNIQUE (kind, ref)
);
DROP TRIGGER IF EXISTS runs_only_complete;
"""

TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS results_no_update BEFORE UPDATE ON results
BEGIN SELECT RAISE(ABORT, 'check results are append-only: record a new run instead'); END;
CREATE TRIGGER IF NOT EXISTS results_no_delete BEFORE DELETE ON results
BEGIN SELECT RAISE(ABORT, 'check results are append-only: they are go-live evidence'); END;
CREATE TRIGGER IF NOT EXISTS results_no_replace BEFORE INSERT ON results
WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM results WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'check results are append-only: a result is never replaced'); END;
CREATE TRIGGER IF NOT EXISTS results_only_into_open_runs BEFORE INSERT ON results
WHEN NOT EXISTS (SELECT 1 FROM runs WHERE run_id = NEW.run_id AND status = 'incomplete')
BEGIN SELECT RAISE(ABORT, 'results go only into an open run: that run completed or does not exist');
END;
CREATE TRIGGER IF NOT EXISTS runs_no_delete BEFORE DELETE ON runs
BEGIN SELECT RAISE(ABORT, 'check runs are append-only: they are go-live evidence'); END;
CREATE TRIGGER IF NOT EXISTS runs_open_fresh BEFORE INSERT ON runs
WHEN EXISTS (SELECT 1 FROM runs WHERE run_id = NEW.run_id)
    OR NEW.status IS NOT 'incomplete' OR NEW.finished IS NOT NULL OR NEW.expected IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a run is opened once, incomplete: runs are never replaced'); END;
CREATE TRIGGER IF NOT EXISTS runs_complete_once BEFORE UPDATE ON runs
WHEN OLD.status = 'complete'
    OR NEW.status IS NOT 'complete'
    OR NEW.finished IS NULL
    OR NEW.run_id IS NOT OLD.run_id
    OR NEW.started IS NOT OLD.started
    OR NEW.selection IS NOT OLD.selection
    OR NEW.estate_stack IS NOT OLD.estate_stack
    OR NEW.estate_kind IS NOT OLD.estate_kind
    OR NEW.estate_where IS NOT OLD.estate_where
BEGIN SELECT RAISE(ABORT, 'a run may only be marked complete once'); END;
CREATE TRIGGER IF NOT EXISTS meta_no_update BEFORE UPDATE ON meta
BEGIN SELECT RAISE(ABORT, 'the store''s history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS meta_no_delete BEFORE DELETE ON meta
BEGIN SELECT RAISE(ABORT, 'the store''s history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS approvals_no_update BEFORE UPDATE ON approvals
BEGIN SELECT RAISE(ABORT, 'approvals are append-only: record a new one'); END;
CREATE TRIGGER IF NOT EXISTS approvals_no_delete BEFORE DELETE ON approvals
BEGIN SELECT RAISE(ABORT, 'approvals are append-only: they are the board''s record'); END;
CREATE TRIGGER IF NOT EXISTS approvals_no_replace BEFORE INSERT ON approvals
WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM approvals WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'approvals are append-only: an approval is never replaced'); END;
CREATE TRIGGER IF NOT EXISTS chain_no_update BEFORE UPDATE ON chain
BEGIN SELECT RAISE(ABORT, 'seals are append-only'); END;
CREATE TRIGGER IF NOT EXISTS chain_no_delete BEFORE DELETE ON chain
BEGIN SELECT RAISE(ABORT, 'seals are append-only'); END;
CREATE TRIGGER IF NOT EXISTS chain_extends_the_head BEFORE INSERT ON chain
WHEN (NEW.seq != -1 AND NEW.seq <= COALESCE((SELECT MAX(seq) FROM chain), 0))
    OR NEW.previous IS NOT COALESCE(
        (SELECT seal FROM chain ORDER BY seq DESC LIMIT 1),
        '0000000000000000000000000000000000000000000000000000000000000000')
    OR (NEW.kind = 'run'
        AND NOT EXISTS (SELECT 1 FROM runs WHERE run_id = NEW.ref AND status = 'complete'))
    OR (NEW.kind = 'approval' AND NOT EXISTS (SELECT 1 FROM approvals WHERE id = NEW.ref))
BEGIN SELECT RAISE(ABORT, 'a seal only extends the head of the chain, for a completed run'); END;
"""


def default_path() -> Path:
    """The store every command shares: `results.sqlite` in the state folder."""
    return statedir.results_db()


def now() -> str:
    """UTC timestamps with microseconds, ISO 8601, so they sort as text."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def canonical(value: Any) -> bytes:
    """One fixed text for the same data: what a digest is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def link(previous: str, kind: str, ref: int, digest: str) -> str:
    """A seal: the digest of an entry chained to the seal before it."""
    return sha256(f"{previous}\n{kind}\n{ref}\n{digest}".encode())


class StoreError(UsageError):
    """The results store cannot be used; the message says which file and what to do."""


class StoreMissing(StoreError):
    """There is no store at the path: no check has run there."""


class StoreUnreadable(StoreError):
    """The file is not a results store SQLite can read (corrupt, or something else)."""


@dataclass(frozen=True)
class Estate:
    """Which estate a run checked, and where its hosts were reached.

    Identity is the stack and its kind (`lab`, `staging`, `production`): evidence is only
    ever used for the estate it was recorded on. `where` says how the hosts were reached
    (backend, ssh_config, Docker host, each host's testinfra spec) for the reader.
    """

    stack: str
    kind: str
    where: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.stack.strip():
            raise ValueError("an estate needs its stack's name")
        if self.kind not in ESTATE_KINDS:
            raise ValueError(f"estate kind {self.kind!r} is not one of {ESTATE_KINDS}")

    @property
    def name(self) -> str:
        """`production`, or `lab (lab)` when the stack's name is not its kind."""
        return self.stack if self.stack == self.kind else f"{self.stack} ({self.kind})"

    def same(self, other: Estate | None) -> bool:
        return other is not None and (other.stack, other.kind) == (self.stack, self.kind)

    @property
    def hosts(self) -> Mapping[str, str]:
        """Target id (the host name for a terminal) -> testinfra spec it was reached by."""
        found = self.where.get("hosts")
        return found if isinstance(found, Mapping) else {}


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
# Every column of a result, in the order its seal takes them.
SEALED_RESULT_COLUMNS = ("id", *RESULT_FIELDS)
SEALED_RUN_COLUMNS = (
    "run_id",
    "started",
    "finished",
    "status",
    "selection",
    "estate_stack",
    "estate_kind",
    "estate_where",
    "expected",
)


@dataclass(frozen=True)
class Run:
    run_id: int
    started: str
    finished: str | None
    status: str
    selection: dict[str, Any]
    estate: Estate | None = None
    # Target id -> the check ids collected for it (recorded when the run completes).
    expected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    seal: str | None = None

    def complete_at(self, moment: str) -> bool:
        """Whether the run had completed at `moment` (UTC ISO text)."""
        return self.status == "complete" and self.finished is not None and self.finished <= moment


@dataclass(frozen=True)
class Approval:
    """A named person's approval of one sign-off report, bound to its evidence digest."""

    id: int
    time: str
    evidence_sha256: str
    report: str
    plan: str
    phase: int
    verdict: str
    scope: str
    estate: str
    name: str
    role: str
    seal: str | None = None


APPROVAL_FIELDS = tuple(f for f in Approval.__dataclass_fields__ if f not in ("id", "seal"))


@dataclass(frozen=True)
class Break:
    """One place the chain does not hold: which entry and why."""

    seq: int | None
    run_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"run {self.run_id}" if self.run_id is not None else f"seal {self.seq}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    """What `Store.verify` found: the seals checked, the head, and every break."""

    path: str
    seals: int
    runs_sealed: int
    approvals: int
    legacy_runs: int
    head: str
    breaks: tuple[Break, ...] = ()

    @property
    def intact(self) -> bool:
        return not self.breaks

    def summary(self) -> str:
        if self.intact:
            legacy = (
                f"; {self.legacy_runs} run(s) recorded before sealing are not evidence"
                if self.legacy_runs
                else ""
            )
            return (
                f"{self.path}: chain intact, {self.seals} seal(s) ({self.runs_sealed} runs, "
                f"{self.approvals} approvals), head {self.head[:16]}{legacy}"
            )
        first = self.breaks[0]
        return (
            f"{self.path}: chain BROKEN at {first} ({len(self.breaks)} problem(s)); its "
            "evidence cannot be trusted: find who changed the store, keep a copy, and "
            "re-run the checks into a new store"
        )


class Store:
    """One results database; open it per process (SQLite handles the locking).

    Writers (`dvc-rollout check`) create and migrate it; readers pass `read_only=True`,
    which never creates, migrates or writes anything.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        read_only: bool = False,
        clock: Callable[[], str] = now,
        timeout: float = 30.0,
    ) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.read_only = read_only
        # How long a connection waits for another's lock (a reader in a scrape waits less).
        self.timeout = timeout
        # When runs start and finish: UTC ISO text (a fixed clock replays a history).
        self.clock = clock
        if read_only:
            if not self.path.is_file():
                raise StoreMissing(
                    f"no results store at {self.path}: run `dvc-rollout check` first"
                )
            with self._connect() as db:
                self.version = _version(self.path, db)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            self.version = _migrate(self.path, db)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            if self.read_only:
                # Read-only by URI: a reader never creates, migrates or writes the file.
                uri = f"file:{quote(str(self.path))}?mode=ro"
                db = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
            else:
                db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnreadable(f"cannot open the results store {self.path}: {exc}") from None
        with closing(db):
            db.row_factory = sqlite3.Row
            try:
                db.execute("PRAGMA foreign_keys=ON")
                if not self.read_only:
                    db.execute("PRAGMA journal_mode=WAL")
                    # In WAL mode NORMAL makes a commit a write to the log (no fsync per
                    # result): a killed run keeps every committed result, only a power
                    # loss can take back the newest ones.
                    db.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.DatabaseError as exc:
                raise StoreUnreadable(_unreadable(self.path, exc)) from None
            try:
                yield db
            except sqlite3.DatabaseError as exc:
                # A reader's query failing means a damaged store, never a refused write.
                if not self.read_only or isinstance(exc, sqlite3.IntegrityError):
                    raise
                raise StoreUnreadable(_unreadable(self.path, exc)) from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its start (seals need the head)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- writing ------------------------------------------------------------------------
    def start_run(self, selection: Mapping[str, Any], estate: Estate | None = None) -> int:
        """Open a run as `incomplete`; it stays so unless `finish_run` is reached.

        A run without an estate can be completed and sealed, but is evidence for no
        estate: a sign-off only uses runs recorded on the estate it judges.
        """
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO runs (started, selection, estate_stack, estate_kind, estate_where) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    self.clock(),
                    json.dumps(selection, ensure_ascii=False, sort_keys=True),
                    estate.stack if estate else None,
                    estate.kind if estate else None,
                    json.dumps(dict(estate.where), ensure_ascii=False, sort_keys=True)
                    if estate
                    else None,
                ),
            )
            return int(cur.lastrowid or 0)

    def add(self, result: Result) -> None:
        """Append one result, committed at once so an interruption keeps it."""
        if result.outcome not in OUTCOMES:
            raise ValueError(f"outcome {result.outcome!r} is not one of {OUTCOMES}")
        self.add_many([result])

    def add_many(self, results: Iterable[Result]) -> None:
        """Append results in one transaction (all or none)."""
        columns = ", ".join(RESULT_FIELDS)
        marks = ", ".join("?" for _ in RESULT_FIELDS)
        rows = []
        for result in results:
            if result.outcome not in OUTCOMES:
                raise ValueError(f"outcome {result.outcome!r} is not one of {OUTCOMES}")
            rows.append(tuple(getattr(result, f) for f in RESULT_FIELDS))
        with self._write() as db:
            db.executemany(f"INSERT INTO results ({columns}) VALUES ({marks})", rows)

    def finish_run(self, run_id: int, expected: Mapping[str, Iterable[str]] | None = None) -> str:
        """Mark a run complete and seal it; `expected` is target id -> collected check ids.

        Returns the seal. The run, its results and the seal are one transaction: a run is
        never complete without its seal.
        """
        collected = (
            json.dumps({k: sorted(v) for k, v in expected.items()}, sort_keys=True)
            if expected is not None
            else None
        )
        with self._write() as db:
            cur = db.execute(
                "UPDATE runs SET status = 'complete', finished = ?, expected = ? WHERE run_id = ?",
                (self.clock(), collected, run_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"no run {run_id} in {self.path}")
            return _append_seal(db, "run", run_id, run_digest(db, run_id))

    def approve(self, approval: Mapping[str, Any]) -> Approval:
        """Append a board member's approval of a report and seal it into the chain."""
        values = {k: approval[k] for k in APPROVAL_FIELDS if k != "time"}
        values["time"] = now()
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._write() as db:
            cur = db.execute(
                f"INSERT INTO approvals ({columns}) VALUES ({marks})", tuple(values.values())
            )
            ref = int(cur.lastrowid or 0)
            seal = _append_seal(db, "approval", ref, approval_digest(db, ref))
        return Approval(id=ref, seal=seal, **values)

    # -- reading ------------------------------------------------------------------------
    def run(self, run_id: int) -> Run | None:
        with self._connect() as db:
            row = db.execute(f"{self._runs_query()} WHERE r.run_id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def _runs_query(self) -> str:
        if self.version < 2:
            return "SELECT r.*, NULL AS seal FROM runs r"
        return (
            "SELECT r.*, c.seal AS seal FROM runs r "
            "LEFT JOIN chain c ON c.kind = 'run' AND c.ref = r.run_id"
        )

    def runs(self, site_code: str | None = None) -> list[Run]:
        """Every run, oldest first; with a site, only the runs that checked it."""
        query = f"{self._runs_query()} ORDER BY r.run_id"
        params: tuple[str, ...] = ()
        if site_code is not None:
            query = (
                f"{self._runs_query()} WHERE r.run_id IN "
                "(SELECT run_id FROM results WHERE site_code = ?) ORDER BY r.run_id"
            )
            params = (site_code,)
        with self._connect() as db:
            return [_run(r) for r in db.execute(query, params)]

    def estate_runs(self, estate: Estate, started_by: str) -> list[Run]:
        """The estate's runs started at or before `started_by` (UTC ISO text), newest first."""
        if self.version < 2:
            return []
        query = (
            f"{self._runs_query()} WHERE r.estate_stack = ? AND r.estate_kind = ? "
            "AND r.started <= ? ORDER BY r.run_id DESC"
        )
        with self._connect() as db:
            return [_run(r) for r in db.execute(query, (estate.stack, estate.kind, started_by))]

    def estates(self) -> dict[str, int]:
        """Estate name -> number of runs recorded on it (`unrecorded` for runs without)."""
        with self._connect() as db:
            if self.version < 2:
                count = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                return {"unrecorded": int(count)} if count else {}
            rows = db.execute(
                "SELECT estate_stack, estate_kind, COUNT(*) FROM runs "
                "GROUP BY estate_stack, estate_kind"
            ).fetchall()
        return {
            (Estate(s, k).name if s is not None and k in ESTATE_KINDS else "unrecorded"): int(n)
            for s, k, n in rows
        }

    def latest_run_id(self) -> int | None:
        with self._connect() as db:
            row = db.execute("SELECT MAX(run_id) FROM runs").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def results(
        self, run_id: int, site_code: str | None = None, hosts: Sequence[str] | None = None
    ) -> list[Result]:
        query = "SELECT * FROM results WHERE run_id = ?"
        params: tuple[object, ...] = (run_id,)
        if site_code is not None:
            query += " AND site_code = ?"
            params += (site_code,)
        with self._connect() as db:
            rows = [_result(r) for r in db.execute(query + " ORDER BY id", params)]
        if hosts is not None:
            wanted = set(hosts)
            rows = [r for r in rows if r.host in wanted]
        return rows

    def latest(
        self, site_code: str | None = None, *, deadline: float | None = None
    ) -> list[Result]:
        """The newest result of every (site, host, check): the current state of readiness.

        With a `deadline` (time.monotonic()), the query is interrupted there and
        StoreUnreadable raised, so a reader inside a scrape never outlives the scrape.
        """
        query = (
            "SELECT r.* FROM results r JOIN (SELECT MAX(id) AS id FROM results "
            "GROUP BY site_code, host, check_id) newest ON r.id = newest.id"
        )
        params: tuple[str, ...] = ()
        if site_code is not None:
            query += " WHERE r.site_code = ?"
            params = (site_code,)
        with self._connect() as db:
            if deadline is not None:
                db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            return [_result(r) for r in db.execute(query + " ORDER BY r.id", params)]

    def approvals(self, evidence_sha256: str | None = None) -> list[Approval]:
        """Approvals, oldest first; with a digest, only those of reports on that evidence."""
        if self.version < 2:
            return []
        query = (
            "SELECT a.*, c.seal AS seal FROM approvals a "
            "LEFT JOIN chain c ON c.kind = 'approval' AND c.ref = a.id"
        )
        params: tuple[str, ...] = ()
        if evidence_sha256 is not None:
            query += " WHERE a.evidence_sha256 = ?"
            params = (evidence_sha256,)
        with self._connect() as db:
            return [
                Approval(**{k: row[k] for k in row.keys()})  # noqa: SIM118 (sqlite3.Row)
                for row in db.execute(query + " ORDER BY a.id", params)
            ]

    def verify(self) -> Verification:
        """Recompute every seal from the rows as they are now; report every break."""
        try:
            with self._connect() as db:
                return _verify(str(self.path), db, self.version)
        except sqlite3.DatabaseError as exc:
            raise StoreUnreadable(_unreadable(self.path, exc)) from None


def _unreadable(path: Path, exc: BaseException) -> str:
    return (
        f"the results store {path} cannot be read ({exc}): it is not a results store or it "
        "is damaged; keep a copy for inspection and check into a new store"
    )


def _version(path: Path, db: sqlite3.Connection) -> int:
    """The schema version of a store (1: before estates and seals)."""
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise StoreUnreadable(_unreadable(path, exc)) from None
    if not {"runs", "results"} <= tables:
        raise StoreUnreadable(
            f"{path} is an SQLite file without the tables of a results store "
            f"(it has {sorted(tables) or 'none'}): point --results/--db at the checks' store"
        )
    if version > SCHEMA_VERSION:
        raise StoreUnreadable(
            f"{path} was written by a newer dvc-rollout (schema {version}, this one reads up "
            f"to {SCHEMA_VERSION}): upgrade dvc-rollout"
        )
    return max(version, 1)


def _migrate(path: Path, db: sqlite3.Connection) -> int:
    """Create or bring a store up to the current schema, in one transaction.

    Runs recorded before version 2 keep their results untouched; they have no estate
    (so they are evidence for no estate) and no seal (`verify` counts them apart).
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if "runs" in tables and version >= SCHEMA_VERSION:
            db.execute("ROLLBACK")
            return _version(path, db)
        for statement in _statements(TABLES + MIGRATE_2 + TRIGGERS):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        db.execute("ROLLBACK")
        raise StoreUnreadable(_unreadable(path, exc)) from None
    db.execute("COMMIT")
    return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    """Split a script into statements (triggers hold `;` inside BEGIN … END)."""
    found: list[str] = []
    current = ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    return found


def run_digest(db: sqlite3.Connection, run_id: int) -> str:
    """SHA-256 over a run's own row and every result row of it, as stored now."""
    run = db.execute(
        f"SELECT {', '.join(SEALED_RUN_COLUMNS)} FROM runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    rows = db.execute(
        f"SELECT {', '.join(SEALED_RESULT_COLUMNS)} FROM results WHERE run_id = ? ORDER BY id",
        (run_id,),
    ).fetchall()
    return sha256(
        canonical(
            {
                "run": list(run) if run is not None else None,
                "results": [list(r) for r in rows],
            }
        )
    )


def approval_digest(db: sqlite3.Connection, approval_id: int) -> str:
    row = db.execute(
        f"SELECT id, {', '.join(APPROVAL_FIELDS)} FROM approvals WHERE id = ?", (approval_id,)
    ).fetchone()
    return sha256(canonical({"approval": list(row) if row is not None else None}))


def _append_seal(db: sqlite3.Connection, kind: str, ref: int, digest: str) -> str:
    head = db.execute("SELECT seal FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    previous = head[0] if head else GENESIS
    seal = link(previous, kind, ref, digest)
    db.execute(
        "INSERT INTO chain (kind, ref, digest, previous, seal, time) VALUES (?, ?, ?, ?, ?, ?)",
        (kind, ref, digest, previous, seal, now()),
    )
    return seal


def _verify(path: str, db: sqlite3.Connection, version: int) -> Verification:
    if version < 2:
        runs = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        return Verification(path, 0, 0, 0, int(runs), GENESIS)
    breaks: list[Break] = []
    previous = GENESIS
    sealed_runs: set[int] = set()
    sealed_approvals: set[int] = set()
    expected_seq = None
    for seq, kind, ref, digest, prev, seal in db.execute(
        "SELECT seq, kind, ref, digest, previous, seal FROM chain ORDER BY seq"
    ).fetchall():
        run_id = ref if kind == "run" else None
        if expected_seq is not None and seq != expected_seq:
            breaks.append(Break(seq, run_id, f"seals {expected_seq}…{seq - 1} are gone"))
        expected_seq = seq + 1
        if prev != previous:
            breaks.append(Break(seq, run_id, "it does not follow the seal before it"))
        if link(prev, kind, ref, digest) != seal:
            breaks.append(Break(seq, run_id, "its seal does not match its digest"))
        if kind == "run":
            sealed_runs.add(ref)
            if run_digest(db, ref) != digest:
                breaks.append(
                    Break(seq, ref, "its results or its run record changed after it was sealed")
                )
        else:
            sealed_approvals.add(ref)
            if approval_digest(db, ref) != digest:
                breaks.append(Break(seq, None, f"approval {ref} changed after it was sealed"))
        previous = seal
    legacy_last = int(
        (db.execute("SELECT value FROM meta WHERE key = 'legacy_last_run'").fetchone() or [0])[0]
    )
    legacy = 0
    for run_id, status, stack in db.execute(
        "SELECT run_id, status, estate_stack FROM runs ORDER BY run_id"
    ).fetchall():
        if run_id <= legacy_last:
            legacy += 1
            if stack is not None:
                breaks.append(Break(None, run_id, "a run recorded before estates has one now"))
        elif status == "complete" and run_id not in sealed_runs:
            breaks.append(Break(None, run_id, "it is complete but has no seal"))
    for (approval_id,) in db.execute("SELECT id FROM approvals").fetchall():
        if approval_id not in sealed_approvals:
            breaks.append(Break(None, None, f"approval {approval_id} has no seal"))
    for table, rowid, parent, _fk in db.execute("PRAGMA foreign_key_check").fetchall():
        breaks.append(Break(None, None, f"{table} row {rowid} belongs to no {parent} row"))
    return Verification(
        path,
        seals=len(sealed_runs) + len(sealed_approvals),
        runs_sealed=len(sealed_runs),
        approvals=len(sealed_approvals),
        legacy_runs=legacy,
        head=previous,
        breaks=tuple(breaks),
    )


def _estate(row: sqlite3.Row, keys: Sequence[str]) -> Estate | None:
    if "estate_stack" not in keys or row["estate_stack"] is None:
        return None
    try:
        where = json.loads(row["estate_where"] or "{}")
        return Estate(row["estate_stack"], row["estate_kind"], where)
    except (ValueError, TypeError):
        return None  # an unreadable estate is no estate: evidence for none


def _run(row: sqlite3.Row) -> Run:
    keys = row.keys()
    expected: dict[str, tuple[str, ...]] = {}
    if "expected" in keys and row["expected"]:
        try:
            raw = json.loads(row["expected"])
            expected = {str(k): tuple(map(str, v)) for k, v in raw.items()}
        except (ValueError, TypeError, AttributeError):
            expected = {}
    return Run(
        run_id=int(row["run_id"]),
        started=row["started"],
        finished=row["finished"],
        status=row["status"],
        selection=json.loads(row["selection"] or "{}"),
        estate=_estate(row, keys),
        expected=expected,
        seal=row["seal"] if "seal" in keys else None,
    )


def _result(row: sqlite3.Row) -> Result:
    return Result(**{f: row[f] for f in RESULT_FIELDS})
