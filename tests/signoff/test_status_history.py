"""The status page's history against a real Prometheus holding two days of backfilled series.

The recording rules' series and `ALERTS` are written as history (promtool backfill, the
sign-off bench's stand), so the uptime bars and the incident timeline are read the way
the page reads them in production: `query_range` on Debian's Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bench import prometheus_stand
from signoff import status_history
from signoff.adapters import Prometheus
from signoff.times import HANOI

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
PAIR = 'district="Huyện Sóc Sơn",district_code="016",service="c-marriage"'
ALERT = (
    'alertname="DvcServiceDown",alertstate="firing",district="Huyện Sóc Sơn",'
    'district_code="016",service="c-marriage",severity="warning",unit="Xã Bắc Sơn"'
)
NAMES = status_history.Names({"c-marriage": ("Đăng ký kết hôn", "Marriage registration")})


def _history() -> str:
    """Two days, a sample every 5 min: the pair down during the hour ending 3 h ago (0.5),
    the SMS round trip always up, and one DvcServiceDown firing 3h30 -> 3h10 ago."""
    lines = []
    start = NOW - timedelta(days=2)
    for name, labels, value in (
        ("dvc:district_service_availability:ratio_1h", PAIR, None),
        ("dvc:district_service_availability:ratio_24h", PAIR, 0.98),
        ("dvc:component_availability:ratio_1h", 'component="sms_end_to_end"', 1.0),
        ("dvc:component_availability:ratio_24h", 'component="sms_end_to_end"', 1.0),
    ):
        lines.append(f"# TYPE {name} gauge")
        t = start
        while t <= NOW:
            v = value if value is not None else (0.5 if t == NOW - timedelta(hours=3) else 1.0)
            lines.append(f"{name}{{{labels}}} {v} {t.timestamp():.0f}")
            t += timedelta(minutes=5)
    lines.append("# TYPE ALERTS gauge")
    t = NOW - timedelta(minutes=210)
    while t <= NOW - timedelta(minutes=190):
        lines.append(f"ALERTS{{{ALERT}}} 1 {t.timestamp():.0f}")
        t += timedelta(seconds=30)
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    tmp = tmp_path_factory.mktemp("history")
    (tmp / "history.om").write_text(_history(), encoding="utf-8")
    prometheus_stand.backfill(tmp / "history.om", tmp / "data")
    with prometheus_stand.serve(tmp / "data", ("availability",), 60) as url:
        yield Prometheus(url)


def test_bars_per_hour_and_day_with_the_bad_hour_and_no_data_as_such(prometheus) -> None:
    found = status_history.uptime(prometheus, NOW + timedelta(minutes=1), NAMES)
    (row,) = found["services"]
    assert (row["district_code"], row["service_name"]) == ("016", "Đăng ký kết hôn")
    hours = [b["value"] for b in row["24h"]]
    assert len(hours) == 24 and hours[-4] == 0.5 and hours.count(1.0) == 23
    days = [b["value"] for b in row["7d"]]
    assert len(days) == 7 and days[-2:] == [0.98, 0.98] and days[:4] == [None] * 4
    assert row["24h"][-1]["to"].endswith("(UTC+7)")
    sms, citizen = found["panels"]
    assert [r["component"] for r in sms["rows"]] == ["sms_gateway", "sms_end_to_end"]
    assert [b["value"] for b in sms["rows"][0]["24h"]] == [None] * 24  # no data: grey
    assert [b["value"] for b in sms["rows"][1]["24h"]] == [1.0] * 24
    assert citizen["rows"][0]["component"] == "citizen_db"


def test_the_timeline_has_the_incident_with_its_start_end_and_names(prometheus) -> None:
    (incident,) = status_history.incidents(prometheus, NOW, NAMES)
    started = datetime.strptime(incident["started"], "%Y-%m-%d %H:%M:%S (UTC+7)")
    began = (NOW - timedelta(minutes=210)).astimezone(HANOI).replace(tzinfo=None)
    assert abs(started - began) <= timedelta(minutes=2), incident  # to within a step
    assert incident["ended"] and incident["ended"].endswith("(UTC+7)")
    assert 18 <= incident["minutes"] <= 24
    assert (incident["district"], incident["service"]) == ("Huyện Sóc Sơn", "Đăng ký kết hôn")
    assert incident["summary_vi"] == "DvcServiceDown"  # the stand has no rules loaded
    assert 0 < incident["left"] < 100


def test_summaries_fill_labels_with_names_and_drop_what_only_firing_knew() -> None:
    template = (
        "Dịch vụ {{ $labels.service }} tại {{ $labels.unit }}: {{ $value | humanizePercentage }}"
    )
    labels = {"service": "c-marriage", "unit": "Xã Bắc Sơn"}
    assert status_history.render_summary(template, labels, NAMES) == (
        "Dịch vụ Đăng ký kết hôn tại Xã Bắc Sơn:"
    )


def test_every_service_has_its_own_name_on_the_page() -> None:
    """The district and the commune civil-extract services share a name in the plan:
    the page says which level each row is, and every other name stays as the plan gives it."""
    from signoff import status

    known = status.names().services
    shown = [vi for vi, _en in known.values()]
    assert len(shown) == len(set(shown)), sorted(shown)
    assert known["d-civil-extract"][0] == "Cấp bản sao trích lục hộ tịch (cấp huyện)"
    assert known["c-civil-extract"] == (
        "Cấp bản sao trích lục hộ tịch (cấp xã)",
        "Copies of civil-status extracts (commune level)",
    )
    assert known["c-marriage"] == ("Đăng ký kết hôn", "Marriage registration")
