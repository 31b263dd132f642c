"""Each site's readiness now, from the newest check results: what on-call is shown.

The readiness exporter (`exporters/readiness`) and the status page both show it, so it
is decided once, here, on the sign-off's terms: a terminal (with its printer and
scanner) is ready only when every check of the full set (`checks/checkset.py`) passed in
its newest results. A skipped check, or a check of the set with no result, is not ready
— the page must never be greener than the sign-off. (The sign-off asks more: one
estate, finished runs, an age limit; see signoff/decision.py.)

Standard library only: the exporter runs it in a Debian container.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from checks.checkset import DATACENTER, on_full_set, worst
from checks.results import Result

PASSED = "passed"


@dataclass(frozen=True)
class SiteReadiness:
    """One site's newest state: per check, the worst outcome over its hosts."""

    site_code: str
    unit: str
    district: str
    district_code: str
    phase: str
    go_live: str
    hosts: tuple[str, ...]
    # check id -> passed | skipped | missing | failed | error (worst over the hosts)
    checks: Mapping[str, str]
    newest: str

    @property
    def ready(self) -> bool:
        return all(outcome == PASSED for outcome in self.checks.values())

    @property
    def not_passed(self) -> dict[str, str]:
        """The checks that keep the site from being ready, with their outcome."""
        return {c: o for c, o in sorted(self.checks.items()) if o != PASSED}


def sites(newest: Iterable[Result], expected: Iterable[str] | None = None) -> list[SiteReadiness]:
    """Every site (and phase) with results, from the newest result of each (site, host,
    check) (`Store.latest()`); terminals are held to `expected` (default the full set), the
    data center's hosts only to what they recorded (their checks differ per role)."""
    by_site: dict[tuple[str, str], list[Result]] = {}
    for result in newest:
        by_site.setdefault((result.site_code, result.phase), []).append(result)
    found = []
    for (code, _phase), results in sorted(by_site.items()):
        per_host: dict[str, dict[str, str]] = {}
        for r in results:
            per_host.setdefault(r.host, {})[r.check_id] = r.outcome
        judged = [
            found_ if code == DATACENTER else on_full_set(found_, expected)
            for found_ in per_host.values()
        ]
        checks = {c: worst(j.get(c, "missing") for j in judged) for c in set().union(*judged)}
        last = max(results, key=lambda r: r.time)
        labelled = next((r for r in reversed(results) if r.go_live), last)
        found.append(
            SiteReadiness(
                site_code=code,
                unit=last.unit,
                district=last.district,
                district_code=last.district_code,
                phase=last.phase,
                go_live=labelled.go_live,
                hosts=tuple(sorted(per_host)),
                checks=dict(sorted(checks.items())),
                newest=last.time,
            )
        )
    return found
