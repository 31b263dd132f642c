"""The readiness exporter turns the newest check results into per-site and per-district metrics."""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client.registry import CollectorRegistry

from checks.results import Result, Store
from exporters import serving
from exporters.readiness.collector import ReadinessCollector

NOW = datetime.fromisoformat("2017-07-10T08:10:00+00:00").timestamp()


def _add(
    store: Store,
    run: int,
    site: str,
    check: str,
    outcome: str,
    *,
    host: str = "",
    district: str = "016",
) -> None:
    names = {"016": "Huyện Sóc Sơn", "017": "Huyện Đông Anh"}
    store.add(
        Result(
            run_id=run,
            time="2017-07-10T08:00:00+00:00",
            site_code=site,
            unit=f"Đơn vị {site}",
            host=host or f"term-{site}-1",
            check_id=check,
            outcome=outcome,
            unit_code=site,
            district=names.get(district, ""),
            district_code=district,
            phase="1" if len(site) == 3 else "2",
            go_live="2017-07-15" if len(site) == 3 else "2017-08-15",
        )
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "results.sqlite")
    first = store.start_run({})
    _add(store, first, "016", "printer.queue_enabled", "failed")
    _add(store, first, "016", "scanner.scanner_listed", "passed")
    _add(store, first, "017", "printer.queue_enabled", "passed", district="017")
    _add(store, first, "00376", "printer.queue_enabled", "passed")
    _add(store, first, "00376", "printer.queue_enabled", "failed", host="term-00376-2")
    _add(store, first, "00379", "printer.queue_enabled", "passed")
    _add(store, first, "datacenter", "kannel.smscs_online", "passed", host="kannel", district="")
    second = store.start_run({})
    _add(store, second, "017", "time.time_synchronised", "skipped", district="017")
    return store


def _registry(path: Path) -> CollectorRegistry:
    registry = CollectorRegistry()
    ReadinessCollector(path, registry, clock=lambda: NOW)
    return registry


def _site(site: str, district: str = "016", **extra: str) -> dict[str, str]:
    names = {"016": "Huyện Sóc Sơn", "017": "Huyện Đông Anh"}
    return {
        "site_code": site,
        "unit": f"Đơn vị {site}",
        "district": names[district],
        "district_code": district,
        "phase": "1" if len(site) == 3 else "2",
        **extra,
    }


def test_latest_outcome_per_site_and_check(store: Store) -> None:
    registry = _registry(store.path)
    value = registry.get_sample_value
    assert value("dvc_site_check_ok", _site("016", check="printer.queue_enabled")) == 0.0
    assert value("dvc_site_check_ok", _site("016", check="scanner.scanner_listed")) == 1.0
    assert value("dvc_site_check_ok", _site("017", "017", check="time.time_synchronised")) == 1.0


def test_a_check_failing_on_one_terminal_fails_the_site(store: Store) -> None:
    registry = _registry(store.path)
    assert (
        registry.get_sample_value(
            "dvc_site_check_ok", _site("00376", check="printer.queue_enabled")
        )
        == 0.0
    )
    assert registry.get_sample_value("dvc_site_ready", _site("00376")) == 0.0


def test_ready_ratio_per_district_and_phase(store: Store) -> None:
    registry = _registry(store.path)
    ratio = registry.get_sample_value
    labels = {"district_code": "016", "district": "Huyện Sóc Sơn"}
    assert ratio("dvc_sites_ready_ratio", {**labels, "phase": "1"}) == 0.0
    assert ratio("dvc_sites_ready_ratio", {**labels, "phase": "2"}) == 0.5
    assert (
        ratio(
            "dvc_sites_ready_ratio",
            {"district_code": "017", "district": "Huyện Đông Anh", "phase": "1"},
        )
        == 1.0
    )
    assert ratio("dvc_sites_checked", {**labels, "phase": "2"}) == 2.0


def test_the_data_center_is_no_district(store: Store) -> None:
    registry = _registry(store.path)
    assert (
        registry.get_sample_value(
            "dvc_sites_ready_ratio", {"district_code": "", "district": "", "phase": "1"}
        )
        is None
    )


def test_newest_result_age_and_go_live_dates(store: Store) -> None:
    registry = _registry(store.path)
    assert registry.get_sample_value("dvc_readiness_newest_result_age_seconds") == 600.0
    go_live = registry.get_sample_value("dvc_phase_go_live_timestamp_seconds", {"phase": "1"})
    assert go_live == datetime.fromisoformat("2017-07-15T00:00:00+07:00").timestamp()


def test_no_store_yet_means_no_sites_and_unknown_age(tmp_path: Path) -> None:
    registry = _registry(tmp_path / "missing.sqlite")
    age = registry.get_sample_value("dvc_readiness_newest_result_age_seconds")
    assert age is not None and math.isnan(age)
    assert registry.get_sample_value("dvc_site_ready", _site("016")) is None


@pytest.fixture
def server(store: Store) -> Iterator[str]:
    httpd = serving.Server(("127.0.0.1", 0), serving.exporter_app(_registry(store.path))).start()
    yield f"http://127.0.0.1:{httpd.port}"
    httpd.stop()


def test_metrics_and_health_are_served_over_http(server: str) -> None:
    with urllib.request.urlopen(f"{server}/metrics", timeout=10) as answer:
        body = answer.read().decode()
    assert (
        'dvc_site_ready{district="Huyện Sóc Sơn",district_code="016",phase="1",'
        'site_code="016",unit="Đơn vị 016"} 0.0' in body
    )
    with urllib.request.urlopen(f"{server}/-/healthy", timeout=10) as answer:
        assert answer.status == 200
