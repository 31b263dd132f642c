"""The end-to-end SMS probe: sendsms through the loopback SMSC, wait for it to come back.

Kannel's `loopback` SMSC turns an outgoing (MT) message into an incoming (MO) one,
and the `sms-service` whose `get-url` points at this exporter's callback
(e.g. `http://<exporter>:9603/mo?text=%a`) hands it back. A message that makes the
round trip proves smsbox, bearerbox, routing and the MO path all work, which the
status page alone cannot. Each probe carries a unique token so a late or foreign
message is never counted as a success.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exporters import http_get, serving
from exporters.probe_loop import ProbeLoop

log = logging.getLogger("exporters.kannel.e2e")

FAILURE_REASONS = ("connect", "auth", "rejected", "queued", "timeout", "error")
TOKEN_PREFIX = "dvcprobe-"
_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Outcome:
    """One probe's result: `reason` is None on success."""

    finished: float
    reason: str | None
    roundtrip: float | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass
class Snapshot:
    """A consistent copy of the probe state for one scrape."""

    probes: int = 0
    last_probe: float | None = None
    last_success_ok: bool = False
    last_reason: str | None = None
    last_success: float | None = None
    roundtrip: float | None = None
    failures: dict[str, int] = field(default_factory=dict)


class ProbeState:
    """Results shared between the probe thread and scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snap = Snapshot()

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            s = self._snap
            s.probes += 1
            s.last_probe = outcome.finished
            s.last_success_ok = outcome.ok
            s.last_reason = outcome.reason
            if outcome.reason is None:
                s.last_success = outcome.finished
                s.roundtrip = outcome.roundtrip
            else:
                s.failures[outcome.reason] = s.failures.get(outcome.reason, 0) + 1

    def snapshot(self) -> Snapshot:
        with self._lock:
            return dataclasses.replace(self._snap, failures=dict(self._snap.failures))


class CallbackInbox:
    """Tokens the probe waits for; the callback route marks them arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        self._arrived: dict[str, float] = {}

    def expect(self, token: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._waiting[token] = event
        return event

    def forget(self, token: str) -> float | None:
        """Stop waiting for `token`; return its arrival (monotonic) time if it came."""
        with self._lock:
            self._waiting.pop(token, None)
            return self._arrived.pop(token, None)

    def deliver(self, text: str) -> bool:
        """Mark every awaited token found in `text` as arrived; False if none was awaited."""
        now = time.monotonic()
        hit = False
        with self._lock:
            for token in _TOKEN.findall(text):
                event = self._waiting.get(token)
                if event is not None and token not in self._arrived:
                    self._arrived[token] = now
                    event.set()
                    hit = True
        return hit

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """GET /mo?text=...: Kannel's sms-service calls this with the looped-back text."""
        texts = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("text", [])
        for text in texts:
            self.deliver(text)
        # An empty body: with max-messages = 0 Kannel sends no reply SMS either way.
        return serving.respond(start_response, "200 OK", b"")


@dataclass(frozen=True)
class SendSms:
    """Where and as whom to call Kannel's sendsms interface."""

    url: str
    username: str
    password: str
    smsc: str = "loopback"
    sender: str = "DVCPROBE"
    receiver: str = "0000000000"


class EndToEndProbe:
    """Sends one tokened SMS through the loopback SMSC and times its return."""

    def __init__(self, sendsms: SendSms, inbox: CallbackInbox, timeout: float = 30.0) -> None:
        self._sendsms = sendsms
        self._inbox = inbox
        self._timeout = timeout

    @property
    def timeout(self) -> float:
        return self._timeout

    def run_once(self) -> Outcome:
        token = TOKEN_PREFIX + secrets.token_hex(8)
        arrived = self._inbox.expect(token)
        started = time.monotonic()
        try:
            reason = self._send(token)
            if reason is None or reason == "queued":
                left = self._timeout - (time.monotonic() - started)
                if arrived.wait(max(left, 0.0)):
                    reason = None
                elif reason is None:
                    reason = "timeout"
        finally:
            came = self._inbox.forget(token)
        if reason is None and came is not None:
            return Outcome(time.time(), None, roundtrip=came - started)
        return Outcome(time.time(), reason or "timeout")

    def _send(self, token: str) -> str | None:
        """Call sendsms; None when Kannel accepted it for delivery, else the failure reason."""
        s = self._sendsms
        params = {
            "username": s.username,
            "password": s.password,
            "smsc": s.smsc,
            "from": s.sender,
            "to": s.receiver,
            "text": f"{token} dvc-rollout end-to-end probe",
        }
        url = f"{s.url}?{urllib.parse.urlencode(params)}"
        try:
            answer = http_get.get(url, self._timeout)
        except http_get.GetFailed as e:
            log.warning("cannot reach sendsms at %s: %s", s.url, e)
            return "timeout" if e.reason == "timeout" else "connect"
        body = answer.body.decode("utf-8", errors="replace").strip()
        if not 200 <= answer.status < 300:
            log.warning("sendsms at %s answered HTTP %s: %s", s.url, answer.status, body)
            return "auth" if answer.status in (401, 403) else "rejected"
        # "0: Accepted for delivery", or "3: Queued for later delivery" when no SMSC takes it.
        if body.startswith("3:"):
            log.warning("sendsms queued the probe for later delivery: is SMSC %r online?", s.smsc)
            return "queued"
        return None


def probe_loop(probe: EndToEndProbe, state: ProbeState, interval: float) -> ProbeLoop:
    """The round trip run every `interval` seconds; a failure is also logged for on-call.

    A run takes at most the probe's timeout (sendsms and the wait share it); one still
    going 2 s later is recorded as a timeout by the loop.
    """

    def step() -> None:
        outcome = probe.run_once()
        state.record(outcome)
        if not outcome.ok:
            log.warning("end-to-end SMS probe failed: %s", outcome.reason)

    return ProbeLoop(
        step,
        interval,
        "sms-e2e",
        deadline=probe.timeout + 2.0,
        failed=lambda reason: state.record(Outcome(time.time(), reason)),
    )
