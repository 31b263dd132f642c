"""The dynamic inventory: lab hosts through Docker, staging's and production's over ssh.

Each test feeds the inventory a stack program's real outputs (the `program_outputs`
fixture runs the program in-process), so what the program exports is what is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import inventory
from dvc_rollout.errors import UsageError
from dvc_rollout.stack_outputs import StackOutputs
from inventory.ansible import UNSAFE, plain
from playbooks.inventory import DOCKER_CONNECTION, build

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab(program_outputs: Callable[..., StackOutputs]) -> StackOutputs:
    """The lab program's real outputs as stack `t` (containers `dvc-t-*`)."""
    return program_outputs("t", "lab")


@pytest.fixture(scope="module")
def production(program_outputs: Callable[..., StackOutputs]) -> StackOutputs:
    return program_outputs("production")


@pytest.fixture(scope="module")
def staging(program_outputs: Callable[..., StackOutputs]) -> StackOutputs:
    return program_outputs("staging")


@pytest.fixture(scope="module")
def inv() -> inventory.Inventory:
    return inventory.load()


def plain_build(inv: inventory.Inventory, outputs: StackOutputs) -> dict[str, Any]:
    """The listing Ansible reads, its unsafe marks taken off to compare values."""
    found: dict[str, Any] = plain(build(inv, outputs))
    return found


