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
    TEMPLATES_DIR,
    AlertmanagerConfigError,
    Delivery,
    Heartbeat,
    go_literal,
    render,
    to_yaml,
)
from inventory.model import CityContact, MaintenanceWindow

HOOK = "http://127.0.0.1:9/hook"
AM_CLI = [sys.executable, "-m", "exporters.alertmanager"]
MAINTENANCE = """
  - name: portal-upgrade
    reason: "Nâng cấp cổng / portal upgrade"
    districts: ["016"]
    time_intervals:
      - weekdays: [saturday]
        times: [{start_time: "22:00", end_time: "24:00"}]
        location: Asia/Ho_Chi_Minh
  - name: new-year
    reason: "Tết dương lịch / New Year's Day"
    time_intervals:
      - months: [january]
        days_of_month: ["1"]
"""
DELIVERY = Delivery(
    smtp_smarthost="smtp.lab.invalid:25",
    smtp_from="dvc-alerts@lab.invalid",
    smtp_auth_username="alertmanager",
    smtp_auth_password_file="/etc/alertmanager/smtp_password",
    sms_relay_url="http://sms-relay:9606/sms",
    templates=str(TEMPLATES_DIR),
)


@dataclass(frozen=True)
class FakeContact:
    district: str
    receiver: str
    webhook_url: str | None
    email: str | None = None
    phone: str | None = None


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


def _maintenance() -> list[MaintenanceWindow]:
    return [MaintenanceWindow.model_validate(w) for w in yaml.safe_load(MAINTENANCE)]


@pytest.mark.parametrize("with_maintenance", [False, True], ids=["plain", "maintenance"])
def test_amtool_check_config_passes(inv, tmp_path: Path, with_maintenance: bool) -> None:
    windows = _maintenance() if with_maintenance else []
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
    # every district's, the city's (default) and the heartbeat's
    assert len(config["receivers"]) == len(inv.districts) + 2
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
    receivers = {
        r["name"]: r["webhook_configs"][0]["url"]
        for r in config["receivers"]
        if r["name"] != "heartbeat"
    }
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
    assert len(routed) == 18 + 2  # and the city's default, and the heartbeat
    said = [line for line in done.stderr.splitlines() if "contact to be filled" in line]
    assert len(said) == 18
    assert "district 281 (Huyện Ứng Hòa): on-call contact to be filled" in done.stderr
    assert done.stdout.count("# oncall.yaml: district") == 18


def test_maintenance_windows_mute_only_their_districts(inv, tmp_path: Path) -> None:
    config = render(inv.oncall.values(), HOOK, _maintenance())
    mutes = {r["receiver"]: r.get("mute_time_intervals", []) for r in config["route"]["routes"]}
    assert mutes["oncall-016"] == ["portal-upgrade", "new-year"]
    assert mutes["oncall-017"] == ["new-year"]
    assert mutes["default"] == ["new-year"]
    assert [t["name"] for t in config["time_intervals"]] == ["portal-upgrade", "new-year"]


def test_bad_webhook_url_is_refused(inv) -> None:
    with pytest.raises(AlertmanagerConfigError, match=r"--webhook-url 'localhost:9' is not"):
        render(inv.oncall.values(), "localhost:9")


