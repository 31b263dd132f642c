"""Kannel bearerbox's status.xml, read into plain dataclasses by a pure `parse()`.

The shape follows what Kannel 1.4.5 (Debian bookworm) serves at
`/status.xml?password=...`: `<gateway>` with the gateway state and uptime in
`<status>`, global SMS and DLR counters, `<boxes>` and one `<smsc>` per connection.
A wrong or missing status password still answers HTTP 200, with the body
`<gateway>Denied</gateway>`; `parse()` raises `StatusDenied` for it so a caller
can never mistake it for a healthy gateway with no traffic.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from dvc_rollout.errors import EnvironmentProblem

_UPTIME = re.compile(r"(\d+)d\s+(\d+)h\s+(\d+)m\s+(\d+)s")
_SECONDS = re.compile(r"(\d+)s$")


class KannelStatusError(EnvironmentProblem):
    """status.xml could not be read; `reason` is the label value the exporter reports."""

    reason = "unknown"


class StatusDenied(KannelStatusError):
    """Kannel refused the status password (it answers 200 with "Denied")."""

    reason = "denied"


class StatusMalformed(KannelStatusError):
    """The body is not Kannel's status.xml (wrong URL, a proxy page, a truncated body)."""

    reason = "parse"


@dataclass(frozen=True)
class Traffic:
    """A message counter with the number still waiting in that direction's queue."""

    total: int
    queued: int


@dataclass(frozen=True)
class Box:
    """An smsbox or wapbox connected to the bearerbox."""

    type: str
    id: str
    ip: str
    queue: int
    state: str
    uptime_seconds: int | None


@dataclass(frozen=True)
class Smsc:
    """One SMSC connection: its state and its own message counters."""

    id: str
    admin_id: str
    name: str
    state: str
    online_seconds: int | None
    failed: int
    queued: int
    sms_received: int
    sms_sent: int
    dlr_received: int
    dlr_sent: int

    @property
    def online(self) -> bool:
        return self.state == "online"


@dataclass(frozen=True)
class GatewayStatus:
    """Everything the exporter reports from one status.xml."""

    version: str
    state: str
    uptime_seconds: int
    sms_received: Traffic
    sms_sent: Traffic
    store_size: int
    dlr_received: int
    dlr_sent: int
    dlr_queued: int
    boxes: tuple[Box, ...]
    smscs: tuple[Smsc, ...]

    @property
    def sms_failed(self) -> int:
        """Kannel counts failures per SMSC only; the gateway's is their sum."""
        return sum(s.failed for s in self.smscs)


def parse(text: str) -> GatewayStatus:
    """Read a status.xml body; raise `StatusDenied` or `StatusMalformed` instead of guessing."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as e:
        raise StatusMalformed(f"Kannel status.xml is not XML ({e}): check --kannel-url") from e
    if root.tag != "gateway":
        raise StatusMalformed(f"Kannel status.xml root is <{root.tag}>, expected <gateway>")
    if (root.text or "").strip() == "Denied" and len(root) == 0:
        raise StatusDenied(
            "Kannel denied the status password: set KANNEL_STATUS_PASSWORD to the core "
            "group's status-password (or admin-password)"
        )
    state, uptime = _gateway_state(_text(root, "status"))
    return GatewayStatus(
        version=(_text(root, "version").splitlines() or [""])[0],
        state=state,
        uptime_seconds=uptime,
        sms_received=_traffic(root, "sms/received"),
        sms_sent=_traffic(root, "sms/sent"),
        store_size=_int(root, "sms/storesize", default=-1),
        dlr_received=_int(root, "dlr/received/total"),
        dlr_sent=_int(root, "dlr/sent/total"),
        dlr_queued=_int(root, "dlr/queued"),
        boxes=tuple(_box(b) for b in root.iterfind("boxes/box")),
        smscs=tuple(_smsc(s) for s in root.iterfind("smscs/smsc")),
    )


def _gateway_state(status: str) -> tuple[str, int]:
    """'running, uptime 0d 0h 10m 24s' -> ('running', 624)."""
    state, _, rest = status.partition(",")
    m = _UPTIME.search(rest)
    if not state.strip() or m is None:
        raise StatusMalformed(f"Kannel gateway <status> {status!r} has no 'STATE, uptime ...'")
    return state.strip(), _dhms(m)


def _dhms(m: re.Match[str]) -> int:
    d, h, mi, s = (int(g) for g in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def _box(el: ET.Element) -> Box:
    status = _text(el, "status")
    m = _UPTIME.search(status)
    return Box(
        type=_text(el, "type"),
        id=_text(el, "id"),
        ip=_text(el, "IP"),
        queue=_int(el, "queue"),
        state=status.split(" ", 1)[0] if status else "unknown",
        uptime_seconds=_dhms(m) if m else None,
    )


def _smsc(el: ET.Element) -> Smsc:
    # "online 3s", "connecting", "re-connecting", "disconnected", "dead", "unknown".
    status = _text(el, "status")
    state = status.split(" ", 1)[0] if status else "unknown"
    m = _SECONDS.search(status) if state == "online" else None
    # Kannel before 1.4.4 put <received>/<sent> directly under <smsc>; 1.4.4+ under <sms>.
    sms = el.find("sms")
    counters = sms if sms is not None else el
    dlr = el.find("dlr")
    return Smsc(
        id=_text(el, "id"),
        admin_id=_text(el, "admin-id") or _text(el, "id"),
        name=_text(el, "name"),
        state=state,
        online_seconds=int(m.group(1)) if m else None,
        failed=_int(el, "failed"),
        queued=_int(el, "queued"),
        sms_received=_int(counters, "received"),
        sms_sent=_int(counters, "sent"),
        dlr_received=_int(dlr, "received") if dlr is not None else 0,
        dlr_sent=_int(dlr, "sent") if dlr is not None else 0,
    )


def _traffic(root: ET.Element, path: str) -> Traffic:
    return Traffic(total=_int(root, f"{path}/total"), queued=_int(root, f"{path}/queued"))


def _text(el: ET.Element, path: str) -> str:
    found = el.find(path)
    return (found.text or "").strip() if found is not None else ""


def _int(el: ET.Element, path: str, default: int = 0) -> int:
    raw = _text(el, path)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as e:
        raise StatusMalformed(f"Kannel status.xml <{path}> is {raw!r}, expected a number") from e
