"""What a drill reads: the lab's Prometheus, Alertmanager, notification recorder and switch.

Every read goes to the endpoint as published now (a restarted container gets new host
ports; `refresh()` re-reads them), and a source that cannot answer reads as empty, never
as an error, since a drill may have stopped it on purpose.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infra.lab import lifecycle
from infra.lab.handle import LabHandle

POLL = 0.5
# The drills share one read of the receivers' logs for this long (s): a dozen waiting
# cells asking every half second would each download the whole log.
FRESH = 0.5
RECEIVERS = ("webhook", "deadman")


def http(method: str, url: str, body: Any = None, token: str = "", timeout: float = 10) -> Any:
    """One JSON request: (status, decoded body); status 0 when nothing answered."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except OSError:
        return 0, None
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_for(check: Callable[[], Any], timeout: float, poll: float = POLL) -> Any:
    """Poll `check` until it returns something truthy; None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() >= deadline:
            return found or None
        time.sleep(poll)


@dataclass(frozen=True)
class Notified:
    """One alert inside one notification, as the receiver got it."""

    receiver: str
    status: str
    labels: Mapping[str, str]
    received_at: float  # Unix time


@dataclass
class Monitor:
    """The lab's monitoring as drills read it; safe to share between drill threads."""

    lab: LabHandle
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reading: threading.Lock = field(default_factory=threading.Lock)
    _read_at: float = -FRESH
    _seen: dict[str, list[Notified]] = field(default_factory=dict)
    _last_id: dict[str, int] = field(default_factory=dict)

    def url(self, role: str) -> str:
        with self._lock:
            return str(self.lab.endpoints.get(role) or "").rstrip("/")

    def refresh(self) -> None:
        """Re-read the published ports (they move when a container is started again)."""
        live = lifecycle.live_endpoints(self.lab.model)
        with self._lock:
            self.lab.endpoints.update({k: v for k, v in live.items() if v})

    def query(self, promql: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": promql})
        status, body = http("GET", f"{self.url('prometheus')}/api/v1/query?{q}")
        return list(body["data"]["result"]) if status == 200 else []

    def value(self, promql: str) -> float | None:
        found = self.query(promql)
        return float(found[0]["value"][1]) if found else None

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts pending or firing in Prometheus now."""
        status, body = http("GET", f"{self.url('prometheus')}/api/v1/alerts")
        return list(body["data"]["alerts"]) if status == 200 else []

    def firing(self) -> list[dict[str, Any]]:
        """Alerts firing in Prometheus now (pending ones excluded)."""
        return [a for a in self.alerts() if a.get("state") == "firing"]

    def notified(self, since: float = 0.0) -> list[Notified]:
        """Every alert of every notification received since `since` (Unix time): the
        recorder's, and the dead-man's switch's (its own and what it was sent). A log that
        cannot be read now keeps what was read of it before."""
        with self._reading:
            if time.monotonic() - self._read_at >= FRESH:
                for role in RECEIVERS:
                    status, body = http("GET", f"{self.url(role)}/notifications")
                    if status == 200 and isinstance(body, list):
                        self._take(role, body)
                self._read_at = time.monotonic()
            return [
                n for role in RECEIVERS for n in self._seen.get(role, []) if n.received_at >= since
            ]

    def _take(self, role: str, items: list[dict[str, Any]]) -> None:
        """The log's items not read before (a log cleared since starts again)."""
        last = self._last_id.get(role, 0)
        if items and int(items[-1]["id"]) < last:
            last, self._seen[role] = 0, []
        seen = self._seen.setdefault(role, [])
        for item in items:
            if int(item["id"]) <= last:
                continue
            when = datetime.fromisoformat(item["received_at"]).timestamp()
            payload = item.get("payload") or {}
            receiver = str(payload.get("receiver") or item.get("receiver") or "")
            for alert in payload.get("alerts") or []:
                seen.append(
                    Notified(receiver, str(alert.get("status")), alert.get("labels", {}), when)
                )
            last = int(item["id"])
        self._last_id[role] = last


def matches(labels: Mapping[str, str], wanted: Mapping[str, str | None]) -> bool:
    """`wanted` values must be equal; a None value means the label must be absent."""
    return all(labels.get(k) == v if v is not None else k not in labels for k, v in wanted.items())


def first(
    found: Iterable[Notified], status: str, wanted: Mapping[str, str | None]
) -> Notified | None:
    hits = [n for n in found if n.status == status and matches(n.labels, wanted)]
    return min(hits, key=lambda n: n.received_at) if hits else None
