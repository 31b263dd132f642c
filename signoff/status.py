"""The on-call status page: what is up now, what is alerting, which districts are ready.

Each source is read on every request (Prometheus, Alertmanager, the readiness results
store) so the page never shows a cached "green"; a source that cannot answer is shown
as an error and its cells as unknown (grey), never as healthy.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dvc_rollout.errors import UsageError
from signoff.adapters import SERVICE_UP, Prometheus
from signoff.evidence import EvidenceUnavailable
from signoff.status_page import render

GRID_BY = ("district_code", "district", "service")


@dataclass(frozen=True)
class Sources:
    prometheus: str
    alertmanager: str
    results: Path
    refresh_seconds: int = 15
    timeout: float = 5.0


def grid(prometheus: Prometheus) -> dict[str, Any]:
    """Districts × services: share of units up now, from `dvc_service_up`."""
    by = ", ".join(GRID_BY)
    up = prometheus.query(f"avg by ({by}) ({SERVICE_UP})")
    count = {
        tuple(m.get(k, "") for k in GRID_BY): v
        for m, v in prometheus.query(f"count by ({by}) ({SERVICE_UP})")
    }
    districts: dict[str, str] = {}
    cells: dict[str, dict[str, dict[str, float]]] = {}
    for labels, value in up:
        key = tuple(labels.get(k, "") for k in GRID_BY)
        code, name, service = key
        districts[code] = name
        cells.setdefault(code, {})[service] = {"up": value, "units": count.get(key, 0.0)}
    services = sorted({s for row in cells.values() for s in row})
    return {
        "services": services,
        "districts": [
            {"code": code, "name": districts[code], "cells": cells[code]}
            for code in sorted(districts)
        ],
    }


def alerts(url: str, timeout: float) -> list[dict[str, Any]]:
    """Active, unsilenced, uninhibited alerts from Alertmanager's v2 API."""
    query = f"{url.rstrip('/')}/api/v2/alerts?active=true&silenced=false&inhibited=false"
    try:
        with urllib.request.urlopen(query, timeout=timeout) as response:
            raw = response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EvidenceUnavailable("alertmanager", f"cannot query {url} ({reason})") from None
    try:
        body = json.loads(raw)
    except ValueError:
        raise EvidenceUnavailable(
            "alertmanager", f"evidence unreadable: {url} answered no JSON: {raw[:120]!r}"
        ) from None
    if not isinstance(body, list):
        raise EvidenceUnavailable(
            "alertmanager", f"evidence unreadable: {url} answered no list of alerts: {body!r:.200}"
        )
    found = []
    for a in body:
        labels = a.get("labels") if isinstance(a, dict) else None
        notes = a.get("annotations", {}) if isinstance(a, dict) else None
        if not isinstance(labels, dict) or not isinstance(notes, dict):
            raise EvidenceUnavailable(
                "alertmanager", f"evidence unreadable: {url} answered an alert {a!r:.200}"
            )
        found.append(
            {
                "alertname": labels.get("alertname", ""),
                "severity": labels.get("severity", ""),
                "district": labels.get("district", ""),
                "unit": labels.get("unit", ""),
                "service": labels.get("service", ""),
                "summary": notes.get("summary") or notes.get("summary_en") or "",
                "starts_at": a.get("startsAt", ""),
            }
        )
    order = {"critical": 0, "warning": 1}
    return sorted(found, key=lambda a: (order.get(a["severity"], 2), a["starts_at"]))


def readiness(path: Path) -> list[dict[str, Any]]:
    """Per district: sites checked, sites whose newest results all passed, newest result."""
    if not path.is_file():
        raise EvidenceUnavailable("readiness", f"no results store at {path}: run dvc-rollout check")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute(
                """
                SELECT r.district_code, r.district, r.site_code, r.outcome, r.time
                FROM results r JOIN (SELECT MAX(id) AS id FROM results
                                     GROUP BY site_code, host, check_id) n ON r.id = n.id
                """
            ).fetchall()
    except sqlite3.Error as exc:
        raise EvidenceUnavailable("readiness", f"cannot read {path}: {exc}") from None
    districts: dict[str, dict[str, Any]] = {}
    bad: dict[str, set[str]] = {}
    for code, name, site, outcome, time in rows:
        d = districts.setdefault(code, {"code": code, "name": name, "sites": set(), "newest": ""})
        d["sites"].add(site)
        d["newest"] = max(d["newest"], time)
        if outcome in ("failed", "error"):
            bad.setdefault(code, set()).add(site)
    return [
        {
            "code": code,
            "name": d["name"],
            "sites": len(d["sites"]),
            "ready": len(d["sites"] - bad.get(code, set())),
            "newest": d["newest"],
        }
        for code, d in sorted(districts.items())
    ]


def snapshot(sources: Sources) -> dict[str, Any]:
    """Everything the page shows, read now; each failing source is named in `errors`."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "grid": {"services": [], "districts": []},
        "alerts": [],
        "readiness": [],
    }
    prometheus = Prometheus(sources.prometheus, sources.timeout)
    try:
        data["grid"] = grid(prometheus)
    except EvidenceUnavailable as exc:
        errors[exc.source] = exc.reason
    try:
        data["alerts"] = alerts(sources.alertmanager, sources.timeout)
    except EvidenceUnavailable as exc:
        errors[exc.source] = exc.reason
    try:
        data["readiness"] = readiness(sources.results)
    except EvidenceUnavailable as exc:
        errors[exc.source] = exc.reason
    data["errors"] = errors
    data["generated_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    data["refresh_seconds"] = sources.refresh_seconds
    return data


def _handler(sources: Sources) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "dvc-rollout-status"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(HTTPStatus.OK, "text/plain; charset=utf-8", "ok\n")
            elif path == "/status.json":
                body = json.dumps(snapshot(sources), ensure_ascii=False, indent=1)
                self._send(HTTPStatus.OK, "application/json; charset=utf-8", body)
            elif path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", render(snapshot(sources)))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", "not found\n")

        def _send(self, status: HTTPStatus, kind: str, text: str) -> None:
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # on-call pages poll often; access logs would only drown real messages

    return Handler


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(f"--listen {listen!r}: write host:port, e.g. 127.0.0.1:8090")
    return host.strip("[]"), int(port)


def make_server(listen: str, sources: Sources) -> ThreadingHTTPServer:
    """A server bound to `listen`, not yet serving (tests run it in a thread)."""
    host, port = parse_listen(listen)
    try:
        server = ThreadingHTTPServer((host, port), _handler(sources))
    except OSError as exc:
        raise UsageError(f"cannot listen on {listen}: {exc}; pick another --listen") from None
    server.daemon_threads = True
    return server


def serve(listen: str, sources: Sources) -> None:
    """Serve until interrupted."""
    server = make_server(listen, sources)
    host, port = server.server_address[:2]
    print(f"status page on http://{host!s}:{port}/ (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
