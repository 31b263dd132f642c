"""The text of an on-call SMS: district, what failed, state and time, in Vietnamese.

Pure functions over Alertmanager's webhook payload, so the wording is tested without
a gateway. Kannel sends Vietnamese as UCS-2 (70 characters a part); texts are kept
within `MAX_CHARS` so they fit the sendsms user's three concatenated parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

HANOI = timezone(timedelta(hours=7), "ICT")
MAX_CHARS = 200
STATE_VI = {"firing": "ĐANG LỖI", "resolved": "ĐÃ KHẮC PHỤC"}
CITY_VI = "Trung tâm dữ liệu TP"


@dataclass(frozen=True)
class Names:
    """Names people read instead of codes: districts and services from the inventory."""

    districts: Mapping[str, str]
    services: Mapping[str, str]


def hanoi_time(moment: str) -> str:
    """`2026-11-30T07:05:00Z` -> `14:05 30/11/2026 (UTC+7)`; unreadable stays as given."""
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment
    if parsed.tzinfo is None or parsed.year < 2000:
        return moment
    return f"{parsed.astimezone(HANOI):%H:%M %d/%m/%Y} (UTC+7)"


def _alerts(payload: Mapping[str, Any], status: str) -> list[Mapping[str, Any]]:
    found = payload.get("alerts") or []
    return [a for a in found if isinstance(a, Mapping) and a.get("status") == status]


def _labels(alert: Mapping[str, Any]) -> Mapping[str, str]:
    labels = alert.get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _what(alerts: list[Mapping[str, Any]], names: Names) -> str:
    """Service names (never codes) and how many units; else the alert's own summary."""
    services = sorted({str(_labels(a).get("service", "")) for a in alerts} - {""})
    if services:
        shown = names.services.get(services[0], services[0])
        more = f", +{len(services) - 1} dịch vụ" if len(services) > 1 else ""
        units = sorted({str(_labels(a).get("unit", "")) for a in alerts} - {""})
        if len(units) == 1:
            return f"{shown}{more} tại {units[0]}"
        return f"{shown}{more} ({len(units)} đơn vị)" if units else shown + more
    first = alerts[0] if alerts else {}
    notes = first.get("annotations") if isinstance(first, Mapping) else None
    notes = notes if isinstance(notes, Mapping) else {}
    text = notes.get("title_vi") or notes.get("summary_vi") or _labels(first).get("alertname")
    return " ".join(str(text or "cảnh báo").split())


def compose(payload: Mapping[str, Any], district: str, names: Names, held_back: int = 0) -> str:
    """One SMS for one notification (a group of alerts of one name in one district)."""
    status = "firing" if payload.get("status") == "firing" else "resolved"
    alerts = _alerts(payload, status) or _alerts(payload, "firing") or _alerts(payload, "resolved")
    common = payload.get("commonLabels")
    common = common if isinstance(common, Mapping) else {}
    where = names.districts.get(district) or str(common.get("district") or "") or CITY_VI
    if status == "firing":
        starts = sorted(str(a.get("startsAt", "")) for a in alerts)
        when = f"Từ {hanoi_time(starts[0])}" if starts else ""
    else:
        ends = sorted(str(a.get("endsAt", "")) for a in alerts)
        when = f"Lúc {hanoi_time(ends[-1])}" if ends else ""
    tail = f". {when}" if when else ""
    if held_back:
        tail += f" (+{held_back} tin bị giữ lại, xem e-mail)"
    head = f"[DVC] {where}: {STATE_VI[status]} - "
    what = _what(alerts, names)
    room = MAX_CHARS - len(head) - len(tail)
    if len(what) > room:
        what = what[: max(room - 1, 0)] + "…"
    return head + what + tail
