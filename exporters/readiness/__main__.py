"""`python3 -m exporters.readiness --db state/results.sqlite`: serve readiness metrics."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from exporters.readiness.collector import ReadinessCollector


def handler_for(registry: CollectorRegistry, db: Path) -> type[BaseHTTPRequestHandler]:
    """/metrics renders the registry; /-/healthy says whether the store is readable."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/-/healthy":
                self._send(200, b"ok\n" if db.exists() else b"ok (no results yet)\n")
            else:
                self._send(404, b"see /metrics\n")

        def _send(self, status: int, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # scrapes every few seconds would drown the log

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m exporters.readiness",
        description="Serve go-live readiness metrics read from the check results store.",
    )
    parser.add_argument("--db", type=Path, required=True, help="results.sqlite to read")
    parser.add_argument("--listen", default="127.0.0.1:9602", help="HOST:PORT to serve on")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if not port.isdigit():
        print(f"readiness exporter: --listen {args.listen!r} must be HOST:PORT", file=sys.stderr)
        return 2
    registry = CollectorRegistry()
    ReadinessCollector(args.db, registry)
    server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), handler_for(registry, args.db))
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
