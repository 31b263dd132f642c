"""The one way the project serves HTTP: exporters' /metrics, their callbacks, the status page.

prometheus_client's own WSGI pieces do the serving: `make_wsgi_app` renders a registry,
wsgiref runs it in a thread per request, as `start_http_server` does. That function returns
no handle to stop its server in the 0.16 release Debian bookworm ships (the exporters'
containers run it), so `Server` builds the same server itself and adds what a server on
call must have:

- a client that connects and sends nothing (or trickles) is dropped after
  `REQUEST_TIMEOUT` seconds per read, so it cannot hold a thread forever;
- `HEAD` answers like `GET` without the body (same status, type and length);
- SIGTERM or SIGINT (`run_until_signalled`) stops accepting, lets requests in flight
  finish, then returns: Docker's `stop` is a clean exit, not a kill after 10 s.

It also carries Prometheus' scrape deadline. Prometheus sends
`X-Prometheus-Scrape-Timeout-Seconds` with every scrape; `metrics()` turns it into a
deadline for the request, and a collector that works at scrape time (reading Kannel's
status page, the results store) asks `time_left()` how long it may take, so the exporter
answers "I could not find out" in time instead of failing the scrape (as
blackbox_exporter's `--timeout-offset` does).
"""

from __future__ import annotations

import argparse
import contextvars
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.registry import CollectorRegistry

from dvc_rollout.errors import DvcRolloutError, EnvironmentProblem, UsageError

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]

# Seconds a client may take per read of its request (and per write of our answer).
REQUEST_TIMEOUT = 10.0
# Taken off Prometheus' scrape timeout for rendering and the network (blackbox: 0.5 s).
SCRAPE_MARGIN = 0.5
# What a collector may spend when the request is no scrape (a person with curl).
DEFAULT_BUDGET = 10.0
# Never plan on less than this: a budget of zero would fail every read at once.
MIN_BUDGET = 0.2
SCRAPE_TIMEOUT_HEADER = "HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS"
TEXT = "text/plain; charset=utf-8"

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "scrape_deadline", default=None
)
log = logging.getLogger(__name__)


class ListenAddressError(UsageError):
    """A --listen style value is not HOST:PORT."""


class ListenFailed(EnvironmentProblem):
    """The port is taken or the host is not an address of this machine."""


def parse_listen(value: str, any_host: bool = True) -> tuple[str, int]:
    """Split HOST:PORT (IPv6 as [::1]:PORT) for every --listen.

    An empty host means every address when `any_host`; a page meant for the loopback
    (the status page) passes False so that exposing it is always written out.
    """
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not (host or any_host):
        raise ListenAddressError(
            f"--listen {value!r}: write host:port, e.g. 127.0.0.1:9602 (port 0 to 65535)"
        )
    return host.strip("[]") or "0.0.0.0", int(port)


# --- the scrape deadline ------------------------------------------------------------------


def scrape_budget(environ: Mapping[str, Any], margin: float = SCRAPE_MARGIN) -> float:
    """Seconds this request may spend: Prometheus' scrape timeout minus `margin`."""
    raw = environ.get(SCRAPE_TIMEOUT_HEADER)
    try:
        timeout = float(raw) if raw is not None else None
    except ValueError:
        timeout = None
    if timeout is None or timeout != timeout or timeout <= 0:  # absent, garbage or NaN
        return DEFAULT_BUDGET
    return max(timeout - margin, MIN_BUDGET)


def time_left(default: float = DEFAULT_BUDGET) -> float:
    """Seconds left of the current scrape's budget (`default` outside a scrape)."""
    deadline = _deadline.get()
    if deadline is None:
        return default
    return max(deadline - time.monotonic(), 0.0)


def metrics(registry: CollectorRegistry, margin: float = SCRAPE_MARGIN) -> App:
    """prometheus_client's /metrics app, run within the scrape's deadline."""
    inner = make_wsgi_app(registry)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        token = _deadline.set(time.monotonic() + scrape_budget(environ, margin))
        try:
            return list(inner(environ, start_response))
        finally:
            _deadline.reset(token)

    return app


