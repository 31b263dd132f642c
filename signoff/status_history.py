"""The status page's history: uptime bars and past incidents, read from Prometheus.

Uptime bars come from the recording rules (exporters/rules/recording.yml): one bar an
hour for the last 24 h (`…:ratio_1h` at each hour's end, the newest ending now) and one a
day for the last 7 d (`…:ratio_24h` likewise), per district and service, and for the SMS switchboard
and the citizen database. A bar without data is shown as such (grey), never as up.
Incidents are Prometheus' own `ALERTS` history: each run of an alert firing, with when it
started and ended, found with `query_range` over `max_over_time(ALERTS[step])` so an alert
shorter than the step is not skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from signoff.adapters import Prometheus
from signoff.times import hanoi

# name -> (points, step in seconds, recording rule per district and service, per component)
BARS: dict[str, tuple[int, int, str, str]] = {
    "24h": (
        24,
        3600,
        "dvc:district_service_availability:ratio_1h",
        "dvc:component_availability:ratio_1h",
    ),
    "7d": (
        7,
        86400,
        "dvc:district_service_availability:ratio_24h",
        "dvc:component_availability:ratio_24h",
    ),
}
# The data centre's shared parts, in the panels they belong to (Vietnamese, English).
COMPONENTS: dict[str, tuple[str, str]] = {
    "sms_gateway": ("Tổng đài SMS (Kannel) hoạt động", "SMS gateway (Kannel) up"),
    "sms_end_to_end": ("Tin nhắn thử đi và về", "SMS round trip"),
    "citizen_db": ("Cơ sở dữ liệu công dân trả lời", "Citizen database answering"),
}
PANELS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "sms_switchboard": ("Tổng đài SMS", "SMS switchboard", ("sms_gateway", "sms_end_to_end")),
    "citizen_db": ("Cơ sở dữ liệu công dân", "Citizen database", ("citizen_db",)),
}
TIMELINE = timedelta(days=7)
MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points a series
MAX_INCIDENTS = 60
_LABEL = re.compile(r"\{\{\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_OTHER = re.compile(r"\{\{.*?\}\}")


@dataclass(frozen=True)
class Names:
    """Service names people read (Vietnamese, English), by code, from the inventory."""

    services: Mapping[str, tuple[str, str]]

    def service(self, code: str) -> str:
        return self.services.get(code, (code, code))[0]


def query_range(
    prometheus: Prometheus, promql: str, start: datetime, end: datetime, step: int
) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """One range query: (labels, [(unix time, value)]) per series."""
    params = {
        "query": promql,
        "start": f"{start.timestamp():.0f}",
        "end": f"{end.timestamp():.0f}",
        "step": str(step),
    }
    data = prometheus.get("/api/v1/query_range", params, repr(promql))
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise prometheus._unreadable(repr(promql), f"with no range matrix: {data!r:.200}")
    found = []
    for item in data.get("result") or []:
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items()}
            points = [(float(t), float(v)) for t, v in item["values"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise prometheus._unreadable(repr(promql), f"a series {item!r:.200}") from None
        found.append((labels, points))
    return found


def _bars(points: list[tuple[float, float]], ends: list[float], step: int) -> list[dict[str, Any]]:
    """One bar per slot ending at each of `ends`: its availability, or None without data."""
    by_time = {round(t): v for t, v in points}
    return [
        {
            "value": by_time.get(round(end)),
            "from": hanoi(datetime.fromtimestamp(end - step, UTC)),
            "to": hanoi(datetime.fromtimestamp(end, UTC)),
        }
        for end in ends
    ]


def _ends(now: datetime, points: int, step: int) -> list[float]:
    """The slots' ends, the last one now: the newest bar covers the hour (day) up to now."""
    last = float(int(now.timestamp()))
    return [last - (points - 1 - i) * step for i in range(points)]


