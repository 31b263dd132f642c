"""Selecting hosts from the inventory: phases, districts and units by code or plain name."""

from __future__ import annotations

from pathlib import Path

import pytest

import inventory
from checks.selection import (
    DATACENTER_ROLES,
    Options,
    datacenter_targets,
    estate,
    read_targets,
    resolve_sites,
    terminal_targets,
    write_targets,
)
from dvc_rollout.errors import UsageError


@pytest.fixture(scope="module")
def inv() -> inventory.Inventory:
    return inventory.load()


def test_phase_one_is_the_18_district_sites(inv: inventory.Inventory) -> None:
    sites = resolve_sites(inv, 1)
    assert len(sites) == 18 and all(s.place.level == "district" for s in sites)


def test_phase_two_is_the_416_commune_sites(inv: inventory.Inventory) -> None:
    assert len(resolve_sites(inv, 2)) == 416


def test_a_district_without_diacritics_narrows_the_selection(inv: inventory.Inventory) -> None:
    by_name = resolve_sites(inv, 2, districts=["Soc Son"])
    assert by_name == resolve_sites(inv, 2, districts=["016"])
    assert {s.place.district_code for s in by_name} == {"016"}


def test_a_unit_by_plain_name_selects_its_site(inv: inventory.Inventory) -> None:
    code = "00376"
    plain = inv.places[code].name
    assert [s.code for s in resolve_sites(inv, 2, units=[plain])] == [code]


def test_a_unit_outside_the_phase_is_a_usage_error(inv: inventory.Inventory) -> None:
    with pytest.raises(UsageError, match="no site of phase 1 matches"):
        resolve_sites(inv, 1, units=["00376"])


def test_an_unknown_phase_names_the_known_ones(inv: inventory.Inventory) -> None:
    with pytest.raises(UsageError, match="phases are 1, 2"):
        resolve_sites(inv, 7)


def test_lab_targets_are_the_stack_containers(inv: inventory.Inventory) -> None:
    sites = resolve_sites(inv, 1, districts=["016"])
    [target] = terminal_targets(
        sites, 1, Options(backend="docker", stack="lab", portal_url="http://p", kind="lab")
    )
    assert target.uri == "docker://dvc-lab-term-016-1"
    assert target.expected_hostname == "dvc-lab-term-016-1"
    assert (target.site_code, target.district_code, target.phase) == ("016", "016", "1")
    assert target.print_test


def test_production_targets_are_reached_over_ssh_by_inventory_name(
    inv: inventory.Inventory,
) -> None:
    sites = resolve_sites(inv, 1, districts=["016"])
    [target] = terminal_targets(sites, 1, Options(backend="ssh"))
    assert (target.uri, target.expected_hostname, target.print_test) == (
        "ssh://term-016-1",
        "term-016-1",
        False,
    )


def test_a_labs_desks_over_ssh_are_its_containers_and_its_data_center_stays_on_docker(
    inv: inventory.Inventory,
) -> None:
    sites = resolve_sites(inv, 1, districts=["016"])
    options = Options(backend="ssh", stack="lab", ssh_config="/s/ssh config", kind="lab")
    [target] = terminal_targets(sites, 1, options)
    assert (target.uri, target.expected_hostname, target.print_test) == (
        "ssh://term-016-1?ssh_config=/s/ssh%20config",
        "dvc-lab-term-016-1",
        True,
    )
    assert {t.uri for t in datacenter_targets(1, options)} == {
        f"docker://dvc-lab-{role}" for role in DATACENTER_ROLES
    }


def test_production_data_center_is_reached_like_its_desks(inv: inventory.Inventory) -> None:
    options = Options(backend="ssh", ssh_config="/etc/dvc/ssh_config")
    assert {t.uri for t in datacenter_targets(1, options)} == {
        f"ssh://{role}?ssh_config=/etc/dvc/ssh_config" for role in DATACENTER_ROLES
    }


def test_the_ansible_backend_needs_an_inventory(inv: inventory.Inventory) -> None:
    sites = resolve_sites(inv, 1, districts=["016"])
    with pytest.raises(UsageError, match="--ansible-inventory"):
        terminal_targets(sites, 1, Options(backend="ansible"))


def test_only_terminals_present_in_the_lab_are_selected(inv: inventory.Inventory) -> None:
    sites = resolve_sites(inv, 2, districts=["016"])
    targets = terminal_targets(sites, 2, Options(lab_hosts=frozenset({"term-00376-1"})))
    assert [t.host for t in targets] == ["term-00376-1"]


def test_targets_survive_the_trip_to_the_pytest_process(
    inv: inventory.Inventory, tmp_path: Path
) -> None:
    sites = resolve_sites(inv, 1, districts=["016"])
    targets = terminal_targets(sites, 1, Options(portal_url="http://p")) + datacenter_targets(
        1, Options(datacenter_facts={"postgres": {"subnets": ["10.0.0.0/24"]}})
    )
    write_targets(targets, tmp_path / "t.json")
    assert read_targets(tmp_path / "t.json") == targets


def test_a_real_desk_prints_a_test_page_only_when_asked(inv: inventory.Inventory) -> None:
    sites = resolve_sites(inv, 1, districts=["016"])
    quiet = terminal_targets(sites, 1, Options(backend="ssh", stack="production"))
    asked = terminal_targets(
        sites, 1, Options(backend="ssh", stack="production", print_test_pages=True)
    )
    assert [t.print_test for t in quiet] == [False]
    assert [t.print_test for t in asked] == [True]


def test_a_run_records_the_estate_it_checked(inv: inventory.Inventory) -> None:
    sites = resolve_sites(inv, 1, districts=["016"])
    for options, kind in (
        (Options(backend="docker", stack="lab", kind="lab"), "lab"),
        (Options(backend="ssh", stack="production", kind="production"), "production"),
        (Options(backend="ssh", stack="staging", kind="staging"), "staging"),
        (Options(backend="ssh", stack="lab", kind="lab"), "lab"),
    ):
        targets = terminal_targets(sites, 1, options)
        found = estate(options, targets)
        assert (found.stack, found.kind) == (options.stack, kind)
        assert found.where["backend"] == options.backend
        assert found.hosts == {"term-016-1": targets[0].uri}
