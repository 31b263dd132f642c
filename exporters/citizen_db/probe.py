"""One probe of the citizen database: connect, run the lookup, time both, say why it failed.

Each probe opens a fresh connection, because a portal that cannot open one is down
for citizens even when an old pooled connection still works.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from types import ModuleType

from exporters.citizen_db import driver
from exporters.probe_loop import ProbeLoop

log = logging.getLogger("exporters.citizen_db")

FAILURE_REASONS = ("connect", "auth", "timeout", "query", "not_found", "error")
LOOKUP_SQL = "SELECT id, full_name FROM citizens WHERE id = %s"
DEFAULT_LOOKUP_ID = "CD-000001"


@dataclass(frozen=True)
class Outcome:
    """One probe's result; `reason` is None on success."""

    finished: float
    reason: str | None
    connect_seconds: float | None = None
    query_seconds: float | None = None


@dataclass
class Snapshot:
    """What the collector reports: the last probe plus running totals."""

    probes: int = 0
    last: Outcome | None = None
    last_success: float | None = None
    failures: dict[str, int] = field(default_factory=dict)


class ProbeState:
    """Results shared between the probe thread and scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snap = Snapshot()

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self._snap.probes += 1
            self._snap.last = outcome
            if outcome.reason is None:
                self._snap.last_success = outcome.finished
            else:
                n = self._snap.failures.get(outcome.reason, 0)
                self._snap.failures[outcome.reason] = n + 1

    def snapshot(self) -> Snapshot:
        with self._lock:
            return dataclasses.replace(self._snap, failures=dict(self._snap.failures))


@dataclass(frozen=True)
class Lookup:
    """The representative query and whether it must return a row."""

    sql: str = LOOKUP_SQL
    params: tuple[str, ...] = (DEFAULT_LOOKUP_ID,)
    expect_rows: bool = True


class CitizenDbProbe:
    """Connects with `dsn` (+ password from the environment) and runs `lookup`."""

    def __init__(
        self,
        dsn: str,
        password: str | None,
        lookup: Lookup | None = None,
        timeout: float = 5.0,
        db_driver: ModuleType | None = None,
    ) -> None:
        self._dsn = dsn
        self._password = password
        self._lookup = lookup or Lookup()
        self._timeout = timeout
        self._driver = db_driver or driver.load_driver()

    @property
    def timeout(self) -> float:
        return self._timeout

    def run_once(self) -> Outcome:
        started = time.perf_counter()
        try:
            conn = driver.connect(self._driver, self._dsn, self._password, self._timeout)
        except self._driver.Error as e:
            return self._failed("connect", e)
        connected = time.perf_counter()
        try:
            cur = conn.cursor()
            cur.execute(self._lookup.sql, self._lookup.params or None)
            rows = cur.fetchall()
            cur.close()
        except self._driver.Error as e:
            return self._failed("query", e, connect_seconds=connected - started)
        finally:
            conn.close()
        done = time.perf_counter()
        reason = "not_found" if self._lookup.expect_rows and not rows else None
        if reason:
            log.warning("citizen lookup returned no row: is the citizens table loaded?")
        return Outcome(time.time(), reason, connected - started, done - connected)

    def _failed(
        self, phase: str, exc: BaseException, connect_seconds: float | None = None
    ) -> Outcome:
        reason = driver.classify(exc, phase)
        log.warning("citizen database probe failed (%s): %s", reason, str(exc).strip())
        return Outcome(time.time(), reason, connect_seconds=connect_seconds)


def probe_loop(probe: CitizenDbProbe, state: ProbeState, interval: float) -> ProbeLoop:
    """The probe run every `interval` seconds, its outcome recorded for scrapes.

    A database that accepts the connection and then freezes answers neither libpq's
    connect timeout nor its own statement timeout; the loop's deadline (both timeouts
    and a second) records such a run as a timeout.
    """
    return ProbeLoop(
        lambda: state.record(probe.run_once()),
        interval,
        "citizen-db",
        deadline=2 * driver.connect_timeout(probe.timeout) + 1.0,
        failed=lambda reason: state.record(Outcome(time.time(), reason)),
    )
