"""Alert and recording rules: promtool check and promtool unit tests, run for real."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exporters import rule_cases, rule_tests

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
    "DvcDistrictErrorBudgetBurn",
    "DvcServiceErrorBudgetBurn",
    "DvcCertificateExpiringSoon",
    "DvcSmsGatewayDown",
    "DvcSmscOffline",
    "DvcSmsQueueBacklog",
    "DvcSmsEndToEndFailing",
    "DvcCitizenDbDown",
    "DvcExporterStale",
    "DvcWatchdog",
    "DvcNotificationsFailing",
]
CRITICAL = [
    "DvcDistrictOutage",
    "DvcDistrictErrorBudgetBurn",
    "DvcServiceErrorBudgetBurn",
    "DvcSmsGatewayDown",
    "DvcSmsEndToEndFailing",
    "DvcCitizenDbDown",
    "DvcNotificationsFailing",
]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is missing: `apt-get install prometheus` (infra/packages/test.txt)")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)


def test_promtool_check_rules_passes() -> None:
    # --lint-fatal: a duplicate rule (same name and labels) would record clashing series.
    result = _promtool("check", "rules", "--lint-fatal", *map(str, OURS))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TESTS, ids=[t.stem for t in TESTS])
def test_promtool_unit_tests_pass(test_file: Path) -> None:
    result = _promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_alert_tests_are_current() -> None:
    """The tests are generated from the rule files; a stale copy would test old text."""
    for path, fresh in rule_tests.suites().items():
        assert path.read_text(encoding="utf-8") == fresh, "run `python -m exporters.rule_tests`"


def test_every_alert_is_tested_firing_and_quiet() -> None:
    doc = yaml.safe_load(TESTS[0].read_text(encoding="utf-8"))
    seen: dict[str, set[bool]] = {}
    for case in doc["tests"]:
        for check in case["alert_rule_test"]:
            seen.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    expected = {name: {True, False} for name in ALERTS} | {"DvcWatchdog": {True}}
    assert expected == seen


def test_every_alert_of_alerts_yml_is_listed_here() -> None:
    assert sorted(rule_tests.load_alert_rules(OURS[0])) == sorted(ALERTS)


@pytest.mark.parametrize("alert", ALERTS)
def test_alert_has_for_severity_and_bilingual_runbook(alert: str) -> None:
    for rule in rule_tests.load_alert_rules(OURS[0])[alert]:
        assert rule.get("for") or alert == "DvcWatchdog"
        assert rule["labels"]["severity"] in {"critical", "warning", "none"}
        for key in ("summary_vi", "summary_en", "runbook_vi", "runbook_en"):
            assert rule["annotations"][key].strip(), f"{alert} lacks {key}"


@pytest.mark.parametrize("alert", CRITICAL)
def test_a_critical_alert_has_its_twin_for_missing_evidence(alert: str) -> None:
    """Each critical condition also fires, as critical, when its evidence is missing."""
    twin = rule_tests.TWINS.get(alert, alert)
    rules = rule_tests.load_alert_rules(OURS[0])[twin]
    missing = [r for r in rules if r["labels"].get("evidence") == "missing"]
    assert missing, f"{twin} has no rule labelled evidence: missing"
    assert all(r["labels"]["severity"] == "critical" for r in missing)


def test_a_critical_alert_left_blind_is_refused() -> None:
    """The generator itself refuses a critical alert with no missing-evidence case."""
    rules = rule_tests.load_alert_rules(OURS[0])
    cases = [c for c in rule_cases.cases(rule_cases.sample_pairs())
             if "DvcCitizenDbDown" not in c.covers]  # fmt: skip
    with pytest.raises(ValueError, match=r"DvcCitizenDbDown \(absent, nan, unreachable\)"):
        rule_tests.render(cases, rules)


def test_unit_alerts_route_by_district() -> None:
    """A unit or district alert must keep district_code, or Alertmanager cannot route or
    inhibit it (its evidence-missing twin too: the district is remembered)."""
    doc = yaml.safe_load(TESTS[0].read_text(encoding="utf-8"))
    fired = [
        alert["exp_labels"]
        for case in doc["tests"]
        for check in case["alert_rule_test"]
        for alert in check["exp_alerts"]
        if alert["exp_labels"]["scope"] in {"unit", "district"}
    ]
    assert fired
    assert all(labels["district_code"] and labels["district"] for labels in fired)


def test_unknown_template_is_refused_with_its_text() -> None:
    with pytest.raises(ValueError, match=r"cannot expand: '\{\{ \$labels.x \| title \}\}'"):
        rule_tests.expand("{{ $labels.x | title }}", {}, 0.0)
