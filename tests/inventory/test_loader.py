"""Bad inventories: every problem found in one pass, each naming file, path and expectation."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

import inventory
from inventory import InventoryError


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _problems(directory: Path) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        inventory.load(directory)
    return [str(p) for p in caught.value.problems]


def test_shipped_inventory_is_valid() -> None:
    assert inventory.load().stats()["pairs"] == 2676


def test_missing_directory() -> None:
    with pytest.raises(InventoryError, match="is not a directory"):
        inventory.load("/nonexistent/inventory")


def test_missing_file(data_copy: Path) -> None:
    (data_copy / "oncall.yaml").unlink()
    assert _problems(data_copy) == [
        f"oncall.yaml: file is missing: expected it at {data_copy}/oncall.yaml"
    ]


def test_slash_date(data_copy: Path) -> None:
    _edit(data_copy / "plan.yaml", "go_live: 2017-07-15", "go_live: 15/7/2017")
    assert _problems(data_copy) == [
        "plan.yaml: phases[0].go_live: expected an ISO date written YYYY-MM-DD (e.g. 2017-07-15); "
        "got '15/7/2017'"
    ]


def test_all_problems_reported_at_once(data_copy: Path) -> None:
    _edit(data_copy / "plan.yaml", "go_live: 2017-08-15", "go_live: 15/8/2017")
    _edit(data_copy / "units.yaml", 'code: "00379"', "code: 379")
    _edit(data_copy / "oncall.yaml", "receiver: oncall-016,", "reciever: oncall-016,")
    found = _problems(data_copy)
    assert any(p.startswith("plan.yaml: phases[1].go_live: expected an ISO date") for p in found)
    assert any(p.startswith("units.yaml: units[1].code: expected text") for p in found)
    assert "oncall.yaml: contacts[0].receiver: is missing: add it" in found
    assert any(p.startswith("oncall.yaml: contacts[0].reciever: is not a known key") for p in found)


def test_unknown_district_reference(data_copy: Path) -> None:
    _edit(data_copy / "units.yaml", 'district: "016"}', 'district: "999"}')
    assert _problems(data_copy) == [
        "units.yaml: units[0].district: unknown district '999': "
        "expected one of the codes under districts"
    ]


def test_duplicate_code(data_copy: Path) -> None:
    _edit(data_copy / "units.yaml", 'code: "00379"', 'code: "00376"')
    assert any(
        "units[1]: unit code '00376' is already used at units[0]" in p for p in _problems(data_copy)
    )


def test_duplicate_key_is_not_silently_dropped(data_copy: Path) -> None:
    _edit(
        data_copy / "plan.yaml",
        "    level: district\n",
        "    level: district\n    level: commune\n",
    )
    assert any("key 'level' appears twice" in p for p in _problems(data_copy))


def test_phase_service_of_wrong_level(data_copy: Path) -> None:
    _edit(
        data_copy / "plan.yaml",
        "    level: district\n",
        "    level: district\n    services: [d-civil-extract, c-marriage]\n",
    )
    assert _problems(data_copy) == [
        "plan.yaml: phases[0].services[1]: service 'c-marriage' is commune-level but the phase is "
        "district-level"
    ]


def test_plan_figures_checked_against_scope(data_copy: Path) -> None:
    _edit(
        data_copy / "plan.yaml",
        "expected: {services: 6, units: 416}",
        "expected: {services: 6, units: 415}",
    )
    assert _problems(data_copy) == [
        "plan.yaml: phases[1].expected.units: the plan says 415 but the inventory has 416 "
        "commune-level units in scope"
    ]


def test_service_level_must_match_group(data_copy: Path) -> None:
    _edit(
        data_copy / "services.yaml",
        "{code: c-marriage, group: marriage-registration, level: commune,",
        "{code: c-marriage, group: marriage-registration, level: district,",
    )
    found = _problems(data_copy)
    assert any(
        "services[10].level: is 'district' but its group 'marriage-registration' is 'commune'" in p
        for p in found
    )


def test_site_missing_for_unit_in_scope(data_copy: Path) -> None:
    _edit(data_copy / "sites.yaml", '  - {unit: "00379"}\n', "")
    assert _problems(data_copy) == [
        "sites.yaml: sites: has no site for 00379 (Xã Bắc Sơn), which is in scope: "
        'add `- {unit: "00379"}`'
    ]


def test_account_for_unknown_site(data_copy: Path) -> None:
    _edit(
        data_copy / "records.yaml",
        "accounts: []",
        'accounts:\n  - {unit: "99999", username: official1, full_name: Thử Nghiệm}',
    )
    assert _problems(data_copy) == [
        "records.yaml: accounts[0].unit: unknown site '99999': expected a unit code from sites.yaml"
    ]


def test_names_must_be_nfc(data_copy: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Huyện Sóc Sơn")
    _edit(data_copy / "units.yaml", "name: Huyện Sóc Sơn", f"name: {decomposed}")
    assert _problems(data_copy) == [
        f"units.yaml: districts[0].name: text {decomposed!r} is not NFC-normalised: re-type it or "
        "normalise the file to NFC"
    ]


def test_non_utf8_bytes(data_copy: Path) -> None:
    path = data_copy / "services.yaml"
    legacy = b"k\xea\xect h\xf4n"  # "kết hôn" as a legacy 8-bit editor would save it
    path.write_bytes(path.read_bytes().replace("kết hôn".encode(), legacy, 1))
    [problem] = _problems(data_copy)
    assert problem.startswith("services.yaml: line ")
    assert "is not UTF-8" in problem and "save the file as UTF-8" in problem


def test_broken_yaml(data_copy: Path) -> None:
    _edit(data_copy / "sites.yaml", '  - {unit: "016"}', '  - {unit: "016"')
    [problem] = _problems(data_copy)
    assert problem.startswith("sites.yaml: line ")
    assert "is not valid YAML" in problem


def test_records_override_for_the_lab(tmp_path: Path) -> None:
    records = tmp_path / "records.yaml"
    records.write_text(
        'accounts:\n  - {unit: "00376", username: cb.socson1, full_name: Cán bộ thử nghiệm 1}\n'
        "training:\n"
        '  - {unit: "00376", date: 2017-07-01, attendees: 2, topic: Hướng dẫn sử dụng}\n',
        encoding="utf-8",
    )
    inv = inventory.load(records=records)
    assert [a.username for a in inv.sites["00376"].accounts] == ["cb.socson1"]
    assert len(inv.sites["00376"].training) == 1


def test_recorded_staffing_replaces_planned(tmp_path: Path) -> None:
    records = tmp_path / "records.yaml"
    records.write_text(
        'helpdesk:\n  - {unit: "00376", staff: 2, volunteers: 3}\n', encoding="utf-8"
    )
    site = inventory.load(records=records).sites["00376"]
    assert (site.helpdesk.staff, site.helpdesk.volunteers) == (2, 3)


def test_staffing_recorded_twice(data_copy: Path) -> None:
    _edit(
        data_copy / "records.yaml",
        "helpdesk: []",
        'helpdesk:\n  - {unit: "00376", staff: 1}\n  - {unit: "00376", staff: 2}',
    )
    assert _problems(data_copy) == [
        "records.yaml: helpdesk[1].unit: staffing of 00376 is already recorded at helpdesk[0]: "
        "keep one entry per site"
    ]


WINDOWS = """maintenance_windows:
  - name: sunday-night
    reason: "Sao lưu / backup"
    districts: ["016", "999"]
    time_intervals:
      - weekdays: [sunday, "monday:friday"]
        times: [{start_time: "23:00", end_time: "01:00"}]
  - name: sunday-night
    reason: again
    time_intervals:
      - weekdays: [funday]
