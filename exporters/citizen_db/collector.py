"""Prometheus collector for the citizen-database probe: reports, never probes at scrape.

Scrapes read the last result of the background probe. A result older than `stale_after`
seconds (the probe loop itself stopped) is no evidence that the database is up: it is
reported as down with reason `stale`, never as the last "up".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from exporters.citizen_db.probe import FAILURE_REASONS, ProbeState
from exporters.metric_families import reason_counter, reason_gauge


class CitizenDbCollector(Collector):
    """Yields the last probe's result and running totals from `state`."""

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
        last = snap.last
        if last is not None:
            stale = self._clock() - last.finished > self._stale_after
            reason = "stale" if stale else last.reason
            yield GaugeMetricFamily(
                "dvc_citizen_db_up",
                "Whether the last probe connected and the lookup returned its row (1) or not (0).",
                value=1.0 if reason is None else 0.0,
            )
            yield reason_gauge(
                "dvc_citizen_db_probe_error",
                "Why the database counts as down now (1 on the reason that applies, else 0).",
                (*FAILURE_REASONS, "stale"),
                reason,
            )
            yield GaugeMetricFamily(
                "dvc_citizen_db_last_probe_timestamp_seconds",
                "Unix time the last probe finished.",
                value=last.finished,
            )
            if last.connect_seconds is not None:
                yield GaugeMetricFamily(
                    "dvc_citizen_db_connect_duration_seconds",
                    "Seconds the last probe took to open a connection.",
                    value=last.connect_seconds,
                )
            if last.query_seconds is not None:
                yield GaugeMetricFamily(
                    "dvc_citizen_db_query_duration_seconds",
                    "Seconds the last probe's lookup query took.",
                    value=last.query_seconds,
                )
        if snap.last_success is not None:
            yield GaugeMetricFamily(
                "dvc_citizen_db_last_success_timestamp_seconds",
                "Unix time of the last successful probe.",
                value=snap.last_success,
            )
        yield CounterMetricFamily(
            "dvc_citizen_db_probes", "Probes run since the exporter started.", value=snap.probes
        )
        yield reason_counter(
            "dvc_citizen_db_probe_failures",
            "Probes that failed, by reason.",
            FAILURE_REASONS,
            snap.failures,
        )
