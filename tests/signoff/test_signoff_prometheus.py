"""Evidence from a real Prometheus (history backfilled with promtool) and a real results store.

Proves the PromQL the sign-off relies on: the mean over the window, the samples counted
against those the scrape interval (read from Prometheus' targets API) should have given,
so evidence younger than the window or with gaps inside it is caught, and the last
sample (so a stopped exporter is caught), all at the as-of time rather than now.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

import inventory
from bench.prometheus_stand import StandError, backfill, serve
from checks.checkset import terminal_checks
from checks.results import Estate, Result, Store
from dvc_rollout.cli import main
from signoff import report_json
from signoff.adapters import PrometheusMetrics, ResultsStoreReadiness
from signoff.cli import parse_window
from signoff.criteria import Thresholds
from signoff.decision import decide
from signoff.evidence import EstateRef, gather

STEP = 60
HISTORY = timedelta(hours=26)
SERVICES = [s.code for s in inventory.load().phase_services(1)]


@dataclass(frozen=True)
class Lab:
    url: str
    as_of: datetime


def _labels(unit: str, district: str, service: str) -> str:
    return (
        f'job="availability",phase="1",level="district",district="{district}",'
        f'district_code="{unit}",unit="{district}",unit_code="{unit}",service="{service}"'
    )


UNITS = (
    ("016", "Huyện Sóc Sơn"),
    ("017", "Huyện Đông Anh"),
    ("018", "Huyện Gia Lâm"),
    ("250", "Huyện Mê Linh"),
)


def _openmetrics(as_of: datetime, until: datetime) -> str:
    """26 h of history at one sample a minute.

    016 always up; 017's d-civil-extract down 2 h; 018's exporter silent for 20 of the
    24 h (samples before and after, all 1); 250's d-civil-extract with one +Inf sample;
    a citizen DB only 3 h old.
    """
    start = as_of - HISTORY
    lines = ["# TYPE dvc_service_up gauge"]
    steps = range(int(start.timestamp()), int(until.timestamp()), STEP)
    outage = (as_of - timedelta(hours=5)).timestamp(), (as_of - timedelta(hours=3)).timestamp()
    silent = (as_of - timedelta(hours=22)).timestamp(), (as_of - timedelta(hours=2)).timestamp()
    infinite = (as_of - timedelta(hours=6)).timestamp()
    for unit, district in UNITS:
        for service in SERVICES:
            labels = _labels(unit, district, service)
            for t in steps:
                if unit == "018" and silent[0] <= t < silent[1]:
                    continue
                down = unit == "017" and service == "d-civil-extract" and outage[0] <= t < outage[1]
                value = "0" if down else "1"
                if unit == "250" and service == "d-civil-extract" and t == int(infinite) // 60 * 60:
                    value = "+Inf"
                lines.append(f"dvc_service_up{{{labels}}} {value} {t}")
    lines.append("# TYPE dvc_sms_e2e_success gauge")
    lines += [f'dvc_sms_e2e_success{{job="kannel",smsc="loopback"}} 1 {t}' for t in steps]
    lines.append("# TYPE dvc_citizen_db_up gauge")
    young = (as_of - timedelta(hours=3)).timestamp()
    lines += [f'dvc_citizen_db_up{{job="citizen-db"}} 1 {t}' for t in steps if t >= young]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A real Prometheus serving backfilled history; as-of is an hour ago.

    It scrapes the three jobs once a minute, as the history was written: the sign-off
    reads that interval from its targets API.
    """
    tmp = tmp_path_factory.mktemp("prometheus")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    as_of = now - timedelta(hours=1)
    source = tmp / "history.om"
    source.write_text(_openmetrics(as_of, now))
    data = tmp / "data"
    try:
        backfill(source, data)
        with serve(data, ("availability", "kannel", "citizen-db"), STEP) as url:
            yield Lab(url, as_of)
    except StandError as exc:
        pytest.fail(str(exc))


PRODUCTION = EstateRef(stack="production", kind="production")
CHECKS = sorted(terminal_checks())


def _store(path: Path, when: datetime, estate: EstateRef, sites: tuple[str, ...]) -> Path:
    db = Store(path, clock=lambda: when.isoformat(timespec="microseconds"))
    hosts = {f"term-{site}-1": f"ssh://term-{site}-1" for site in sites}
    run = db.start_run({"phase": 1}, Estate(estate.stack, estate.kind, {"hosts": hosts}))
    db.add_many(
        Result(
            run, when.isoformat(timespec="microseconds"), site, site, f"term-{site}-1", c, "passed"
        )
        for site in sites
        for c in CHECKS
    )
    db.finish_run(run, {h: CHECKS for h in hosts})
    return path


@pytest.fixture
def results(tmp_path: Path, prometheus: Lab) -> Path:
    """A real results store: every phase-1 site used checked an hour before as-of, all passed."""
    when = prometheus.as_of - timedelta(hours=1)
    return _store(tmp_path / "results.sqlite", when, PRODUCTION, tuple(u for u, _ in UNITS))


