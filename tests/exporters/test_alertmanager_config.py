"""alertmanager.yml from the inventory: amtool checks it, routes it, and a real Alertmanager
inhibits a district's unit alerts during that district's outage."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import inventory
from exporters.alertmanager import (
    AlertmanagerConfigError,
    load_maintenance,
    render,
    to_yaml,
)

HOOK = "http://127.0.0.1:9/hook"
AM_CLI = [sys.executable, "-m", "exporters.alertmanager"]
MAINTENANCE = """
windows:
  - name: portal-upgrade
    districts: ["016"]
    time_intervals:
      - weekdays: [saturday]
        times: [{start_time: "22:00", end_time: "24:00"}]
        location: Asia/Ho_Chi_Minh
  - name: new-year
    time_intervals:
      - months: [january]
        days_of_month: ["1"]
"""


@dataclass(frozen=True)
class FakeContact:
    district: str
    receiver: str
    webhook_url: str | None


@pytest.fixture(scope="module")
def inv() -> inventory.Inventory:
    return inventory.load()


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(
            f"{name} is missing: `apt-get install prometheus-alertmanager`"
            " (infra/packages/test.txt)"
        )
    return exe


def _write(tmp_path: Path, config: dict[str, object]) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(to_yaml(config), encoding="utf-8")
    return path


def _maintenance(tmp_path: Path, inv: inventory.Inventory, text: str = MAINTENANCE):
    path = tmp_path / "maintenance.yml"
    path.write_text(text, encoding="utf-8")
    return load_maintenance(path, inv.districts)


@pytest.mark.parametrize("with_maintenance", [False, True], ids=["plain", "maintenance"])
def test_amtool_check_config_passes(inv, tmp_path: Path, with_maintenance: bool) -> None:
    windows = _maintenance(tmp_path, inv) if with_maintenance else []
    path = _write(tmp_path, render(inv.oncall.values(), HOOK, windows))
    result = subprocess.run(
        [_tool("amtool"), "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=DvcServiceDown", "district_code=016", "scope=unit"], "oncall-016"),
        (["alertname=DvcDistrictOutage", "district_code=282"], "oncall-282"),
        (["alertname=DvcSmsGatewayDown", "scope=city"], "default"),
    ],
)
def test_amtool_routes_by_district(inv, tmp_path: Path, labels: list[str], receiver: str) -> None:
    path = _write(tmp_path, render(inv.oncall.values(), HOOK))
    result = subprocess.run(
        [_tool("amtool"), "config", "routes", "test", f"--config.file={path}", *labels],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == receiver, result.stderr


def test_every_district_has_its_own_route_and_receiver(inv) -> None:
    config = render(inv.oncall.values(), HOOK)
    routes = {r["matchers"][0]: r["receiver"] for r in config["route"]["routes"]}
    for code, contact in inv.oncall.items():
        assert routes[f'district_code="{code}"'] == contact.receiver
    assert len(config["receivers"]) == len(inv.districts) + 1
    assert config["route"]["group_by"] == ["alertname", "district_code"]


def test_contacts_to_be_filled_get_the_default_webhook() -> None:
    contacts = [
        FakeContact("016", "oncall-016", None),
        FakeContact("017", "oncall-017", "https://chat.example.invalid/hook"),
    ]
    receivers = {r["name"]: r for r in render(contacts, HOOK)["receivers"]}
    assert receivers["oncall-016"]["webhook_configs"][0]["url"] == HOOK
    assert (
        receivers["oncall-017"]["webhook_configs"][0]["url"] == "https://chat.example.invalid/hook"
    )
    assert receivers["oncall-016"]["webhook_configs"][0]["send_resolved"] is True


def test_districts_without_a_contact_keep_their_routes_to_be_filled(inv, tmp_path) -> None:
    config = render([], HOOK, districts=inv.districts)
    routes = {r["matchers"][0]: r["receiver"] for r in config["route"]["routes"]}
    for code in inv.districts:
        assert routes[f'district_code="{code}"'] == f"oncall-{code}"
    receivers = {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"]}
    assert receivers == {"default": HOOK, **{f"oncall-{c}": HOOK for c in inv.districts}}
    check = subprocess.run(
        [_tool("amtool"), "check-config", str(_write(tmp_path, config))],
        capture_output=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr


def test_the_cli_says_which_districts_are_to_be_filled(tmp_path: Path) -> None:
    data = tmp_path / "inventory"
    shutil.copytree(inventory.DEFAULT_DATA_DIR, data)
    (data / "oncall.yaml").write_text("contacts: []\n", encoding="utf-8")
    done = subprocess.run(
        [*AM_CLI, "--webhook-url", HOOK, "--inventory", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    routed = {r["receiver"] for r in yaml.safe_load(done.stdout)["route"]["routes"]}
    assert len(routed) == 18 + 1
    said = [line for line in done.stderr.splitlines() if "contact to be filled" in line]
    assert len(said) == 18
    assert "district 281 (Huyện Ứng Hòa): on-call contact to be filled" in done.stderr
    assert done.stdout.count("# oncall.yaml: district") == 18


def test_maintenance_windows_mute_only_their_districts(inv, tmp_path: Path) -> None:
    config = render(inv.oncall.values(), HOOK, _maintenance(tmp_path, inv))
    mutes = {r["receiver"]: r.get("mute_time_intervals", []) for r in config["route"]["routes"]}
    assert mutes["oncall-016"] == ["portal-upgrade", "new-year"]
    assert mutes["oncall-017"] == ["new-year"]
    assert mutes["default"] == ["new-year"]
    assert [t["name"] for t in config["time_intervals"]] == ["portal-upgrade", "new-year"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "windows:\n  - {name: x, districts: ['999'], time_intervals: [{months: [may]}]}",
            r"unknown district codes \['999'\]",
        ),
        ("windows:\n  - {name: x, time_intervals: [{hours: [1]}]}", r"has keys \['hours'\]"),
        ("windows:\n  - {name: Bad Name, time_intervals: [{months: [may]}]}", "lowercase"),
        ("windows:\n  - {name: x}", "time_intervals must be a non-empty list"),
        ("windows: 3", "top-level 'windows:' list"),
    ],
)
def test_bad_maintenance_file_names_the_fault(inv, tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(AlertmanagerConfigError, match=match):
        _maintenance(tmp_path, inv, text)


def test_bad_webhook_url_is_refused(inv) -> None:
    with pytest.raises(AlertmanagerConfigError, match=r"--webhook-url 'localhost:9' is not"):
        render(inv.oncall.values(), "localhost:9")


def test_cli_prints_a_config_amtool_accepts(tmp_path: Path) -> None:
    maint = tmp_path / "maintenance.yml"
    maint.write_text(MAINTENANCE, encoding="utf-8")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporters.alertmanager",
            "--webhook-url",
            HOOK,
            "--maintenance",
            str(maint),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    path = tmp_path / "am.yml"
    path.write_text(out, encoding="utf-8")
    assert yaml.safe_load(out)["time_intervals"]
    check = subprocess.run(
        [_tool("amtool"), "check-config", str(path)], capture_output=True, timeout=60
    )
    assert check.returncode == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def alertmanager(inv, tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager (Debian's) on 127.0.0.1 with the rendered config."""
    path = _write(tmp_path, render(inv.oncall.values(), HOOK))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "am.log").open("wb")
    proc = subprocess.Popen(
        [
            _tool("prometheus-alertmanager"),
            f"--config.file={path}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"alertmanager exited: {(tmp_path / 'am.log').read_text()}")
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _alert(name: str, **labels: str) -> dict[str, object]:
    return {"labels": {"alertname": name, **labels}, "annotations": {}}


def test_district_outage_inhibits_only_that_districts_unit_alerts(alertmanager: str) -> None:
    alerts = [
        _alert("DvcDistrictOutage", district_code="017", severity="critical", scope="district"),
        _alert("DvcServiceDown", district_code="017", unit_code="00454", scope="unit"),
        _alert("DvcServiceDown", district_code="016", unit_code="00376", scope="unit"),
    ]
    req = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=5).close()
    deadline = time.monotonic() + 10
    state: dict[tuple[str, str], str] = {}
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{alertmanager}/api/v2/alerts", timeout=5) as r:
            got = json.load(r)
        state = {
            (a["labels"]["alertname"], a["labels"]["district_code"]): a["status"]["state"]
            for a in got
        }
        if state.get(("DvcServiceDown", "017")) == "suppressed":
            break
        time.sleep(0.2)
    assert state == {
        ("DvcDistrictOutage", "017"): "active",
        ("DvcServiceDown", "017"): "suppressed",
        ("DvcServiceDown", "016"): "active",
    }
