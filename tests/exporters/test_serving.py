"""The one HTTP server: HEAD, timeouts, the scrape deadline and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from exporters import serving

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = "/usr/bin/python3"


class _BudgetCollector(Collector):
    """Reports the scrape budget it was given, as a collector doing work at scrape time sees it."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "budget_seconds", "Seconds left for the scrape.", round(serving.time_left(), 1)
        )


def _request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def server() -> Iterator[serving.Server]:
    registry = CollectorRegistry()
    registry.register(_BudgetCollector())
    srv = serving.Server(
        ("127.0.0.1", 0), serving.exporter_app(registry), "test", request_timeout=0.5
    ).start()
    yield srv
    srv.stop()


def test_head_answers_like_get_without_a_body(server: serving.Server) -> None:
    base = f"http://127.0.0.1:{server.port}"
    status, headers, body = _request(f"{base}/metrics")
    head_status, head_headers, head_body = _request(f"{base}/metrics", "HEAD")
    assert (status, head_status) == (200, 200)
    assert head_body == b""
    assert head_headers["Content-Type"] == headers["Content-Type"]
    assert int(head_headers["Content-Length"]) == len(body) > 0


def test_other_methods_and_paths_are_refused(server: serving.Server) -> None:
    base = f"http://127.0.0.1:{server.port}"
    assert _request(f"{base}/metrics", "POST")[0] == 405
    status, _, body = _request(f"{base}/nope")
    assert status == 404 and b"/metrics" in body


def test_the_scrape_budget_is_prometheus_timeout_minus_the_margin(server: serving.Server) -> None:
    url = f"http://127.0.0.1:{server.port}/metrics"
    _, _, body = _request(url, headers={"X-Prometheus-Scrape-Timeout-Seconds": "4"})
    assert 3.0 < _budget(body) <= 3.5
    _, _, body = _request(url)
    assert _budget(body) > 9.0


def _budget(exposition: bytes) -> float:
    line = next(x for x in exposition.decode().splitlines() if x.startswith("budget_seconds "))
    return float(line.split()[1])


@pytest.mark.parametrize(
    ("header", "budget"), [(None, 10.0), ("abc", 10.0), ("nan", 10.0), ("0.3", 0.2), ("15", 14.5)]
)
def test_scrape_budget_from_the_header(header: str | None, budget: float) -> None:
    environ = {} if header is None else {serving.SCRAPE_TIMEOUT_HEADER: header}
    assert serving.scrape_budget(environ) == pytest.approx(budget)


def test_a_client_that_sends_nothing_is_dropped(server: serving.Server) -> None:
    """A silent client would otherwise hold a request thread for ever (and block stop())."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""  # the server closed its side
        assert time.monotonic() - started < 3


def test_stop_lets_a_request_in_flight_finish() -> None:
    release = threading.Event()

    def slow(environ: serving.Environ, start_response: serving.StartResponse) -> list[bytes]:
        release.wait(5)
        return serving.respond(start_response, "200 OK", "done\n")

    srv = serving.Server(("127.0.0.1", 0), serving.router({"/slow": slow})).start()
    got: list[bytes] = []
    client = threading.Thread(
        target=lambda: got.append(_request(f"http://127.0.0.1:{srv.port}/slow")[2])
    )
    client.start()
    time.sleep(0.3)
    stopper = threading.Thread(target=srv.stop)
    stopper.start()
    time.sleep(0.3)
    assert stopper.is_alive(), "stop() returned while a request was still being answered"
    release.set()
    stopper.join(5)
    client.join(5)
    assert got == [b"done\n"]


def test_a_taken_port_is_an_environment_problem() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(serving.ListenFailed, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            serving.Server(("127.0.0.1", sock.getsockname()[1]), serving.router({}))


@pytest.mark.parametrize("value", ["9602", "host:port", "1.2.3.4:70000"])
def test_bad_listen_values_say_how_to_write_them(value: str) -> None:
    with pytest.raises(serving.ListenAddressError, match="write host:port"):
        serving.parse_listen(value)


def test_an_empty_host_is_every_address_unless_refused() -> None:
    assert serving.parse_listen(":9602") == ("0.0.0.0", 9602)
    assert serving.parse_listen("[::1]:9602") == ("::1", 9602)
    with pytest.raises(serving.ListenAddressError):
        serving.parse_listen(":8090", any_host=False)


@pytest.mark.parametrize("python", [sys.executable, DEBIAN_PYTHON], ids=["venv", "debian"])
def test_an_exporter_stops_cleanly_on_sigterm(python: str, tmp_path: Path) -> None:
    """Under Docker `stop` sends SIGTERM: exit 0 at once, not a kill 10 s later."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONPATH"] = str(ROOT)
    scope = tmp_path / "scope.json"
    scope.write_text("[]\n", encoding="utf-8")
    proc = subprocess.Popen(
        [python, "-m", "exporters.readiness", "--db", str(tmp_path / "none.sqlite"),
         "--scope", str(scope), "--listen", f"127.0.0.1:{port}"],
        env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if _request(f"http://127.0.0.1:{port}/-/healthy", "HEAD")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the readiness exporter did not serve in 20 s")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
