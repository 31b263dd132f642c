"""HTTPS probes: verified against the lab's kind of CA, with each endpoint's expiry seen."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from exporters.availability.collector import AvailabilityCollector
from exporters.availability.config import ProbeSettings
from exporters.availability.sweep import Sweeper
from exporters.availability.targets import Target
from infra.lab import tls


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https(tmp_path: Path) -> Iterator[Callable[[tls.Certificate], int]]:
    servers: list[ThreadingHTTPServer] = []

    def start(cert: tls.Certificate) -> int:
        (tmp_path / "server.pem").write_text(cert.cert)
        (tmp_path / "server.key").write_text(cert.key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _sweep(target: Target, ca_file: Path, run) -> CollectorRegistry:
    settings = ProbeSettings(interval=10, timeout=5, concurrency=2, tls_ca_file=str(ca_file))
    sweeper = Sweeper([target], settings)
    registry = CollectorRegistry()
    AvailabilityCollector(sweeper.results, registry)
    run(sweeper.sweep())
    return registry


def test_a_certificate_from_the_ca_given_is_verified_and_its_expiry_exported(
    https, make_target, run, tmp_path
):
    ca = tls.make_ca("test CA")
    cert = tls.issue(ca, ["localhost", "127.0.0.1"], days=10)
    port = https(cert)
    (tmp_path / "ca.pem").write_text(ca.cert)
    target = make_target(f"https://127.0.0.1:{port}/dvc/00376/c-marriage/health")
    registry = _sweep(target, tmp_path / "ca.pem", run)
    assert registry.get_sample_value("dvc_service_up", target.label_dict()) == 1
    expiry = registry.get_sample_value(
        "dvc_tls_certificate_expiry_timestamp_seconds",
        {"exporter": "availability", "endpoint": f"127.0.0.1:{port}"},
    )
    assert expiry is not None
    assert abs(expiry - cert.not_after().timestamp()) < 1


def test_a_certificate_from_another_ca_is_reason_tls(https, make_target, run, tmp_path):
    """The wrong certificate on the portal front: every pair is down, saying why."""
    port = https(tls.issue(tls.make_ca("someone else"), ["127.0.0.1"]))
    (tmp_path / "ca.pem").write_text(tls.make_ca("ours").cert)
    target = make_target(f"https://127.0.0.1:{port}/dvc/00376/c-marriage/health")
    registry = _sweep(target, tmp_path / "ca.pem", run)
    assert registry.get_sample_value("dvc_service_up", target.label_dict()) == 0
    labels = {**target.label_dict(), "reason": "tls"}
    assert registry.get_sample_value("dvc_service_probe_failures_total", labels) == 1
