"""KannelCollector and EndToEndCollector values, read from a fresh registry."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from prometheus_client.registry import CollectorRegistry

from exporters import serving
from exporters.kannel.collector import EndToEndCollector, KannelCollector
from exporters.kannel.e2e import CallbackInbox, Outcome, ProbeState
from exporters.kannel.fetch import HttpStatusSource, StatusUnreachable
from exporters.kannel.status import GatewayStatus, parse

FIXTURES = Path(__file__).parent / "fixtures" / "kannel"


def _fixture_source(name: str):
    body = (FIXTURES / f"{name}.xml").read_text(encoding="utf-8")

    def source() -> GatewayStatus:
        return parse(body)

    return source


def _registry_for(name: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    KannelCollector(_fixture_source(name), registry)
    return registry


def test_healthy_gateway_values() -> None:
    r = _registry_for("healthy")
    assert r.get_sample_value("dvc_kannel_up") == 1.0
    assert r.get_sample_value("dvc_kannel_gateway_state", {"state": "running"}) == 1.0
    assert r.get_sample_value("dvc_kannel_gateway_state", {"state": "suspended"}) == 0.0
    assert r.get_sample_value("dvc_kannel_uptime_seconds") == 630.0
    assert r.get_sample_value("dvc_kannel_sms_sent_total") == 10.0
    assert r.get_sample_value("dvc_kannel_sms_received_total") == 10.0
    assert r.get_sample_value("dvc_kannel_sms_failed_total") == 0.0
    assert r.get_sample_value("dvc_kannel_scrape_error", {"reason": "denied"}) == 0.0
    assert r.get_sample_value("dvc_kannel_boxes", {"box_type": "smsbox"}) == 1.0


def test_smsc_status_per_smsc() -> None:
    r = _registry_for("healthy")
    loop = {"smsc": "loopback", "admin_id": "loopback"}
    up = {"smsc": "upstream", "admin_id": "upstream"}
    assert r.get_sample_value("dvc_kannel_smsc_online", loop) == 1.0
    assert r.get_sample_value("dvc_kannel_smsc_online", up) == 0.0
    assert r.get_sample_value("dvc_kannel_smsc_state", {**up, "state": "connecting"}) == 1.0
    assert r.get_sample_value("dvc_kannel_smsc_online_seconds", loop) == 2.0
    assert r.get_sample_value("dvc_kannel_smsc_online_seconds", up) is None
    assert r.get_sample_value("dvc_kannel_smsc_sms_sent_total", loop) == 3.0


def test_dead_smsc_and_backlog_are_visible() -> None:
    r = _registry_for("backlog")
    loop = {"smsc": "loopback", "admin_id": "loopback"}
    assert r.get_sample_value("dvc_kannel_smsc_online", loop) == 0.0
    assert r.get_sample_value("dvc_kannel_smsc_state", {**loop, "state": "dead"}) == 1.0
    assert r.get_sample_value("dvc_kannel_sms_queued_messages", {"direction": "sent"}) == 3.0


def test_suspended_gateway_is_up_but_not_running() -> None:
    r = _registry_for("suspended")
    assert r.get_sample_value("dvc_kannel_up") == 1.0
    assert r.get_sample_value("dvc_kannel_gateway_state", {"state": "running"}) == 0.0
    assert r.get_sample_value("dvc_kannel_gateway_state", {"state": "suspended"}) == 1.0


def test_denied_reports_down_with_reason_and_no_gateway_values() -> None:
    r = _registry_for("denied")
    assert r.get_sample_value("dvc_kannel_up") == 0.0
    assert r.get_sample_value("dvc_kannel_scrape_error", {"reason": "denied"}) == 1.0
    assert r.get_sample_value("dvc_kannel_scrape_error", {"reason": "connect"}) == 0.0
    # Each get_sample_value is one scrape: this is the fourth denied read.
    assert r.get_sample_value("dvc_kannel_scrape_failures_total", {"reason": "denied"}) == 4.0
    assert r.get_sample_value("dvc_kannel_uptime_seconds") is None
    assert (
        r.get_sample_value("dvc_kannel_smsc_online", {"smsc": "loopback", "admin_id": "loopback"})
        is None
    )


def test_failures_counter_grows_per_scrape() -> None:
    def unreachable() -> GatewayStatus:
        raise StatusUnreachable("nothing listening")

    registry = CollectorRegistry()
    KannelCollector(unreachable, registry)
    for _ in range(3):
        registry.get_sample_value("dvc_kannel_up")
    assert (
        registry.get_sample_value("dvc_kannel_scrape_failures_total", {"reason": "connect"}) == 4.0
    )
    assert registry.get_sample_value("dvc_kannel_scrape_error", {"reason": "connect"}) == 1.0


def test_e2e_collector_before_first_probe_reports_no_success_value() -> None:
    registry = CollectorRegistry()
    EndToEndCollector(ProbeState(), registry)
    assert registry.get_sample_value("dvc_sms_e2e_success") is None
    assert registry.get_sample_value("dvc_sms_e2e_probes_total") == 0.0


def test_e2e_collector_keeps_last_success_through_a_failure() -> None:
    state = ProbeState()
    registry = CollectorRegistry()
    EndToEndCollector(state, registry)
    state.record(Outcome(1000.0, None, roundtrip=0.25))
    state.record(Outcome(1060.0, "timeout"))
    assert registry.get_sample_value("dvc_sms_e2e_success") == 0.0
    assert registry.get_sample_value("dvc_sms_e2e_roundtrip_seconds") == 0.25
    assert registry.get_sample_value("dvc_sms_e2e_last_success_timestamp_seconds") == 1000.0
    assert registry.get_sample_value("dvc_sms_e2e_last_probe_timestamp_seconds") == 1060.0
    assert registry.get_sample_value("dvc_sms_e2e_failures_total", {"reason": "timeout"}) == 1.0
    assert registry.get_sample_value("dvc_sms_e2e_failures_total", {"reason": "auth"}) == 0.0
    assert registry.get_sample_value("dvc_sms_e2e_probes_total") == 2.0


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("dvcprobe-0123456789abcdef dvc-rollout end-to-end probe", True),
        ("dvcprobe-ffffffffffffffff another probe's token", False),
        ("hello from a citizen", False),
    ],
)
def test_callback_counts_only_the_awaited_token(text: str, counted: bool) -> None:
    inbox = CallbackInbox()
    event = inbox.expect("dvcprobe-0123456789abcdef")
    started: list[str] = []
    body = inbox.app(
        {"QUERY_STRING": f"text={text.replace(' ', '+')}"}, lambda s, _h: started.append(s)
    )
    assert started == ["200 OK"] and body == [b""]
    assert event.is_set() is counted
    assert (inbox.forget("dvcprobe-0123456789abcdef") is not None) is counted


def test_a_hung_kannel_is_down_with_reason_timeout_within_the_scrape() -> None:
    """Kannel accepts and never answers: the scrape must still answer before Prometheus'
    timeout, saying why, or every Kannel alert goes blind with the failed scrape."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    registry = CollectorRegistry()
    source = HttpStatusSource(f"http://127.0.0.1:{listener.getsockname()[1]}", "pw", timeout=5.0)
    KannelCollector(source, registry)
    app = serving.metrics(registry)
    environ = {serving.SCRAPE_TIMEOUT_HEADER: "2", "REQUEST_METHOD": "GET",
               "QUERY_STRING": "", "PATH_INFO": "/metrics"}  # fmt: skip
    try:
        started = time.monotonic()
        body = b"".join(app(environ, lambda *_a: None)).decode()
        assert time.monotonic() - started < 2.0
    finally:
        listener.close()
        for conn in held:
            conn.close()
    assert "dvc_kannel_up 0.0" in body
    assert 'dvc_kannel_scrape_error{reason="timeout"} 1.0' in body


def test_e2e_reason_of_the_last_probe_is_a_label() -> None:
    state = ProbeState()
    registry = CollectorRegistry()
    EndToEndCollector(state, registry, stale_after=100, clock=lambda: 1010.0)
    state.record(Outcome(1000.0, "queued"))
    assert registry.get_sample_value("dvc_sms_e2e_success") == 0.0
    assert registry.get_sample_value("dvc_sms_e2e_error", {"reason": "queued"}) == 1.0
    assert registry.get_sample_value("dvc_sms_e2e_error", {"reason": "timeout"}) == 0.0


def test_an_old_e2e_success_is_no_evidence() -> None:
    """The probe loop gone silent: its last success must not be served as current."""
    state = ProbeState()
    registry = CollectorRegistry()
    EndToEndCollector(state, registry, stale_after=100, clock=lambda: 1200.0)
    state.record(Outcome(1000.0, None, roundtrip=0.2))
    assert registry.get_sample_value("dvc_sms_e2e_success") == 0.0
    assert registry.get_sample_value("dvc_sms_e2e_error", {"reason": "stale"}) == 1.0
