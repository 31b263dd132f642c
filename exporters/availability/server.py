"""The exporter's HTTP endpoint: /metrics from a per-sweep cache, and /-/healthy.

It runs on the sweeps' event loop (no threads). The full exposition only changes when a
sweep ends, so it is rendered then, once (by exposition.render_text), and gzipped on first
demand; a scrape just writes bytes. `name[]=` filters (as in prometheus_client) are
rendered on request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from prometheus_client.exposition import generate_latest
from prometheus_client.registry import CollectorRegistry

from exporters.availability.exposition import render_text

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
IDLE_SECONDS = 300.0
_LANDING = (
    b"<html><head><title>DVC availability exporter</title></head><body>"
    b"<h1>DVC availability exporter</h1><p><a href='/metrics'>Metrics</a></p></body></html>"
)


class MetricsCache:
    """The rendered exposition of `registry`, refreshed when a sweep ends."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._plain = b""
        self._gzipped: bytes | None = None
        self.refresh()

    def refresh(self) -> None:
        self._plain = render_text(self.registry.collect())
        self._gzipped = None

    def body(self, want_gzip: bool) -> tuple[bytes, str | None]:
        if not want_gzip:
            return self._plain, None
        if self._gzipped is None:
            self._gzipped = gzip.compress(self._plain, compresslevel=1)
        return self._gzipped, "gzip"

    def filtered(self, names: list[str]) -> bytes:
        return generate_latest(self.registry.restricted_registry(names))


class ExporterServer:
    """Serves one exporter's cache; `healthy()` decides the /-/healthy answer."""

    def __init__(self, cache: MetricsCache, healthy: Callable[[], bool]) -> None:
        self.cache = cache
        self.healthy = healthy

    async def start(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._serve, host, port, reuse_address=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                async with asyncio.timeout(IDLE_SECONDS):
                    head = await reader.readuntil(b"\r\n\r\n")
                response, keep_alive = self._answer(head)
                writer.write(response)
                await writer.drain()
                if not keep_alive:
                    break
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, head: bytes) -> tuple[bytes, bool]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return _response(400, b"bad request line\n"), False
        method, target, version = parts
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        keep_alive = version == "HTTP/1.1" and "close" not in headers.get("connection", "")
        if method not in ("GET", "HEAD") or "content-length" in headers:
            return _response(405, b"only GET and HEAD\n"), False
        url = urlsplit(target)
        if url.path == "/metrics":
            names = parse_qs(url.query).get("name[]")
            if names:
                body, encoding = self.cache.filtered(names), None
            else:
                body, encoding = self.cache.body("gzip" in headers.get("accept-encoding", ""))
            answer = _response(200, body, CONTENT_TYPE, encoding, head_only=method == "HEAD")
        elif url.path == "/-/healthy":
            good = self.healthy()
            answer = _response(200 if good else 503, b"Healthy\n" if good else b"Unhealthy\n")
        elif url.path == "/":
            answer = _response(200, _LANDING, "text/html; charset=utf-8")
        else:
            answer = _response(404, b"not found: try /metrics or /-/healthy\n")
        return answer, keep_alive


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}  # fmt: skip


def _response(
    status: int,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
    encoding: str | None = None,
    head_only: bool = False,
) -> bytes:
    head = [
        f"HTTP/1.1 {status} {_REASONS[status]}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
    ]
    if encoding:
        head.append(f"Content-Encoding: {encoding}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (b"" if head_only else body)