def test_cli_renders_the_inventorys_windows_email_and_sms(tmp_path: Path) -> None:
    data = tmp_path / "inventory"
    shutil.copytree(inventory.DEFAULT_DATA_DIR, data)
    oncall = yaml.safe_load((data / "oncall.yaml").read_text(encoding="utf-8"))
    oncall["maintenance_windows"] = yaml.safe_load(MAINTENANCE)
    oncall["contacts"][0].update(email="oncall-016@lab.invalid", phone="840000000016")
    (data / "oncall.yaml").write_text(yaml.safe_dump(oncall, allow_unicode=True), "utf-8")
    argv = ["--webhook-url", HOOK, "--inventory", str(data)]
    argv += ["--smtp-smarthost", "smtp.lab.invalid:25", "--smtp-from", "dvc@lab.invalid"]
    argv += ["--smtp-auth-username", "am", "--smtp-auth-password-file", str(tmp_path / "pw")]
    argv += ["--sms-relay-url", "http://relay:9606/sms", "--templates", str(TEMPLATES_DIR)]
    done = subprocess.run([*AM_CLI, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    assert [t["name"] for t in config["time_intervals"]] == ["portal-upgrade", "new-year"]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["oncall-016"]["email_configs"][0]["to"] == "oncall-016@lab.invalid"
    assert "email_configs" not in receivers["oncall-017"]
    assert "oncall.yaml: district 017 (Huyện Đông Anh): phone to be filled" in done.stderr
    assert "oncall.yaml: city: email to be filled" in done.stderr
    assert "secret" not in done.stdout and config["global"]["smtp_auth_password_file"]
    path = tmp_path / "am.yml"
    path.write_text(done.stdout, encoding="utf-8")
    (tmp_path / "pw").write_text("lab\n", encoding="utf-8")
    check = subprocess.run(
        [_tool("amtool"), "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert " - 1 templates" in check.stdout


def test_each_receiver_mails_and_texts_its_own_contact(inv, tmp_path: Path) -> None:
    contacts = [
        FakeContact("016", "oncall-016", None, "a@lab.invalid", "840000000016"),
        FakeContact("017", "oncall-017", None, None, None),
    ]
    city = CityContact(email="dc@lab.invalid", phone="840000000001")
    config = render(contacts, HOOK, city=city, delivery=DELIVERY, districts=["016", "017"])
    receivers = {r["name"]: r for r in config["receivers"]}
    sms = [w["url"] for w in receivers["oncall-016"]["webhook_configs"]]
    assert sms == [HOOK, "http://sms-relay:9606/sms?to=840000000016&district=016"]
    assert receivers["oncall-016"]["email_configs"][0]["to"] == "a@lab.invalid"
    assert receivers["oncall-016"]["email_configs"][0]["send_resolved"] is True
    assert receivers["default"]["email_configs"][0]["to"] == "dc@lab.invalid"
    assert receivers["default"]["webhook_configs"][1]["url"].endswith("to=840000000001&district=")
    assert list(receivers["oncall-017"]) == ["name", "webhook_configs"]
    assert config["global"]["smtp_auth_password_file"] == "/etc/alertmanager/smtp_password"
    assert config["templates"] == [f"{TEMPLATES_DIR}/*.tmpl"]
    check = subprocess.run(
        [_tool("amtool"), "check-config", str(_write(tmp_path, config))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_an_address_is_never_run_as_a_go_template(tmp_path: Path) -> None:
    """Alertmanager expands an e-mail's `to:` as a Go template: text must stay text."""
    hostile = 'x{{ template "dvc.html" . }}"\\@lab.invalid'
    (tmp_path / "t.tmpl").write_text('{{ define "dvc.html" }}RAN{{ end }}', "utf-8")
    (tmp_path / "data.json").write_text(json.dumps({"receiver": "r", "status": "firing"}), "utf-8")
    out = subprocess.run(
        [
            _tool("amtool"),
            "template",
            "render",
            f"--template.glob={tmp_path / 't.tmpl'}",
            f"--template.text={go_literal(hostile)}",
            f"--template.data={tmp_path / 'data.json'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == hostile
    assert go_literal("oncall-016@lab.invalid") == "oncall-016@lab.invalid"


@pytest.mark.parametrize(
    ("delivery", "match"),
    [
        (Delivery(smtp_smarthost="smtp:25"), "needs --smtp-from"),
        (
            Delivery(smtp_smarthost="smtp:25", smtp_from="a@b.c", smtp_auth_username="u"),
            "needs --smtp-auth-password-file",
        ),
        (Delivery(sms_relay_url="relay:9606"), "--sms-relay-url 'relay:9606' is not"),
    ],
)
def test_incomplete_delivery_settings_say_what_is_missing(inv, delivery, match) -> None:
    with pytest.raises(AlertmanagerConfigError, match=match):
        render(inv.oncall.values(), HOOK, delivery=delivery)


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


def test_the_watchdog_goes_to_the_heartbeat_and_failed_notifications_too(inv, tmp_path) -> None:
    """The dead-man's switch hears the watchdog every interval; failing notifications reach
    it as well as their own route, since the failing receivers cannot carry them."""
    beat = "http://deadman.example.invalid:9095/heartbeat/dvc"
    config = render(
        inv.oncall.values(), HOOK, districts=inv.districts, heartbeat=Heartbeat(beat, "5s")
    )
    watchdog = config["route"]["routes"][0]
    assert watchdog["receiver"] == "heartbeat"
    assert (watchdog["group_interval"], watchdog["repeat_interval"]) == ("5s", "5s")
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["heartbeat"]["webhook_configs"][0]["url"] == beat
    path = _write(tmp_path, config)
    for labels, wanted in [
        (["alertname=DvcWatchdog", "severity=none"], "heartbeat"),
        (["alertname=DvcNotificationsFailing", "district_code="], "heartbeat,default"),
        (["alertname=DvcCitizenDbDown", "district_code="], "default"),
    ]:
        result = subprocess.run(
            [_tool("amtool"), "config", "routes", "test", f"--config.file={path}", *labels],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.stdout.strip() == wanted, result.stderr


def test_without_a_heartbeat_url_the_watchdog_reaches_no_one_and_the_cli_says_so() -> None:
    config = render([], HOOK)
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["heartbeat"] == {"name": "heartbeat"}
    done = subprocess.run(
        [*AM_CLI, "--webhook-url", HOOK], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "heartbeat: no --heartbeat-url" in done.stderr
    assert "# heartbeat: no --heartbeat-url" in done.stdout