def uptime(prometheus: Prometheus, now: datetime, names: Names) -> dict[str, Any]:
    """Per district × service and per component: 24 hourly and 7 daily bars."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    parts: dict[str, dict[str, Any]] = {}
    for key, (count, step, per_service, per_component) in BARS.items():
        ends = _ends(now, count, step)
        start, end = (datetime.fromtimestamp(t, UTC) for t in (ends[0], ends[-1]))
        for labels, points in query_range(prometheus, per_service, start, end, step):
            code, service = labels.get("district_code", ""), labels.get("service", "")
            row = rows.setdefault(
                (code, service),
                {
                    "district_code": code,
                    "district": labels.get("district", code),
                    "service": service,
                    "service_name": names.service(service),
                },
            )
            row[key] = _bars(points, ends, step)
        for labels, points in query_range(prometheus, per_component, start, end, step):
            name = labels.get("component", "")
            if name in COMPONENTS:
                part = parts.setdefault(
                    name, {"component": name, "vi": COMPONENTS[name][0], "en": COMPONENTS[name][1]}
                )
                part[key] = _bars(points, ends, step)
    empty = {k: _bars([], _ends(now, c, s), s) for k, (c, s, _, _) in BARS.items()}
    panels = []
    for panel, (vi, en, members) in PANELS.items():
        found = [
            {
                **empty,
                **parts.get(m, {"component": m, "vi": COMPONENTS[m][0], "en": COMPONENTS[m][1]}),
            }
            for m in members
        ]
        panels.append({"panel": panel, "vi": vi, "en": en, "rows": found})
    return {
        "services": [
            {**empty, **row}
            for _, row in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[1]["service_name"]))
        ],
        "panels": panels,
    }


def titles(prometheus: Prometheus) -> dict[str, dict[str, str]]:
    """Alert name -> its rule's annotations (templates as written), from /api/v1/rules."""
    data = prometheus.get("/api/v1/rules", {"type": "alert"}, "the rules API")
    found: dict[str, dict[str, str]] = {}
    for group in (data or {}).get("groups", []) if isinstance(data, dict) else []:
        for rule in group.get("rules", []):
            notes = rule.get("annotations") or {}
            found[str(rule.get("name", ""))] = {str(k): str(v) for k, v in notes.items()}
    return found


def render_summary(template: str, labels: Mapping[str, str], names: Names) -> str:
    """A rule's summary for a past alert: its labels filled in (services by name); what
    only the firing moment knew (`$value`) left out."""

    def label(match: re.Match[str]) -> str:
        key = match.group(1)
        value = labels.get(key, "")
        return names.service(value) if key == "service" else value

    text = _OTHER.sub("", _LABEL.sub(label, template))
    return " ".join(text.replace(" :", ":").split())


def incidents(
    prometheus: Prometheus, now: datetime, names: Names, window: timedelta = TIMELINE
) -> list[dict[str, Any]]:
    """Alerts fired (and resolved) in the window, newest first, from ALERTS history."""
    seconds = int(window.total_seconds())
    step = max(15, -(-seconds // MAX_POINTS))
    start = now - window
    promql = f'max_over_time(ALERTS{{alertstate="firing"}}[{step}s])'
    notes = titles(prometheus)
    found: list[dict[str, Any]] = []
    for labels, points in query_range(prometheus, promql, start, now, step):
        runs: list[list[float]] = []
        for t, _ in sorted(points):
            if runs and t - runs[-1][1] <= step:
                runs[-1][1] = t
            else:
                runs.append([t, t])
        name = labels.get("alertname", "")
        rule = notes.get(name, {})
        for first, last in runs:
            ongoing = now.timestamp() - last <= 2 * step
            began = datetime.fromtimestamp(first - step, UTC)
            ended = None if ongoing else datetime.fromtimestamp(last, UTC)
            found.append(
                {
                    "alertname": name,
                    "severity": labels.get("severity", ""),
                    "district": labels.get("district", ""),
                    "district_code": labels.get("district_code", ""),
                    "unit": labels.get("unit", ""),
                    "service": names.service(labels["service"]) if labels.get("service") else "",
                    "summary_vi": render_summary(
                        rule.get("title_vi") or rule.get("summary_vi") or name, labels, names
                    ),
                    "summary_en": render_summary(
                        rule.get("title_en") or rule.get("summary_en") or name, labels, names
                    ),
                    "started": hanoi(began),
                    "ended": hanoi(ended) if ended else None,
                    "minutes": round(((ended or now) - began).total_seconds() / 60),
                    # Where the incident sits on the page's track of the window (percent).
                    "left": max(0.0, (began - start) / window * 100),
                    "width": max(0.6, ((ended or now) - max(began, start)) / window * 100),
                    "began_at": began.timestamp(),
                }
            )
    found.sort(key=lambda i: i["began_at"] or 0, reverse=True)
    return found[:MAX_INCIDENTS]
