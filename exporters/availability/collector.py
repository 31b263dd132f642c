"""The Prometheus view of the sweep results: per-pair availability and exporter health.

The families are built once per sweep and reused by every scrape until the next one, so
a scrape costs no more than the text rendering (which the server caches as well).
Failure counters appear per reason after that reason's first failure.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
from prometheus_client.samples import Sample

from exporters.availability.reasons import REASONS
from exporters.availability.results import Results
from exporters.availability.targets import LABEL_NAMES

EXPORTER = "availability"

UP = "dvc_service_up"
DURATION = "dvc_service_probe_duration_seconds"
LAST_SUCCESS = "dvc_service_last_success_timestamp_seconds"
FAILURES = "dvc_service_probe_failures_total"
SWEEP_DURATION = "dvc_exporter_sweep_duration_seconds"
TARGETS = "dvc_exporter_targets"
SWEEPS = "dvc_exporter_sweeps_total"
LAST_SWEEP = "dvc_exporter_last_sweep_timestamp_seconds"
SWEEP_INTERVAL = "dvc_exporter_sweep_interval_seconds"
CERT_EXPIRY = "dvc_tls_certificate_expiry_timestamp_seconds"


class AvailabilityCollector(Collector):
    """Yields the metric families for `results`; registers itself with `registry` if given."""

    def __init__(
        self,
        results: Results,
        registry: CollectorRegistry | None = REGISTRY,
        interval: float | None = None,
    ) -> None:
        self._results = results
        self._interval = interval
        self._built_for = -1
        self._families: list[Metric] = []
        if registry is not None:
            registry.register(self)

    def describe(self) -> Iterable[Metric]:
        return _families()

    def collect(self) -> Iterable[Metric]:
        if self._built_for != self._results.generation:
            self._families = self._build()
            self._built_for = self._results.generation
        return iter(self._families)

    def _build(self) -> list[Metric]:
        results = self._results
        up, duration, last_success, failures, *own = _families()
        if results.sweeps:
            for index, labels in enumerate(results.label_dicts):
                up.samples.append(Sample(UP, labels, 1.0 if results.up[index] else 0.0))
                duration.samples.append(Sample(DURATION, labels, results.duration[index]))
                last_success.samples.append(
                    Sample(LAST_SUCCESS, labels, results.last_success[index])
                )
                counts = results.failures[index]
                for reason in REASONS:
                    if reason in counts:
                        failures.samples.append(
                            Sample(FAILURES, {**labels, "reason": reason}, float(counts[reason]))
                        )
        sweep_duration, targets, sweeps, last_sweep, interval, expiry = own
        mine = {"exporter": EXPORTER}
        for endpoint, when in sorted(results.cert_expiry.items()):
            expiry.samples.append(Sample(CERT_EXPIRY, {**mine, "endpoint": endpoint}, when))
        if self._interval is not None:
            interval.samples.append(Sample(SWEEP_INTERVAL, mine, self._interval))
        report = results.last_sweep
        targets.samples.append(Sample(TARGETS, mine, float(len(results.targets))))
        sweeps.samples.append(Sample(SWEEPS, mine, float(results.sweeps)))
        if report is not None:
            sweep_duration.samples.append(Sample(SWEEP_DURATION, mine, report.duration))
            last_sweep.samples.append(Sample(LAST_SWEEP, mine, report.finished))
        return [up, duration, last_success, failures, *own]


def _families() -> list[Metric]:
    """Empty families, in exposition order, carrying the names, help and label names."""
    pair = list(LABEL_NAMES)
    own = ["exporter"]
    return [
        GaugeMetricFamily(UP, "1 if the pair's service answered as expected in the last sweep.",
                          labels=pair),
        GaugeMetricFamily(DURATION, "Seconds the pair's last probe took.", labels=pair),
        GaugeMetricFamily(LAST_SUCCESS, "Unix time of the pair's last good answer, 0 if none.",
                          labels=pair),
        CounterMetricFamily(FAILURES, "Failed probes of the pair, by reason.",
                            labels=[*pair, "reason"]),
        GaugeMetricFamily(SWEEP_DURATION, "Seconds the last full sweep took.", labels=own),
        GaugeMetricFamily(TARGETS, "Pairs this exporter (shard) probes.", labels=own),
        CounterMetricFamily(SWEEPS, "Sweeps completed since start.", labels=own),
        GaugeMetricFamily(LAST_SWEEP, "Unix time the last sweep finished.", labels=own),
        # Rules judge a sweep stale after 3 intervals, whatever the deployment's interval.
        GaugeMetricFamily(SWEEP_INTERVAL, "Seconds between sweep starts.", labels=own),
        GaugeMetricFamily(CERT_EXPIRY, "Unix time the endpoint's TLS certificate expires.",
                          labels=[*own, "endpoint"]),
    ]  # fmt: skip
