"""The lab stand-ins (portal, SMSC simulator, webhook recorder) behave as the contract says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import inventory

ADMIN = {"Authorization": "Bearer test-admin-token"}
DISTRICT_PAIR = ("016", "d-civil-extract")


@dataclass(frozen=True)
class Stack:
    portal: str
    sim: str
    postgres: Any
    kit: Any


def _catalog() -> bytes:
    inv = inventory.load()
    return json.dumps(
        {
            "units": [
                {"code": p.code, "name": p.name, "level": p.level, "district_code": p.district_code}
                for p in inv.places.values()
            ],
            "services": [
                {"code": s.code, "level": s.level, "name_vi": s.name_vi}
                for s in inv.services.values()
            ],
        },
        ensure_ascii=False,
    ).encode("utf-8")


@pytest.fixture(scope="module")
def stack(kit: Any) -> Stack:
    """PostgreSQL, Kannel, one SMSC simulator and the portal, wired as in the lab."""
    pg = kit.run("postgres", "standin-pg", env={"POSTGRES_PASSWORD": "pg-secret"})
    sim = kit.run("smsc-sim", "standin-sim", env={"SIM_ID": "sim-a"}, ports=("13080/tcp",))
    kannel = kit.run(
        "kannel",
        "standin-kannel",
        env={
            "KANNEL_ADMIN_PASSWORD": "adm-secret",
            "KANNEL_STATUS_PASSWORD": "st-secret",
            "SENDSMS_USER": "portal",
            "SENDSMS_PASSWORD": "sms-secret",
            "SMSC_HTTP": f"sim-a=http://{sim.name}:13080",
        },
    )
    portal = kit.run(
        "portal",
        "standin-portal",
        env={
            "DB_HOST": pg.name,
            "DB_PORT": "5432",
            "DB_NAME": "dvc",
            "DB_USER": "dvc",
            "DB_PASSWORD": "pg-secret",
            "SENDSMS_URL": f"http://{kannel.name}:13013/cgi-bin/sendsms",
            "SENDSMS_USER": "portal",
            "SENDSMS_PASSWORD": "sms-secret",
            "SMS_SMSC": "sim-a",
            "PORTAL_ADMIN_TOKEN": "test-admin-token",
        },
        ports=("8080/tcp",),
        files={"/etc/dvc-portal/catalog.json": _catalog()},
    )
    for container in (pg, sim, kannel, portal):
        kit.wait_healthy(container)
    return Stack(kit.host_url(portal, "8080/tcp"), kit.host_url(sim, "13080/tcp"), pg, kit)


@pytest.fixture
def no_faults(stack: Stack) -> Iterator[None]:
    yield
    stack.kit.http("DELETE", f"{stack.portal}/admin/faults", headers=ADMIN)


def _health(stack: Stack, unit: str = DISTRICT_PAIR[0], service: str = DISTRICT_PAIR[1]) -> Any:
    return stack.kit.http("GET", f"{stack.portal}/dvc/{unit}/{service}/health")


def test_portal_answers_health_for_every_pair_of_a_district(stack: Stack) -> None:
    pairs = inventory.load().pairs(districts=["016"])
    for pair in pairs:
        status, body = _health(stack, pair.place.code, pair.service.code)
        assert status == 200, (pair.labels, body)
        answer = json.loads(body)
        assert answer["status"] == "ok"
        assert (answer["unit_code"], answer["service_code"]) == (pair.place.code, pair.service.code)
        assert answer["unit"] == pair.place.name and answer["service"] == pair.service.name_vi


def test_portal_answers_404_for_unknown_or_mismatched_pairs(stack: Stack) -> None:
    assert _health(stack, "999", "d-civil-extract")[0] == 404
    assert _health(stack, "016", "no-such-service")[0] == 404
    status, body = _health(stack, "00376", "d-civil-extract")  # district service at a commune
    assert status == 404 and json.loads(body)["status"] == "not_found"


def test_dossier_lands_in_postgres_and_its_sms_reaches_the_simulator(stack: Stack) -> None:
    kit = stack.kit
    status, body = kit.http(
        "POST",
        f"{stack.portal}/dvc/016/d-civil-extract/dossiers",
        {"citizen_id": "CD-000042", "phone": "0900000042"},
    )
    assert status == 201, body
    answer = json.loads(body)
    assert answer["sms"]["status"] == 202
    code, out = kit.sh(
        stack.postgres,
        "PGPASSWORD=pg-secret psql -h 127.0.0.1 -U dvc -d dvc -Atc "
        f'"SELECT unit_code, service_code, citizen_id, phone, status FROM dossiers '
        f'WHERE id = {int(answer["dossier_id"])}"',
    )
    assert code == 0, out
    assert out.strip() == "016|d-civil-extract|CD-000042|0900000042|received", out
    messages = kit.poll(
        lambda: json.loads(kit.http("GET", f"{stack.sim}/messages?to=0900000042")[1]),
        what="the dossier's SMS notice at the simulator",
    )
    assert f"Hồ sơ số {answer['dossier_id']}" in messages[0]["text"]
    assert "Huyện Sóc Sơn" in messages[0]["text"]


def test_dossier_for_an_unknown_citizen_is_refused(stack: Stack) -> None:
    status, body = stack.kit.http(
        "POST",
        f"{stack.portal}/dvc/016/d-civil-extract/dossiers",
        {"citizen_id": "CD-999999", "phone": "0900000043"},
    )
    assert status == 422 and "CD-999999" in body
    status, _ = stack.kit.http(
        "POST", f"{stack.portal}/dvc/016/d-civil-extract/dossiers", {"citizen_id": "CD-000001"}
    )
    assert status == 400


def test_dependencies_reports_database_and_kannel(stack: Stack) -> None:
    status, body = stack.kit.http("GET", f"{stack.portal}/dependencies")
    report = json.loads(body)
    assert status == 200, body
    assert report["status"] == "ok"
    assert report["dependencies"]["database"]["ok"] and report["dependencies"]["kannel"]["ok"]


def test_admin_api_needs_the_token(stack: Stack) -> None:
    assert stack.kit.http("GET", f"{stack.portal}/admin/faults")[0] == 401
    bad = {"Authorization": "Bearer wrong"}
    status, _ = stack.kit.http(
        "PUT", f"{stack.portal}/admin/faults/016/d-civil-extract", {"mode": "error"}, bad
    )
    assert status == 401
    assert _health(stack)[0] == 200


def _fault(stack: Stack, body: dict[str, Any]) -> tuple[int, str]:
    result: tuple[int, str] = stack.kit.http(
        "PUT", f"{stack.portal}/admin/faults/016/d-civil-extract", body, ADMIN
    )
    return result


@pytest.mark.usefixtures("no_faults")
def test_fault_disable_answers_503_on_that_pair_only(stack: Stack) -> None:
    assert _fault(stack, {"mode": "disable"})[0] == 200
    assert _health(stack)[0] == 503
    assert _health(stack, "016", "d-pavement-1")[0] == 200


@pytest.mark.usefixtures("no_faults")
def test_fault_error_answers_500(stack: Stack) -> None:
    _fault(stack, {"mode": "error"})
    assert _health(stack)[0] == 500


@pytest.mark.usefixtures("no_faults")
def test_fault_wrong_body_answers_200_without_the_json(stack: Stack) -> None:
    _fault(stack, {"mode": "wrong_body"})
    status, body = _health(stack)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


@pytest.mark.usefixtures("no_faults")
def test_fault_slow_delays_then_answers_ok(stack: Stack) -> None:
    status, body = _fault(stack, {"mode": "slow", "delay_seconds": 2})
    assert status == 200 and json.loads(body)["delay_seconds"] == 2
    status, body = stack.kit.http("GET", f"{stack.portal}/admin/faults", headers=ADMIN)
    assert json.loads(body)["faults"] == [
        {
            "unit_code": "016",
            "service_code": "d-civil-extract",
            "mode": "slow",
            "delay_seconds": 2.0,
        }
    ]
    status, body = _health(stack)
    assert status == 200 and json.loads(body)["status"] == "ok"


@pytest.mark.usefixtures("no_faults")
def test_faults_are_cleared_one_by_one_or_all(stack: Stack) -> None:
    _fault(stack, {"mode": "error"})
    url = f"{stack.portal}/admin/faults/016/d-civil-extract"
    assert stack.kit.http("DELETE", url, headers=ADMIN)[0] == 200
    assert stack.kit.http("DELETE", url, headers=ADMIN)[0] == 404
    assert _health(stack)[0] == 200
    _fault(stack, {"mode": "disable"})
    status, body = stack.kit.http("DELETE", f"{stack.portal}/admin/faults", headers=ADMIN)
    assert status == 200 and json.loads(body) == {"cleared": 1}
    assert _health(stack)[0] == 200


def test_fault_requests_are_validated(stack: Stack) -> None:
    assert _fault(stack, {"mode": "explode"})[0] == 400
    assert _fault(stack, {"mode": "slow", "delay_seconds": -1})[0] == 400
    status, _ = stack.kit.http(
        "PUT", f"{stack.portal}/admin/faults/999/d-civil-extract", {"mode": "error"}, ADMIN
    )
    assert status == 404


def test_simulator_refuses_while_offline_and_accepts_when_back(stack: Stack) -> None:
    kit = stack.kit
    assert json.loads(kit.http("POST", f"{stack.sim}/admin/offline")[1])["online"] is False
    try:
        status, body = kit.http("GET", f"{stack.sim}/send?to=0900000050&text=x")
        assert status == 503 and "retry later" in body
    finally:
        assert json.loads(kit.http("POST", f"{stack.sim}/admin/online")[1])["online"] is True
    assert kit.http("GET", f"{stack.sim}/send?to=0900000050&text=x") == (200, "Sent.")
    assert len(json.loads(kit.http("GET", f"{stack.sim}/messages?to=0900000050")[1])) == 1


def test_webhook_records_each_posted_notification(kit: Any) -> None:
    webhook = kit.run("webhook", "standin-webhook", ports=("9095/tcp",))
    kit.wait_healthy(webhook)
    url = kit.host_url(webhook, "9095/tcp")
    payload = {"status": "firing", "receiver": "d016", "alerts": [{"labels": {"a": "b"}}]}
    status, _ = kit.http("POST", f"{url}/alerts/d016", payload)
    assert status == 200
    kit.http("POST", f"{url}/alerts/d017", {"status": "resolved"})
    stored = json.loads(kit.http("GET", f"{url}/notifications?receiver=d016")[1])
    assert [(n["receiver"], n["payload"]) for n in stored] == [("d016", payload)]
    assert len(json.loads(kit.http("GET", f"{url}/notifications")[1])) == 2
    code, out = kit.sh(webhook, "wc -l < /var/lib/webhook/notifications.jsonl")
    assert (code, out.strip()) == (0, "2")
