"""`dvc-rollout configure` against the real lab: configures, converges, checks, repairs.

The session's first run configures the lab (tests/configured.py: the synthetic officials
`lab up` records and an SMSC password from the environment); the tests that follow run
the playbooks again and read the containers to see what a user relies on.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from dvc_rollout import cli
from playbooks import runner
from tests.configured import SMSC_PASSWORD, ConfiguredSession

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
DATACENTER = {"sms-1", "prometheus-1", "alertmanager-1"}


@dataclass
class Configured:
    """The lab after the session's first configure run, and every run made in this module."""

    session: ConfiguredSession
    runs: list[runner.RunResult] = field(default_factory=list)

    @property
    def lab(self) -> Any:
        return self.session.lab

    @property
    def first(self) -> runner.RunResult:
        assert self.session.first is not None
        return self.session.first

    @property
    def officials(self) -> dict[str, list[dict[str, Any]]]:
        return self.session.officials()

    def configure(self, **options: Any) -> runner.RunResult:
        result = self.session.configure(**options)
        self.runs.append(result)
        return result

    def sh(self, container: str, script: str) -> str:
        done = self.lab.exec(container, ["sh", "-c", script])
        assert done.exit_code == 0, f"{container}: {script}: {done.output}"
        return str(done.output)

    @property
    def kannel(self) -> str:
        return str(self.lab.containers["kannel"])


@pytest.fixture(scope="module")
def configured(configured_lab: ConfiguredSession) -> Configured:
    """The session's configured lab (tests/configured.py): these tests run first on it."""
    return Configured(configured_lab, [configured_lab.first] if configured_lab.first else [])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return str(reply.read().decode("utf-8"))


def test_first_run_configures_every_host(configured):
    first = configured.first
    assert first.ok, runner.format_summary(first)
    expected = DATACENTER | set(configured.lab.terminals)
    assert {h.host for h in first.hosts} == expected
    assert all(h.changed > 0 for h in first.hosts), runner.format_summary(first)
    assert first.artifacts.is_dir() and first.artifacts.name == first.run_id


def test_the_switchboard_runs_the_rendered_config(configured):
    lab = configured.lab
    conf = configured.sh(configured.kannel, "cat /etc/kannel/kannel.conf")
    assert "Managed by dvc-rollout" in conf
    for telco in lab.sample["telcos"]:
        assert f'smsc-id = "{telco}"\n' in conf
    assert f'smsc-password = "{SMSC_PASSWORD}"' in conf
    status = _get(
        f"{lab.endpoints['kannel_admin']}/status.txt?"
        + urllib.parse.urlencode({"password": lab.credentials["kannel_status_password"]})
    )
    assert "Status: running" in status
    for telco in [*lab.sample["telcos"], "loopback"]:
        assert f"{telco}[{telco}]" in status
    query = urllib.parse.urlencode(
        {
            "username": lab.credentials["sendsms_user"],
            "password": lab.credentials["sendsms_password"],
            "to": "0900000001",
            "from": "DVC",
            "text": "thử nghiệm",
            "smsc": "loopback",
        }
    )
    reply = _get(f"{lab.endpoints['kannel_sendsms']}/cgi-bin/sendsms?{query}")
    assert "Accepted for delivery" in reply


def test_monitoring_loaded_the_rules_and_the_district_routes(configured):
    lab = configured.lab
    rules = json.loads(_get(f"{lab.endpoints['prometheus']}/api/v1/rules"))["data"]["groups"]
    shipped = {p.name for p in (REPO / "exporters" / "rules").glob("*.yml")}
    assert {Path(g["file"]).name for g in rules} == shipped
    status = json.loads(_get(f"{lab.endpoints['alertmanager']}/api/v2/status"))
    routes = yaml.safe_load(status["config"]["original"])["route"]["routes"]
    assert {"receiver": "oncall-016", "matchers": ['district_code="016"']}.items() <= {
        k: v for r in routes if r["receiver"] == "oncall-016" for k, v in r.items()
    }.items()
    # The watchdog still beats to the lab's dead-man's switch after configure.
    receivers = yaml.safe_load(status["config"]["original"])["receivers"]
    heartbeat = next(r for r in receivers if r["name"] == "heartbeat")
    assert heartbeat["webhook_configs"][0]["url"] == lab.outputs["heartbeat_url"]


def test_terminals_have_browser_portal_printer_scanner_time_and_accounts(configured):
    lab = configured.lab
    portal = str(lab.internal["nginx"]).rstrip("/") + "/"
    for host, container in lab.terminals.items():
        site = host.split("-")[1]

        def sh(script: str, c: str = container) -> str:
            return str(configured.sh(c, script))

        assert "Status: install ok installed" in sh("dpkg -s firefox-esr")
        assert f"url = {portal}\n" in sh("cat /etc/dvc/portal.conf")
        assert f"code = {site}\n" in sh("cat /etc/dvc/portal.conf")
        assert portal in sh("cat /usr/share/applications/dvc-portal.desktop")
        printer = sh("lpstat -p dvc-printer -a dvc-printer -d")
        assert "enabled" in printer and "accepting requests" in printer
        assert "system default destination: dvc-printer" in printer
        assert "device `test:0'" in sh("scanimage -L")
        assert str(lab.internal["ntp"]) in sh("cat /etc/chrony/sources.d/dvc.sources")
        assert sh("chronyc -n -c sources").strip(), "chrony has no source"
        for official in configured.officials[site]:
            entry = sh(f"getent passwd {official['username']}")
            assert official["full_name"] in entry
            assert "dvc-officials" in sh(f"id -nG {official['username']}")
        assert "lpadmin" in sh("id -nG dvc-helpdesk")


