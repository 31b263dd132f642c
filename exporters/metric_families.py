"""Metric families every exporter writes the same way, so a rule reads them the same way.

A "why is it down" gauge is one-hot over a fixed set of reasons: every reason is always
exported (0 or 1), so a rule can match `reason="timeout"` without the series appearing
and vanishing, and an absent series means the exporter is not answering, not "no reason".
A failures counter likewise exports every reason from the start, at 0, so `increase()`
sees the first failure instead of a series that begins at 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


def reason_gauge(
    name: str, documentation: str, reasons: Iterable[str], current: str | None
) -> GaugeMetricFamily:
    """`name{reason}`: 1 on `current` (None: no reason applies, all 0), 0 on every other."""
    family = GaugeMetricFamily(name, documentation, labels=["reason"])
    for reason in reasons:
        family.add_metric([reason], 1.0 if reason == current else 0.0)
    return family


def reason_counter(
    name: str, documentation: str, reasons: Iterable[str], counts: Mapping[str, float]
) -> CounterMetricFamily:
    """`name_total{reason}`: the count of each of `reasons`, 0 where `counts` has none."""
    family = CounterMetricFamily(name, documentation, labels=["reason"])
    for reason in reasons:
        family.add_metric([reason], float(counts.get(reason, 0)))
    return family