def test_prometheus_evidence_at_the_as_of_time(prometheus):
    metrics = PrometheusMetrics(prometheus.url)
    window = parse_window("24h")
    found = metrics.availability(1, ["016", "017"], prometheus.as_of, window)
    assert len(found) == 2 * len(SERVICES)
    up = found[("016", "d-pavement-1")]
    assert up.ratio == 1.0 and up.interval_seconds == 60 and up.expected_samples == 1440
    assert up.samples in (1440, 1441) and up.coverage == 1.0  # the window's both ends
    assert up.last_sample is not None
    assert prometheus.as_of - up.last_sample <= timedelta(seconds=STEP)
    assert found[("017", "d-civil-extract")].ratio == pytest.approx(22 / 24, abs=0.01)
    db = metrics.citizen_db(prometheus.as_of, window)
    assert db is not None and db.coverage == pytest.approx(3 / 24, abs=0.01)


def _gather(prometheus: Lab, results: Path, window: str, units: list[str], **kw: object):
    return gather(
        inventory.load(),
        1,
        prometheus.as_of,
        parse_window(window),
        ResultsStoreReadiness(results),
        PrometheusMetrics(prometheus.url, **kw),  # type: ignore[arg-type]
        estate=PRODUCTION,
        expected_checks=CHECKS,
        districts=units,
    )


def test_signoff_from_real_sources_names_each_gap(prometheus, results):
    d = decide(_gather(prometheus, results, "24h", ["016", "017"]), Thresholds())
    by_site = {s.code: s for s in d.sites}
    assert by_site["016"].finding("terminal").outcome == "pass"
    assert by_site["016"].finding("availability").outcome == "pass"
    assert "at least 100% of those expected" in by_site["016"].finding("availability").reason
    low = by_site["017"].finding("availability")
    assert low.outcome == "fail" and "(d-civil-extract): 91.6" in low.reason
    sms, db = d.datacenter
    assert sms.outcome == "pass" and "(100% of the samples expected)" in sms.reason
    assert db.outcome == "missing" and "covers only 13% of the 24h window" in db.reason
    # The same question over a window the young series covers is answered.
    short = decide(_gather(prometheus, results, "2h", ["016"]), Thresholds())
    assert short.datacenter[1].outcome == "pass"


def test_an_exporter_silent_20_of_24_hours_is_missing_evidence(prometheus, results):
    # Wrong before: the mean of the samples that exist (all 1) and a first sample at the
    # window's start made a site whose exporter was down 20 hours GO.
    d = decide(_gather(prometheus, results, "24h", ["018"]), Thresholds())
    f = d.sites[0].finding("availability")
    assert f.outcome == "missing"
    assert "covers only 16% of the 24h window" in f.reason or "covers only 17%" in f.reason
    assert "samples at one per 60 s" in f.reason


def test_an_infinite_sample_is_unreadable_evidence(prometheus, results):
    # Wrong before: avg_over_time of a +Inf sample is +Inf, which is ≥ 0.99: GO.
    d = decide(_gather(prometheus, results, "24h", ["250"]), Thresholds())
    f = d.sites[0].finding("availability")
    assert f.outcome == "missing"
    assert "evidence unreadable: non-finite dvc_service_up sample(s)" in f.reason
    assert "(d-civil-extract)" in f.reason


def test_the_scrape_interval_can_be_given_and_must_be_known(prometheus, results, tmp_path):
    # A scrape interval of 5 min: the minute-by-minute history more than covers the window.
    given = _gather(prometheus, results, "24h", ["016"], scrape_interval=300.0)
    assert given.sites[0].availability["d-pavement-1"].expected_samples == 288
    empty = tmp_path / "empty.yml"
    empty.write_text("global: {}\n")
    # Without the flag, a job Prometheus does not scrape has no known interval: missing.
    metrics = PrometheusMetrics(prometheus.url)
    metrics._intervals = {}
    series = metrics.availability(1, ["016"], prometheus.as_of, parse_window("24h"))
    invalid = series[("016", "d-pavement-1")].invalid
    assert invalid is not None and "pass --scrape-interval" in invalid


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
            for u, _ in UNITS
        )
        + "training:\n"
        + "".join(
            f'  - {{unit: "{u}", date: 2017-07-01, attendees: 2, topic: Tập huấn thử nghiệm}}\n'
            for u, _ in UNITS
        ),
        "utf-8",
    )
    return folder, records


def _argv(tmp_path: Path, prometheus: Lab, results: Path) -> list[str]:
    """A phase-1 sign-off at the stand's as-of, with the synthetic records, no PDF."""
    folder, records = _lab_inventory(tmp_path)
    return [
        "signoff",
        "--phase=1",
        f"--as-of={prometheus.as_of.isoformat()}",
        f"--prometheus={prometheus.url}",
        f"--results={results}",
        f"--reports={tmp_path / 'reports'}",
        f"--inventory={folder}",
        f"--records={records}",
        "--no-pdf",
    ]