def test_second_run_changes_nothing_on_any_host(configured):
    again = configured.configure()
    assert again.ok, runner.format_summary(again)
    assert {h.host for h in again.hosts} == {h.host for h in configured.first.hosts}
    assert {h.host: h.changed for h in again.hosts} == {h.host: 0 for h in again.hosts}


def _break_files(configured: Configured) -> str:
    terminal = str(sorted(configured.lab.terminals.values())[0])
    configured.sh(terminal, ": > /etc/dvc/portal.conf")
    configured.sh(configured.kannel, ": > /etc/kannel/kannel.conf")
    return terminal


def test_check_mode_reports_drift_and_changes_nothing(configured):
    terminal = _break_files(configured)
    host = next(h for h, c in configured.lab.terminals.items() if c == terminal)
    # Every role, and a desk of each level beside the broken one: the other desks run the
    # same role on the same kind of data as these (the full second run above covers them),
    # and a check-mode run over all of them costs ~45 s more of make test.
    desks = sorted(configured.lab.terminals)
    clean = [next(h for h in desks if h != host and len(h.split("-")[1]) == n) for n in (3, 5)]
    checked = configured.configure(check=True, limit=",".join(["datacenter", host, *clean]))
    assert checked.ok, runner.format_summary(checked)
    assert {h.host for h in checked.hosts} == DATACENTER | {host, *clean}
    changed = {h.host for h in checked.hosts if h.changed}
    assert changed == {"sms-1", host}
    assert configured.sh(terminal, "wc -c < /etc/dvc/portal.conf").strip() == "0"
    assert configured.sh(configured.kannel, "wc -c < /etc/kannel/kannel.conf").strip() == "0"


def test_next_run_repairs_files_broken_by_hand(configured):
    terminal = sorted(configured.lab.terminals.values())[0]
    host = next(h for h, c in configured.lab.terminals.items() if c == terminal)
    if configured.sh(terminal, "wc -c < /etc/dvc/portal.conf").strip() != "0":
        _break_files(configured)
    repaired = configured.configure(limit=f"sms_switchboard,{host}")
    assert repaired.ok, runner.format_summary(repaired)
    assert {h.host: h.changed > 0 for h in repaired.hosts} == {"sms-1": True, host: True}
    assert "url = " in configured.sh(terminal, "cat /etc/dvc/portal.conf")
    assert "group = core" in configured.sh(configured.kannel, "cat /etc/kannel/kannel.conf")
    lab = configured.lab
    status = _get(
        f"{lab.endpoints['kannel_admin']}/status.txt?"
        + urllib.parse.urlencode({"password": lab.credentials["kannel_status_password"]})
    )
    assert "Status: running" in status


def test_a_kannel_conf_kannel_refuses_is_never_installed(configured):
    before = configured.sh(configured.kannel, "sha256sum /etc/kannel/kannel.conf")
    refused = configured.configure(
        limit="sms_switchboard", extravars={"sms_switchboard_dlr_storage": "nosuchstore"}
    )
    assert not refused.ok
    assert [(h.host, h.failed) for h in refused.hosts] == [("sms-1", 1)]
    assert configured.sh(configured.kannel, "sha256sum /etc/kannel/kannel.conf") == before
    stdout = (refused.artifacts / "stdout").read_text(encoding="utf-8")
    assert "storage type 'nosuchstore' is not supported" in stdout


def test_configure_exits_non_zero_when_a_host_cannot_be_configured(configured, capsys):
    host, container = sorted(configured.lab.terminals.items())[0]
    client = docker.from_env()
    client.containers.get(container).pause()
    try:
        code = cli.main(
            ["configure", "--stack", configured.lab.stack, "--limit", host, "--json", "--quiet"]
        )
    finally:
        client.containers.get(container).unpause()
    report = json.loads(capsys.readouterr().out)
    configured.runs.append(
        runner.RunResult(
            report["run_id"], report["status"], report["rc"], Path(report["artifacts"]), []
        )
    )
    assert code == 1
    [summary] = report["hosts"]
    assert summary["host"] == host
    assert summary["failed"] + summary["unreachable"] >= 1


def test_no_password_appears_in_any_artifact(configured):
    creds = configured.lab.credentials
    secrets = [
        str(creds[k])
        for k in (
            "kannel_admin_password",
            "kannel_status_password",
            "sendsms_password",
            "db_password",
            "portal_admin_token",
        )
    ] + [SMSC_PASSWORD]
    assert len(configured.runs) >= 6
    files = [p for r in configured.runs for p in r.artifacts.rglob("*") if p.is_file()]
    assert any(p.parent.name == "job_events" for p in files)
    leaks = [
        (str(p), s[:4])
        for p in files
        for s in secrets
        if s in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert leaks == []
    assert all(r.redacted == 0 for r in configured.runs)
