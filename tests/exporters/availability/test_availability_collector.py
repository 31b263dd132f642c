"""The collector's view of sweep results, read back through a fresh registry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

from exporters.availability.collector import AvailabilityCollector
from exporters.availability.probe import ProbeResult
from exporters.availability.results import Results, SweepReport
from exporters.availability.targets import LABEL_NAMES, Target

MakeTarget = Callable[..., Target]

SELF = {"exporter": "availability"}


def setup(make_target: MakeTarget) -> tuple[Results, CollectorRegistry, list[dict[str, str]]]:
    targets = [
        make_target("http://portal/a", unit_code="00376", service="c-marriage"),
        make_target("http://portal/b", unit_code="00379", service="c-birth"),
    ]
    results = Results(targets)
    registry = CollectorRegistry()
    AvailabilityCollector(results, registry)
    return results, registry, [t.label_dict() for t in targets]


def report(finished: float, duration: float = 0.25) -> SweepReport:
    return SweepReport(finished=finished, duration=duration, targets=2, up=1, not_started=0)


def test_before_the_first_sweep_only_the_target_count_is_known(make_target):
    _, registry, (first, _) = setup(make_target)
    assert registry.get_sample_value("dvc_exporter_targets", SELF) == 2
    assert registry.get_sample_value("dvc_exporter_sweeps_total", SELF) == 0
    assert registry.get_sample_value("dvc_service_up", first) is None
    assert registry.get_sample_value("dvc_exporter_last_sweep_timestamp_seconds", SELF) is None


def test_a_sweep_sets_up_duration_and_last_success_per_pair(make_target):
    results, registry, (first, second) = setup(make_target)
    results.record([ProbeResult(True, 0.012), ProbeResult(False, 5.0, "timeout")], report(1000.0))
    assert set(first) == set(LABEL_NAMES)
    assert registry.get_sample_value("dvc_service_up", first) == 1
    assert registry.get_sample_value("dvc_service_up", second) == 0
    assert registry.get_sample_value("dvc_service_probe_duration_seconds", first) == 0.012
    assert registry.get_sample_value("dvc_service_last_success_timestamp_seconds", first) == 1000
    assert registry.get_sample_value("dvc_service_last_success_timestamp_seconds", second) == 0
    assert registry.get_sample_value("dvc_exporter_sweep_duration_seconds", SELF) == 0.25
    assert registry.get_sample_value("dvc_exporter_last_sweep_timestamp_seconds", SELF) == 1000


def test_failures_count_per_reason_across_sweeps(make_target):
    results, registry, (first, second) = setup(make_target)
    results.record([ProbeResult(True, 0.01), ProbeResult(False, 5.0, "timeout")], report(1000.0))
    results.record([ProbeResult(False, 0.01, "body"), ProbeResult(False, 5.0, "timeout")],
                   report(1015.0))  # fmt: skip
    failures = "dvc_service_probe_failures_total"
    assert registry.get_sample_value(failures, {**second, "reason": "timeout"}) == 2
    assert registry.get_sample_value(failures, {**first, "reason": "body"}) == 1
    assert registry.get_sample_value(failures, {**first, "reason": "timeout"}) is None
    assert registry.get_sample_value("dvc_service_up", first) == 0
    assert registry.get_sample_value("dvc_service_last_success_timestamp_seconds", first) == 1000
    assert registry.get_sample_value("dvc_exporter_sweeps_total", SELF) == 2


def test_the_sweep_interval_is_exported_for_the_staleness_rule(make_target):
    """Rules call a sweep stale after 3 intervals, whatever interval this exporter runs."""
    results = Results([make_target("http://portal/a")])
    registry = CollectorRegistry()
    AvailabilityCollector(results, registry, interval=5.0)
    assert registry.get_sample_value("dvc_exporter_sweep_interval_seconds", SELF) == 5.0
