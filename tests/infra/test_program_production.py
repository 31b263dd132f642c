"""The production stack's graph: every district, remote host, SMPP telcos, no lab parts."""

from __future__ import annotations

from typing import Any

import pytest

import inventory
from infra.lab import stackfile
from infra.lab.inprocess import ProgramRun, run_program
from infra.lab.recording import RecordingMocks
from infra.lab.specs import unwrap
from infra.stackconfig import SECRET_KEYS


@pytest.fixture(scope="module")
def production() -> ProgramRun:
    config: dict[str, Any] = stackfile.load("production")
    config.update({f"dvc-rollout:{k}": f"not-a-real-{k}" for k in SECRET_KEYS})
    config["dvc-rollout:smppPasswords"] = {"telco-1": "not-a-real-smpp"}
    secret = [f"dvc-rollout:{k}" for k in (*SECRET_KEYS, "smppPasswords")]
    return run_program(RecordingMocks(), stack="production", config=config, secret_keys=secret)


def test_production_has_a_network_per_district(production: ProgramRun) -> None:
    assert len(inventory.load().districts) == 18
    districts = production.outputs["networks"]["districts"]
    assert sorted(districts) == sorted(inventory.load().districts)
    assert len(districts) == 18


def test_production_runs_no_lab_stand_ins(production: ProgramRun) -> None:
    containers = production.outputs["containers"]
    assert containers["terminals"] == {}
    assert containers["smsc_sim"] == {}
    assert containers["webhook"] is None


def test_production_uses_the_remote_docker_host(production: ProgramRun) -> None:
    (provider,) = production.of_type("pulumi:providers:docker")
    assert str(provider.state["host"]).startswith("ssh://")


def test_production_kannel_gets_smpp_links_with_secret_passwords(production: ProgramRun) -> None:
    (kannel,) = [
        r
        for r in production.of_type("docker:index/container:Container")
        if r.state["name"] == "dvc-production-kannel"
    ]
    assert "4dabf18193072939515e22adb298388d" in kannel.state["envs"]
    envs = unwrap(kannel.state["envs"])
    assert any(e.startswith("SMSC_SMPP=telco-1=") for e in envs)
    assert "SMPP_PASSWORD_TELCO_1=not-a-real-smpp" in envs
    assert not any(
        e.startswith(("SMPP_ENQUIRE_LINK_INTERVAL=", "SMPP_CONNECTION_TIMEOUT=")) for e in envs
    )


def test_production_stack_file_holds_no_secret_values() -> None:
    text = (stackfile.REPO_ROOT / "Pulumi.production.yaml").read_text()
    config = stackfile.load("production")
    for key in SECRET_KEYS:
        assert f"dvc-rollout:{key}" not in config
        assert f"--secret dvc-rollout:{key}" in text
