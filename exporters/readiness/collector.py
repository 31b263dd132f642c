"""Readiness metrics computed from the latest check results at every scrape.

Every desk in scope (`exporters.readiness.scope`) is reported, checked or not: a desk
never checked is `dvc_site_checked 0` and `dvc_site_ready 0`, so an alert can name it
before go-live instead of the desk being silently absent. The store is read within the
scrape's deadline; when it cannot be read, `dvc_readiness_up 0` and
`dvc_readiness_error{reason}` say so and no site is reported ready or not (unknown is not
"ready"). With no result at all, the newest result's age is +Inf, never NaN: "never" is
older than any threshold.

A site is ready only as `checks.readiness` decides for the status page too: every check
of the full set passed on each of its terminals; skipped or missing is not ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, CollectorRegistry

from checks import readiness
from checks.results import Result
from exporters import serving
from exporters.metric_families import reason_gauge
from exporters.readiness.scope import ScopedSite
from exporters.readiness.store import StoreMissing, StoreUnreadable, read_latest, timestamp

SITE_LABELS = ("site_code", "unit", "district", "district_code", "phase")
ERROR_REASONS = ("timeout", "unreadable")
SiteKey = tuple[str, str, str, str, str]


class ReadinessCollector:
    """Per-site check outcomes, per-district ready ratios, result age and go-live dates."""

    def __init__(
        self,
        path: Path,
        registry: CollectorRegistry | None = REGISTRY,
        clock: Callable[[], float] = time.time,
        scope: Sequence[ScopedSite] = (),
    ) -> None:
        self.path = path
        self.clock = clock
        self.scope = tuple(scope)
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        error = None
        try:
            rows = read_latest(self.path, timeout=serving.time_left())
        except StoreMissing:
            rows = []
        except StoreUnreadable as e:
            rows, error = [], e.reason
        up = GaugeMetricFamily(
            "dvc_readiness_up", "Whether the results store could be read (1) or not (0)."
        )
        up.add_metric([], 0.0 if error else 1.0)
        errors = reason_gauge(
            "dvc_readiness_error",
            "Why the results store could not be read (1 on the reason that applies, else 0).",
            ERROR_REASONS,
            error,
        )
        yield from (up, errors, self._go_live(rows))
        if error is None:
            yield from self._sites(rows)

    def _go_live(self, rows: Sequence[Result]) -> GaugeMetricFamily:
        go_live = GaugeMetricFamily(
            "dvc_phase_go_live_timestamp_seconds",
            "When the phase goes live (Unix time, midnight Hanoi time).",
            labels=["phase"],
        )
        phases = {s.phase: s.go_live for s in self.scope}
        phases.update({r.phase: r.go_live for r in rows if r.phase and r.go_live})
        for phase, day in sorted(phases.items()):
            go_live.add_metric([phase], timestamp(day))
        return go_live

    def _sites(self, rows: Sequence[Result]) -> Iterator[GaugeMetricFamily]:
        check_ok = GaugeMetricFamily(
            "dvc_site_check_ok",
            "1 if the newest result of the check passed on every terminal of the site; 0 if "
            "it failed, errored, was skipped or has no result on one of them.",
            labels=[*SITE_LABELS, "check"],
        )
        site_ready = GaugeMetricFamily(
            "dvc_site_ready",
            "1 if every check of the full set passed on every terminal of the site in its "
            "newest results (skipped or missing checks are not passed; 0 if never checked).",
            labels=list(SITE_LABELS),
        )
        site_checked = GaugeMetricFamily(
            "dvc_site_checked",
            "1 if the site has check results, 0 if it is in scope and was never checked.",
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
        age = GaugeMetricFamily(
            "dvc_readiness_newest_result_age_seconds",
            "Seconds since the newest check result was recorded (+Inf if there is none).",
        )
        seen: set[SiteKey] = set()
        districts: dict[tuple[str, str, str], list[bool]] = {}
        for site in readiness.sites(rows):
            key: SiteKey = (
                site.site_code,
                site.unit,
                site.district,
                site.district_code,
                site.phase,
            )
            seen.add(key)
            for name, outcome in site.checks.items():
                check_ok.add_metric([*key, name], 1.0 if outcome == readiness.PASSED else 0.0)
            site_ready.add_metric(list(key), 1.0 if site.ready else 0.0)
            site_checked.add_metric(list(key), 1.0)
            if site.district_code:  # the data center belongs to no district
                districts.setdefault((site.district_code, site.district, site.phase), []).append(
                    site.ready
                )
        for scoped in sorted({s.labels for s in self.scope} - seen):
            site_ready.add_metric(list(scoped), 0.0)
            site_checked.add_metric(list(scoped), 0.0)
        for labels, ready in sorted(districts.items()):
            ratio.add_metric(list(labels), sum(ready) / len(ready))
            checked.add_metric(list(labels), float(len(ready)))
        newest = max((timestamp(r.time) for r in rows), default=None)
        age.add_metric([], self.clock() - newest if newest is not None else float("inf"))
        yield from (check_ok, site_ready, site_checked, ratio, checked, age)
