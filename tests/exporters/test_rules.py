"""Alert and recording rules: promtool check and promtool unit tests, run for real."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exporters import rule_tests

RULES = rule_tests.RULES_DIR
OURS = [RULES / "alerts.yml", RULES / "recording.yml", RULES / "notifications.yml"]
TESTS = [
    RULES / "tests" / "alerts_test.yml",
    RULES / "tests" / "recording_test.yml",
    RULES / "tests" / "notifications_test.yml",
]
ALERTS = [
    "DvcServiceDown",
    "DvcDistrictOutage",
    "DvcSmsGatewayDown",
    "DvcSmscOffline",
    "DvcSmsQueueBacklog",
    "DvcSmsEndToEndFailing",
    "DvcCitizenDbDown",
    "DvcExporterStale",
]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is missing: `apt-get install prometheus` (infra/packages/test.txt)")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)


def test_promtool_check_rules_passes() -> None:
    result = _promtool("check", "rules", *map(str, OURS))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TESTS, ids=[t.stem for t in TESTS])
def test_promtool_unit_tests_pass(test_file: Path) -> None:
    result = _promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_alert_tests_are_current() -> None:
    """alerts_test.yml is generated from alerts.yml; a stale copy would test old text."""
    fresh = rule_tests.render(
        rule_tests.cases(rule_tests.sample_pairs()), rule_tests.load_alert_rules(OURS[0])
    )
    assert TESTS[0].read_text(encoding="utf-8") == fresh, "run `python -m exporters.rule_tests`"


def test_every_alert_is_tested_firing_and_quiet() -> None:
    doc = yaml.safe_load(TESTS[0].read_text(encoding="utf-8"))
    seen: dict[str, set[bool]] = {}
    for case in doc["tests"]:
        for check in case["alert_rule_test"]:
            seen.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    assert {name: {True, False} for name in ALERTS} == seen


@pytest.mark.parametrize("alert", ALERTS)
def test_alert_has_for_severity_and_bilingual_runbook(alert: str) -> None:
    rule = rule_tests.load_alert_rules(OURS[0])[alert]
    assert rule["for"]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    for key in ("summary_vi", "summary_en", "runbook_vi", "runbook_en"):
        assert rule["annotations"][key].strip(), f"{alert} lacks {key}"


def test_unit_alerts_route_by_district() -> None:
    """A unit alert must keep district_code, or Alertmanager cannot route or inhibit it."""
    doc = yaml.safe_load(TESTS[0].read_text(encoding="utf-8"))
    fired = [
        alert["exp_labels"]
        for case in doc["tests"]
        for check in case["alert_rule_test"]
        if check["alertname"] in {"DvcServiceDown", "DvcDistrictOutage"}
        for alert in check["exp_alerts"]
    ]
    assert fired
    assert all(labels["district_code"] and labels["district"] for labels in fired)


def test_unknown_template_is_refused_with_its_text() -> None:
    with pytest.raises(ValueError, match=r"cannot expand: '\{\{ \$labels.x \| title \}\}'"):
        rule_tests.expand("{{ $labels.x | title }}", {}, 0.0)
