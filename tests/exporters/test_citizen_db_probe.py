"""The citizen-database probe against a REAL PostgreSQL (Debian's, started in a temp dir).

The fixture runs initdb + pg_ctl as the `postgres` user (initdb refuses root) on a free
127.0.0.1 port with password (scram) authentication over TCP, loads a few SYNTHETIC
citizens like the lab's schema, and stops the server afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.registry import CollectorRegistry

from dvc_rollout.errors import UsageError
from exporters.citizen_db.__main__ import check_dsn
from exporters.citizen_db.collector import CitizenDbCollector
from exporters.citizen_db.probe import CitizenDbProbe, Lookup, Outcome, ProbeState

ROLE, PASSWORD, DB = "exporter", "probe-secret", "citizens"
SCHEMA = """
CREATE TABLE citizens (id text PRIMARY KEY, full_name text NOT NULL);
INSERT INTO citizens SELECT format('CD-%s', lpad(n::text, 6, '0')),
       format('Công dân thử nghiệm %s', lpad(n::text, 4, '0')) FROM generate_series(1, 20) n;
GRANT SELECT ON citizens TO exporter;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(
            "PostgreSQL is not installed: `apt-get install postgresql` (infra/packages/test.txt)"
        )
    return found[-1]


@dataclass
class Postgres:
    port: int
    datadir: Path
    as_user: list[str]

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={DB} user={ROLE}"

    def pg_ctl(self, *args: str) -> None:
        cmd = [*self.as_user, _pg_bin("pg_ctl"), "-D", str(self.datadir), "-w", *args]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def psql(self, sql: str, db: str = "postgres") -> None:
        cmd = [*self.as_user, _pg_bin("psql"), "-h", str(self.datadir), "-p", str(self.port)]
        cmd += ["-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="dvc-citizen-db-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    pg = Postgres(_free_port(), base / "data", as_user)
    try:
        subprocess.run(
            [
                *as_user,
                _pg_bin("initdb"),
                "-D",
                str(pg.datadir),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        opts = f"-p {pg.port} -c listen_addresses=127.0.0.1 -k {pg.datadir}"
        pg.pg_ctl("-o", opts, "-l", str(base / "server.log"), "start")
        pg.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        pg.psql(f"CREATE DATABASE {DB}")
        pg.psql(SCHEMA, db=DB)
        yield pg
    finally:
        if (pg.datadir / "postmaster.pid").exists():
            pg.pg_ctl("-m", "fast", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _collect(outcome: Outcome) -> CollectorRegistry:
    state = ProbeState()
    state.record(outcome)
    registry = CollectorRegistry()
    CitizenDbCollector(state, registry)
    return registry


def test_lookup_succeeds_and_reports_latencies(postgres: Postgres) -> None:
    r = _collect(CitizenDbProbe(postgres.dsn, PASSWORD).run_once())
    assert r.get_sample_value("dvc_citizen_db_up") == 1.0
    connect = r.get_sample_value("dvc_citizen_db_connect_duration_seconds")
    query = r.get_sample_value("dvc_citizen_db_query_duration_seconds")
    assert connect is not None and connect > 0
    assert query is not None and query > 0
    assert r.get_sample_value("dvc_citizen_db_last_success_timestamp_seconds") is not None
    assert r.get_sample_value("dvc_citizen_db_probe_failures_total", {"reason": "auth"}) == 0.0


@pytest.mark.parametrize(
    ("password", "lookup", "reason"),
    [
        ("wrong-password", None, "auth"),
        (PASSWORD, Lookup(params=("CD-999999",)), "not_found"),
        (PASSWORD, Lookup(sql="SELECT id FROM no_such_table", params=()), "query"),
        (PASSWORD, Lookup(sql="SELECT pg_sleep(5)", params=(), expect_rows=False), "timeout"),
    ],
    ids=["wrong-password", "unknown-citizen", "missing-table", "slow-query"],
)
def test_failures_are_down_with_their_reason(
    postgres: Postgres, password: str, lookup: Lookup | None, reason: str
) -> None:
    r = _collect(CitizenDbProbe(postgres.dsn, password, lookup, timeout=1.0).run_once())
    assert r.get_sample_value("dvc_citizen_db_up") == 0.0
    assert r.get_sample_value("dvc_citizen_db_probe_failures_total", {"reason": reason}) == 1.0
    assert r.get_sample_value("dvc_citizen_db_last_success_timestamp_seconds") is None


def test_nothing_listening_is_connect() -> None:
    dsn = f"host=127.0.0.1 port={_free_port()} dbname={DB} user={ROLE}"
    r = _collect(CitizenDbProbe(dsn, PASSWORD).run_once())
    assert r.get_sample_value("dvc_citizen_db_up") == 0.0
    assert r.get_sample_value("dvc_citizen_db_probe_failures_total", {"reason": "connect"}) == 1.0


@pytest.mark.parametrize(
    "dsn", ["host=db user=x password=secret", "postgresql://x:secret@db/citizens"]
)
def test_dsn_with_a_password_is_refused(dsn: str) -> None:
    with pytest.raises(UsageError, match="CITIZEN_DB_PASSWORD"):
        check_dsn(dsn)


@pytest.mark.parametrize(
    "python", [sys.executable, "/usr/bin/python3"], ids=["psycopg3", "psycopg2"]
)
def test_cli_probes_with_password_from_env(postgres: Postgres, python: str, tmp_path: Path) -> None:
    """The CLI under the venv (psycopg 3) and under Debian's python3 (psycopg2)."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "CITIZEN_DB_PASSWORD": PASSWORD,
    }
    argv = [
        python,
        "-m",
        "exporters.citizen_db",
        "--listen",
        f"127.0.0.1:{port}",
        "--dsn",
        postgres.dsn,
        "--interval",
        "0.5",
    ]
    log = (tmp_path / "exporter.log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        body = ""
        while "dvc_citizen_db_up 1.0" not in body and time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"exporter exited: {(tmp_path / 'exporter.log').read_text()}")
            time.sleep(0.3)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
                    body = resp.read().decode()
            except OSError:
                continue
        assert "dvc_citizen_db_up 1.0" in body
        assert PASSWORD not in " ".join(argv)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_stopped_server_is_reported_down(postgres: Postgres) -> None:
    """Runs last in this module: it stops the fixture's server (the fixture copes)."""
    postgres.pg_ctl("-m", "fast", "stop")
    r = _collect(CitizenDbProbe(postgres.dsn, PASSWORD).run_once())
    assert r.get_sample_value("dvc_citizen_db_up") == 0.0
    assert r.get_sample_value("dvc_citizen_db_probe_failures_total", {"reason": "connect"}) == 1.0
