"""The readiness exporter turns the newest check results into per-site and per-district metrics."""

from __future__ import annotations

import math
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client.registry import CollectorRegistry

from checks.checkset import terminal_checks
from checks.results import Result, Store
from exporters import serving
from exporters.readiness.collector import ReadinessCollector
from exporters.readiness.scope import ScopedSite

DEBIAN_PYTHON = "/usr/bin/python3"  # as the exporter image runs it
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


def _full(store: Store, run: int, site: str, district: str = "016", **outcomes: str) -> None:
    """Every check of the full set on the site's terminal: passed unless named otherwise."""
    for check in sorted(terminal_checks()):
        _add(
            store,
            run,
            site,
            check,
            outcomes.get(check.replace(".", "__"), "passed"),
            district=district,
        )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "results.sqlite")
    first = store.start_run({})
    _full(store, first, "016", printer__queue_enabled="failed")
    _full(store, first, "017", district="017")
    _full(store, first, "00376")
    _add(store, first, "00376", "printer.queue_enabled", "failed", host="term-00376-2")
    _full(store, first, "00379")
    _add(store, first, "datacenter", "kannel.smscs_online", "passed", host="kannel", district="")
    store.finish_run(first)
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
    assert value("dvc_site_ready", _site("016")) == 0.0
    assert value("dvc_site_ready", _site("017", "017")) == 1.0


def test_a_skipped_check_is_not_ok_and_the_site_is_not_ready(store: Store) -> None:
    """Skipped proves nothing about the desk: the sign-off calls it missing, so does on-call."""
    again = store.start_run({})
    _add(store, again, "017", "time.time_synchronised", "skipped", district="017")
    store.finish_run(again)
    value = _registry(store.path).get_sample_value
    assert value("dvc_site_check_ok", _site("017", "017", check="time.time_synchronised")) == 0.0
    assert value("dvc_site_check_ok", _site("017", "017", check="printer.queue_enabled")) == 1.0
    assert value("dvc_site_ready", _site("017", "017")) == 0.0


def test_a_check_of_the_full_set_never_run_is_not_ok(tmp_path: Path) -> None:
    """A run narrowed to two checks (or older than a check) does not make the desk ready."""
    store = Store(tmp_path / "results.sqlite")
    run = store.start_run({})
    _add(store, run, "00376", "printer.queue_enabled", "passed")
    _add(store, run, "00376", "scanner.scanner_listed", "passed")
    store.finish_run(run)
    value = _registry(store.path).get_sample_value
    assert value("dvc_site_check_ok", _site("00376", check="printer.queue_enabled")) == 1.0
    assert value("dvc_site_check_ok", _site("00376", check="time.time_synchronised")) == 0.0
    assert value("dvc_site_ready", _site("00376")) == 0.0
    assert value("dvc_sites_ready_ratio", _district("016", "2")) == 0.0


def test_a_check_missing_on_one_terminal_of_two_is_not_ok(store: Store) -> None:
    """term-00376-2 ran one check: every other check is missing there."""
    value = _registry(store.path).get_sample_value
    assert value("dvc_site_check_ok", _site("00376", check="browser.browser_installed")) == 0.0
    assert value("dvc_site_check_ok", _site("00379", check="browser.browser_installed")) == 1.0


def test_a_check_failing_on_one_terminal_fails_the_site(store: Store) -> None:
    registry = _registry(store.path)
    assert (
        registry.get_sample_value(
            "dvc_site_check_ok", _site("00376", check="printer.queue_enabled")
        )
        == 0.0
    )
    assert registry.get_sample_value("dvc_site_ready", _site("00376")) == 0.0


def _district(code: str, phase: str) -> dict[str, str]:
    names = {"016": "Huyện Sóc Sơn", "017": "Huyện Đông Anh"}
    return {"district_code": code, "district": names[code], "phase": phase}


def test_ready_ratio_per_district_and_phase(store: Store) -> None:
    ratio = _registry(store.path).get_sample_value
    assert ratio("dvc_sites_ready_ratio", _district("016", "1")) == 0.0
    assert ratio("dvc_sites_ready_ratio", _district("016", "2")) == 0.5
    assert ratio("dvc_sites_ready_ratio", _district("017", "1")) == 1.0
    assert ratio("dvc_sites_checked", _district("016", "2")) == 2.0


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


def test_no_store_yet_means_infinitely_old_results_never_nan(tmp_path: Path) -> None:
    """NaN would compare false with every threshold, so the stale alert could never fire."""
    registry = _registry(tmp_path / "missing.sqlite")
    age = registry.get_sample_value("dvc_readiness_newest_result_age_seconds")
    assert age == math.inf
    assert registry.get_sample_value("dvc_readiness_up") == 1.0
    assert registry.get_sample_value("dvc_site_ready", _site("016")) is None


