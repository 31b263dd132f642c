"""A small threaded HTTP server for /metrics and /-/healthy, stoppable from tests.

`prometheus_client.start_http_server` gives no handle to stop it in the 0.16 release
that Debian bookworm ships, so the Kannel and citizen-database exporters serve their
registry through this instead. Only stdlib and `generate_latest` (present since 0.1).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from dvc_rollout.errors import DvcRolloutError, EnvironmentProblem, UsageError

# A route answers a GET with (status, content type, body); the query string is passed in.
Route = Callable[[str], tuple[int, str, bytes]]


class ListenAddressError(UsageError):
    """A --listen style value is not HOST:PORT."""


class ListenFailed(EnvironmentProblem):
    """The port is taken or the host is not an address of this machine."""


def parse_listen(value: str) -> tuple[str, int]:
    """Split HOST:PORT (IPv6 as [::1]:PORT) so every CLI flag reads the same way."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ListenAddressError(f"listen address {value!r} is not HOST:PORT, e.g. 127.0.0.1:9602")
    return host.strip("[]") or "0.0.0.0", int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        route = self.server.routes.get(path)
        if route is None:
            status, ctype, body = 404, "text/plain; charset=utf-8", b"not found\n"
        else:
            status, ctype, body = route(query)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds would flood the log; stay quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]


class MetricsServer:
    """Serves a registry's exposition (if any) plus extra routes on one port, in a thread."""

    def __init__(
        self,
        listen: tuple[str, int],
        registry: CollectorRegistry | None,
        extra_routes: dict[str, Route] | None = None,
    ) -> None:
        try:
            self._httpd = _Server(listen, _Handler)
        except OSError as e:
            raise ListenFailed(
                f"cannot listen on {listen[0]}:{listen[1]}: {e.strerror}; "
                "pick a free port or an address of this host"
            ) from e
        self._registry = registry
        self._httpd.routes = {
            "/-/healthy": lambda _q: (200, "text/plain; charset=utf-8", b"OK\n"),
            **(extra_routes or {}),
        }
        if registry is not None:
            self._httpd.routes["/metrics"] = self._metrics
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The bound port (useful when listening on port 0 in tests)."""
        return int(self._httpd.server_address[1])

    def _metrics(self, _query: str) -> tuple[int, str, bytes]:
        if self._registry is None:
            return 404, "text/plain; charset=utf-8", b"no metrics here\n"
        return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


Runner = Callable[[argparse.Namespace, threading.Event], int]


def run_until_signalled(
    parser: argparse.ArgumentParser, run: Runner, argv: Sequence[str] | None
) -> int:
    """An exporter's `main`: parse, log, run until SIGINT/SIGTERM; user errors exit cleanly.

    The Kannel and citizen-database exporters share this so both stop the same way under
    Docker (SIGTERM) and report bad arguments without a traceback.
    """
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        return run(args, stop)
    except DvcRolloutError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
