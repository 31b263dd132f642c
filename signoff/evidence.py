"""The facts a sign-off rests on, gathered from their sources into one hashable record.

Evidence is plain data (pydantic models) so it can be written into a report, hashed,
kept as a fixture and judged by `decision` without knowing where it came from. A source
that cannot answer is recorded as unavailable, never silently skipped: the decision
then fails closed.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from inventory.store import Inventory, Site

CheckOutcome = Literal["passed", "failed", "error", "skipped"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckResult(_Frozen):
    """One readiness check's latest outcome at a site."""

    check: str
    outcome: CheckOutcome
    message: str = ""


class ReadinessRun(_Frozen):
    """A site's newest readiness results (from `dvc-rollout check`) before the as-of time."""

    run_id: str
    time: datetime
    complete: bool = True
    checks: tuple[CheckResult, ...] = ()


class Series(_Frozen):
    """One metric summarised over the window: mean value and the span its samples cover."""

    ratio: float | None
    first_sample: datetime | None = None
    last_sample: datetime | None = None


class Window(_Frozen):
    """The evidence window, kept both as Prometheus text and as seconds."""

    text: str
    seconds: int

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)


class SiteEvidence(_Frozen):
    """Everything known about one one-stop desk."""

    code: str
    name: str
    district_code: str
    district_name: str
    readiness: ReadinessRun | None = None
    # service code -> its series at this site's unit; a missing key means no series at all.
    availability: dict[str, Series] = {}
    services: tuple[str, ...] = ()
    accounts: int = 0
    training_sessions: int = 0
    helpdesk_staff: int | None = None
    helpdesk_volunteers: int | None = None


class Evidence(_Frozen):
    """All evidence for one phase at one as-of time."""

    plan: str
    phase: int
    phase_name_vi: str = ""
    phase_name_en: str = ""
    go_live: date
    as_of: datetime
    window: Window
    sites: tuple[SiteEvidence, ...]
    sms: Series | None = None
    citizen_db: Series | None = None
    # source name ("prometheus", "readiness") -> why it could not answer.
    unavailable: dict[str, str] = {}
    # source name -> where it was read from (URL, file), for the reader of the report.
    sources: dict[str, str] = {}

    def canonical_json(self) -> str:
        """One fixed text for the same evidence: sorted keys, NFC, no spaces."""
        text = json.dumps(
            self.model_dump(mode="json"),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return unicodedata.normalize("NFC", text)

    def sha256(self) -> str:
        """The digest reports carry so anyone can tell which evidence a verdict used."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


class EvidenceUnavailable(Exception):
    """A source could not answer; `gather` records it and the decision fails closed."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class ReadinessSource(Protocol):
    """Where readiness results come from (the checks' results store)."""

    name: str
    where: str

    def latest(self, sites: Sequence[str], as_of: datetime) -> Mapping[str, ReadinessRun]:
        """The newest run per site at or before `as_of`; sites never checked are absent."""
        ...


class MetricsSource(Protocol):
    """Where availability, SMS and citizen-DB metrics come from (Prometheus)."""

    name: str
    where: str

    def availability(
        self, phase: int, units: Sequence[str], as_of: datetime, window: Window
    ) -> Mapping[tuple[str, str], Series]:
        """(unit_code, service) -> series of `dvc_service_up` over the window."""
        ...

    def sms(self, as_of: datetime, window: Window) -> Series | None:
        """End-to-end SMS success over the window; None if no series exists."""
        ...

    def citizen_db(self, as_of: datetime, window: Window) -> Series | None:
        """Citizen database up over the window; None if no series exists."""
        ...


def _records(site: Site, as_of: datetime) -> dict[str, Any]:
    officials = [a for a in site.accounts if a.role in ("official", "leader")]
    trained = [t for t in site.training if t.date <= as_of.date()]
    return {
        "accounts": len(officials),
        "training_sessions": len(trained),
        "helpdesk_staff": site.helpdesk.staff,
        "helpdesk_volunteers": site.helpdesk.volunteers,
    }


def gather(
    inv: Inventory,
    phase: int,
    as_of: datetime,
    window: Window,
    readiness: ReadinessSource,
    metrics: MetricsSource,
    districts: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
) -> Evidence:
    """Collect the evidence for every site of `phase`, optionally only some districts/sites."""
    info = inv.phase(phase)
    sites = sorted(
        (s for s in inv.sites_in(phase, districts) if only is None or s.code in set(only)),
        key=lambda s: (s.place.district_code, s.code),
    )
    services = tuple(s.code for s in inv.phase_services(phase))
    unavailable: dict[str, str] = {}
    runs: Mapping[str, ReadinessRun] = {}
    try:
        runs = readiness.latest([s.code for s in sites], as_of)
    except EvidenceUnavailable as exc:
        unavailable[exc.source] = exc.reason
    series: Mapping[tuple[str, str], Series] = {}
    sms = citizen_db = None
    try:
        series = metrics.availability(phase, [s.code for s in sites], as_of, window)
        sms = metrics.sms(as_of, window)
        citizen_db = metrics.citizen_db(as_of, window)
    except EvidenceUnavailable as exc:
        unavailable[exc.source] = exc.reason
    return Evidence(
        plan=inv.plan.id,
        phase=phase,
        phase_name_vi=info.name_vi,
        phase_name_en=info.name_en,
        go_live=info.go_live,
        as_of=as_of,
        window=window,
        sites=tuple(
            SiteEvidence(
                code=s.code,
                name=s.name,
                district_code=s.place.district_code,
                district_name=s.place.district_name,
                readiness=runs.get(s.code),
                availability={
                    svc: series[(s.code, svc)] for svc in services if (s.code, svc) in series
                },
                services=services,
                **_records(s, as_of),
            )
            for s in sites
        ),
        sms=sms,
        citizen_db=citizen_db,
        unavailable=unavailable,
        sources={readiness.name: readiness.where, metrics.name: metrics.where},
    )
