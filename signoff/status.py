"""The on-call status page: what is up now, what is alerting, which districts are ready.

Each source is read on every request (Prometheus, Alertmanager, the readiness results
store) so the page never shows a cached "green"; a source that cannot answer is shown
as an error and its cells as unknown (grey), never as healthy.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks import readiness as checks_readiness
from checks.results import Store, StoreError, StoreMissing
from exporters import serving
from signoff import status_history
from signoff.adapters import SERVICE_UP, Prometheus
from signoff.evidence import EvidenceUnavailable
from signoff.status_page import render
from signoff.times import hanoi

GRID_BY = ("district_code", "district", "service")
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
# On-call pages poll: an answer a proxy or browser kept would show a stale "green".
NO_STORE = [("Cache-Control", "no-store")]


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
                "summary_vi": notes.get("summary_vi") or notes.get("summary") or "",
                "summary_en": notes.get("summary_en") or notes.get("summary") or "",
                "starts_at": a.get("startsAt", ""),
                "since": _hanoi_text(str(a.get("startsAt", ""))),
            }
        )
    order = {"critical": 0, "warning": 1}
    return sorted(found, key=lambda a: (order.get(a["severity"], 2), a["starts_at"]))


def readiness(path: Path) -> list[dict[str, Any]]:
    """Per district: sites checked, sites ready, newest result — read through the results
    store's own read-only API and judged as the readiness exporter judges them
    (`checks.readiness`: a skipped or missing check of the full set is not ready)."""
    try:
        newest = Store(path, read_only=True).latest()
    except StoreMissing:
        raise EvidenceUnavailable(
            "readiness", f"no results store at {path}: run dvc-rollout check"
        ) from None
    except StoreError as exc:
        raise EvidenceUnavailable("readiness", str(exc)) from None
    districts: dict[str, dict[str, Any]] = {}
    for site in checks_readiness.sites(newest):
        if not site.district_code:
            continue  # the data center is no district's desk
        d = districts.setdefault(
            site.district_code,
            {"code": site.district_code, "name": site.district, "sites": 0, "ready": 0},
        )
        d["sites"] += 1
        d["ready"] += site.ready
        d["newest"] = max(d.get("newest", ""), site.newest)
    return [districts[code] for code in sorted(districts)]


def _hanoi_text(stamp: str) -> str:
    try:
        return hanoi(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    except ValueError:
        return stamp


_NAMES: list[status_history.Names] = []


def names() -> status_history.Names:
    """Service names from the inventory, read once: the page shows names, not codes."""
    if not _NAMES:
        import inventory

        inv = inventory.load()
        _NAMES.append(
            service_names({c: (s.name_vi, s.name_en, s.level) for c, s in inv.services.items()})
        )
    return _NAMES[0]


#: How a service's level is said after its name when two levels share the name.
LEVEL_SUFFIX = {"district": ("cấp huyện", "district level"), "commune": ("cấp xã", "commune level")}


def service_names(services: dict[str, tuple[str, str, str]]) -> status_history.Names:
    """Names by code; a name two services share says its level after it.

    The plan gives the district and the commune level a service with the same name
    ("Cấp bản sao trích lục hộ tịch"): the page shows both levels, and two rows with one
    name would leave a reader guessing which one is down.
    """
    counts = Counter(vi for vi, _en, _level in services.values())
    names: dict[str, tuple[str, str]] = {}
    for code, (vi, en, level) in services.items():
        if counts[vi] > 1 and level in LEVEL_SUFFIX:
            level_vi, level_en = LEVEL_SUFFIX[level]
            vi, en = f"{vi} ({level_vi})", f"{en} ({level_en})"
        names[code] = (vi, en)
    return status_history.Names(names)


def snapshot(sources: Sources) -> dict[str, Any]:
    """Everything the page shows, read now; each failing source is named in `errors`."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "grid": {"services": [], "districts": []},
        "alerts": [],
        "readiness": [],
        "history": {"services": [], "panels": []},
        "incidents": [],
    }
    prometheus = Prometheus(sources.prometheus, sources.timeout)
    now = datetime.now(UTC)
    known = names()
    data["service_names"] = {code: vi for code, (vi, _en) in known.services.items()}
    try:
        data["grid"] = grid(prometheus)
        data["history"] = status_history.uptime(prometheus, now, known)
        data["incidents"] = status_history.incidents(prometheus, now, known)
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
    data["generated_at"] = now.replace(microsecond=0).isoformat()
    data["generated_at_hanoi"] = hanoi(now)
    data["refresh_seconds"] = sources.refresh_seconds
    return data


def app(sources: Sources) -> serving.App:
    """The page (/), its data (/status.json) and /healthz; every answer is read fresh."""

    def page(environ: serving.Environ, start_response: serving.StartResponse) -> list[bytes]:
        return serving.respond(start_response, "200 OK", render(snapshot(sources)), HTML, NO_STORE)

    def data(environ: serving.Environ, start_response: serving.StartResponse) -> list[bytes]:
        body = json.dumps(snapshot(sources), ensure_ascii=False, indent=1)
        return serving.respond(start_response, "200 OK", body, JSON, NO_STORE)

    return serving.router({"/": page, "/status.json": data, "/healthz": serving.answer("ok\n")})


def make_server(listen: str, sources: Sources) -> serving.Server:
    """A server bound to `listen`, not yet serving (`.start()` runs it in a thread)."""
    address = serving.parse_listen(listen, any_host=False)
    return serving.Server(address, app(sources), "status page")


def serve(listen: str, sources: Sources) -> None:
    """Serve until SIGTERM or Ctrl-C, then finish the requests in flight and return."""
    server = make_server(listen, sources).start()
    print(
        f"status page on http://{server.host}:{server.port}/ (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()
    serving.stop_on_signals(stop)
    try:
        serving.wait_until(stop)
    finally:
        server.stop()