# --- small apps ---------------------------------------------------------------------------


def answer(body: bytes | str, status: str = "200 OK", content_type: str = TEXT) -> App:
    """An app that always gives the same answer (a health check, a landing page)."""
    data = body.encode("utf-8") if isinstance(body, str) else body

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]

    return app


def respond(
    start_response: StartResponse,
    status: str,
    body: bytes | str,
    content_type: str = TEXT,
    headers: Sequence[tuple[str, str]] = (),
) -> list[bytes]:
    """Start a response with an exact Content-Length and return its body, for app code."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    start_response(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


def router(routes: Mapping[str, App]) -> App:
    """Dispatch on the exact path; 404 for any other, 405 for methods other than GET/HEAD."""
    known = ", ".join(sorted(routes))

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return respond(
                start_response, "405 Method Not Allowed", "only GET and HEAD\n",
                headers=[("Allow", "GET, HEAD")],
            )  # fmt: skip
        route = routes.get(environ.get("PATH_INFO", ""))
        if route is None:
            return respond(start_response, "404 Not Found", f"not found: try {known}\n")
        return route(environ, start_response)

    return app


def exporter_app(
    registry: CollectorRegistry, healthy: App | None = None, extra: Mapping[str, App] | None = None
) -> App:
    """An exporter's routes: /metrics of `registry`, /-/healthy (200 unless `healthy` says).

    /metrics runs within the scrape's deadline (see `metrics`).
    """
    return router(
        {
            "/metrics": metrics(registry),
            "/-/healthy": healthy or answer("OK\n"),
            **(extra or {}),
        }
    )


def _head_as_get(app: App) -> App:
    """HEAD: run the GET and send its status and headers (with the body's length), no body."""

    def wrapped(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "HEAD":
            return app(environ, start_response)
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started.append((status, list(headers)))
            return lambda _data: None

        body = b"".join(app({**environ, "REQUEST_METHOD": "GET"}, capture))
        status, headers = started[-1]
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return []

    return wrapped


# --- the server ---------------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """wsgiref's handler with a per-read timeout and no access log (scrapes every 5 s)."""

    timeout = REQUEST_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        """Access lines would bury the messages on-call staff need."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    # Non-daemon request threads, joined at server_close(): a scrape in flight completes.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True


class Server:
    """One WSGI app served on one address in a background thread, stoppable cleanly."""

    def __init__(
        self,
        listen: tuple[str, int],
        app: App,
        name: str = "http",
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        host, port = listen
        handler = type("Handler", (_Handler,), {"timeout": request_timeout})
        try:
            self._httpd = make_server(
                host, port, _head_as_get(app), _ThreadingServer, handler_class=handler
            )
        except OSError as e:
            raise ListenFailed(
                f"cannot listen on {host}:{port} for the {name} server: {e.strerror or e}; "
                "pick a free port or an address of this host"
            ) from e
        self.name = name
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name=name
        )

    @property
    def port(self) -> int:
        """The bound port (useful when listening on port 0 in tests)."""
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    def start(self) -> Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wait for the requests in flight (each bounded by its timeouts)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()


Runner = Callable[[argparse.Namespace, threading.Event], int]


_signalled: list[int] = []


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (docker stop) and SIGINT (Ctrl-C) end `wait_until(stop)` instead of killing
    mid-answer. The handler only notes the signal: it runs in the main thread, possibly
    inside the event's own lock (a `stop.set()` there would deadlock the process)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: _signalled.append(signum))


def wait_until(stop: threading.Event) -> None:
    """Block the main thread until `stop` is set (by another thread) or a signal came."""
    while not stop.wait(0.25):
        if _signalled:
            stop.set()


def run_until_signalled(
    parser: argparse.ArgumentParser, run: Runner, argv: Sequence[str] | None
) -> int:
    """An exporter's `main`: parse, log, run until SIGINT/SIGTERM; user errors exit cleanly.

    `run` starts its servers and loops, waits on the event, then stops them.
    """
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=str(getattr(args, "log_level", "INFO")).upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        return run(args, stop)
    except DvcRolloutError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
