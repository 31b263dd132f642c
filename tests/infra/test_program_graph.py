"""The lab stack's resource graph, built under engine-free Pulumi mocks (no Docker)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.lab import stackfile
from infra.lab.inprocess import ProgramRun, run_program
from infra.lab.recording import RecordingMocks
from infra.lab.specs import unwrap
from infra.stackconfig import SECRET_KEYS

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def run_lab(sample: dict[str, Any] | None = None) -> ProgramRun:
    config = stackfile.load("lab")
    if sample is not None:
        config["dvc-rollout:sample"] = sample
    config.update({f"dvc-rollout:{k}": f"not-a-real-{k}" for k in SECRET_KEYS})
    return run_program(
        RecordingMocks(),
        stack="unit",
        config=config,
        secret_keys=[f"dvc-rollout:{k}" for k in SECRET_KEYS],
    )


@pytest.fixture(scope="module")
def lab() -> ProgramRun:
    return run_lab()


def containers(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.state["name"]: r.state for r in run.of_type(CONTAINER)}


def networks(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.state["name"]: r.state for r in run.of_type(NETWORK)}


def test_default_sample_has_a_network_per_district(lab: ProgramRun) -> None:
    assert sorted(n for n in networks(lab) if n[len("dvc-unit-d") :].isdigit()) == [
        "dvc-unit-d016",
        "dvc-unit-d017",
    ]
    assert set(lab.outputs["networks"]["districts"]) == {"016", "017"}


def test_chosen_sample_gets_its_districts_and_desks() -> None:
    run = run_lab({"districts": ["Huyện Gia Lâm", "020", "Thị xã Sơn Tây"], "unitsPerDistrict": 1})
    assert sorted(run.outputs["networks"]["districts"]) == ["018", "020", "269"]
    terminals = run.outputs["containers"]["terminals"]
    # each district: its district desk plus one commune desk
    assert len(terminals) == 6
    assert "term-018-1" in terminals


def test_data_network_is_internal_and_front_networks_are_not(lab: ProgramRun) -> None:
    nets = networks(lab)
    assert nets["dvc-unit-data"]["internal"] is True
    assert not nets["dvc-unit-dmz"].get("internal")
    assert not nets["dvc-unit-mgmt"].get("internal")


def test_every_port_is_published_on_loopback_only(lab: ProgramRun) -> None:
    for name, state in containers(lab).items():
        for port in unwrap(state.get("ports") or []):
            assert port["ip"] == "127.0.0.1", f"{name} publishes {port} beyond loopback"


def test_database_publishes_nothing_and_sits_on_the_data_network_only(lab: ProgramRun) -> None:
    db = containers(lab)["dvc-unit-postgres"]
    assert not db.get("ports")
    assert [n["name"] for n in unwrap(db["networksAdvanced"])] == ["dvc-unit-data"]


def test_kannel_admin_is_published_on_loopback(lab: ProgramRun) -> None:
    kannel = containers(lab)["dvc-unit-kannel"]
    admin = [p for p in unwrap(kannel["ports"]) if p["internal"] == 13000]
    assert admin and all(p["ip"] == "127.0.0.1" for p in admin)


@pytest.mark.parametrize("name", ["postgres", "kannel", "portal"])
def test_containers_holding_credentials_get_them_as_secrets(lab: ProgramRun, name: str) -> None:
    envs = containers(lab)[f"dvc-unit-{name}"]["envs"]
    assert isinstance(envs, dict) and SECRET_SIG in envs, f"{name} envs are not secret"


def test_credentials_output_is_secret_and_others_are_not(lab: ProgramRun) -> None:
    assert lab.secret_outputs == {"credentials"}
    assert lab.outputs["credentials"]["db_password"] == "not-a-real-dbPassword"


def test_every_container_has_a_healthcheck_and_a_restart_policy(lab: ProgramRun) -> None:
    found = containers(lab)
    assert len(found) >= 15
    for name, state in found.items():
        check = unwrap(state.get("healthcheck") or {})
        assert check.get("tests"), f"{name} has no healthcheck"
        assert state.get("restart") in ("always", "unless-stopped"), f"{name} restart policy"


def test_every_container_carries_the_stack_labels(lab: ProgramRun) -> None:
    for name, state in containers(lab).items():
        labels = {x["label"]: x["value"] for x in unwrap(state["labels"])}
        assert labels["dvc-rollout.stack"] == "unit", name
        assert labels["dvc-rollout.managed"] == "true", name


def test_terminals_join_only_their_district_network(lab: ProgramRun) -> None:
    for host, cname in lab.outputs["containers"]["terminals"].items():
        district = lab.outputs["sample"]["districts"]
        code = next(d["code"] for d in district if host.split("-")[1] in d["sites"])
        nets = [n["name"] for n in unwrap(containers(lab)[cname]["networksAdvanced"])]
        assert nets == [f"dvc-unit-d{code}"]


def test_nginx_joins_every_district_network(lab: ProgramRun) -> None:
    nets = {n["name"] for n in unwrap(containers(lab)["dvc-unit-nginx"]["networksAdvanced"])}
    assert {"dvc-unit-dmz", "dvc-unit-app", "dvc-unit-d016", "dvc-unit-d017"} <= nets


def test_endpoints_are_loopback_urls(lab: ProgramRun) -> None:
    endpoints = lab.outputs["endpoints"]
    assert endpoints["nginx"].startswith("http://127.0.0.1:")
    assert set(endpoints["smsc_sim"]) == {"sim-a", "sim-b"}
    assert endpoints["ntp"].startswith("udp://127.0.0.1:")


def test_portal_catalog_lists_every_inventory_place_and_service(lab: ProgramRun) -> None:
    import json

    import inventory

    inv = inventory.load()
    portal = containers(lab)["dvc-unit-portal"]
    (upload,) = unwrap(portal["uploads"])
    catalog = json.loads(upload["content"])
    assert len(catalog["units"]) == len(inv.places)
    assert len(catalog["services"]) == len(inv.services)


def test_every_network_and_volume_carries_the_stack_label(lab: ProgramRun) -> None:
    kinds = ("docker:index/network:Network", "docker:index/volume:Volume")
    found = [r for kind in kinds for r in lab.of_type(kind)]
    assert len(found) >= 6 + 3  # 4 data-center + 2 district networks; pg, prometheus, am data
    for reg in found:
        labels = {x["label"]: x["value"] for x in unwrap(reg.state["labels"])}
        assert labels.get("dvc-rollout.stack") == "unit", reg.state["name"]
