"""`python -m exporters.citizen_db`: probe the citizen database on an interval, serve /metrics.

The password comes from CITIZEN_DB_PASSWORD (or libpq's own PGPASSWORD / .pgpass),
never from the command line, which `ps` shows to every user of the host.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import threading
from collections.abc import Sequence

from prometheus_client.registry import CollectorRegistry

from dvc_rollout import argtypes
from dvc_rollout.errors import UsageError
from exporters import serving
from exporters.citizen_db.collector import CitizenDbCollector
from exporters.citizen_db.probe import (
    DEFAULT_LOOKUP_ID,
    LOOKUP_SQL,
    CitizenDbProbe,
    Lookup,
    ProbeState,
    probe_loop,
)

log = logging.getLogger("exporters.citizen_db")
_URI_PASSWORD = re.compile(r"://[^/@]*:[^/@]*@")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m exporters.citizen_db",
        description="Probe the citizen database (connect + lookup) on an interval; serve /metrics.",
        epilog="Environment: CITIZEN_DB_PASSWORD (or PGPASSWORD) for the database role.",
    )
    p.add_argument(
        "--dsn",
        type=argtypes.text(1000),
        required=True,
        help="libpq connection string WITHOUT password, "
        "e.g. 'host=127.0.0.1 port=5432 dbname=citizens user=exporter'",
    )
    for flag, kind, default, text in (
        ("--listen", argtypes.listen_address, "127.0.0.1:9604", "HOST:PORT for /metrics"),
        ("--lookup-id", argtypes.text(64), DEFAULT_LOOKUP_ID, "citizen id the probe looks up"),
        ("--interval", argtypes.seconds(0, 86400), 15.0, "seconds between probes"),
        ("--timeout", argtypes.seconds(0, 600), 5.0, "connect and statement timeout"),
        ("--log-level", argtypes.log_level, "INFO", "DEBUG, INFO, WARNING or ERROR"),
    ):
        p.add_argument(flag, type=kind, default=default, help=text)
    return p


def check_dsn(dsn: str) -> str:
    """Refuse a DSN that carries a password: it would show in `ps` and in logs."""
    if "password" in dsn.lower() or _URI_PASSWORD.search(dsn):
        raise UsageError(
            "--dsn must not contain the password: put it in CITIZEN_DB_PASSWORD instead"
        )
    return dsn


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    """Start the probe loop and the metrics server; block until `stop` is set."""
    probe = CitizenDbProbe(
        check_dsn(args.dsn),
        os.environ.get("CITIZEN_DB_PASSWORD") or None,
        Lookup(sql=LOOKUP_SQL, params=(args.lookup_id,)),
        timeout=args.timeout,
    )
    state = ProbeState()
    registry = CollectorRegistry()
    # The loop records a result at least every interval (a hung run as a timeout);
    # three intervals without one means the loop itself is gone.
    CitizenDbCollector(state, registry, stale_after=3 * args.interval + args.timeout)
    server = serving.Server(
        serving.parse_listen(args.listen),
        serving.exporter_app(registry),
        "metrics",
    ).start()
    loop = probe_loop(probe, state, args.interval).start()
    log.info("serving citizen-database metrics on %s", args.listen)
    serving.wait_until(stop)
    loop.stop()
    server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return serving.run_until_signalled(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
