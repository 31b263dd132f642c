"""Readiness metrics computed from the latest check results at every scrape."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, CollectorRegistry

from exporters.readiness.store import Latest, StoreMissing, read_latest, timestamp

SITE_LABELS = ("site_code", "unit", "district", "district_code", "phase")


class ReadinessCollector:
    """Per-site check outcomes, per-district ready ratios, result age and go-live dates."""

    def __init__(
        self,
        path: Path,
        registry: CollectorRegistry | None = REGISTRY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.clock = clock
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            rows = read_latest(self.path)
        except StoreMissing:
            rows = []
        check_ok = GaugeMetricFamily(
            "dvc_site_check_ok",
            "1 if the newest result of the check passed on every terminal of the site, else 0.",
            labels=[*SITE_LABELS, "check"],
        )
        site_ready = GaugeMetricFamily(
            "dvc_site_ready",
            "1 if every check of the site passed in its newest results.",
            labels=list(SITE_LABELS),
        )
        ratio = GaugeMetricFamily(
            "dvc_sites_ready_ratio",
            "Share of checked sites of the district and phase that are ready.",
            labels=["district_code", "district", "phase"],
        )
        checked = GaugeMetricFamily(
            "dvc_sites_checked",
            "Sites of the district and phase with check results.",
            labels=["district_code", "district", "phase"],
        )
        go_live = GaugeMetricFamily(
            "dvc_phase_go_live_timestamp_seconds",
            "When the phase goes live (Unix time, midnight Hanoi time).",
            labels=["phase"],
        )
        age = GaugeMetricFamily(
            "dvc_readiness_newest_result_age_seconds",
            "Seconds since the newest check result was recorded (NaN if none).",
        )
        checks: dict[tuple[str, str, str, str, str], dict[str, bool]] = {}
        phases: dict[str, str] = {}
        for row in rows:
            site = _site_key(row)
            per_check = checks.setdefault(site, {})
            per_check[row.check] = per_check.get(row.check, True) and row.ok
            if row.phase and row.go_live:
                phases[row.phase] = row.go_live
        districts: dict[tuple[str, str, str], list[bool]] = {}
        for site, per_check in sorted(checks.items()):
            for name, ok in sorted(per_check.items()):
                check_ok.add_metric([*site, name], 1.0 if ok else 0.0)
            ready = all(per_check.values())
            site_ready.add_metric(list(site), 1.0 if ready else 0.0)
            _, _, district, district_code, phase = site
            if district_code:  # the data center belongs to no district
                districts.setdefault((district_code, district, phase), []).append(ready)
        for labels, readiness in sorted(districts.items()):
            ratio.add_metric(list(labels), sum(readiness) / len(readiness))
            checked.add_metric(list(labels), float(len(readiness)))
        for phase, day in sorted(phases.items()):
            go_live.add_metric([phase], timestamp(day))
        newest = max((timestamp(r.time) for r in rows), default=None)
        age.add_metric([], self.clock() - newest if newest is not None else float("nan"))
        yield from (check_ok, site_ready, ratio, checked, go_live, age)


def _site_key(row: Latest) -> tuple[str, str, str, str, str]:
    return (row.site_code, row.unit, row.district, row.district_code, row.phase)
