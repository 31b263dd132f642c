"""The fast exposition writes exactly what prometheus_client's generate_latest writes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import generate_latest

from exporters.availability.collector import AvailabilityCollector
from exporters.availability.exposition import render_text
from exporters.availability.probe import ProbeResult
from exporters.availability.results import Results, SweepReport


def test_render_text_matches_generate_latest_byte_for_byte(make_target):
    targets = [
        make_target("http://portal/a", unit_code="00376"),
        make_target("http://portal/b", unit_code="00379", unit='Xã "Mới"\\ \nthử'),
        make_target("http://portal/c", unit_code="00382", service="c-birth"),
    ]
    results = Results(targets)
    registry = CollectorRegistry()
    AvailabilityCollector(results, registry)
    Histogram("dvc_test_seconds", "A histogram goes through generate_latest.", registry=registry)
    probes = [ProbeResult(True, 0.0123), ProbeResult(False, 5.0, "timeout"),
              ProbeResult(False, 0.2, "body")]  # fmt: skip
    results.record(probes, SweepReport(1_800_000_000.5, 0.31, 3, 1, 0))
    results.record(probes, SweepReport(1_800_000_015.5, 0.29, 3, 1, 0))
    assert render_text(registry.collect()) == generate_latest(registry)
