"""The exporter's HTTP answers: /metrics from a per-sweep cache, /-/healthy and a landing page.

The full exposition only changes when a sweep ends, so it is rendered then, once (by
exposition.render_text), and gzipped on first demand; a scrape just writes bytes. That
pre-rendered answer is the point of this exporter's custom exposition (prometheus_client
would re-render 2,676 pairs per scrape), so the app here is its own, served by the
project's one server (`exporters.serving`). `name[]=` filters (as in prometheus_client)
are rendered on request from the families of the last sweep.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry

from exporters import serving
from exporters.availability.exposition import render_text

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LANDING = (
    b"<html><head><title>DVC availability exporter</title></head><body>"
    b"<h1>DVC availability exporter</h1><p><a href='/metrics'>Metrics</a></p></body></html>"
)


class _Families:
    """A fixed list of families, collectable like a registry (for `name[]` filters)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return iter(self._families)


class MetricsCache:
    """The rendered exposition of `registry`, refreshed when a sweep ends.

    `refresh` runs on the sweeps' event loop, scrapes on the server's threads: each
    refresh swaps in a new immutable snapshot, so a scrape never sees half a sweep.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._plain = b""
        self._gzipped: bytes | None = None
        self.refresh()

    def refresh(self) -> None:
        families = list(self.registry.collect())
        plain = render_text(families)
        with self._lock:
            self._families, self._plain, self._gzipped = families, plain, None

    def body(self, want_gzip: bool) -> tuple[bytes, str | None]:
        with self._lock:
            plain, gzipped = self._plain, self._gzipped
        if not want_gzip:
            return plain, None
        if gzipped is None:
            gzipped = gzip.compress(plain, compresslevel=1)
            with self._lock:
                if self._plain is plain:
                    self._gzipped = gzipped
        return gzipped, "gzip"

    def filtered(self, names: list[str]) -> bytes:
        with self._lock:
            families = self._families
        wanted = set(names)
        chosen = [
            f for f in families if f.name in wanted or any(s.name in wanted for s in f.samples)
        ]
        return generate_latest(_Families(chosen))


def exporter_app(cache: MetricsCache, healthy: Callable[[], bool]) -> serving.App:
    """/metrics from `cache`, /-/healthy while `healthy()` (the sweeps run), / a landing page."""

    def metrics(environ: serving.Environ, start_response: serving.StartResponse) -> list[bytes]:
        names = parse_qs(environ.get("QUERY_STRING", "")).get("name[]")
        if names:
            return serving.respond(start_response, "200 OK", cache.filtered(names), CONTENT_TYPE)
        body, encoding = cache.body("gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""))
        headers = [("Content-Encoding", encoding)] if encoding else []
        return serving.respond(start_response, "200 OK", body, CONTENT_TYPE, headers)

    def health(environ: serving.Environ, start_response: serving.StartResponse) -> list[bytes]:
        if healthy():
            return serving.respond(start_response, "200 OK", "Healthy\n")
        return serving.respond(start_response, "503 Service Unavailable", "Unhealthy\n")

    return serving.router(
        {
            "/metrics": metrics,
            "/-/healthy": health,
            "/": serving.answer(_LANDING, content_type="text/html; charset=utf-8"),
        }
    )
