"""status.xml parsing on bodies recorded from a real Kannel 1.4.5 (one test per fixture)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from exporters.kannel.status import KannelStatusError, StatusDenied, StatusMalformed, parse

FIXTURES = Path(__file__).parent / "fixtures" / "kannel"
CASES = sorted(FIXTURES.glob("*.xml"))


def _parsed(body: str) -> object:
    """The parse as JSON would store it (tuples become lists), or the error reason."""
    try:
        return json.loads(json.dumps(dataclasses.asdict(parse(body))))
    except KannelStatusError as e:
        return {"error": e.reason}


@pytest.mark.parametrize("xml_file", CASES, ids=[c.stem for c in CASES])
def test_parse_matches_recorded_expectation(xml_file: Path) -> None:
    expected = json.loads(xml_file.with_suffix(".json").read_text(encoding="utf-8"))
    assert _parsed(xml_file.read_text(encoding="utf-8")) == expected


def test_every_fixture_has_an_expectation() -> None:
    assert len(CASES) >= 5
    assert all(c.with_suffix(".json").exists() for c in CASES)


def test_denied_body_is_never_a_healthy_gateway() -> None:
    body = (FIXTURES / "denied.xml").read_text(encoding="utf-8")
    with pytest.raises(StatusDenied, match="KANNEL_STATUS_PASSWORD"):
        parse(body)


def test_healthy_fixture_reads_the_loopback_smsc_online() -> None:
    status = parse((FIXTURES / "healthy.xml").read_text(encoding="utf-8"))
    by_id = {s.id: s for s in status.smscs}
    assert status.state == "running"
    assert by_id["loopback"].online
    assert not by_id["upstream"].online


def test_uptime_counts_days_hours_minutes_seconds() -> None:
    body = (FIXTURES / "healthy.xml").read_text(encoding="utf-8")
    body = body.replace("running, uptime 0d 0h 10m 30s", "running, uptime 2d 3h 4m 5s")
    assert parse(body).uptime_seconds == ((2 * 24 + 3) * 60 + 4) * 60 + 5


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("not xml at all", "is not XML"),
        ("<html><body>502</body></html>", "root is <html>"),
        ("<gateway><status>garbage</status></gateway>", "'garbage' has no 'STATE, uptime"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(body: str, match: str) -> None:
    with pytest.raises(StatusMalformed, match=match):
        parse(body)


def test_non_numeric_counter_names_the_element() -> None:
    body = (FIXTURES / "healthy.xml").read_text(encoding="utf-8")
    body = body.replace("<storesize>-1</storesize>", "<storesize>lots</storesize>")
    with pytest.raises(StatusMalformed, match=r"<sms/storesize> is 'lots'"):
        parse(body)
