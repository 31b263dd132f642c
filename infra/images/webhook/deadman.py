"""LAB PART, not the product: a dead-man's switch for the alerting pipeline.

Prometheus always fires DvcWatchdog and Alertmanager sends it to its `heartbeat`
receiver every heartbeat interval. This switch expects those heartbeats: when none has
come for `after` seconds, or Alertmanager says the watchdog resolved (Prometheus
stopped sending it), it raises its own notification, DvcHeartbeatMissing, recorded in
the same log and shape as Alertmanager's own (receiver `deadman`), and resolves it when
heartbeats come back. Nothing in Prometheus or Alertmanager has to work for it to speak,
which is the point. In production the same role falls to a service outside the data
centre (`--heartbeat-url`); here it runs in its own container from the recorder's image.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

RECEIVER = "deadman"
ALERT = "DvcHeartbeatMissing"


def _alert(status: str, since: str, silent_for: float) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": ALERT, "severity": "critical", "scope": "city"},
        "annotations": {
            "summary_vi": "Mất nhịp tim của hệ thống cảnh báo: Prometheus, Alertmanager "
            "hoặc đường giữa chúng không hoạt động",
            "summary_en": "The alerting pipeline's heartbeat stopped: Prometheus, "
            "Alertmanager or the path between them is down",
            "silent_seconds": f"{silent_for:.0f}",
        },
        "startsAt": since,
    }


class DeadmansSwitch:
    """Heartbeats in; a DvcHeartbeatMissing notification out when they stop."""

    def __init__(
        self,
        after: float,
        record: Callable[[str, Any], Any],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.after = after
        self._record = record
        self._clock = clock
        self._lock = threading.Lock()
        # Armed from the start: a pipeline that never beats is as silent as a broken one.
        self._last_beat = clock()
        self._missing_since: str | None = None

    def beat(self, payload: Any) -> None:
        """An Alertmanager notification for the heartbeat receiver."""
        firing = isinstance(payload, dict) and payload.get("status") == "firing"
        with self._lock:
            if firing:
                self._last_beat = self._clock()
                if self._missing_since is not None:
                    self._raise("resolved")
            elif self._missing_since is None:
                # Alertmanager resolved the watchdog: Prometheus stopped sending it.
                self._raise("firing")

    def check(self) -> None:
        """Called every second: raise the alarm once the heartbeats are overdue."""
        with self._lock:
            if self._missing_since is None and self._clock() - self._last_beat > self.after:
                self._raise("firing")

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "after_seconds": self.after,
                "silent_seconds": round(self._clock() - self._last_beat, 1),
                "missing": self._missing_since is not None,
            }

    def _raise(self, status: str) -> None:
        now = datetime.now(UTC).isoformat()
        if status == "firing":
            self._missing_since = now
        since = self._missing_since or now
        silent = self._clock() - self._last_beat
        self._record(
            RECEIVER,
            {"receiver": RECEIVER, "status": status, "alerts": [_alert(status, since, silent)]},
        )
        if status == "resolved":
            self._missing_since = None
        sys.stderr.write(f"deadman: heartbeat {'missing' if status == 'firing' else 'back'}\n")

    def watch(self) -> threading.Thread:
        """The thread that checks every second (daemon: it ends with the process)."""

        def loop() -> None:
            while True:
                time.sleep(1.0)
                self.check()

        return threading.Thread(target=loop, name="deadman", daemon=True)