def test_cli_exit_status_is_zero_only_for_go(tmp_path, prometheus, results, capsys):
    common = [*_argv(tmp_path, prometheus, results), "--json"]
    # 016 alone over 2 h: every criterion is met.
    assert main([*common, "--district=Soc Son", "--window=2h"]) == 0
    go = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(json.loads(report_json.SCHEMA_PATH.read_text())).validate(go)
    assert go["verdict"] == "GO" and [d["verdict"] for d in go["districts"]] == ["GO"]
    assert go["scope"]["words_en"] == "GO for the sample: 1 of 18 sites"
    assert go["estate"] == {"stack": "production", "kind": "production"}
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


def _common(tmp_path: Path, prometheus: Lab, results: Path) -> list[str]:
    """016 over 2 h: every criterion met."""
    return [*_argv(tmp_path, prometheus, results), "--district=016", "--window=2h"]


@pytest.mark.parametrize(
    "flag",
    [
        "--min-availability=nan",
        "--min-availability=-1",
        "--min-availability=0",
        "--min-coverage=nan",
        "--min-coverage=0",
        "--min-coverage=inf",
    ],
)
def test_cli_thresholds_out_of_range_are_exit_2(tmp_path, prometheus, results, capsys, flag):
    # Wrong before: `--min-availability nan` or `-1`, `--min-coverage nan` or `0` made a
    # site at 0% GO.
    assert main([*_common(tmp_path, prometheus, results), flag]) == 2
    name = flag.split("=")[0]
    assert f"{name} " in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_cli_default_estate_is_the_real_one_never_the_lab(tmp_path, prometheus, capsys):
    # Wrong before: runs recorded against the lab were used by a sign-off of the real estate.
    lab = _store(
        tmp_path / "lab.sqlite",
        prometheus.as_of - timedelta(hours=1),
        EstateRef(stack="lab", kind="lab"),
        ("016",),
    )
    assert main([*_common(tmp_path, prometheus, lab), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["estate"] == {"stack": "production", "kind": "production"}
    [terminal] = [p for p in report["problems"] if p["criterion"] == "terminal"]
    assert "no check run of estate production" in terminal["reason"]
    assert "lab: 1 run(s)" in terminal["reason"]


def test_cli_refuses_a_broken_chain_and_a_corrupt_store(tmp_path, prometheus, results, capsys):
    common = _common(tmp_path, prometheus, results)
    subprocess.run(
        [
            "sqlite3",
            str(results),
            "DROP TRIGGER results_no_update; UPDATE results SET message = 'x';",
        ],
        check=True,
    )
    assert main([*common, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    [terminal] = [p for p in report["problems"] if p["criterion"] == "terminal"]
    assert "seal chain is broken at run 1" in terminal["reason"]
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\x07" * 8000)
    assert main([*common, f"--results={corrupt}"]) == 2
    assert "--results:" in capsys.readouterr().err


def test_approve_and_verify_a_report_end_to_end(tmp_path, prometheus, results, capsys):
    assert main([*_common(tmp_path, prometheus, results), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    html = Path(report["files"]["html"])
    assert main(["signoff", "verify", str(html)]) == 0
    assert "VERIFIED" in capsys.readouterr().out
    assert main(["signoff", "approve", str(html), "--name=Nguyễn Văn A", "--role=Chủ tịch"]) == 0
    assert (
        main(
            [
                "signoff",
                "approve",
                str(html),
                "--name=Trần Thị B",
                "--role=Phó chủ tịch",
                "--no-pdf",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    approved = Path(printed.split("approved report json ")[-1].split()[0])
    issued = json.loads(approved.read_text("utf-8"))
    assert issued["approves"] == Path(report["files"]["json"]).name
    assert issued["evidence_sha256"] == report["evidence_sha256"]
    assert [(a["name"], a["role"]) for a in issued["approvals"]] == [
        ("Nguyễn Văn A", "Chủ tịch"),
        ("Trần Thị B", "Phó chủ tịch"),
    ]
    assert "Nguyễn Văn A" in approved.with_suffix(".html").read_text("utf-8")
    assert main(["signoff", "verify", str(approved)]) == 0
    out = capsys.readouterr().out
    assert "approved by Nguyễn Văn A (Chủ tịch)" in out and "approved by Trần Thị B" in out
    # The approvals are sealed into the store's chain.
    assert main(["check", "verify", f"--db={results}"]) == 0
    assert "2 approvals" in capsys.readouterr().out
    # A report whose evidence was edited no longer verifies, and cannot be approved.
    forged = tmp_path / "forged.json"
    edited = json.loads(approved.read_text("utf-8"))
    edited["evidence"]["sites"][0]["accounts"] = 99
    forged.write_text(json.dumps(edited, ensure_ascii=False), "utf-8")
    assert main(["signoff", "verify", str(forged)]) == 1
    assert "the report was changed after it was written" in capsys.readouterr().out
    assert main(["signoff", "approve", str(forged), "--name=X", "--role=Y"]) == 2
    # An approval listed in a report but not in the store is caught.
    fake = json.loads(approved.read_text("utf-8"))
    fake["approvals"].append({**fake["approvals"][0], "name": "Không có thật"})
    listed = tmp_path / "listed.json"
    listed.write_text(json.dumps(fake, ensure_ascii=False), "utf-8")
    assert main(["signoff", "verify", str(listed)]) == 1
    assert "Không có thật" in capsys.readouterr().out
