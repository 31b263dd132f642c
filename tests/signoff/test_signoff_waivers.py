"""Waivers: valid ones load; expired or malformed ones are errors that say where and what."""

from __future__ import annotations

from datetime import date

import pytest

from signoff import waivers
from signoff.waivers import WaiverError

SITES = ["00376", "00379", "00454"]
ON = date(2017, 8, 14)


def test_valid_waiver_loads_every_field(fixtures):
    [w] = waivers.load(fixtures / "waivers-valid.yaml", SITES, ON)
    assert (w.site, w.criterion, w.expires) == ("00454", "helpdesk", date(2017, 8, 31))
    assert w.reason.startswith("Nhân sự hỗ trợ")


def test_expired_waiver_is_an_error_naming_file_entry_and_field(fixtures):
    path = fixtures / "waivers-expired.yaml"
    with pytest.raises(
        WaiverError,
        match=r"waivers-expired\.yaml: entry 1 \(site 00454\): field 'expires': "
        r"the waiver expired on 2017-08-01",
    ) as info:
        waivers.load(path, SITES, ON)
    assert info.value.exit_code == 2


def test_waiver_valid_on_its_last_day(fixtures):
    assert waivers.load(fixtures / "waivers-expired.yaml", SITES, date(2017, 8, 1))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no-approver", r"entry 1 \(site 00454\): field 'approver' must be a non-empty text"),
        ("criterion", r"entry 1 \(site 00454\): field 'criterion' is 'coffee': use one of"),
        ("date", r"entry 1 \(site 00454\): field 'expires' must be a date YYYY-MM-DD"),
        ("unquoted-site", r"entry 1: field 'site' must be quoted"),
        ("unknown-site", r"entry 1 \(site 99999\): field 'site': '99999' is not a site"),
        ("datacenter", r"entry 1 \(site 00454\): field 'site': criteria sms, citizen_db"),
        ("shape", r"must hold one key, `waivers:`"),
        ("duplicate", r"entry 2 \(site 00454\): repeats entry 1 for criterion 'helpdesk'"),
        ("extra-field", r"entry 1: unknown field\(s\) \['note'\]"),
    ],
)
def test_malformed_waivers_are_errors(fixtures, name, message):
    path = fixtures / f"waivers-bad-{name}.yaml"
    with pytest.raises(WaiverError, match=f"waivers-bad-{name}.yaml: .*{message}"):
        waivers.load(path, SITES, ON)


def test_missing_waivers_file_says_so(tmp_path):
    with pytest.raises(WaiverError, match="no such waivers file"):
        waivers.load(tmp_path / "nope.yaml", SITES, ON)