def bare_strings(value: Any, where: str = "") -> list[str]:
    """Where a string sits that is not wrapped as {"__ansible_unsafe": ...}."""
    if isinstance(value, str):
        return [where]
    if isinstance(value, dict):
        if set(value) == {UNSAFE} and isinstance(value[UNSAFE], str):
            return []
        return [w for k, v in value.items() for w in bare_strings(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [w for i, v in enumerate(value) for w in bare_strings(v, f"{where}[{i}]")]
    return []


@pytest.mark.parametrize("stack", ["lab", "staging", "production"])
def test_every_variable_ansible_reads_is_marked_unsafe(inv, stack, request) -> None:
    listing = build(inv, request.getfixturevalue(stack))
    assert bare_strings(listing["_meta"]["hostvars"]) == []
    assert bare_strings(listing["all"]["vars"]) == []
    hostvars = listing["_meta"]["hostvars"]["term-016-1"]
    assert hostvars["dvc_unit_name"] == {UNSAFE: "Huyện Sóc Sơn"}
    assert hostvars["dvc_terminal_index"] == 1  # numbers and booleans stay as they are


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stack state (e.g. the lab's check key) goes to a temporary folder, not state/."""
    monkeypatch.setenv("DVC_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("DVC_CHECK_SSH_PUBKEY", raising=False)
    return tmp_path


def test_a_lab_authorises_its_own_check_key_and_keeps_it(inv, state_dir, lab):
    keys = plain_build(inv, lab)["all"]["vars"]["dvc_check_ssh_keys"]
    public = (state_dir / "t" / "ssh" / "id_ed25519.pub").read_text().strip()
    assert keys == [public] and public.startswith("ssh-ed25519 ")
    assert (state_dir / "t" / "ssh" / "id_ed25519").stat().st_mode & 0o077 == 0
    assert plain_build(inv, lab)["all"]["vars"]["dvc_check_ssh_keys"] == keys


def test_production_authorises_the_keys_it_is_given(inv, tmp_path, monkeypatch, production):
    assert plain_build(inv, production)["all"]["vars"]["dvc_check_ssh_keys"] == []
    keys = tmp_path / "check.pub"
    keys.write_text("# the on-call laptop\nssh-ed25519 AAAAC3Nz oncall\n\nssh-rsa AAAAB3 ops\n")
    monkeypatch.setenv("DVC_CHECK_SSH_PUBKEY", str(keys))
    assert plain_build(inv, production)["all"]["vars"]["dvc_check_ssh_keys"] == [
        "ssh-ed25519 AAAAC3Nz oncall",
        "ssh-rsa AAAAB3 ops",
    ]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read it"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\n", "found 1 line(s) that are not"),
        ("# nothing yet\n", "holds no public key"),
    ],
)
def test_a_bad_check_key_file_is_named_with_what_to_do(
    inv, tmp_path, monkeypatch, content, said, production
):
    keys = tmp_path / "check.pub"
    if content is not None:
        keys.write_text(content)
    monkeypatch.setenv("DVC_CHECK_SSH_PUBKEY", str(keys))
    with pytest.raises(UsageError) as caught:
        plain_build(inv, production)
    assert f"DVC_CHECK_SSH_PUBKEY={keys}" in str(caught.value) and said in str(caught.value)


def test_lab_hosts_are_reached_through_their_containers(inv, lab):
    listing = plain_build(inv, lab)
    hostvars = listing["_meta"]["hostvars"]
    assert hostvars["term-016-1"]["ansible_connection"] == DOCKER_CONNECTION
    assert hostvars["term-016-1"]["ansible_host"] == "dvc-t-term-016-1"
    assert hostvars["sms-1"]["ansible_host"] == "dvc-t-kannel"
    assert hostvars["prometheus-1"]["ansible_host"] == "dvc-t-prometheus"
    assert hostvars["alertmanager-1"]["ansible_host"] == "dvc-t-alertmanager"


def test_lab_lists_only_the_terminals_the_lab_runs(inv, lab):
    listing = plain_build(inv, lab)
    assert sorted(listing["terminals"]["hosts"]) == sorted(lab.containers.terminals)
    assert sorted(listing["level_district"]["hosts"]) == ["term-016-1", "term-017-1"]
    assert listing["district_016"]["hosts"] == [
        "term-016-1",
        "term-00376-1",
        "term-00379-1",
        "term-00382-1",
    ]
    assert "district_018" not in listing


def test_datacenter_groups_nest_under_datacenter(inv, lab):
    listing = plain_build(inv, lab)
    assert listing["datacenter"]["children"] == ["sms_switchboard", "monitoring"]
    assert listing["monitoring"]["children"] == ["prometheus", "alertmanager"]
    assert listing["sms_switchboard"]["hosts"] == ["sms-1"]


def test_stack_facts_become_group_vars_without_credentials(inv, lab):
    stack_vars = plain_build(inv, lab)["all"]["vars"]
    assert stack_vars["dvc_portal_url"] == "http://dvc-t-nginx/"
    assert stack_vars["dvc_ntp_servers"] == ["dvc-t-ntp"]
    smpp, http = stack_vars["dvc_smscs"]
    assert smpp == {
        "id": "sim-a",
        "type": "smpp",
        "host": "dvc-t-smsc-sim-a",
        "port": 2775,
        "system_id": "dvc-lab",
    }
    assert http["type"] == "http" and http["id"] == "sim-b"
    assert http["send_url"].startswith("http://dvc-t-smsc-sim-b:13080/send?to=%p&from=%P")
    assert stack_vars["dvc_alertmanager_webhook_url"] == "http://dvc-t-webhook:9095/alerts/default"
    assert stack_vars["dvc_scrape_args"][-2:] == ["--alertmanager", "dvc-t-alertmanager:9093"]
    assert stack_vars["dvc_kind"] == "lab" and stack_vars["dvc_lab"] is True
    assert "not-a-real-sendsmsPassword" not in json.dumps(plain_build(inv, lab))


def test_terminals_carry_their_site_and_officials(inv, lab):
    hostvars = plain_build(inv, lab)["_meta"]["hostvars"]["term-00376-1"]
    assert hostvars["dvc_site_code"] == "00376"
    assert hostvars["dvc_district_code"] == "016"
    assert hostvars["dvc_officials"] == []


def test_production_reaches_every_terminal_over_ssh(inv, monkeypatch, production):
    monkeypatch.setenv("DVC_SSH_USER", "ops")
    listing = plain_build(inv, production.model_copy(update={"hosts": {"sms-1": "10.0.0.5"}}))
    hostvars = listing["_meta"]["hostvars"]
    assert len(listing["terminals"]["hosts"]) == sum(
        s.equipment.terminals for s in inv.sites.values()
    )
    assert hostvars["sms-1"] == {
        "ansible_connection": "ssh",
        "ansible_host": "10.0.0.5",
        "ansible_user": "ops",
        "ansible_become": True,
    }
    assert hostvars["term-016-1"]["ansible_host"] == "term-016-1"
    # no host is reached as a lab container (scrape targets do name the data center's)
    reach = [v for h in hostvars.values() for k, v in h.items() if k.startswith("ansible_")]
    assert not any("dvc-" in str(v) for v in reach)
    assert hostvars["prometheus-shard-1"]["ansible_host"] == "prometheus-shard-1"
    assert hostvars["prometheus-shard-2"]["dvc_prometheus_tier"] == "shard"
    assert "prometheus-shard-2" in listing["prometheus"]["hosts"]


def test_staging_desks_are_reached_over_ssh_at_their_planned_addresses(inv, staging, state_dir):
    listing = plain_build(inv, staging)
    hostvars = listing["_meta"]["hostvars"]
    assert sorted(listing["terminals"]["hosts"]) == sorted(staging.containers.terminals)
    desk = hostvars["term-016-1"]
    assert desk["ansible_connection"] == "ssh"
    assert desk["ansible_host"] == staging.hosts["term-016-1"] == "10.214.1.64"
    assert desk["ansible_user"] == "dvc-admin" and desk["ansible_become"] is True
    assert desk["ansible_ssh_private_key_file"] == str(state_dir / "staging/ssh/admin_ed25519")
    assert "StrictHostKeyChecking=yes" in desk["ansible_ssh_common_args"]
    assert str(state_dir / "staging/ssh/known_hosts") in desk["ansible_ssh_common_args"]


def test_staging_data_center_is_reached_through_its_docker_host_over_ssh(inv, staging):
    sms = plain_build(inv, staging)["_meta"]["hostvars"]["sms-1"]
    assert sms["ansible_connection"] == DOCKER_CONNECTION
    assert sms["ansible_host"] == "dvc-staging-kannel"
    assert sms["ansible_docker_extra_args"] == "--host ssh://dvc-deploy@127.0.0.1:2622"
    assert plain_build(inv, staging)["all"]["vars"]["dvc_kind"] == "staging"


def test_the_script_answers_ansible_list_and_host(tmp_path, lab):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "outputs.json").write_text(lab.model_dump_json(), encoding="utf-8")
    env = {**os.environ, "DVC_STATE_DIR": str(tmp_path), "DVC_STACK": "t"}
    env["DVC_PYTHON"] = sys.executable
    listed = subprocess.run(
        [str(REPO / "playbooks" / "inventory.sh"), "--list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "sms-1" in json.loads(listed.stdout)["sms_switchboard"]["hosts"]
    host = subprocess.run(
        [str(REPO / "playbooks" / "inventory.sh"), "--host", "term-016-1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert plain(json.loads(host.stdout))["ansible_host"] == "dvc-t-term-016-1"


def test_the_script_says_to_bring_the_stack_up_when_it_is_not(tmp_path):
    env = {**os.environ, "DVC_STATE_DIR": str(tmp_path), "DVC_PYTHON": sys.executable}
    done = subprocess.run(
        [str(REPO / "playbooks" / "inventory.sh"), "--list", "--stack", "nowhere"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3
    assert "dvc-rollout lab up" in done.stderr


def test_a_lab_mails_and_texts_its_synthetic_contacts_through_its_own_parts(
    tmp_path, monkeypatch, lab, production
) -> None:
    from playbooks.inventory import alerting_vars

    monkeypatch.setenv("DVC_STATE_DIR", str(tmp_path))
    assert "dvc_oncall_file" not in alerting_vars(lab)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "oncall.yaml").write_text("contacts: []\n", encoding="utf-8")
    found = alerting_vars(lab)
    assert found == {
        "dvc_sms_relay_url": "http://dvc-t-exporter-sms-relay:9606/sms",
        "dvc_smtp_smarthost": "dvc-t-smtp:2525",
        "dvc_smtp_from": "dvc-canhbao@lab.invalid",
        "dvc_smtp_auth_username": "alertmanager",
        "dvc_smtp_require_tls": False,
        "dvc_oncall_file": str(tmp_path / "t" / "oncall.yaml"),
    }
    # Production names its own smarthost in its vars; a stack file is never a lab's contacts.
    assert set(alerting_vars(production)) == {"dvc_sms_relay_url"}


def test_the_stacks_heartbeat_url_reaches_alertmanagers_renderer(inv, lab, production):
    """Without it configure would render an Alertmanager whose watchdog reaches no one."""
    stack_vars = plain_build(inv, lab)["all"]["vars"]
    assert stack_vars["dvc_alertmanager_heartbeat_url"] == "http://dvc-t-deadman:9095/heartbeat/dvc"
    prod_vars = plain_build(inv, production)["all"]["vars"]
    assert (
        prod_vars["dvc_alertmanager_heartbeat_url"] == "https://heartbeat.to-be-filled.invalid/dvc"
    )
    no_switch = lab.model_copy(update={"heartbeat_url": ""})
    assert "dvc_alertmanager_heartbeat_url" not in plain_build(inv, no_switch)["all"]["vars"]
