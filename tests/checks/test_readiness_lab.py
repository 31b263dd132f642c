"""Go-live checks against the real lab, configured by the real Ansible `terminal` role.

After configuration every sampled site is ready; each fault a site technician meets
(printer queue disabled, scanner gone, time sync stopped, an official's account
deleted) fails exactly that site's matching check with a message saying what to do;
after the fix a re-check passes, and the history keeps both runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.lab.handle import LabHandle
from tests.configured import ConfiguredSession

pytestmark = pytest.mark.lab

CLI = [sys.executable, "-m", "dvc_rollout.cli"]


@dataclass(frozen=True)
class ConfiguredLab:
    """The session lab after `dvc-rollout configure`, with the officials it was given."""

    session: ConfiguredSession
    db: Path
    reports: Path

    @property
    def lab(self) -> LabHandle:
        return self.session.lab

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.session.env}

    def official(self, site: str) -> str:
        """The username of the first official `lab up` recorded for the site."""
        return str(self.session.officials()[site][0]["username"])

    def cli(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], env=self.env(), capture_output=True, text=True, timeout=timeout
        )

    def check(self, *args: str) -> tuple[int, dict[str, Any]]:
        """`dvc-rollout check --json` on this lab; returns the exit code and the summary."""
        done = self.cli(
            "check", "--stack", self.lab.stack, "--db", str(self.db), "-n", "4", "--json", *args
        )
        if not done.stdout.strip():
            pytest.fail(f"check printed no summary (exit {done.returncode}): {done.stderr[-3000:]}")
        return done.returncode, json.loads(done.stdout)

    def configure(self, limit: str) -> None:
        done = self.cli("configure", "--stack", self.lab.stack, "--limit", limit, "--quiet")
        assert done.returncode == 0, f"configure --limit {limit} failed:\n{done.stdout[-3000:]}"

    def run(self, site: str, *argv: str) -> str:
        result = self.lab.exec(self.lab.terminals[f"term-{site}-1"], list(argv))
        assert result.exit_code == 0, f"{argv} on term-{site}-1: {result.output}"
        return result.output


@pytest.fixture(scope="module")
def configured(
    configured_lab: ConfiguredSession, tmp_path_factory: pytest.TempPathFactory
) -> ConfiguredLab:
    """The session's configured lab (tests/configured.py), with this module's results store."""
    root = tmp_path_factory.mktemp("readiness")
    return ConfiguredLab(configured_lab, root / "results.sqlite", root / "reports")


def _not_ready(summary: dict[str, Any]) -> dict[str, list[str]]:
    return {s["site_code"]: s["failing"] for s in summary["sites"] if not s["ready"]}


def _communes(lab: LabHandle) -> list[str]:
    return [s for s in lab.sampled_units() if len(s) == 5]


def test_every_sampled_site_is_ready_after_configuration(configured: ConfiguredLab) -> None:
    for phase in ("1", "2"):
        code, summary = configured.check("--phase", phase)
        assert _not_ready(summary) == {}, f"phase {phase}: {summary}"
        assert code == 0 and summary["complete"]
        sites = {s["site_code"] for s in summary["sites"]}
        wanted = {s for s in configured.lab.sampled_units() if (len(s) == 3) == (phase == "1")}
        assert sites == wanted | {"datacenter"}


def test_over_ssh_as_in_production_every_sampled_site_is_ready(configured: ConfiguredLab) -> None:
    # The production backend for real: each desk's sshd, the check account Ansible made,
    # the stack's own key; the data center is still reached through Docker.
    code, summary = configured.check("--phase", "2", "--backend", "ssh")
    assert _not_ready(summary) == {} and code == 0 and summary["complete"]
    sites = {s["site_code"] for s in summary["sites"]}
    assert sites == set(_communes(configured.lab)) | {"datacenter"}
    checks = {s["site_code"]: s["passed"] for s in summary["sites"]}
    _, over_docker = configured.check("--phase", "2", "--no-datacenter")
    assert {s["site_code"]: s["passed"] for s in over_docker["sites"]} == {
        site: passed for site, passed in checks.items() if site != "datacenter"
    }


def test_over_ssh_a_desk_that_refuses_the_key_says_so_until_configure_fixes_it(
    configured: ConfiguredLab,
) -> None:
    site = _communes(configured.lab)[-1]
    configured.run(site, "sh", "-c", ": > /home/dvc-check/.ssh/authorized_keys")
    code, summary = configured.check("--phase", "2", "--backend", "ssh", "--unit", site)
    assert code == 1 and list(_not_ready(summary)) == [site]
    [verdict] = [s for s in summary["sites"] if s["site_code"] == site]
    answers = next(m for m in verdict["messages"] if m.startswith("pc.answers "))
    assert "Permission denied (publickey)" in answers and f"term-{site}-1" in answers
    assert f"dvc-rollout configure --limit term-{site}-1" in answers
    configured.configure(f"term-{site}-1")
    code, summary = configured.check("--phase", "2", "--backend", "ssh", "--unit", site)
    assert code == 0 and _not_ready(summary) == {}


@pytest.fixture(scope="module")
def faults(configured: ConfiguredLab) -> Iterator[dict[str, tuple[str, str]]]:
    """Break one thing at each of four commune sites; always undo at the end."""
    printer, scanner, clock, accounts = _communes(configured.lab)[:4]
    official = configured.official(accounts)
    broken = {
        printer: ("printer.queue_enabled", "cupsenable dvc-printer"),
        scanner: ("scanner.scanner_listed", "SANE finds no scanner"),
        clock: ("time.time_synchronised", "time sync is stopped"),
        accounts: ("accounts.every_official_has_an_account", official),
    }
    configured.run(printer, "cupsdisable", "dvc-printer")
    configured.run(scanner, "sed", "-i", r"s/^test\s*$/#test/", "/etc/sane.d/dll.conf")
    # In the lab a chronyd that exits restarts its whole container, so time sync is
    # stopped by suspending chronyd, as a hung daemon would be.
    configured.run(clock, "pkill", "-STOP", "-x", "chronyd")
    configured.run(accounts, "userdel", "-r", official)
    try:
        yield broken
    finally:
        configured.lab.exec(
            configured.lab.terminals[f"term-{clock}-1"], ["pkill", "-CONT", "-x", "chronyd"]
        )


def test_each_fault_fails_exactly_its_site_and_check(
    configured: ConfiguredLab, faults: dict[str, tuple[str, str]]
) -> None:
    code, summary = configured.check("--phase", "2", "--no-datacenter")
    assert code == 1 and summary["complete"]
    wanted = {site: [f"{check}@term-{site}-1"] for site, (check, _) in faults.items()}
    assert _not_ready(summary) == wanted
    messages = {s["site_code"]: " ".join(s["messages"]) for s in summary["sites"]}
    for site, (_, hint) in faults.items():
        assert hint in messages[site], messages[site]
        assert f"term-{site}-1" in messages[site]


def test_after_the_fix_a_recheck_passes_and_history_shows_both_runs(
    configured: ConfiguredLab, faults: dict[str, tuple[str, str]]
) -> None:
    printer, scanner, clock, accounts = faults
    configured.configure(",".join(f"term-{s}-1" for s in (printer, scanner, accounts)))
    # Undone by hand, as a technician would: resume chronyd, ask for fresh samples and
    # wait until the clock is synchronised again.
    configured.run(clock, "pkill", "-CONT", "-x", "chronyd")
    configured.run(clock, "chronyc", "burst", "4/4")
    configured.run(clock, "chronyc", "waitsync", "60", "0", "0", "1")
    code, summary = configured.check("--phase", "2", "--no-datacenter")
    assert _not_ready(summary) == {} and code == 0
    history = configured.cli(
        "check", "history", "--site", printer, "--db", str(configured.db), "--json"
    )
    runs = json.loads(history.stdout)
    failing = [r["failing"] for r in runs[-2:]]
    assert failing == [[f"{printer}:printer.queue_enabled"], []]
    assert [r["status"] for r in runs[-2:]] == ["complete", "complete"]


def test_a_run_exports_as_junit_with_the_failures(
    configured: ConfiguredLab, faults: dict[str, tuple[str, str]]
) -> None:
    history = configured.cli("check", "history", "--db", str(configured.db), "--json")
    # The newest run with failures: the faults' (earlier ones may have failed otherwise).
    faulty = next(r for r in reversed(json.loads(history.stdout)) if r["failed"] or r["error"])
    done = configured.cli(
        "check",
        "export",
        "--run",
        str(faulty["run_id"]),
        "--format",
        "junit",
        "--db",
        str(configured.db),
        "--output-dir",
        str(configured.reports),
    )
    assert done.returncode == 0, done.stderr
    root = ET.parse(done.stdout.strip()).getroot()
    failures = {
        (suite.get("name", "").split()[0], case.get("name"))
        for suite in root.iter("testsuite")
        for case in suite.iter("testcase")
        if case.find("failure") is not None
    }
    assert failures == {(site, check) for site, (check, _) in faults.items()}


def test_the_database_on_another_network_fails_only_that_check(configured: ConfiguredLab) -> None:
    from infra.lab import engine

    lab = configured.lab
    network = engine.client().networks.get(lab.networks["app"])
    network.connect(lab.containers["postgres"])
    try:
        code, summary = configured.check("--phase", "1")
    finally:
        network.disconnect(lab.containers["postgres"])
    assert code == 1
    assert _not_ready(summary) == {
        "datacenter": ["listeners.reachable_only_on_its_networks@postgres"]
    }
    [message] = next(s["messages"] for s in summary["sites"] if s["site_code"] == "datacenter")
    assert "outside its networks" in message and "detach it" in message
