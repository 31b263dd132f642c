"""The alert-to-SMS relay: its Vietnamese text, its limits, and what it does when Kannel fails.

The gateway is replaced by a recorder here (the lab test sends through the real Kannel to
the operator simulator); everything else is the relay as it runs.
"""

from __future__ import annotations

import io
import json
import socket
from typing import Any

import pytest

from exporters.sms_relay import kannel
from exporters.sms_relay.limits import Limiter
from exporters.sms_relay.message import MAX_CHARS, Names, compose, hanoi_time
from exporters.sms_relay.relay import Metrics, Relay, app

NAMES = Names(
    districts={"016": "Huyện Sóc Sơn"},
    services={"d-building-permit": "Cấp giấy phép xây dựng", "c-birth": "Đăng ký khai sinh"},
)


def _alert(status: str, fp: str, **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "DvcServiceDown", **labels},
        "annotations": {"summary_vi": "Dịch vụ không hoạt động"},
        "startsAt": "2026-11-30T07:05:00Z",
        "endsAt": "2026-11-30T07:20:30Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": fp,
    }


def _payload(status: str, *alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": status,
        "groupKey": '{}:{alertname="DvcServiceDown", district_code="016"}',
        "commonLabels": {"alertname": "DvcServiceDown", "district_code": "016"},
        "alerts": list(alerts),
    }


FIRING = _payload(
    "firing", _alert("firing", "a1", service="d-building-permit", unit="Huyện Sóc Sơn")
)
RESOLVED = _payload(
    "resolved", _alert("resolved", "a1", service="d-building-permit", unit="Huyện Sóc Sơn")
)


def test_firing_text_names_district_service_state_and_hanoi_time() -> None:
    assert compose(FIRING, "016", NAMES) == (
        "[DVC] Huyện Sóc Sơn: ĐANG LỖI - Cấp giấy phép xây dựng tại Huyện Sóc Sơn. "
        "Từ 14:05 30/11/2026 (UTC+7)"
    )


def test_resolved_text_says_so_with_the_time_it_ended() -> None:
    assert compose(RESOLVED, "016", NAMES) == (
        "[DVC] Huyện Sóc Sơn: ĐÃ KHẮC PHỤC - Cấp giấy phép xây dựng tại Huyện Sóc Sơn. "
        "Lúc 14:20 30/11/2026 (UTC+7)"
    )


def test_many_services_and_units_stay_one_short_text() -> None:
    alerts = [
        _alert("firing", f"f{i}", service=svc, unit=f"Xã {i}")
        for i, svc in enumerate(["d-building-permit", "c-birth"] * 40)
    ]
    text = compose(_payload("firing", *alerts), "016", NAMES)
    assert text.startswith(
        "[DVC] Huyện Sóc Sơn: ĐANG LỖI - Đăng ký khai sinh, +1 dịch vụ (80 đơn vị)"
    )
    assert len(text) <= MAX_CHARS


def test_an_alert_without_a_service_uses_its_vietnamese_summary() -> None:
    payload = {
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "DvcSmsGatewayDown"},
                "annotations": {"summary_vi": "Tổng đài SMS (Kannel) không hoạt động"},
                "startsAt": "2026-11-30T17:30:00Z",
            }
        ],
    }
    assert compose(payload, "", NAMES) == (
        "[DVC] Trung tâm dữ liệu TP: ĐANG LỖI - Tổng đài SMS (Kannel) không hoạt động. "
        "Từ 00:30 01/12/2026 (UTC+7)"
    )


def test_times_before_2000_or_unreadable_stay_as_given() -> None:
    assert hanoi_time("0001-01-01T00:00:00Z") == "0001-01-01T00:00:00Z"
    assert hanoi_time("soon") == "soon"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_holds_duplicates_and_caps_texts_per_number() -> None:
    clock = Clock()
    limits = Limiter(per_window=2, window_seconds=600, dedup_seconds=300, clock=clock)
    assert limits.admit("84", "a") == "send"
    limits.sent("84", "a")
    assert limits.admit("84", "a") == "duplicate"
    assert limits.admit("85", "a") == "send"  # another phone
    limits.sent("84", "b")
    assert limits.admit("84", "c") == "rate_limited"
    assert limits.admit("84", "d") == "rate_limited"
    assert limits.held_back("84") == 2
    clock.now += 600
    assert limits.admit("84", "a") == "send"  # the window and the dedup have passed
    limits.sent("84", "a")
    assert limits.held_back("84") == 0


