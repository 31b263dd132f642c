"""PostgreSQL driver choice and error classification, so the probe runs on either driver.

The exporter container has Debian's python3-psycopg2; the project's venv has psycopg 3.
Both speak DB-API 2.0 over libpq, so the probe only needs `connect()` and a way to
turn a driver error into the failure reason it reports.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Protocol

from dvc_rollout.errors import EnvironmentProblem

# SQLSTATEs that name the reason better than the exception class does.
_AUTH_STATES = {"28000", "28P01"}
_TIMEOUT_STATES = {"57014"}  # query_canceled: statement_timeout fired
_AUTH_WORDS = ("password authentication failed", "no password supplied", "pg_hba.conf")
_TIMEOUT_WORDS = ("timeout expired", "timed out", "statement timeout")


class NoDriver(EnvironmentProblem):
    """Neither psycopg2 nor psycopg is importable."""


class Cursor(Protocol):
    def execute(self, query: str, params: Any = ...) -> Any: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...
    def close(self) -> None: ...


class Connection(Protocol):
    def cursor(self) -> Cursor: ...
    def close(self) -> None: ...


def load_driver() -> ModuleType:
    """psycopg2 (Debian's, in the container) if present, else psycopg 3 (the venv's)."""
    for name in ("psycopg2", "psycopg"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise NoDriver("no PostgreSQL driver: install python3-psycopg2 (Debian) or psycopg (pip)")


def connect_timeout(timeout: float) -> int:
    """libpq's connect_timeout for `timeout`: whole seconds, and anything under 2 is 2."""
    return max(2, round(timeout))


def connect(driver: ModuleType, dsn: str, password: str | None, timeout: float) -> Connection:
    """Open a fresh connection with connect and statement timeouts from `timeout`."""
    kwargs: dict[str, Any] = {
        "connect_timeout": connect_timeout(timeout),
        "options": f"-c statement_timeout={int(timeout * 1000)}",
        "application_name": "dvc-citizen-db-probe",
    }
    if password:
        kwargs["password"] = password
    conn: Connection = driver.connect(dsn, **kwargs)
    return conn


def classify(exc: BaseException, phase: str) -> str:
    """Map a driver error raised during `phase` ("connect" or "query") to a reason."""
    state = getattr(exc, "pgcode", None) or getattr(exc, "sqlstate", None)
    text = str(exc).lower()
    if state in _AUTH_STATES or any(w in text for w in _AUTH_WORDS):
        return "auth"
    if state in _TIMEOUT_STATES or any(w in text for w in _TIMEOUT_WORDS):
        return "timeout"
    return "connect" if phase == "connect" else "query"
