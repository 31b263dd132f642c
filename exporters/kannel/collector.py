"""Prometheus collectors for Kannel: gateway status at scrape time, and the E2E probe.

status.xml is one cheap HTTP request, so `KannelCollector` reads it on each scrape
(as the other Kannel exporters do) and never caches a stale "healthy" value: when
the read fails, `dvc_kannel_up` is 0 and `dvc_kannel_scrape_error{reason}` says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from exporters.kannel.e2e import FAILURE_REASONS, ProbeState
from exporters.kannel.fetch import StatusSource
from exporters.kannel.status import GatewayStatus, KannelStatusError
from exporters.metric_families import reason_counter, reason_gauge

SCRAPE_ERROR_REASONS = ("connect", "timeout", "http_status", "denied", "parse")
GATEWAY_STATES = ("running", "suspended", "isolated", "full", "shutdown")
SMSC_STATES = ("online", "connecting", "re-connecting", "disconnected", "dead", "unknown")
SMSC_LABELS = ["smsc", "admin_id"]


class KannelCollector(Collector):
    """Reads status.xml through `source` on every collect() and yields the gateway's metrics."""

    def __init__(self, source: StatusSource, registry: CollectorRegistry | None = None) -> None:
        self._source = source
        self._failures = dict.fromkeys(SCRAPE_ERROR_REASONS, 0)
        if registry is not None:
            registry.register(self)

    def describe(self) -> list[GaugeMetricFamily]:
        """Avoids a status.xml read when the collector is registered."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        started = time.perf_counter()
        error: KannelStatusError | None = None
        status: GatewayStatus | None = None
        try:
            status = self._source()
        except KannelStatusError as e:
            error = e
            self._failures[e.reason] = self._failures.get(e.reason, 0) + 1
        up = GaugeMetricFamily(
            "dvc_kannel_up", "Whether Kannel's status.xml was read and accepted (1) or not (0)."
        )
        up.add_metric([], 0.0 if status is None else 1.0)
        yield up
        yield reason_gauge(
            "dvc_kannel_scrape_error",
            "Why the last status.xml read failed (1 on the reason that applies, else 0).",
            self._failures,
            None if error is None else error.reason,
        )
        yield reason_counter(
            "dvc_kannel_scrape_failures",
            "status.xml reads that failed since the exporter started, by reason.",
            self._failures,
            self._failures,
        )
        if status is not None:
            yield from _gateway(status)
            yield from _smscs(status)
        duration = GaugeMetricFamily(
            "dvc_kannel_scrape_duration_seconds", "Seconds spent reading status.xml."
        )
        duration.add_metric([], time.perf_counter() - started)
        yield duration


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gateway(s: GatewayStatus) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    info = GaugeMetricFamily(
        "dvc_kannel_build_info", "Kannel's version string.", labels=["version"]
    )
    info.add_metric([s.version], 1.0)
    yield info
    state = GaugeMetricFamily(
        "dvc_kannel_gateway_state",
        "The bearerbox state (1 on the current one): only 'running' delivers messages.",
        labels=["state"],
    )
    for name in (*GATEWAY_STATES, *(() if s.state in GATEWAY_STATES else (s.state,))):
        state.add_metric([name], 1.0 if name == s.state else 0.0)
    yield state
    yield _gauge("dvc_kannel_uptime_seconds", "Seconds since bearerbox started.", s.uptime_seconds)
    yield _counter("dvc_kannel_sms_received", "SMS received from SMSCs (MO).", s.sms_received.total)
    yield _counter("dvc_kannel_sms_sent", "SMS sent to SMSCs (MT).", s.sms_sent.total)
    yield _counter("dvc_kannel_sms_failed", "SMS the SMSCs failed to send.", s.sms_failed)
    yield _counter("dvc_kannel_dlr_received", "Delivery reports received.", s.dlr_received)
    yield _counter("dvc_kannel_dlr_sent", "Delivery reports sent to boxes.", s.dlr_sent)
    queued = GaugeMetricFamily(
        "dvc_kannel_sms_queued_messages",
        "SMS waiting in the bearerbox queue, by direction (sent = towards the SMSCs).",
        labels=["direction"],
    )
    queued.add_metric(["received"], s.sms_received.queued)
    queued.add_metric(["sent"], s.sms_sent.queued)
    yield queued
    yield _gauge("dvc_kannel_dlr_queued_messages", "Delivery reports waiting.", s.dlr_queued)
    if s.store_size >= 0:
        yield _gauge("dvc_kannel_store_messages", "Messages in the store file.", s.store_size)
    boxes = GaugeMetricFamily(
        "dvc_kannel_box_queued_messages",
        "Messages queued towards each connected smsbox/wapbox.",
        labels=["box_type", "box_id", "ip"],
    )
    connected: dict[str, int] = {"smsbox": 0, "wapbox": 0}
    for b in s.boxes:
        boxes.add_metric([b.type, b.id, b.ip], b.queue)
        connected[b.type] = connected.get(b.type, 0) + 1
    yield boxes
    count = GaugeMetricFamily(
        "dvc_kannel_boxes", "Boxes connected to the bearerbox, by type.", labels=["box_type"]
    )
    for box_type, n in connected.items():
        count.add_metric([box_type], n)
    yield count


def _smscs(s: GatewayStatus) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    online = GaugeMetricFamily(
        "dvc_kannel_smsc_online",
        "Whether the SMSC connection is online (1) or not (0).",
        labels=SMSC_LABELS,
    )
    state = GaugeMetricFamily(
        "dvc_kannel_smsc_state",
        "The SMSC connection state (1 on the current one).",
        labels=[*SMSC_LABELS, "state"],
    )
    online_for = GaugeMetricFamily(
        "dvc_kannel_smsc_online_seconds", "Seconds the SMSC has been online.", labels=SMSC_LABELS
    )
    queued = GaugeMetricFamily(
        "dvc_kannel_smsc_queued_messages", "SMS queued for this SMSC.", labels=SMSC_LABELS
    )
    counters = {
        "sms_received": CounterMetricFamily(
            "dvc_kannel_smsc_sms_received", "SMS received from this SMSC.", labels=SMSC_LABELS
        ),
        "sms_sent": CounterMetricFamily(
            "dvc_kannel_smsc_sms_sent", "SMS sent through this SMSC.", labels=SMSC_LABELS
        ),
        "failed": CounterMetricFamily(
            "dvc_kannel_smsc_sms_failed", "SMS this SMSC failed to send.", labels=SMSC_LABELS
        ),
        "dlr_received": CounterMetricFamily(
            "dvc_kannel_smsc_dlr_received", "Delivery reports from this SMSC.", labels=SMSC_LABELS
        ),
    }
    for c in s.smscs:
        key = [c.id, c.admin_id]
        online.add_metric(key, 1.0 if c.online else 0.0)
        for name in (*SMSC_STATES, *(() if c.state in SMSC_STATES else (c.state,))):
            state.add_metric([*key, name], 1.0 if name == c.state else 0.0)
        if c.online_seconds is not None:
            online_for.add_metric(key, c.online_seconds)
        queued.add_metric(key, c.queued)
        for attr, family in counters.items():
            family.add_metric(key, getattr(c, attr))
    yield online
    yield state
    yield online_for
    yield queued
    yield from counters.values()


class EndToEndCollector(Collector):
    """Reports the last results of the background loopback probe (never probes itself).

    A last result older than `stale_after` seconds (the probe loop stopped) is no
    evidence that SMS go through: it is reported as a failure with reason `stale`.
    """

    def __init__(
        self,
        state: ProbeState,
        registry: CollectorRegistry | None = None,
        stale_after: float = float("inf"),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._stale_after = stale_after
        self._clock = clock
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        snap = self._state.snapshot()
        if snap.last_probe is not None:
            stale = self._clock() - snap.last_probe > self._stale_after
            reason = "stale" if stale else snap.last_reason
            yield _gauge(
                "dvc_sms_e2e_success",
                "Whether the last loopback SMS came back to the exporter in time (1) or not (0).",
                1.0 if reason is None else 0.0,
            )
            yield reason_gauge(
                "dvc_sms_e2e_error",
                "Why SMS count as not going through now (1 on the reason that applies, else 0).",
                (*FAILURE_REASONS, "stale"),
                reason,
            )
            yield _gauge(
                "dvc_sms_e2e_last_probe_timestamp_seconds",
                "Unix time the last end-to-end probe finished.",
                snap.last_probe,
            )
        if snap.roundtrip is not None:
            yield _gauge(
                "dvc_sms_e2e_roundtrip_seconds",
                "Seconds from sendsms to the looped-back SMS reaching the callback (last success).",
                snap.roundtrip,
            )
        if snap.last_success is not None:
            yield _gauge(
                "dvc_sms_e2e_last_success_timestamp_seconds",
                "Unix time of the last successful end-to-end probe.",
                snap.last_success,
            )
        yield _counter("dvc_sms_e2e_probes", "End-to-end probes run.", snap.probes)
        yield reason_counter(
            "dvc_sms_e2e_failures",
            "End-to-end probes that failed, by reason.",
            FAILURE_REASONS,
            snap.failures,
        )