class Gateway:
    """Records what the relay hands to Kannel; fails while `down` is set."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.down = ""

    def __call__(self, gateway: kannel.Sendsms, to: str, text: str) -> str:
        if self.down:
            raise kannel.GatewayFailed(self.down, "Connection refused")
        self.texts.append((to, text))
        return "0: Accepted for delivery"


def _relay(per_window: int = 6) -> tuple[Relay, Gateway, list[str]]:
    gateway, lines = Gateway(), list[str]()
    relay = Relay(
        kannel.Sendsms("http://kannel:13013/cgi-bin/sendsms", "u", "p"),
        NAMES,
        Limiter(per_window=per_window, window_seconds=3600, dedup_seconds=3600, clock=Clock()),
        Metrics.create(),
        send=gateway,
        log=lines.append,
    )
    return relay, gateway, lines


def _post(relay: Relay, query: str, body: bytes) -> tuple[str, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/sms",
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    out = b"".join(app(relay)(environ, start))
    return seen["status"], json.loads(out)


def _value(relay: Relay, name: str, **labels: str) -> float | None:
    return relay.metrics.registry.get_sample_value(name, labels)


def test_a_storm_sends_one_text_each_for_firing_and_resolved() -> None:
    relay, gateway, _ = _relay()
    body = json.dumps(FIRING).encode()
    for _ in range(5):  # Alertmanager re-sends the group on retries and changes
        status, answer = _post(relay, "to=840000000016&district=016", body)
        assert status == "200 OK"
    status, answer = _post(relay, "to=840000000016&district=016", json.dumps(RESOLVED).encode())
    assert answer["outcome"] == "sent"
    assert [t for _, t in gateway.texts] == [compose(FIRING, "016", NAMES), answer["text"]]
    assert _value(relay, "dvc_sms_relay_messages_total", outcome="duplicate") == 4
    assert _value(relay, "dvc_sms_relay_messages_total", outcome="sent") == 2


def test_the_rate_limit_holds_back_and_the_next_text_says_how_many() -> None:
    relay, gateway, _ = _relay(per_window=1)
    for i in range(3):
        alert = _alert("firing", f"x{i}", service="c-birth", unit=f"Xã {i}")
        _post(relay, "to=84000000001&district=016", json.dumps(_payload("firing", alert)).encode())
    assert len(gateway.texts) == 1
    assert _value(relay, "dvc_sms_relay_messages_total", outcome="rate_limited") == 2
    relay.limiter.clock.now += 3600  # type: ignore[attr-defined]
    _post(relay, "to=84000000001&district=016", json.dumps(RESOLVED).encode())
    assert gateway.texts[-1][1].endswith("(+2 tin bị giữ lại, xem e-mail)")


def test_a_failed_gateway_is_said_counted_and_retried() -> None:
    relay, gateway, lines = _relay()
    gateway.down = "connect"
    status, answer = _post(relay, "to=840000000016&district=016", json.dumps(FIRING).encode())
    assert (status, answer) == ("503 Service Unavailable", {"outcome": "failed"})
    assert _value(relay, "dvc_sms_relay_gateway_up") == 0
    assert _value(relay, "dvc_sms_relay_gateway_failures_total", reason="connect") == 1
    assert "THE SMS GATEWAY FAILED (connect" in lines[-1] and "e-mail" in lines[-1]
    assert "840000000016" not in lines[-1]  # numbers are masked in logs
    gateway.down = ""  # Alertmanager's retry goes through once Kannel is back
    status, _ = _post(relay, "to=840000000016&district=016", json.dumps(FIRING).encode())
    assert status == "200 OK" and len(gateway.texts) == 1
    assert _value(relay, "dvc_sms_relay_gateway_up") == 1


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ("district=016", b"{}", "400 Bad Request"),
        ("to=abc", b"{}", "400 Bad Request"),
        ("to=84000000001", b"not json", "400 Bad Request"),
        ("to=84000000001", b"[1]", "400 Bad Request"),
    ],
)
def test_bad_requests_are_refused(query: str, body: bytes, status: str) -> None:
    relay, gateway, _ = _relay()
    assert _post(relay, query, body)[0] == status
    assert gateway.texts == []


def test_kannel_client_names_a_gateway_that_is_not_there() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = kannel.Sendsms(f"http://127.0.0.1:{port}/cgi-bin/sendsms", "u", "p", timeout=2)
    with pytest.raises(kannel.GatewayFailed, match=r"^connect: ") as caught:
        kannel.send(closed, "84000000001", "thử")
    assert caught.value.reason == "connect"
