"""The relay itself: a notification in, texts out, every outcome counted and logged.

A WSGI app (served like every exporter) with `POST /sms?to=<number>&district=<code>`
for Alertmanager's webhook, `/metrics` and `/-/healthy`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app

from exporters.sms_relay import kannel
from exporters.sms_relay.limits import Limiter
from exporters.sms_relay.message import Names, compose

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
MAX_BODY = 1024 * 1024
JSON = "application/json; charset=utf-8"


def masked(number: str) -> str:
    """A phone number as logs show it: enough to tell numbers apart, not to dial one."""
    return number[:4] + "…" + number[-3:] if len(number) > 7 else "…"


@dataclass
class Metrics:
    registry: CollectorRegistry
    notifications: Counter
    messages: Counter
    failures: Counter
    gateway_up: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> Metrics:
        reg = registry or CollectorRegistry()
        found = cls(
            registry=reg,
            notifications=Counter(
                "dvc_sms_relay_notifications",
                "Alertmanager notifications the relay received, by their status.",
                ["status"],
                registry=reg,
            ),
            messages=Counter(
                "dvc_sms_relay_messages",
                "Texts for the on-call phones: sent, held as duplicates or by the rate "
                "limit, or failed at the gateway.",
                ["outcome"],
                registry=reg,
            ),
            failures=Counter(
                "dvc_sms_relay_gateway_failures",
                "Texts the SMS gateway (Kannel sendsms) did not take, by reason.",
                ["reason"],
                registry=reg,
            ),
            gateway_up=Gauge(
                "dvc_sms_relay_gateway_up",
                "1 when the SMS gateway took the relay's last text, 0 when it failed.",
                registry=reg,
            ),
        )
        for outcome in ("sent", "duplicate", "rate_limited", "failed"):
            found.messages.labels(outcome)
        for status in ("firing", "resolved"):
            found.notifications.labels(status)
        found.gateway_up.set(1)
        return found


class Relay:
    """Turns a webhook payload into texts, applying the limits, counting every outcome."""

    def __init__(
        self,
        gateway: kannel.Sendsms,
        names: Names,
        limiter: Limiter,
        metrics: Metrics,
        send: Callable[[kannel.Sendsms, str, str], str] = kannel.send,
        log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        self.gateway = gateway
        self.names = names
        self.limiter = limiter
        self.metrics = metrics
        self._send = send
        self._log = log

    def handle(self, to: str, district: str, payload: dict[str, Any]) -> tuple[str, str]:
        """Send (or hold back) the text for one notification; (outcome, text)."""
        status = "firing" if payload.get("status") == "firing" else "resolved"
        self.metrics.notifications.labels(status).inc()
        alerts = [a for a in payload.get("alerts") or [] if isinstance(a, dict)]
        prints = sorted(str(a.get("fingerprint", "")) for a in alerts if a.get("status") == status)
        key = "|".join([status, str(payload.get("groupKey", "")), *prints])
        verdict = self.limiter.admit(to, key)
        where = f"{masked(to)} (district {district or 'city'}, {status})"
        if verdict != "send":
            self.metrics.messages.labels(verdict).inc()
            self._log(f"sms-relay: {verdict.replace('_', ' ')}: no text to {where}")
            return verdict, ""
        text = compose(payload, district, self.names, self.limiter.held_back(to))
        try:
            self._send(self.gateway, to, text)
        except kannel.GatewayFailed as exc:
            self.metrics.messages.labels("failed").inc()
            self.metrics.failures.labels(exc.reason).inc()
            self.metrics.gateway_up.set(0)
            self._log(
                f"sms-relay: THE SMS GATEWAY FAILED ({exc.reason}: {exc.detail}); no text to "
                f"{where}; Alertmanager will retry, and its e-mail goes out regardless"
            )
            return "failed", text
        self.limiter.sent(to, key)
        self.metrics.messages.labels("sent").inc()
        self.metrics.gateway_up.set(1)
        self._log(f"sms-relay: sent to {where}: {text}")
        return "sent", text


def _respond(start: StartResponse, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    start(status, [("Content-Type", JSON), ("Content-Length", str(len(data)))])
    return [data]


def app(relay: Relay) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """The relay's HTTP face: the webhook, the metrics, the health check."""
    metrics_app = make_wsgi_app(relay.metrics.registry)

    def serve(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/metrics":
            return metrics_app(environ, start)  # type: ignore[no-any-return]
        if path == "/-/healthy":
            return _respond(start, "200 OK", {"status": "ok"})
        if path != "/sms":
            return _respond(start, "404 Not Found", {"error": f"no such endpoint {path}"})
        if method != "POST":
            return _respond(start, "405 Method Not Allowed", {"error": "POST the notification"})
        query = parse_qs(environ.get("QUERY_STRING", ""))
        to = (query.get("to") or [""])[0]
        district = (query.get("district") or [""])[0]
        if not to.lstrip("+").isdigit():
            return _respond(start, "400 Bad Request", {"error": "give ?to=<phone number>"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return _respond(start, "400 Bad Request", {"error": "a JSON body up to 1 MiB"})
        try:
            payload = json.loads(environ["wsgi.input"].read(length))
        except (ValueError, UnicodeDecodeError):
            return _respond(start, "400 Bad Request", {"error": "the body must be JSON"})
        if not isinstance(payload, dict):
            return _respond(start, "400 Bad Request", {"error": "expected a notification"})
        outcome, text = relay.handle(to, district, payload)
        if outcome == "failed":
            return _respond(start, "503 Service Unavailable", {"outcome": outcome})
        return _respond(start, "200 OK", {"outcome": outcome, "text": text})

    return serve
