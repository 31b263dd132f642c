"""Sign-off in the lab: phase 1 is GO; a broken printer makes its site and district NO-GO.

Runs the real chain on the session lab: `dvc-rollout configure` (the session's run,
tests/configured.py, with the synthetic officials, training and helpdesk staffing `lab up`
records for the sampled sites), `dvc-rollout check`, then `dvc-rollout signoff` against
the lab's Prometheus and the results store. The evidence window is the time the lab's
Prometheus has been scraping since, so the verdict rests on what it has seen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import inventory
from checks.checkset import terminal_checks
from dvc_rollout.cli import main
from infra import lab_monitoring
from signoff.adapters import Prometheus
from tests.configured import ConfiguredSession

pytestmark = pytest.mark.lab
WINDOW_SECONDS = 120


@dataclass(frozen=True)
class Setup:
    stack: str
    prometheus: str
    results: Path
    inventory: Path
    records: Path
    districts: list[str]
    communes: dict[str, str]  # site code -> terminal container


def _wait_for_history(prometheus: str, configured_at: float, quiet_at: float) -> None:
    """Until every evidence metric has the window's worth of samples, all after configuring.

    The window also starts after `quiet_at`, when the setup's own check runs were done:
    they load the 2 cores the probes run on, and 120 s of 5-s samples leave no room for
    one slow probe.
    """
    ready_at = max(configured_at + lab_monitoring.settle_seconds(), quiet_at) + WINDOW_SECONDS
    client = Prometheus(prometheus)
    wanted = ("dvc_service_up", "dvc_sms_e2e_success", "dvc_citizen_db_up")
    started = time.monotonic()
    while True:
        ages = {}
        for metric in wanted:
            found = client.query(f"min(time() - min_over_time(timestamp({metric})[10m:5s]))")
            ages[metric] = found[0][1] if found else None
        long_enough = all(age is not None and age >= WINDOW_SECONDS for age in ages.values())
        if long_enough and time.time() >= ready_at:
            return
        waited = time.monotonic() - started
        absent = [m for m, age in ages.items() if age is None]
        if absent and waited > 180:
            pytest.fail(f"the lab's Prometheus has no series of {absent}: exporters not scraped")
        if waited > 10 * WINDOW_SECONDS:
            pytest.fail(f"the lab's Prometheus has less than {WINDOW_SECONDS}s of {ages}")
        time.sleep(5)


def _cli(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture(scope="module")
def setup(
    configured_lab: ConfiguredSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    lab = configured_lab.lab
    tmp = tmp_path_factory.mktemp("signoff-lab")
    records = lab.records_file  # synthetic officials, training and staffing of the sample
    with configured_lab.environment():
        configured_at = configured_lab.configured_at
        results = tmp / "results.sqlite"
        for phase in ("1", "2"):
            assert (
                _cli(
                    "check",
                    f"--phase={phase}",
                    f"--stack={lab.stack}",
                    f"--records={records}",
                    f"--db={results}",
                    *[f"--district={d['code']}" for d in lab.sample["districts"]],
                )
                == 0
            )
        _wait_for_history(lab.endpoints["prometheus"], configured_at, time.time())
        communes = {
            host.split("-")[1]: container
            for host, container in lab.terminals.items()
            if len(host.split("-")[1]) == 5
        }
        yield Setup(
            stack=lab.stack,
            prometheus=lab.endpoints["prometheus"],
            results=results,
            inventory=inventory.DEFAULT_DATA_DIR,
            records=records,
            districts=[d["code"] for d in lab.sample["districts"]],
            communes=communes,
        )


def _signoff(setup: Setup, phase: int, reports: Path, capsys: Any) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()  # drop what earlier commands printed: stdout must be the report alone
    code = _cli(
        "signoff",
        f"--phase={phase}",
        f"--window={WINDOW_SECONDS}s",
        f"--prometheus={setup.prometheus}",
        f"--results={setup.results}",
        f"--reports={reports}",
        f"--inventory={setup.inventory}",
        f"--records={setup.records}",
        f"--lab={setup.stack}",
        "--no-pdf",
        "--json",
    )
    return code, json.loads(capsys.readouterr().out)


def test_phase_1_is_go_for_the_sampled_districts(setup, tmp_path, capsys):
    code, report = _signoff(setup, 1, tmp_path, capsys)
    assert report["problems"] == []
    assert (code, report["verdict"]) == (0, "GO")
    assert {d["code"] for d in report["districts"]} == set(setup.districts)
    # A lab is a sample of the lab estate, and says so: never a city-wide GO.
    assert report["estate"] == {"stack": setup.stack, "kind": "lab"}
    n = len(setup.districts)
    assert report["scope"]["words_en"] == f"GO for the sample: {n} of 18 sites"
    assert report["scope"]["sample"] is True
    html = Path(report["files"]["html"]).read_text("utf-8")
    assert f"GO for the sample: {n} of 18 sites" in html and 'id="sample-note"' in html
    # Every terminal was judged on the full check set, the printer's test page included.
    [terminal] = [f for f in report["sites"][0]["findings"] if f["criterion"] == "terminal"]
    checks = len(terminal_checks())
    assert terminal["outcome"] == "pass" and f"all {checks} checks passed" in terminal["reason"]
    # The coverage found over the window is stated.
    [avail] = [f for f in report["sites"][0]["findings"] if f["criterion"] == "availability"]
    assert "of those expected" in avail["reason"]


def test_a_broken_printer_makes_its_site_and_district_no_go(lab, setup, tmp_path, capsys):
    site, container = sorted(setup.communes.items())[0]
    district = inventory.load().sites[site].place.district_code
    broke = lab.exec(container, ["cupsdisable", "dvc-printer"])
    assert broke.exit_code == 0, broke.output
    try:
        _cli(
            "check",
            "--phase=2",
            f"--stack={setup.stack}",
            f"--records={setup.records}",
            f"--db={setup.results}",
            f"--unit={site}",
        )
        code, report = _signoff(setup, 2, tmp_path, capsys)
    finally:
        lab.exec(container, ["cupsenable", "dvc-printer"])
    assert code == 1 and report["verdict"] == "NO-GO"
    verdicts = {s["code"]: s["verdict"] for s in report["sites"]}
    assert verdicts[site] == "NO-GO"
    assert [s for s, v in verdicts.items() if v == "NO-GO"] == [site]
    assert {d["code"]: d["verdict"] for d in report["districts"]}[district] == "NO-GO"
    # Data-center findings are judged once per phase and reported apart from the sites.
    [(criterion, outcome, reason)] = [
        (p["criterion"], p["outcome"], p["reason"])
        for p in report["problems"]
        if p["site"] != "datacenter"
    ]
    assert (criterion, outcome) == ("terminal", "fail")
    assert "printer" in reason
