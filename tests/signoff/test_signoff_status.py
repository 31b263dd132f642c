"""The status server's plain endpoints and its command-line checks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from checks.checkset import terminal_checks
from checks.results import Result, Store
from dvc_rollout.cli import main
from signoff import status
from signoff.evidence import EvidenceUnavailable


@pytest.fixture
def url(tmp_path):
    sources = status.Sources("http://127.0.0.1:1", "http://127.0.0.1:1", tmp_path / "no.db", 5, 1)
    server = status.make_server("127.0.0.1:0", sources).start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_status_json_names_every_unreachable_source(url):
    with urllib.request.urlopen(f"{url}/status.json", timeout=30) as response:
        snap = json.load(response)
    assert set(snap["errors"]) == {"prometheus", "alertmanager", "readiness"}
    assert "no results store" in snap["errors"]["readiness"]
    assert snap["refresh_seconds"] == 5


def test_health_and_unknown_paths(url):
    with urllib.request.urlopen(f"{url}/healthz", timeout=30) as response:
        assert response.read() == b"ok\n"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{url}/nope", timeout=30)
    assert info.value.code == 404


@pytest.mark.parametrize("listen", ["8090", "127.0.0.1:http", ":8090"])
def test_bad_listen_address_is_a_usage_error(listen, capsys):
    assert main(["status", "serve", f"--listen={listen}"]) == 2
    assert "write host:port" in capsys.readouterr().err


def test_bad_window_is_a_usage_error(capsys):
    assert main(["signoff", "--phase=1", "--window=1day"]) == 2
    assert "write e.g. 24h" in capsys.readouterr().err


def _store_with(path: Path, outcomes: dict[str, dict[str, str]]) -> Store:
    """A sealed run: site -> {check: outcome}, every other check of the full set passed."""
    store = Store(path)
    run = store.start_run({"phase": 2})
    for site, odd in outcomes.items():
        store.add_many(
            Result(
                run_id=run,
                time="2017-08-10T01:00:00+00:00",
                site_code=site,
                unit=site,
                host=f"term-{site}-1",
                check_id=check,
                outcome=odd.get(check, "passed"),
                district="Huyện Sóc Sơn",
                district_code="016",
            )
            for check in sorted(terminal_checks())
            if odd.get(check) != "absent"
        )
    store.finish_run(run)
    return store


def test_the_page_counts_skipped_or_missing_checks_as_not_ready(tmp_path):
    """As the readiness exporter and the sign-off: only a full set of passes is ready."""
    _store_with(
        tmp_path / "results.sqlite",
        {
            "00376": {},
            "00379": {"time.time_synchronised": "skipped"},
            "00382": {"printer.test_page_prints": "absent"},
        },
    )
    [district] = status.readiness(tmp_path / "results.sqlite")
    assert (district["code"], district["sites"], district["ready"]) == ("016", 3, 1)
    assert district["newest"] == "2017-08-10T01:00:00+00:00"


def test_the_page_reads_through_the_store_api_and_creates_nothing(tmp_path):
    missing = tmp_path / "state" / "results.sqlite"
    with pytest.raises(EvidenceUnavailable, match="no results store"):
        status.readiness(missing)
    assert not missing.parent.exists()
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"SQLite format 3\0" + b"\x07" * 4000)
    with pytest.raises(EvidenceUnavailable, match="cannot be read") as found:
        status.readiness(damaged)
    assert found.value.source == "readiness"
    assert damaged.read_bytes().startswith(b"SQLite format 3\0\x07")
