"""`python3 -m exporters.readiness --db state/results.sqlite`: serve readiness metrics."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from prometheus_client.registry import CollectorRegistry

from dvc_rollout import argtypes
from exporters import serving
from exporters.readiness import scope
from exporters.readiness.collector import ReadinessCollector

log = logging.getLogger("exporters.readiness")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m exporters.readiness",
        description="Serve go-live readiness metrics read from the check results store.",
    )
    parser.add_argument("--db", type=argtypes.path, required=True, help="results.sqlite to read")
    parser.add_argument(
        "--scope",
        type=argtypes.existing_file,
        help="the desks in scope, from `python -m exporters.readiness.scope` "
        "(default: every desk of the inventory, which needs pydantic 2)",
    )
    for flag, kind, default, text in (
        ("--listen", argtypes.listen_address, "127.0.0.1:9605", "HOST:PORT to serve on"),
        ("--log-level", argtypes.log_level, "INFO", "DEBUG, INFO, WARNING or ERROR"),
    ):
        parser.add_argument(flag, type=kind, default=default, help=text)
    return parser


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    """Serve until `stop` is set; the store is read at each scrape, within its deadline."""
    registry = CollectorRegistry()
    ReadinessCollector(args.db, registry, scope=_scope(args.scope))
    server = serving.Server(
        serving.parse_listen(args.listen), serving.exporter_app(registry), "metrics"
    ).start()
    log.info("serving readiness metrics from %s on %s", args.db, args.listen)
    serving.wait_until(stop)
    server.stop()
    return 0


def _scope(path: Path | None) -> list[scope.ScopedSite]:
    """The desks a never-checked alert must cover: the file's, else the inventory's."""
    if path is not None:
        return scope.read(path)
    try:
        import inventory
    except ImportError as e:
        raise scope.ScopeFileError(
            f"cannot read the inventory here ({e}): give --scope FILE, written by "
            "`python -m exporters.readiness.scope`"
        ) from None
    return scope.from_inventory(inventory.load())


def main(argv: Sequence[str] | None = None) -> int:
    return serving.run_until_signalled(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
