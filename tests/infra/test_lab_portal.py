"""The portal through nginx, a dossier end to end, and a desk terminal reaching the portal."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

import inventory
from infra.lab.handle import LabHandle

pytestmark = pytest.mark.lab


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _pairs(lab: LabHandle) -> list[tuple[str, str]]:
    inv = inventory.load()
    return [
        (unit, service.code)
        for unit in lab.sampled_units()
        for service in inv.services.values()
        if service.level == inv.places[unit].level
    ]


def test_portal_answers_through_nginx_for_every_sampled_unit_and_service(lab: LabHandle) -> None:
    pairs = _pairs(lab)
    assert len(pairs) == 2 * 10 + 6 * 6  # 2 district desks x 10, 6 commune desks x 6
    failures = []
    for unit, service in pairs:
        status, body = _get(f"{lab.endpoints['nginx']}/dvc/{unit}/{service}/health")
        ok = status == 200 and isinstance(body, dict) and body.get("status") == "ok"
        if not ok or body.get("unit_code") != unit or body.get("service_code") != service:
            failures.append((unit, service, status, body))
    assert not failures, failures[:5]


def test_unknown_pair_is_a_404(lab: LabHandle) -> None:
    status, _ = _get(f"{lab.endpoints['nginx']}/dvc/00376/d-civil-extract/health")
    assert status == 404


def test_dossier_lands_in_postgres_and_its_sms_reaches_the_operator(lab: LabHandle) -> None:
    phone = f"849{int(time.time()) % 10**8:08d}"
    unit = lab.sampled_units()[1]
    status, body = _post(
        f"{lab.endpoints['nginx']}/dvc/{unit}/c-marriage/dossiers",
        {"citizen_id": "CD-000001", "phone": phone},
    )
    assert status == 201, body
    dossier = int(body["dossier_id"])
    row = lab.psql(
        f"SELECT unit_code, service_code, citizen_id, phone FROM dossiers WHERE id = {dossier}"
    )
    assert row.strip() == f"{unit}|c-marriage|CD-000001|{phone}"
    assert body["sms"]["status"] in (200, 202), body
    # Kannel may hand the notice to any telco's SMSC; it must reach one simulator.
    deadline = time.monotonic() + 60
    messages: list[Any] = []
    while not messages and time.monotonic() < deadline:
        for sim in lab.endpoints["smsc_sim"].values():
            _, found = _get(f"{sim}/messages?to={phone}")
            messages.extend(found)
        time.sleep(0 if messages else 1)
    assert messages, f"no SMS to {phone} reached any operator simulator"
    assert f"{dossier}" in messages[0]["text"]


def test_a_terminal_reaches_the_portal_through_nginx(lab: LabHandle) -> None:
    host, container = next(iter(lab.terminals.items()))
    site = host.split("-")[1]
    service = "d-civil-extract" if len(site) == 3 else "c-marriage"
    url = f"{lab.internal['nginx']}/dvc/{site}/{service}/health"
    result = lab.exec(container, ["curl", "-fsS", "--max-time", "10", url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "ok"


def test_a_terminal_cannot_reach_the_portal_directly(lab: LabHandle) -> None:
    container = next(iter(lab.terminals.values()))
    url = f"{lab.internal['portal']}/healthz"
    result = lab.exec(container, ["curl", "-fsS", "--max-time", "5", url])
    assert result.exit_code != 0
