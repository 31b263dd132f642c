"""The HTML report and the status page as a browser shows them: headless Chromium.

Each page is loaded in Debian's chromium with console logging on stderr; a screenshot is
saved under the test's tmp dir and the console must hold no message at all (the pages
have no scripts, so any console line is an error such as a blocked or failed resource).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from checks.checkset import terminal_checks
from checks.results import Result, Store
from signoff import files, status, status_page
from signoff.criteria import Thresholds
from signoff.decision import decide
from signoff.report_meta import ReportMeta

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1400,1600",
)
CONSOLE = re.compile(r"CONSOLE|Uncaught", re.IGNORECASE)


def chromium(url: str, tmp: Path, *action: str) -> subprocess.CompletedProcess[str]:
    """Run headless chromium once on `url` with its own profile under `tmp`."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: apt-get install chromium (infra/packages/test.txt)")
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *action, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]


def screenshot(url: str, tmp: Path, name: str) -> tuple[Path, list[str]]:
    shot = tmp / f"{name}.png"
    done = chromium(url, tmp, f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000, "the screenshot is empty"
    return shot, console_lines(done.stderr)


def test_the_console_check_catches_script_errors(tmp_path):
    """Guard for the tests below: a page with a failing script is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>noSuchFunction();</script></body></html>")
    done = chromium(page.as_uri(), tmp_path, "--dump-dom")
    assert any("Uncaught ReferenceError" in line for line in console_lines(done.stderr))


def test_html_report_renders_without_console_errors(tmp_path, evidence, fixtures):
    ev = evidence("stale-readiness")
    paths = files.write(
        decide(ev, Thresholds()), ReportMeta(datetime.now(UTC)), tmp_path / "reports", pdf=False
    )
    shot, errors = screenshot(paths["html"].as_uri(), tmp_path, "signoff-report")
    print(f"screenshot: {shot}")
    assert errors == []
    dom = chromium(paths["html"].as_uri(), tmp_path, "--dump-dom").stdout
    assert 'id="verdict">NO-GO<' in dom
    assert "Bản đồ nhiệt" in dom and "District × criterion heat-map" in dom


class _Fake(BaseHTTPRequestHandler):
    """Answers like Prometheus' query API and Alertmanager's v2 alerts API."""

    routes: ClassVar[dict[str, Callable[[dict[str, list[str]]], Any]]] = {}

    def do_GET(self) -> None:
        url = urlparse(self.path)
        answer = self.routes.get(url.path)
        if answer is None:
            self.send_error(404)
            return
        body = json.dumps(answer(parse_qs(url.query))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(routes: dict[str, Callable[[dict[str, list[str]]], Any]]) -> ThreadingHTTPServer:
    handler = type("Handler", (_Fake,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _vector(rows: list[tuple[dict[str, str], float]]) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": m, "value": [1_700_000_000, str(v)]} for m, v in rows],
        },
    }


GRID = [
    ({"district_code": "016", "district": "Huyện Sóc Sơn", "service": "c-marriage"}, 1.0),
    ({"district_code": "016", "district": "Huyện Sóc Sơn", "service": "c-civil-extract"}, 0.5),
    ({"district_code": "017", "district": "Huyện Đông Anh", "service": "c-marriage"}, 1.0),
    ({"district_code": "017", "district": "Huyện Đông Anh", "service": "c-civil-extract"}, 1.0),
]


def _prometheus(query: dict[str, list[str]]) -> dict[str, Any]:
    promql = query["query"][0]
    if promql.startswith("count"):
        return _vector([(m, 2.0) for m, _ in GRID])
    return _vector(GRID)


def _alerts(query: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {
            "labels": {
                "alertname": "DvcUnitServiceDown",
                "severity": "critical",
                "district": "Huyện Sóc Sơn",
                "unit": "Xã Bắc Sơn",
                "service": "c-civil-extract",
            },
            "annotations": {"summary": "c-civil-extract down at Xã Bắc Sơn"},
            "startsAt": "2026-11-28T10:00:00Z",
        }
    ]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A real results store with one ready and one failing site in district 016."""
    path = tmp_path / "results.sqlite"
    db = Store(path)
    run = db.start_run({"phase": 2})
    for site, failing in (("00376", ""), ("00379", "printer.queue_enabled")):
        db.add_many(
            Result(
                run_id=run,
                time=datetime.now(UTC).isoformat(timespec="microseconds"),
                site_code=site,
                unit=site,
                host=f"term-{site}-1",
                check_id=check,
                outcome="failed" if check == failing else "passed",
                district="Huyện Sóc Sơn",
                district_code="016",
            )
            for check in sorted(terminal_checks())
        )
    db.finish_run(run)
    return path


@pytest.fixture
def status_url(store: Path) -> Iterator[str]:
    prometheus = _serve({"/api/v1/query": _prometheus})
    alertmanager = _serve({"/api/v2/alerts": _alerts})
    sources = status.Sources(
        prometheus=f"http://127.0.0.1:{prometheus.server_address[1]}",
        alertmanager=f"http://127.0.0.1:{alertmanager.server_address[1]}",
        results=store,
        refresh_seconds=30,
    )
    page = status.make_server("127.0.0.1:0", sources).start()
    yield f"http://127.0.0.1:{page.port}/"
    page.stop()
    for server in (prometheus, alertmanager):
        server.shutdown()
        server.server_close()


def test_status_page_renders_grid_alerts_and_readiness(tmp_path, status_url):
    shot, errors = screenshot(status_url, tmp_path, "status-page")
    print(f"screenshot: {shot}")
    assert errors == []
    dom = chromium(status_url, tmp_path, "--dump-dom").stdout
    assert '<meta http-equiv="refresh" content="30">' in dom
    assert 'class="c down" title="c-civil-extract: 1/2 units up">50%' in dom
    assert "DvcUnitServiceDown" in dom and "Xã Bắc Sơn" in dom
    assert re.search(r"016 Huyện Sóc Sơn</td><td class=\"c down\">1/2<", dom)


def test_status_page_shows_an_unreachable_source_as_unknown_never_green(tmp_path, store):
    sources = status.Sources("http://127.0.0.1:1", "http://127.0.0.1:1", store, 30, 2.0)
    snap = status.snapshot(sources)
    assert set(snap["errors"]) == {"prometheus", "alertmanager"}
    assert snap["grid"]["districts"] == []
    page = status_page.render(snap)
    assert 'id="error-prometheus"' in page and "Không rõ" in page
    assert 'class="c up"' not in page.split('id="readiness"')[0]
