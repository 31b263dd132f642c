"""Fault drills in the lab: each fault raises its alert at the webhook recorder, then resolves.

The lab's Prometheus scrapes the exporters every 5 s with the rules' `for:` divided by 8,
and Alertmanager notifies the recorder (`dvc-<stack>-webhook`) after 5 s, so a drill
takes about a minute. The module first re-applies that lab config (rendered by
`infra.lab_monitoring`, as `lab up` uploads it) in case an earlier test configured the
lab with production timings, then waits for every exporter to report.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any

import pytest

import inventory
from infra import lab_monitoring
from infra.lab import engine, health, lifecycle
from infra.lab.handle import LabHandle

pytestmark = pytest.mark.lab

FIRE_TIMEOUT = 180.0
RESOLVE_TIMEOUT = 180.0
HEALTHY_PERIOD = 45.0  # longer than the lab's longest `for:` of an alert that could fire
POLL = 2.0


def http(method: str, url: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    """One JSON request; the status and the decoded body (text if it is not JSON)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_for(what: str, check: Callable[[], Any], timeout: float) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(POLL)
    pytest.fail(f"{what}: not seen within {timeout:.0f}s")


@dataclass
class Monitor:
    """The lab's Prometheus, Alertmanager and webhook recorder, as a drill reads them."""

    lab: LabHandle

    def url(self, role: str) -> str:
        return str(self.lab.endpoints[role]).rstrip("/")

    def query(self, promql: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": promql})
        status, body = http("GET", f"{self.url('prometheus')}/api/v1/query?{q}")
        if status != 200:
            pytest.fail(f"Prometheus query {promql!r} failed: {status} {body}")
        return list(body["data"]["result"])

    def value(self, promql: str) -> float | None:
        found = self.query(promql)
        return float(found[0]["value"][1]) if found else None

    def prometheus_alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts as Prometheus evaluates them."""
        status, body = http("GET", f"{self.url('prometheus')}/api/v1/alerts")
        return list(body["data"]["alerts"]) if status == 200 else []

    def alertmanager_alerts(self) -> list[dict[str, Any]]:
        status, body = http("GET", f"{self.url('alertmanager')}/api/v2/alerts?active=true")
        return list(body) if status == 200 else []

    def notifications(self) -> list[dict[str, Any]]:
        status, body = http("GET", f"{self.url('webhook')}/notifications")
        return list(body) if status == 200 else []

    def alerts_notified(self, since: int = 0) -> list[dict[str, Any]]:
        """Every alert in the notifications from index `since` on, with its receiver."""
        return [
            {**alert, "receiver": n["payload"].get("receiver", n["receiver"])}
            for n in self.notifications()[since:]
            for alert in n["payload"].get("alerts", [])
        ]


def matching(alerts: list[dict[str, Any]], status: str, labels: dict[str, str]) -> list[Any]:
    return [
        a
        for a in alerts
        if a["status"] == status and all(a["labels"].get(k) == v for k, v in labels.items())
    ]


@dataclass
class Drill:
    """One fault: its alert must reach the recorder, then resolve once the fault is gone."""

    monitor: Monitor
    alertname: str
    labels: dict[str, str]

    def __post_init__(self) -> None:
        self.since = len(self.monitor.notifications())
        self.wanted = {"alertname": self.alertname, **self.labels}

    def fired(self) -> dict[str, Any]:
        found = wait_for(
            f"{self.alertname} {self.labels} firing at the webhook recorder",
            lambda: matching(self.monitor.alerts_notified(self.since), "firing", self.wanted),
            FIRE_TIMEOUT,
        )
        alert: dict[str, Any] = found[0]
        return alert

    def resolved(self) -> dict[str, Any]:
        found = wait_for(
            f"{self.alertname} {self.labels} resolved at the webhook recorder",
            lambda: matching(self.monitor.alerts_notified(self.since), "resolved", self.wanted),
            RESOLVE_TIMEOUT,
        )
        alert: dict[str, Any] = found[0]
        return alert

    def others(self) -> list[dict[str, Any]]:
        """Alerts of the same name but other labels, notified since the drill began."""
        return [
            a
            for a in self.monitor.alerts_notified(self.since)
            if a["labels"]["alertname"] == self.alertname
            and not matching([a], a["status"], self.wanted)
        ]


@contextmanager
def stopped(lab: LabHandle, role: str) -> Iterator[None]:
    """`docker stop` one of the lab's containers, then start it and wait until it is healthy.

    A started container gets new ephemeral host ports, so the session's handle is pointed
    at the live ones: every later test addresses the lab where it now is.
    """
    api = engine.client().api
    name = lab.containers[role]
    api.stop(name, timeout=10)
    try:
        yield
    finally:
        api.start(name)
        wait_for(f"{name} healthy again", lambda: health.container_healthy(name), 120)
        live = lifecycle.live_endpoints(lab.model)
        lab.endpoints.update({k: v for k, v in live.items() if v})


def _put_files(container: str, files: dict[str, str]) -> None:
    api = engine.client().api
    for path, text in files.items():
        target = PurePosixPath(path)
        buffer = io.BytesIO()
        content = text.encode()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(target.name)
            info.size, info.mode, info.mtime = len(content), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(content))
        if not api.put_archive(container, str(target.parent), buffer.getvalue()):
            pytest.fail(f"cannot write {path} into {container}")


def apply_lab_monitoring(lab: LabHandle, monitor: Monitor) -> None:
    """Install the lab's drill timings into Prometheus and Alertmanager and reload both."""
    alertmanager = str(lab.internal["alertmanager"]).removeprefix("http://")
    webhook = f"http://{lab.containers['webhook']}:9095/alerts/default"
    _put_files(
        lab.containers["prometheus"],
        lab_monitoring.prometheus_files(lab.outputs["scrape_targets"], alertmanager),
    )
    heartbeat = str(lab.outputs["heartbeat_url"])
    _put_files(
        lab.containers["alertmanager"], lab_monitoring.alertmanager_files(webhook, heartbeat)
    )
    for role in ("prometheus", "alertmanager"):
        status, body = http("POST", f"{monitor.url(role)}/-/reload")
        if status != 200:
            pytest.fail(f"{role} did not reload the lab config: {status} {body}")


@pytest.fixture(scope="module")
def monitor(lab: LabHandle) -> Iterator[Monitor]:
    """The lab with its drill timings, every exporter reporting, the recorder emptied."""
    m = Monitor(lab)
    apply_lab_monitoring(lab, m)
    ready = {
        "every scrape target up": "min(up) == 1 and count(up) >= 5",
        "availability swept": "min(dvc_exporter_last_sweep_timestamp_seconds) > 0",
        "Kannel read": "min(dvc_kannel_up) == 1",
        "citizen database probed": "min(dvc_citizen_db_up) == 1",
        "SMS round trip": "min(dvc_sms_e2e_success) == 1",
    }
    for what, promql in ready.items():
        wait_for(f"lab monitoring ready ({what}: {promql})", partial(m.query, promql), 180)
    http("DELETE", f"{m.url('webhook')}/notifications")
    yield m


def _not_watchdog(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DvcWatchdog always fires (the dead-man's switch hears it): not an alert to act on."""
    return [a for a in alerts if a["labels"].get("alertname") != "DvcWatchdog"]


def test_no_alert_fires_while_the_lab_is_healthy(monitor: Monitor) -> None:
    deadline = time.monotonic() + HEALTHY_PERIOD
    while time.monotonic() < deadline:
        firing = [a for a in monitor.prometheus_alerts() if a["state"] == "firing"]
        assert _not_watchdog(firing) == []
        assert _not_watchdog(monitor.alertmanager_alerts()) == []
        assert _not_watchdog(matching(monitor.alerts_notified(), "firing", {})) == []
        time.sleep(POLL * 2)


def test_stopping_kannel_raises_sms_gateway_down(lab: LabHandle, monitor: Monitor) -> None:
    drill = Drill(monitor, "DvcSmsGatewayDown", {"severity": "critical"})
    with stopped(lab, "kannel"):
        alert = drill.fired()
    assert alert["receiver"] == "default"
    assert alert["annotations"]["runbook_vi"] and alert["annotations"]["runbook_en"]
    drill.resolved()


def test_an_offline_smsc_raises_smsc_offline_for_that_smsc(
    lab: LabHandle, monitor: Monitor
) -> None:
    # sim-a is an SMPP link in the lab stack file: offline, its simulator drops the bind.
    telco = lab.sample["sms_smsc"]
    sim = str(lab.endpoints["smsc_sim"][telco])
    password = urllib.parse.quote(str(lab.credentials["kannel_status_password"]))
    _, status_txt = http("GET", f"{lab.endpoints['kannel_admin']}/status.txt?password={password}")
    assert f"{telco}[{telco}]    SMPP:" in str(status_txt), (
        f"Kannel does not bind {telco} over SMPP (Pulumi.lab.yaml), so it cannot see it go "
        f"offline; was kannel.conf re-rendered with an HTTP link? {status_txt}"
    )
    drill = Drill(monitor, "DvcSmscOffline", {"smsc": telco})
    status, _ = http("POST", f"{sim}/admin/offline")
    assert status == 200
    try:
        alert = drill.fired()
    finally:
        http("POST", f"{sim}/admin/online")
    assert alert["receiver"] == "default"
    drill.resolved()
    assert drill.others() == [], "another SMSC was reported offline"


def _commune_pair(lab: LabHandle) -> inventory.Pair:
    inv = inventory.load()
    communes = [s for d in lab.sample["districts"] for s in d["sites"] if len(s) == 5]
    return next(p for p in inv.pairs(phase=2) if p.place.code == communes[0])


def _fault(lab: LabHandle, pair: inventory.Pair, mode: str | None) -> None:
    url = f"{lab.endpoints['portal']}/admin/faults/{pair.place.code}/{pair.service.code}"
    token = str(lab.credentials["portal_admin_token"])
    if mode is None:
        http("DELETE", url, token=token)
        return
    status, body = http("PUT", url, {"mode": mode}, token=token)
    assert status == 200, body


def test_one_disabled_commune_service_raises_exactly_its_service_down(
    lab: LabHandle, monitor: Monitor
) -> None:
    pair = _commune_pair(lab)
    labels = {k: str(v) for k, v in pair.labels.items()}
    drill = Drill(monitor, "DvcServiceDown", labels)
    _fault(lab, pair, "disable")
    try:
        alert = drill.fired()
        # Pending alerts are listed too: a pair with one slow probe is not a second outage.
        firing = [
            a
            for a in monitor.prometheus_alerts()
            if a["labels"]["alertname"] == "DvcServiceDown" and a["state"] == "firing"
        ]
    finally:
        _fault(lab, pair, None)
    assert alert["receiver"] == f"oncall-{pair.place.district_code}"
    assert {k: alert["labels"][k] for k in labels} == labels
    assert [a["labels"]["unit_code"] + "/" + a["labels"]["service"] for a in firing] == [
        f"{pair.place.code}/{pair.service.code}"
    ]
    drill.resolved()
    assert drill.others() == []


def test_stopping_postgresql_raises_citizen_db_down(lab: LabHandle, monitor: Monitor) -> None:
    drill = Drill(monitor, "DvcCitizenDbDown", {"severity": "critical"})
    with stopped(lab, "postgres"):
        alert = drill.fired()
    assert alert["receiver"] == "default"
    drill.resolved()


def test_a_wrong_body_raises_service_down_with_reason_body(
    lab: LabHandle, monitor: Monitor
) -> None:
    inv = inventory.load()
    district = lab.sample["districts"][-1]["code"]
    pair = next(p for p in inv.pairs(phase=1) if p.place.code == district)
    labels = {k: str(v) for k, v in pair.labels.items()}
    drill = Drill(monitor, "DvcServiceDown", labels)
    failures = (
        f'dvc_service_probe_failures_total{{reason="body",unit_code="{pair.place.code}",'
        f'service="{pair.service.code}"}}'
    )
    # The counters live as long as the exporter: compare with their values before the
    # fault (a sweep during `lab up`, before the portal listened, may have counted a 502).
    status_failures = failures.replace('"body"', '"http_status"')
    body_before = monitor.value(failures) or 0
    status_before = monitor.value(status_failures) or 0
    _fault(lab, pair, "wrong_body")
    try:
        drill.fired()
        assert (monitor.value(failures) or 0) > body_before
        assert (monitor.value(status_failures) or 0) == status_before
    finally:
        _fault(lab, pair, None)
    drill.resolved()
    assert drill.others() == []
