"""The shipped inventory says what plan 169/KH-UBND says, and lookups find what people type."""

from __future__ import annotations

from collections import Counter

import pytest

import inventory
from inventory.errors import LookupProblem


@pytest.fixture(scope="module")
def inv() -> inventory.Inventory:
    return inventory.load()


def test_plan_figures(inv: inventory.Inventory) -> None:
    s = inv.stats()
    assert (s["districts"], s["units"], s["services"], s["phases"]) == (18, 416, 16, 2)
    assert s["pairs"] == 180 + 2496 == 2676
    assert s["sites"] == 18 + 416


def test_phases_computed_from_levels(inv: inventory.Inventory) -> None:
    assert {s.level for s in inv.phase_services(1)} == {"district"}
    assert len(inv.phase_services(1)) == 10
    assert len(inv.phase_places(1)) == 18
    assert {p.level for p in inv.phase_places(2)} == {"commune"}
    assert len(inv.phase_services(2)) == 6
    assert str(inv.phases[1].go_live) == "2017-07-15"
    assert str(inv.phases[2].go_live) == "2017-08-15"


def test_unit_types_match_source(inv: inventory.Inventory) -> None:
    assert Counter(u.type for u in inv.units.values()) == {"xã": 386, "thị trấn": 21, "phường": 9}
    assert Counter(d.type for d in inv.districts.values()) == {"huyện": 17, "thị xã": 1}


def test_variant_groups_are_numbered_not_named(inv: inventory.Inventory) -> None:
    sizes = Counter(s.group for s in inv.services.values() if s.variant)
    assert sizes == {"pavement-permit": 3, "building-permit": 2, "video-game-point": 4}
    assert all(s.name_to_be_filled for s in inv.services.values() if s.variant)


def test_pair_labels_are_the_metric_label_set(inv: inventory.Inventory) -> None:
    pair = next(p for p in inv.pairs(2) if p.place.code == "10354")
    assert pair.labels == {
        "phase": "2",
        "level": "commune",
        "district": "Huyện Ứng Hòa",
        "district_code": "281",
        "unit": "Thị trấn Vân Đình",
        "unit_code": "10354",
        "service": "c-marriage",
    }
    assert len({tuple(p.labels.values()) for p in inv.pairs()}) == 2676


def test_pairs_by_district(inv: inventory.Inventory) -> None:
    ung_hoa = inv.pairs(districts=["281"])
    assert len(ung_hoa) == 10 + 29 * 6
    assert {p.place.district_code for p in ung_hoa} == {"281"}


def test_sites_carry_defaults_and_phases(inv: inventory.Inventory) -> None:
    site = inv.sites["016"]
    assert site.phases == (1,)
    assert (site.equipment.terminals, site.equipment.printers, site.equipment.scanners) == (1, 1, 1)
    assert site.helpdesk.staff is None  # to be filled by the teams
    assert site.terminal_hosts == ("term-016-1",)
    assert len(inv.sites_in(2, districts=["016"])) == 26


def test_oncall_is_marked_to_be_filled(inv: inventory.Inventory) -> None:
    assert len(inv.oncall) == 18
    assert all(c.phone is None and c.email is None for c in inv.oncall.values())


@pytest.mark.parametrize(
    "query", ["Ứng Hòa", "Ứng Hoà", "ung hoa", "UNG HOA", "281", "Huyện Ứng Hoà"]
)
def test_find_district_however_typed(inv: inventory.Inventory, query: str) -> None:
    assert inv.find(query).code == "281"


def test_find_unit_by_name_without_diacritics(inv: inventory.Inventory) -> None:
    assert inv.find("xa duc hoa", kind="unit").code == "00430"
    assert inv.find("Đức Hòa", kind="unit").code == "00430"


def test_find_service_by_english_name(inv: inventory.Inventory) -> None:
    assert inv.find("marriage registration").code == "c-marriage"


def test_ambiguous_name_lists_candidates(inv: inventory.Inventory) -> None:
    with pytest.raises(
        LookupProblem, match=r"(?s)matches 2 places.*00406.*Sóc Sơn.*10240.*Thường Tín"
    ):
        inv.find("tan minh")


def test_kind_resolves_district_against_its_township(inv: inventory.Inventory) -> None:
    with pytest.raises(LookupProblem, match=r"(?s)016.*district.*00376.*thị trấn"):
        inv.find("Sóc Sơn")
    assert inv.find("Sóc Sơn", kind="district").code == "016"


def test_unknown_name_says_what_to_do(inv: inventory.Inventory) -> None:
    with pytest.raises(LookupProblem, match=r"no unit matches 'Atlantis'.*official code"):
        inv.find("Atlantis", kind="unit")


def test_unknown_phase(inv: inventory.Inventory) -> None:
    with pytest.raises(LookupProblem, match="no phase 3 in plan 169/KH-UBND: phases are 1, 2"):
        inv.phase(3)
