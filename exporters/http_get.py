"""One HTTP GET that ends by its deadline, whatever the server does.

urllib's `timeout` bounds each socket operation, not the request: a server that accepts
and then sends a byte every few seconds (a frozen process behind a live kernel, a proxy
dripping an error page) holds a urllib call for as long as it likes. Here every read is
given only the time left before one overall deadline, and the body is capped, so a
caller that must answer a scrape in time (the Kannel exporter reading status.xml) or
keep its probe schedule (the SMS round trip's sendsms) always gets an answer or a
reason by then. The response is parsed by the availability exporter's parser, which
stops at the first byte that is not HTTP.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from dvc_rollout.errors import EnvironmentProblem
from exporters.availability.reasons import ProbeFailure
from exporters.availability.response import MAX_BODY_BYTES, parse_response


class GetFailed(EnvironmentProblem):
    """No usable answer; `reason` is `connect`, `timeout`, `tls`, `http` or `too_large`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def get(url: str, timeout: float, tls: ssl.SSLContext | None = None) -> Answer:
    """GET `url` and return the whole answer within `timeout` seconds, or raise GetFailed."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    shown = f"{parts.scheme}://{host}:{port}{parts.path or '/'}"

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GetFailed("timeout", f"{shown} did not answer in {timeout:g}s")
        return remaining

    try:
        sock = socket.create_connection((host, port), timeout=left())
    except TimeoutError:
        raise GetFailed("timeout", f"{shown} did not accept a connection in {timeout:g}s") from None
    except OSError as e:
        raise GetFailed("connect", f"cannot connect to {shown}: {e}") from None
    try:
        if https:
            sock.settimeout(left())
            try:
                sock = (tls or ssl.create_default_context()).wrap_socket(sock, server_hostname=host)
            except ssl.SSLError as e:
                raise GetFailed("tls", f"TLS with {shown} failed: {e}") from None
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "User-Agent: dvc-rollout-exporter\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )
        sock.settimeout(left())
        sock.sendall(request.encode("latin-1"))
        return _read(sock, left, shown)
    except TimeoutError:
        raise GetFailed("timeout", f"{shown} did not answer in {timeout:g}s") from None
    except OSError as e:
        raise GetFailed("connect", f"{shown} broke off the answer: {e}") from None
    finally:
        sock.close()


def _read(sock: socket.socket, left: Callable[[], float], shown: str) -> Answer:
    buf = bytearray()
    while True:
        sock.settimeout(left())
        chunk = sock.recv(65536)
        if chunk:
            buf += chunk
        try:
            response = parse_response(buf, at_eof=not chunk)
        except ProbeFailure as failure:
            reason = {"body": "too_large", "connect": "connect"}.get(failure.reason, "http")
            raise GetFailed(reason, f"{shown}: {failure.detail}") from None
        if response is not None:
            return Answer(response.status, response.body)
        if not chunk:
            raise GetFailed("connect", f"{shown} closed the connection without an answer")
        if len(buf) > MAX_BODY_BYTES + 16384:
            raise GetFailed("too_large", f"{shown}: answer above {MAX_BODY_BYTES} bytes")
