"""The fault matrix as the README shows it: measured lab times beside production's.

Production's time for a cell is what its timings imply, worst case: the exporter noticing
(`detect`: a sweep or probe interval plus its timeout, or a scrape timeout), then a scrape
interval, the rule's `for:` and Alertmanager's group wait. The heartbeat cells count
instead how long Alertmanager keeps the watchdog after Prometheus goes (4 resend delays),
the heartbeat interval and the switch's patience.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from checks.export import write
from exporters import rule_files, rule_tests
from tests.exporters.drills.runner import Outcome

SCRAPE_INTERVAL = 15.0
GROUP_WAIT = 30.0
HEARTBEAT_GROUP_WAIT = 0.0
# The heartbeat cells: no Prometheus rule, the dead-man's switch speaks.
SWITCH = "DvcHeartbeatMissing"


def production_for() -> dict[str, float]:
    """Alert name -> its production `for:` in seconds (an alert's rules share one).

    Every rule file production loads (notifications.yml's DvcSmsRelayGatewayFailing too:
    a file left out here read as `for: 0`, a minute short)."""
    found: dict[str, float] = {}
    for path in sorted(rule_tests.RULES_DIR.glob("*.yml")):
        for name, rules in rule_tests.load_alert_rules(path).items():
            found[name] = max(rule_files.seconds(r["for"]) if "for" in r else 0 for r in rules)
    return found


def implied(outcome: Outcome, alertname: str, receiver: str, fors: dict[str, float]) -> float:
    cell = outcome.cell
    if alertname == SWITCH:
        return cell.detect
    wait = HEARTBEAT_GROUP_WAIT if receiver == "heartbeat" else GROUP_WAIT
    return cell.detect + SCRAPE_INTERVAL + fors.get(alertname, 0.0) + wait


def rows(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    fors = production_for()
    found = []
    for o in sorted(outcomes, key=lambda o: (o.lane, o.started)):
        for e in o.cell.expect:
            found.append(
                {
                    "lane": o.lane,
                    "component": o.cell.component,
                    "failure": o.cell.failure,
                    "how": o.cell.how,
                    "alert": e.alertname,
                    "labels": {k: v for k, v in e.labels.items() if v is not None},
                    "severity": e.severity,
                    "receiver": e.receiver,
                    "lab_notified_seconds": o.fired.get(e.key()),
                    "lab_resolved_seconds": o.resolved.get(e.key()),
                    "production_seconds": implied(o, e.alertname, e.receiver, fors),
                    "ok": o.ok,
                    "problems": o.problems,
                }
            )
    return found


def markdown(table: list[dict[str, Any]]) -> str:
    head = (
        "| component | failure | how | alert → receiver | severity | lab: notified | "
        "lab: resolved | production | |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )

    def secs(v: float | None) -> str:
        return "–" if v is None else f"{v:.0f} s"

    lines = []
    for r in table:
        evidence = " (evidence missing)" if r["labels"].get("evidence") == "missing" else ""
        lines.append(
            f"| {r['component']} | {r['failure']} | {r['how']} | "
            f"{r['alert']}{evidence} → {r['receiver']} | {r['severity']} | "
            f"{secs(r['lab_notified_seconds'])} | {secs(r['lab_resolved_seconds'])} | "
            f"{r['production_seconds'] / 60:.1f} min | {'green' if r['ok'] else 'RED'} |"
        )
    return head + "\n".join(lines) + "\n"


def save(outcomes: list[Outcome], folder: Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    table = rows(outcomes)
    data = {**meta, "cells": [o.as_dict() for o in outcomes], "rows": table}
    as_json = write(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "fault-matrix", "json",
                    folder)  # fmt: skip
    as_md = write(markdown(table), "fault-matrix", "md", folder)
    return as_json, as_md