SCOPE = [
    ScopedSite("016", "Đơn vị 016", "Huyện Sóc Sơn", "016", "1", "2017-07-15"),
    ScopedSite("018", "Đơn vị 018", "Huyện Đông Anh", "017", "1", "2017-07-15"),
    ScopedSite("00376", "Đơn vị 00376", "Huyện Sóc Sơn", "016", "2", "2017-08-15"),
]


def test_a_desk_in_scope_never_checked_is_reported_not_ready(store: Store) -> None:
    registry = CollectorRegistry()
    ReadinessCollector(store.path, registry, clock=lambda: NOW, scope=SCOPE)
    value = registry.get_sample_value
    never = {**_site("018", "017"), "unit": "Đơn vị 018"}
    assert value("dvc_site_checked", never) == 0.0
    assert value("dvc_site_ready", never) == 0.0
    assert value("dvc_site_checked", _site("016")) == 1.0
    assert value("dvc_site_ready", _site("00379")) == 1.0  # checked, outside the scope list
    assert value("dvc_phase_go_live_timestamp_seconds", {"phase": "2"}) == (
        datetime.fromisoformat("2017-08-15T00:00:00+07:00").timestamp()
    )


def test_every_desk_in_scope_is_never_checked_without_a_store(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    ReadinessCollector(tmp_path / "none.sqlite", registry, clock=lambda: NOW, scope=SCOPE)
    checked = [
        s.value for m in registry.collect() if m.name == "dvc_site_checked" for s in m.samples
    ]
    assert checked == [0.0, 0.0, 0.0]


def test_an_unreadable_store_is_reported_and_no_site_is_judged(tmp_path: Path) -> None:
    bad = tmp_path / "results.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    registry = CollectorRegistry()
    ReadinessCollector(bad, registry, clock=lambda: NOW, scope=SCOPE)
    assert registry.get_sample_value("dvc_readiness_up") == 0.0
    assert registry.get_sample_value("dvc_readiness_error", {"reason": "unreadable"}) == 1.0
    assert registry.get_sample_value("dvc_site_ready", _site("016")) is None
    assert registry.get_sample_value("dvc_readiness_newest_result_age_seconds") is None


def test_a_locked_store_times_out_within_the_scrape_budget(store: Store) -> None:
    """A writer holding the database must not hold the scrape past Prometheus' timeout."""
    writer = sqlite3.connect(store.path, timeout=1)
    writer.execute("PRAGMA journal_mode=DELETE")
    writer.execute("BEGIN EXCLUSIVE")
    try:
        app = serving.metrics(_registry(store.path))
        environ = {serving.SCRAPE_TIMEOUT_HEADER: "1.5", "REQUEST_METHOD": "GET",
                   "QUERY_STRING": "", "PATH_INFO": "/metrics"}  # fmt: skip
        started = time.monotonic()
        body = b"".join(app(environ, lambda *_a: None))
        assert time.monotonic() - started < 1.5
        assert b'dvc_readiness_error{reason="timeout"} 1.0' in body
    finally:
        writer.rollback()
        writer.close()


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


def test_the_exporter_image_reads_the_store_with_debian_python_alone(
    store: Store, tmp_path: Path
) -> None:
    """What the exporter image carries is enough: Debian's python3 and prometheus_client,
    the store's read API and the check set, no pydantic and no project venv."""
    from infra import images

    context = tmp_path / "context"
    for arcname, source in images.context_files("exporter"):
        if arcname.startswith("vendor/"):
            continue  # the readiness exporter must not need pydantic
        (context / arcname).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, context / arcname)
    script = (
        "import sys; from pathlib import Path; "
        "from prometheus_client.registry import CollectorRegistry; "
        "from exporters.readiness.collector import ReadinessCollector; "
        "r = CollectorRegistry(); ReadinessCollector(Path(sys.argv[1]), r); "
        "print(sorted((s.labels['site_code'], s.value) for m in r.collect() "
        "if m.name == 'dvc_site_ready' for s in m.samples))"
    )
    done = subprocess.run(
        [DEBIAN_PYTHON, "-s", "-c", script, str(store.path)],
        capture_output=True,
        text=True,
        cwd=context,
        env={"PYTHONPATH": str(context), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "[('00376', 0.0), ('00379', 1.0), ('016', 0.0), ('017', 1.0), ('datacenter', 1.0)]"
    )
