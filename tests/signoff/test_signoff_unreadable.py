"""Malformed answers from Prometheus and Alertmanager: NO-GO "evidence unreadable", a report.

A tiny local HTTP server answers every request with one malformed body. Wrong before:
a sample without a value, `data: []` or a string ended in a traceback and no report.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dvc_rollout.cli import main
from signoff import status
from signoff.evidence import EvidenceUnavailable

TARGETS = {
    "status": "success",
    "data": {"activeTargets": [{"labels": {"job": "availability"}, "scrapeInterval": "15s"}]},
}


def _vector(result: Any) -> bytes:
    return json.dumps(
        {"status": "success", "data": {"resultType": "vector", "result": result}}
    ).encode()


MALFORMED: dict[str, bytes] = {
    "sample-without-value": _vector([{"metric": {"unit_code": "016", "service": "d-pavement-1"}}]),
    "data-is-a-list": json.dumps({"status": "success", "data": []}).encode(),
    "body-is-a-string": json.dumps("all good").encode(),
    "value-is-a-number": _vector([{"metric": {}, "value": [1700000000, 1]}]),
    "metric-is-a-list": _vector([{"metric": ["job"], "value": [1700000000, "1"]}]),
    "result-is-a-string": json.dumps(
        {"status": "success", "data": {"resultType": "vector", "result": "none"}}
    ).encode(),
    "no-data": json.dumps({"status": "success"}).encode(),
    "not-json": b"<html>502 Bad Gateway</html>",
    "value-not-a-number": _vector([{"metric": {}, "value": [1700000000, "up"]}]),
}


class _Canned(BaseHTTPRequestHandler):
    body: ClassVar[bytes] = b""
    targets: ClassVar[bytes] = json.dumps(TARGETS).encode()

    def do_GET(self) -> None:
        body = self.targets if self.path.startswith("/api/v1/targets") else self.body
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Canned]]]:
    handler = type("Handler", (_Canned,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def _signoff(url: str, tmp_path: Path) -> int:
    return main(
        [
            "signoff",
            "--phase=1",
            "--district=016",
            f"--prometheus={url}",
            f"--results={tmp_path / 'none.sqlite'}",
            f"--reports={tmp_path / 'reports'}",
            "--no-pdf",
            "--json",
        ]
    )


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_prometheus_answer_is_no_go_with_a_report(server, tmp_path, capsys, case):
    url, handler = server
    handler.body = MALFORMED[case]
    assert _signoff(url, tmp_path) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "NO-GO"
    assert report["unavailable"]["prometheus"].startswith(f"evidence unreadable: {url} answered")
    [site] = report["sites"]
    [avail] = [f for f in site["findings"] if f["criterion"] == "availability"]
    assert avail["outcome"] == "missing" and "evidence unreadable" in avail["reason"]
    assert all("evidence unreadable" in f["reason"] for f in report["datacenter"])
    assert Path(report["files"]["html"]).is_file() and Path(report["files"]["md"]).is_file()


def test_a_malformed_targets_answer_is_no_go_with_a_report(server, tmp_path, capsys):
    url, handler = server
    handler.targets = json.dumps({"status": "success", "data": {"activeTargets": "x"}}).encode()
    handler.body = _vector(
        [{"metric": {"unit_code": "016", "service": "d-pavement-1", "job": "a"}, "value": [1, "1"]}]
    )
    assert _signoff(url, tmp_path) == 1
    report = json.loads(capsys.readouterr().out)
    assert "the targets API without activeTargets" in report["unavailable"]["prometheus"]


@pytest.mark.parametrize(
    "body",
    [b'"all good"', b'{"data": []}', b"[1, 2]", b'[{"labels": "x"}]', b"<html></html>"],
    ids=["string", "object", "numbers", "labels-string", "html"],
)
def test_a_malformed_alertmanager_answer_is_an_error_never_an_empty_green(server, body):
    url, handler = server
    handler.body = body
    with pytest.raises(EvidenceUnavailable) as raised:
        status.alerts(url, 5.0)
    assert raised.value.source == "alertmanager"
    assert raised.value.reason.startswith(f"evidence unreadable: {url} answered")
