"""Evidence from a real Prometheus (history backfilled with promtool) and a real results store.

Proves the PromQL the sign-off relies on: the mean over the window, the first sample (so
evidence younger than the window is caught) and the last one (so a stopped exporter is
caught), all at the as-of time rather than now.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

import inventory
from checks.results import Result, Store
from dvc_rollout.cli import main
from signoff import report_json
from signoff.adapters import PrometheusMetrics, ResultsStoreReadiness
from signoff.cli import parse_window
from signoff.criteria import Thresholds
from signoff.decision import decide
from signoff.evidence import gather

STEP = 60
HISTORY = timedelta(hours=26)
SERVICES = [s.code for s in inventory.load().phase_services(1)]


@dataclass(frozen=True)
class Lab:
    url: str
    as_of: datetime


def _labels(unit: str, district: str, service: str) -> str:
    return (
        f'phase="1",level="district",district="{district}",district_code="{unit}",'
        f'unit="{district}",unit_code="{unit}",service="{service}"'
    )


def _openmetrics(as_of: datetime, until: datetime) -> str:
    """26 h of history: 016 always up; 017's d-civil-extract down 2 h; a young citizen DB."""
    start = as_of - HISTORY
    lines = ["# TYPE dvc_service_up gauge"]
    steps = range(int(start.timestamp()), int(until.timestamp()), STEP)
    outage = (as_of - timedelta(hours=5)).timestamp(), (as_of - timedelta(hours=3)).timestamp()
    for unit, district in (("016", "Huyện Sóc Sơn"), ("017", "Huyện Đông Anh")):
        for service in SERVICES:
            labels = _labels(unit, district, service)
            for t in steps:
                down = unit == "017" and service == "d-civil-extract" and outage[0] <= t < outage[1]
                lines.append(f"dvc_service_up{{{labels}}} {0 if down else 1} {t}")
    lines.append("# TYPE dvc_sms_e2e_success gauge")
    lines += [f'dvc_sms_e2e_success{{smsc="loopback"}} 1 {t}' for t in steps]
    lines.append("# TYPE dvc_citizen_db_up gauge")
    young = (as_of - timedelta(hours=3)).timestamp()
    lines += [f"dvc_citizen_db_up 1 {t}" for t in steps if t >= young]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A real Prometheus serving backfilled history; as-of is an hour ago."""
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is not installed: apt-get install prometheus (infra/packages/test.txt)"
            )
    tmp = tmp_path_factory.mktemp("prometheus")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    as_of = now - timedelta(hours=1)
    source = tmp / "history.om"
    source.write_text(_openmetrics(as_of, now))
    data = tmp / "data"
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(data)],
        check=True,
        capture_output=True,
    )
    config = tmp / "prometheus.yml"
    config.write_text("global: {}\n")
    port = _free_port()
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=30d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "prometheus.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"prometheus did not get ready: {(tmp / 'prometheus.log').read_text()}")
        yield Lab(url, as_of)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def results(tmp_path: Path, prometheus: Lab) -> Path:
    """A real results store: both phase-1 sites checked an hour before as-of, all passed."""
    path = tmp_path / "results.sqlite"
    db = Store(path)
    run = db.start_run({"phase": 1})
    when = (prometheus.as_of - timedelta(hours=1)).isoformat(timespec="microseconds")
    for site in ("016", "017"):
        for check in ("printer_queue", "scanner_listed", "portal_reachable"):
            db.add(Result(run, when, site, site, f"term-{site}-1", check, "passed"))
    db.finish_run(run)
    return path


def test_prometheus_evidence_at_the_as_of_time(prometheus):
    metrics = PrometheusMetrics(prometheus.url)
    window = parse_window("24h")
    found = metrics.availability(1, ["016", "017"], prometheus.as_of, window)
    assert len(found) == 2 * len(SERVICES)
    up = found[("016", "d-pavement-1")]
    assert up.ratio == 1.0
    assert up.first_sample is not None and up.last_sample is not None
    assert prometheus.as_of - up.last_sample <= timedelta(seconds=STEP)
    assert up.first_sample - (prometheus.as_of - timedelta(hours=24)) <= timedelta(minutes=15)
    assert found[("017", "d-civil-extract")].ratio == pytest.approx(22 / 24, abs=0.01)
    db = metrics.citizen_db(prometheus.as_of, window)
    assert db is not None and db.first_sample is not None
    assert abs((prometheus.as_of - db.first_sample) - timedelta(hours=3)) <= timedelta(minutes=15)


def test_signoff_from_real_sources_names_each_gap(prometheus, results):
    inv = inventory.load()
    ev = gather(
        inv,
        1,
        prometheus.as_of,
        parse_window("24h"),
        ResultsStoreReadiness(results),
        PrometheusMetrics(prometheus.url),
        ["016", "017"],
    )
    d = decide(ev, Thresholds())
    by_site = {s.code: s for s in d.sites}
    assert by_site["016"].finding("terminal").outcome == "pass"
    assert by_site["016"].finding("availability").outcome == "pass"
    low = by_site["017"].finding("availability")
    assert low.outcome == "fail" and "d-civil-extract: 91.6" in low.reason
    sms, db = d.datacenter
    assert sms.outcome == "pass"
    assert db.outcome == "missing" and "of the 24h window" in db.reason
    # The same question over a window the young series covers is answered.
    short = gather(
        inv,
        1,
        prometheus.as_of,
        parse_window("2h"),
        ResultsStoreReadiness(results),
        PrometheusMetrics(prometheus.url),
        ["016"],
    )
    assert decide(short, Thresholds()).datacenter[1].outcome == "pass"


def _lab_inventory(tmp_path: Path) -> tuple[Path, Path]:
    """The packaged inventory with synthetic staffing, accounts and training for 016/017."""
    folder = tmp_path / "inventory"
    shutil.copytree(inventory.DEFAULT_DATA_DIR, folder)
    sites = folder / "sites.yaml"
    sites.write_text(
        sites.read_text("utf-8").replace(
            "helpdesk: {staff: null, volunteers: null}", "helpdesk: {staff: 2, volunteers: 1}"
        ),
        "utf-8",
    )
    records = tmp_path / "records.yaml"
    records.write_text(
        "accounts:\n"
        + "".join(
            f'  - {{unit: "{u}", username: lab.official.{u}, full_name: Cán bộ thử nghiệm {u}}}\n'
            for u in ("016", "017")
        )
        + "training:\n"
        + "".join(
            f'  - {{unit: "{u}", date: 2017-07-01, attendees: 2, topic: Tập huấn thử nghiệm}}\n'
            for u in ("016", "017")
        ),
        "utf-8",
    )
    return folder, records


def test_cli_exit_status_is_zero_only_for_go(tmp_path, prometheus, results, capsys):
    folder, records = _lab_inventory(tmp_path)
    common = [
        "signoff",
        "--phase=1",
        f"--as-of={prometheus.as_of.isoformat()}",
        f"--prometheus={prometheus.url}",
        f"--results={results}",
        f"--reports={tmp_path / 'reports'}",
        f"--inventory={folder}",
        f"--records={records}",
        "--json",
    ]
    # 016 alone over 2 h: every criterion is met.
    assert main([*common, "--district=Soc Son", "--window=2h"]) == 0
    go = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(json.loads(report_json.SCHEMA_PATH.read_text())).validate(go)
    assert go["verdict"] == "GO" and [d["verdict"] for d in go["districts"]] == ["GO"]
    assert Path(go["files"]["html"]).is_file()
    # Both districts over 24 h: 017's outage and the young citizen DB make it NO-GO.
    assert main([*common, "--district=016", "--district=017", "--window=24h"]) == 1
    nogo = json.loads(capsys.readouterr().out)
    assert nogo["verdict"] == "NO-GO"
    assert {(p["site"], p["criterion"]) for p in nogo["problems"]} == {
        ("017", "availability"),
        ("datacenter", "citizen_db"),
    }
    assert len(list((tmp_path / "reports").iterdir())) == 6


def test_cli_fails_closed_when_prometheus_is_unreachable(tmp_path, results, capsys):
    folder, records = _lab_inventory(tmp_path)
    code = main(
        [
            "signoff",
            "--phase=1",
            "--district=016",
            "--prometheus=http://127.0.0.1:1",
            f"--results={results}",
            f"--reports={tmp_path / 'reports'}",
            f"--inventory={folder}",
            f"--records={records}",
            "--json",
        ]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "NO-GO"
    assert "prometheus" in report["unavailable"]
    [site] = report["sites"]
    [avail] = [f for f in site["findings"] if f["criterion"] == "availability"]
    assert avail["outcome"] == "missing" and avail["reason"].startswith("Prometheus unavailable")


def test_cli_expired_waiver_is_exit_2(tmp_path, fixtures, capsys):
    code = main(
        [
            "signoff",
            "--phase=2",
            "--district=017",
            "--as-of=2017-08-14",
            "--prometheus=http://127.0.0.1:1",
            f"--results={tmp_path / 'none.sqlite'}",
            f"--reports={tmp_path / 'reports'}",
            f"--waivers={fixtures / 'waivers-expired.yaml'}",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "waivers-expired.yaml: entry 1 (site 00454): field 'expires'" in err
    assert not (tmp_path / "reports").exists()