"""


def test_maintenance_windows_are_checked_like_the_rest(data_copy: Path) -> None:
    path = data_copy / "oncall.yaml"
    text = path.read_text(encoding="utf-8").replace("maintenance_windows: []\n", WINDOWS)
    path.write_text(text, encoding="utf-8")
    found = _problems(data_copy)
    assert any(
        p.startswith("oncall.yaml: maintenance_windows[1].time_intervals[0].weekdays[0]")
        for p in found
    ), found
    text = text.replace("[funday]", "[sunday]")
    path.write_text(text, encoding="utf-8")
    found = _problems(data_copy)
    assert sorted(found) == [
        "oncall.yaml: maintenance_windows[0].districts[1]: unknown district '999': "
        "expected a code from units.yaml",
        "oncall.yaml: maintenance_windows[0].time_intervals[0].times[0]: starts at 23:00, not "
        "before its end 01:00: a window over midnight is two ranges (22:00-24:00, 00:00-02:00)",
        "oncall.yaml: maintenance_windows[1]: name 'sunday-night' is already used at "
        "maintenance_windows[0]: codes must be unique",
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "0912 345 678"), ("phone", "{{ x }}"), ("email", "{{ x }}@a.b"), ("email", "a@b")],
)
def test_contact_addresses_are_plain(data_copy: Path, field: str, value: str) -> None:
    line = '{district: "016", receiver: oncall-016, team: null, phone: null, email: null,'
    fixed = line.replace(f"{field}: null", f"{field}: '{value}'")
    _edit(data_copy / "oncall.yaml", line, fixed)
    found = _problems(data_copy)
    assert len(found) == 1 and found[0].startswith(f"oncall.yaml: contacts[0].{field}:"), found


def test_oncall_override_for_the_lab(tmp_path: Path) -> None:
    lab = tmp_path / "oncall.yaml"
    lab.write_text(
        "contacts: []\ncity: {email: dc@lab.invalid, phone: '840000000001'}\n", encoding="utf-8"
    )
    inv = inventory.load(oncall=lab)
    assert inv.oncall == {} and inv.oncall_file.city is not None
    assert inv.oncall_file.city.email == "dc@lab.invalid"
