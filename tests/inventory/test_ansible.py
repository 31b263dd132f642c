"""The Ansible export groups terminals the way the rollout is run."""

from __future__ import annotations

import inventory
from inventory.ansible import UNSAFE, export, plain, unsafe


def test_every_site_terminal_is_grouped() -> None:
    inv = inventory.load()
    groups = export(inv)
    assert len(groups["terminals"]["hosts"]) == 434
    assert groups["datacenter"] == {"hosts": []}
    assert len(groups["phase_1"]["hosts"]) == 18
    assert len(groups["level_commune"]["hosts"]) == 416
    assert sum(len(groups[f"district_{code}"]["hosts"]) for code in inv.districts) == 434
    assert set(groups["all"]["children"]) >= {"datacenter", "terminals", "phase_1", "district_281"}


def test_hostvars_name_the_site() -> None:
    inv = inventory.load()
    hostvars = plain(export(inv, inv.sites_in(1))["_meta"]["hostvars"])
    assert hostvars["term-281-1"]["dvc_site_name"] == "Bộ phận một cửa Huyện Ứng Hòa"
    assert hostvars["term-281-1"]["dvc_equipment"] == {"terminals": 1, "printers": 1, "scanners": 1}
    assert hostvars["term-281-1"]["dvc_officials"] == []


def test_every_string_leaves_marked_unsafe_and_comes_back_as_it_was() -> None:
    inv = inventory.load()
    exported = export(inv, inv.sites_in(2))
    officials = [{"unit": "00376", "username": "cb1", "full_name": "{{ 7 * 7 }}"}]
    host = exported["_meta"]["hostvars"]["term-00376-1"]
    assert host["dvc_unit_name"] == {UNSAFE: "Thị trấn Sóc Sơn"}
    assert host["dvc_phases"] == [2]
    assert host["dvc_equipment"] == {"terminals": 1, "printers": 1, "scanners": 1}
    assert unsafe(officials) == [
        {
            "unit": {UNSAFE: "00376"},
            "username": {UNSAFE: "cb1"},
            "full_name": {UNSAFE: "{{ 7 * 7 }}"},
        }
    ]
    assert plain(unsafe(officials)) == officials
    assert exported["terminals"]["hosts"][0] == "term-00376-1"  # names stay names
