"""The fault matrix, drilled on the lab: every component against every way it can fail.

Each cell breaks a real container (stop, pause, disconnect, a slow or wrong impostor,
a wrong certificate, a suspended gateway, a renamed table), waits for the expected alert
at the expected receiver, checks that no critical alert fires that the running drills
cannot explain, undoes the fault and waits for the alert to resolve (tests/exporters/
drills/). Cells that cannot blind or mask each other run side by side (each says which
parts it breaks and which it is watched through); the recorder is drilled first, and
Prometheus and Alertmanager alone at the end. The table of measured times is written
under reports/drills/ and printed; the README carries it.

The drills run on faster timings than `lab up` installs (the drill profile below: scrape
and evaluate every 2 s, `for:` divided by 60 (at least 4 s: two evaluations),
Alertmanager waiting 1 s and re-grouping every 1 s, a heartbeat every 2 s), and put the
lab's own back at the end. The rules are production's files with only `for:` shorter
(tests/exporters/test_rule_files.py checks this for this profile).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import inventory
from infra import exporter_specs, lab_monitoring
from infra.lab import oncall as lab_oncall
from infra.lab.handle import LabHandle
from tests.exporters.drills import faults, matrix, report
from tests.exporters.drills.runner import Runner, summary
from tests.exporters.drills.watch import Monitor, http, wait_for

pytestmark = pytest.mark.lab

DRILL = lab_monitoring.LabTimings(
    scrape_interval="2s",
    for_divisor=60,
    for_minimum=4,
    group_wait="1s",
    group_interval="1s",
    repeat_interval="1h",
    heartbeat_interval="2s",
)
REPORTS = Path(__file__).resolve().parents[2] / "reports" / "drills"
QUIET_SECONDS = 20.0
READY_SECONDS = 240.0


def install_timings(
    lab: LabHandle, monitor: Monitor, timings: lab_monitoring.LabTimings, *, reach: bool = False
) -> None:
    """Prometheus' and Alertmanager's config with `timings`, reloaded in place.

    The drills notify the recorder and the dead-man's switch only: the on-call e-mail and
    SMS would add failures of their own (a drilled Kannel refuses the relay's texts).
    `reach=True` puts back what `lab up` installed: the lab's synthetic contacts by e-mail
    and SMS (infra/__main__.py), so later tests find the lab as it was.
    """
    prefix = f"dvc-{lab.stack}-"
    alertmanager = str(lab.internal["alertmanager"]).removeprefix("http://")
    webhook = f"http://{lab.containers['webhook']}:9095/alerts/default"
    heartbeat = str(lab.outputs["heartbeat_url"])
    contacts: dict[str, Any] = {}
    if reach:
        sampled = [d["code"] for d in lab.sample["districts"]]
        contacts = {
            "oncall": lab_oncall.parse(inventory.load(), sampled),
            "delivery": lab_monitoring.lab_delivery(prefix, exporter_specs.sms_relay_url(prefix)),
        }
    files = {
        lab.containers["prometheus"]: lab_monitoring.prometheus_files(
            lab.outputs["scrape_targets"], alertmanager, timings
        ),
        lab.containers["alertmanager"]: lab_monitoring.alertmanager_files(
            webhook, heartbeat, timings, **contacts
        ),
    }
    for container, texts in files.items():
        for path, text in texts.items():
            faults.put_file(container, path, text)
    for role in ("prometheus", "alertmanager"):
        status, body = http("POST", f"{monitor.url(role)}/-/reload")
        if status != 200:
            pytest.fail(f"{role} did not reload the drill config: {status} {body}")


@pytest.fixture(scope="module")
def monitor(lab: LabHandle) -> Iterator[Monitor]:
    """The lab on drill timings, every exporter reporting, no critical alert, recorders empty.

    Setup is bounded as a whole (READY_SECONDS) and fails naming what is not ready; the
    lab's own config is put back whatever happens.
    """
    m = Monitor(lab)
    install_timings(lab, m, DRILL)
    try:
        deadline = time.monotonic() + READY_SECONDS
        ready = {
            "every scrape target up": "min(up) == 1 and count(up) >= 6",
            "availability swept": "min(dvc_exporter_last_sweep_timestamp_seconds) > 0",
            "Kannel read": "min(dvc_kannel_up) == 1",
            "citizen database probed": "min(dvc_citizen_db_up) == 1",
            "SMS round trip": "min(dvc_sms_e2e_success) == 1",
        }
        for what, promql in ready.items():
            left = max(deadline - time.monotonic(), 1.0)
            if not wait_for(lambda q=promql: m.query(q), left):  # type: ignore[misc]
                pytest.fail(f"lab monitoring not ready in {READY_SECONDS:.0f} s: {what} ({promql})")

        def settled() -> bool:
            """A lab just brought up may still carry a critical alert from its first probes."""
            return not any(a["labels"].get("severity") == "critical" for a in m.firing())

        if not wait_for(settled, max(deadline - time.monotonic(), 30.0)):
            names = sorted({a["labels"]["alertname"] for a in m.firing()})
            pytest.fail(f"critical alerts still firing in the healthy lab: {', '.join(names)}")

        def beating() -> bool:
            status, body = http("GET", f"{m.url('deadman')}/heartbeat")
            return status == 200 and isinstance(body, dict) and body.get("missing") is False

        if not wait_for(beating, max(deadline - time.monotonic(), 30.0)):
            pytest.fail("the heartbeat does not reach the dead-man's switch (GET /heartbeat)")
        for role in ("webhook", "deadman"):
            http("DELETE", f"{m.url(role)}/notifications")
        yield m
    finally:
        install_timings(lab, m, lab_monitoring.TIMINGS, reach=True)


def test_no_critical_alert_while_the_lab_is_healthy(monitor: Monitor) -> None:
    """The baseline every cell starts from. (Warnings may be true: an unconfigured lab's
    desks are not ready, and readiness says so.)"""
    deadline = time.monotonic() + QUIET_SECONDS
    while time.monotonic() < deadline:
        critical = [a for a in monitor.firing() if a["labels"].get("severity") == "critical"]
        assert critical == []
        time.sleep(2)


def test_every_cell_of_the_fault_matrix(lab: LabHandle, monitor: Monitor) -> None:
    started = time.time()
    lanes = matrix.lanes(matrix.Context(lab, monitor))
    only = os.environ.get("DVC_DRILL_LANES")  # e.g. "portal,sms" while working on a lane
    if only:
        lanes = [lane for lane in lanes if lane.name in only.split(",")]
    cells = os.environ.get("DVC_DRILL_CELLS")  # e.g. "citizen database / stopped,..."
    if cells:
        wanted = {name.strip() for name in cells.split(",")}
        lanes = [
            dataclasses.replace(lane, cells=tuple(c for c in lane.cells if c.name in wanted))
            for lane in lanes
        ]
        lanes = [lane for lane in lanes if lane.cells]
        assert {c.name for lane in lanes for c in lane.cells} == wanted, "unknown cell names"
    outcomes = Runner(monitor).run(lanes)
    seconds = time.time() - started
    meta = {"stack": lab.stack, "seconds": round(seconds, 1), **summary(outcomes),
            "load_average_1m": os.getloadavg()[0]}  # fmt: skip
    as_json, as_md = report.save(outcomes, REPORTS, meta)
    print(f"\nfault matrix: {meta}\n{as_md.read_text()}\nwritten: {as_json}")
    red = [f"{o.cell.name}: {'; '.join(p.splitlines()[0] for p in o.problems)}"
           for o in outcomes if not o.ok]  # fmt: skip
    assert red == [], "\n".join(red)
