"""LAB PART, not the product: records the notifications Alertmanager sends.

In production Alertmanager notifies the on-call teams' webhooks; in the lab every
receiver points here instead, so tests and drills can check that an alert really
reached the right district's receiver. Each payload is kept in memory and appended as
JSONL (surviving restarts).

Run with DEADMAN_AFTER_SECONDS set (the lab's `deadman` container), it is also the
dead-man's switch of the alerting pipeline (deadman.py): Alertmanager's heartbeat
receiver posts to /heartbeat/<name>; the watchdog's heartbeats feed the switch, any other
alert sent there (DvcNotificationsFailing) is recorded as a notification.

Endpoints: POST /alerts/<receiver>, POST /heartbeat/<name>, GET /heartbeat,
GET /notifications[?receiver=], DELETE /notifications, GET /healthz.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import labhttp
from deadman import DeadmansSwitch

WATCHDOG = "DvcWatchdog"


class NotificationLog:
    """Received notifications, in memory and in a JSONL file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._items: list[dict[str, Any]] = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._items.append(json.loads(line))

    def add(self, receiver: str, payload: Any) -> dict[str, Any]:
        with self._lock:
            item = {
                "id": len(self._items) + 1,
                "receiver": receiver,
                "received_at": datetime.now(UTC).isoformat(),
                "payload": payload,
            }
            self._items.append(item)
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
            return item

    def list(self, receiver: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [i for i in self._items if receiver is None or i["receiver"] == receiver]

    def clear(self) -> int:
        with self._lock:
            count = len(self._items)
            self._items.clear()
            self._path.unlink(missing_ok=True)
            return count


class Handler(labhttp.Handler):
    """Alertmanager keeps its connections: labhttp answers with exact lengths."""

    server_version = "dvc-lab-webhook"
    log: NotificationLog
    switch: DeadmansSwitch | None = None

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        raw = self.body()
        if path.startswith("/heartbeat/") and self.switch is not None:
            kind, receiver = "heartbeat", "heartbeat"
        else:
            kind, receiver = "alerts", unquote(path.removeprefix("/alerts/"))
            if not path.startswith("/alerts/") or not receiver or "/" in receiver:
                self.reply(HTTPStatus.NOT_FOUND, {"error": "post to /alerts/<receiver>"})
                return
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.reply(HTTPStatus.BAD_REQUEST, {"error": "the body must be JSON"})
            return
        if kind == "heartbeat" and self.switch is not None and _only_watchdog(payload):
            self.switch.beat(payload)
            self.reply(HTTPStatus.OK, {"heartbeat": payload.get("status", "?")})
            return
        item = self.log.add(receiver, payload)
        status = payload.get("status", "?") if isinstance(payload, dict) else "?"
        sys.stderr.write(f"webhook: notification {item['id']} for {receiver} ({status})\n")
        self.reply(HTTPStatus.OK, {"stored": item["id"]})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/notifications":
            receiver = parse_qs(url.query).get("receiver", [None])[0]
            self.reply(HTTPStatus.OK, self.log.list(receiver))
        elif url.path == "/healthz":
            self.reply(HTTPStatus.OK, {"status": "ok"})
        elif url.path == "/heartbeat" and self.switch is not None:
            self.reply(HTTPStatus.OK, self.switch.state())
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {url.path}"})

    def do_DELETE(self) -> None:
        self.body()
        if urlsplit(self.path).path == "/notifications":
            self.reply(HTTPStatus.OK, {"cleared": self.log.clear()})
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {self.path}"})


def _only_watchdog(payload: Any) -> bool:
    alerts = payload.get("alerts") if isinstance(payload, dict) else None
    if not isinstance(alerts, list) or not alerts:
        return False
    return all(
        isinstance(a, dict) and a.get("labels", {}).get("alertname") == WATCHDOG for a in alerts
    )


def main() -> None:
    data_dir = Path(os.environ.get("WEBHOOK_DATA_DIR", "/var/lib/webhook"))
    port = int(os.environ.get("WEBHOOK_PORT", "9095"))
    after = float(os.environ.get("DEADMAN_AFTER_SECONDS") or 0)
    log = NotificationLog(data_dir / "notifications.jsonl")
    switch = DeadmansSwitch(after, log.add) if after > 0 else None
    handler = type("BoundHandler", (Handler,), {"log": log, "switch": switch})
    name = "deadman" if switch else "webhook"
    background = (switch.watch(),) if switch else ()
    labhttp.serve(name, labhttp.Server(("0.0.0.0", port), handler), *background)


if __name__ == "__main__":
    main()
