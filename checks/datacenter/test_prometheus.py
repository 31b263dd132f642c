"""Monitoring sees everything it should: every Prometheus target is up."""

from __future__ import annotations

from typing import Any

from checks import expected, facts
from checks.selection import Target

ROLES = ("prometheus",)


def test_targets_up(host: Any, target: Target) -> None:
    answer = host.run("curl -fsS --max-time 10 %s", expected.PROMETHEUS_TARGETS_URL)
    assert answer.rc == 0, (
        f"Prometheus does not answer on {target.expected_hostname} "
        f"({answer.stderr.strip()}): check it runs"
    )
    down = facts.prometheus_down_targets(answer.stdout)
    assert not down, "Prometheus targets down: " + "; ".join(down)
