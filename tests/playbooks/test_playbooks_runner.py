"""Run ids, per-host summaries and secret handling of `dvc-rollout configure`."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from playbooks import credentials
from playbooks.runner import HostSummary, RunResult, format_summary, new_run_id, summarize


def test_run_ids_sort_by_time_and_never_repeat():
    moment = datetime(2017, 7, 15, 8, 0, 0, tzinfo=UTC)
    ids = {new_run_id(moment) for _ in range(200)}
    assert len(ids) == 200
    assert all(i.startswith("20170715T080000Z-") for i in ids)


def test_summary_counts_every_host_from_runner_stats():
    stats = {
        "ok": {"sms-1": 5, "term-016-1": 20},
        "changed": {"term-016-1": 3},
        "failures": {"sms-1": 1},
        "dark": {"term-00376-1": 1},
        "skipped": {},
        "processed": {"sms-1": 1, "term-016-1": 1, "term-00376-1": 1},
    }
    hosts = {h.host: h for h in summarize(stats)}
    assert hosts["term-016-1"] == HostSummary("term-016-1", 20, 3, 0, 0, 0)
    assert hosts["sms-1"].failed == 1 and not hosts["sms-1"].good
    assert hosts["term-00376-1"].unreachable == 1 and not hosts["term-00376-1"].good


def test_a_run_with_an_unreachable_host_is_not_ok(tmp_path):
    result = RunResult("r", "successful", 0, tmp_path, [HostSummary("term-016-1", 1, 0, 0, 1, 0)])
    assert not result.ok
    assert "FAILED" in format_summary(result)


def test_environment_overrides_the_stack_secrets_file():
    creds = credentials.collect(
        {"kannelAdminPassword": "from-file-1", "kannelStatusPassword": "from-file-2"},
        {"KANNEL_ADMIN_PASSWORD": "from-env-1", "SMSC_SIM_A_PASSWORD": "smsc-pw"},
    )
    assert creds.variables["sms_switchboard_admin_password"] == "from-env-1"
    assert creds.variables["sms_switchboard_status_password"] == "from-file-2"
    assert creds.variables["sms_switchboard_smsc_credentials"] == {"sim-a": {"password": "smsc-pw"}}
    assert set(creds.values()) == {"from-env-1", "from-file-2", "smsc-pw"}


def test_secret_environment_variables_are_named_for_blanking():
    names = credentials.env_names({"SMSC_VIETTEL_PASSWORD": "x", "HOME": "/root"})
    assert "SMSC_VIETTEL_PASSWORD" in names and "KANNEL_ADMIN_PASSWORD" in names
    assert "HOME" not in names


def test_credentials_file_is_private(tmp_path):
    path = credentials.Credentials({"dvc_sendsms_password": "p"}).write(tmp_path / "c.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"dvc_sendsms_password": {"__ansible_unsafe": "p"}}


def test_credentials_reach_ansible_as_data_never_as_templates(tmp_path, hostile):
    password = hostile.name.replace("Xã ", "pw ")
    creds = credentials.Credentials(
        {
            "dvc_sendsms_password": password,
            "sms_switchboard_smsc_credentials": {"a": {"password": password}},
        }
    )
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.copy:\n"
        '        content: "{{ [dvc_sendsms_password, sms_switchboard_smsc_credentials.a.password]'
        ' | to_json }}"\n'
        f"        dest: {tmp_path / 'seen.json'}\n        mode: '0600'\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            *("-i", "localhost,", str(play), "-c", "local"),
            *("-e", f"ansible_python_interpreter={sys.executable}"),
            *("-e", f"@{creds.write(tmp_path / 'c.json')}"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert hostile.ran() == [], done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "seen.json").read_text(encoding="utf-8")) == [password] * 2


def test_redact_masks_plain_and_json_escaped_secrets(tmp_path):
    clean = tmp_path / "clean.json"
    clean.write_text('{"msg": "nothing here"}')
    leaky = tmp_path / "leaky.json"
    leaky.write_text(json.dumps({"a": 'pass"word', "b": 'pass"word'}))
    assert credentials.redact([clean, leaky], ['pass"word']) == 1
    assert 'pass\\"word' not in leaky.read_text()
    assert clean.read_text() == '{"msg": "nothing here"}'
