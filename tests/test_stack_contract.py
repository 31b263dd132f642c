"""The contract between stages, end to end without an engine: each stack's program runs
in-process, and its real outputs go through the Ansible inventory and the check
selection. A production-kind check never selects a lab container."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import inventory
from checks import cli as check_cli
from checks.selection import DATACENTER_ROLES
from dvc_rollout import stack_outputs
from dvc_rollout.errors import UsageError
from dvc_rollout.stack_outputs import StackOutputs
from infra.lab import stackfile
from playbooks.inventory import DOCKER_CONNECTION, build_plain

STACKS = ("lab", "staging", "staging-ci", "production")
Outputs = Callable[..., StackOutputs]


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DVC_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("DVC_CHECK_SSH_PUBKEY", raising=False)
    monkeypatch.delenv("DVC_INVENTORY_RECORDS", raising=False)
    return tmp_path


def _check_args(stack: str, backend: str, phase: int = 1) -> argparse.Namespace:
    return argparse.Namespace(
        phase=phase,
        district=[],
        unit=[],
        stack=stack,
        backend=backend,
        ansible_inventory="",
        ssh_config="",
        portal_url="",
        ntp_server="",
        records=None,
        no_datacenter=False,
        print_test_pages=False,
    )


@pytest.mark.parametrize("stack", STACKS)
def test_the_program_exports_exactly_the_contract(program_outputs: Outputs, stack: str) -> None:
    outputs = program_outputs(stack)
    assert outputs.kind == stackfile.load(stack)["dvc-rollout:kind"]
    assert outputs.stack == stack
    # every field the model has, the program exports (parse() refuses any other)
    exported = set(outputs.model_dump(exclude_unset=True))
    assert exported == set(StackOutputs.model_fields)


def test_a_recorded_stack_reads_back_as_it_was_saved(program_outputs: Outputs) -> None:
    outputs = program_outputs("staging")
    stack_outputs.save("staging", outputs.model_dump(mode="json"))
    assert stack_outputs.load("staging") == outputs
    assert stack_outputs.path("staging").stat().st_mode & 0o077 == 0


def test_outputs_without_a_kind_are_refused_never_guessed(state: Path) -> None:
    (state / "old").mkdir()
    (state / "old" / "outputs.json").write_text(json.dumps({"containers": {}}))
    with pytest.raises(UsageError, match=r"kind: Field required"):
        stack_outputs.load("old")


@pytest.mark.parametrize("stack", STACKS)
def test_the_inventory_reaches_each_kind_its_own_way(program_outputs: Outputs, stack: str) -> None:
    outputs = program_outputs(stack)
    listing = build_plain(inventory.load(), outputs)
    hostvars = listing["_meta"]["hostvars"]
    desks = listing["terminals"]["hosts"]
    assert listing["all"]["vars"]["dvc_kind"] == outputs.kind
    if outputs.kind == "lab":
        assert sorted(desks) == sorted(outputs.containers.terminals)
        assert {hostvars[h]["ansible_connection"] for h in hostvars} == {DOCKER_CONNECTION}
    elif outputs.kind == "staging":
        assert sorted(desks) == sorted(outputs.containers.terminals) == sorted(outputs.hosts)
        assert all(hostvars[h]["ansible_connection"] == "ssh" for h in desks)
        assert all(hostvars[h]["ansible_host"] == outputs.hosts[h] for h in desks)
        assert hostvars["sms-1"]["ansible_docker_extra_args"] == f"--host {outputs.docker_host}"
    else:
        assert len(desks) == sum(s.equipment.terminals for s in inventory.load().sites.values())
        assert {hostvars[h]["ansible_connection"] for h in hostvars} == {"ssh"}


@pytest.mark.parametrize("stack", ("lab", "staging"))
def test_the_check_selection_follows_the_recorded_kind(
    program_outputs: Outputs, stack: str
) -> None:
    outputs = program_outputs(stack)
    stack_outputs.save(stack, outputs.model_dump(mode="json"))
    backend = "docker" if stack == "lab" else "ssh"
    targets, _selection, estate = check_cli.select(_check_args(stack, backend))
    assert estate.kind == outputs.kind and estate.stack == stack
    desks = [t for t in targets if t.kind == "terminal"]
    assert sorted(t.host for t in desks) == sorted(
        h
        for h in outputs.containers.terminals
        if h in {f"term-{d.code}-1" for d in outputs.sample.districts}
    )
    for desk in desks:
        assert desk.expected_hostname == outputs.containers.terminals[desk.host]
        assert desk.portal_url == outputs.internal_endpoints.nginx.rstrip("/") + "/"
    if stack == "staging":
        assert all(t.uri.startswith("ssh://term-") for t in desks)
        config = Path(targets[0].uri.split("ssh_config=")[1].replace("%2F", "/"))
        assert f"HostName {outputs.hosts['term-016-1']}" in config.read_text()
        assert estate.where["docker_host"] == outputs.docker_host
        assert {t.uri for t in targets if t.kind == "datacenter"} == {
            f"docker://dvc-staging-{role}" for role in DATACENTER_ROLES
        }


def test_staging_desks_are_not_reached_through_this_machines_docker(
    program_outputs: Outputs,
) -> None:
    stack_outputs.save("staging", program_outputs("staging").model_dump(mode="json"))
    with pytest.raises(UsageError, match=r"staging estate.*--backend ssh"):
        check_cli.select(_check_args("staging", "docker"))


def test_a_production_check_never_selects_a_lab_container(program_outputs: Outputs) -> None:
    """The lab is recorded on this machine; production's check still reaches the estate."""
    stack_outputs.save("lab", program_outputs("lab").model_dump(mode="json"))
    for recorded in (False, True):
        if recorded:
            stack_outputs.save("production", program_outputs("production").model_dump(mode="json"))
        args = _check_args("production", "ssh")
        args.portal_url = "https://dichvucong.example.vn/"
        targets, _selection, estate = check_cli.select(args)
        assert estate.kind == "production"
        assert len([t for t in targets if t.kind == "terminal"]) == 18  # every district desk
        for t in targets:
            assert t.uri.startswith("ssh://"), t.uri
            assert "dvc-" not in t.uri and "dvc-" not in t.expected_hostname
            assert not t.print_test  # no test page on the city's printers
    with pytest.raises(UsageError, match="production estate"):
        check_cli.select(_check_args("production", "docker"))
