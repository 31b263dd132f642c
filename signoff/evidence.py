"""The facts a sign-off rests on, gathered from their sources into one hashable record.

Evidence is plain data (pydantic models) so it can be written into a report, hashed,
kept as a fixture and judged by `decision` without knowing where it came from. A source
that cannot answer (or answers something unreadable) is recorded as unavailable, never
silently skipped: the decision then fails closed.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from dvc_rollout.errors import DvcRolloutError
from inventory.store import Inventory, Site

CheckOutcome = Literal["passed", "failed", "error", "skipped"]
EstateKind = Literal["lab", "staging", "production"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckResult(_Frozen):
    """One readiness check's outcome on one device in one run."""

    check: str
    outcome: CheckOutcome
    message: str = ""


class DeviceRun(_Frozen):
    """A terminal's newest readiness run of this estate at the as-of time, with its results.

    `complete` is whether that run had finished by the as-of time; `collected` the check
    ids the run collected for this host; `seal` the run's seal in the results store.
    """

    host: str
    run_id: str
    started: datetime
    complete: bool
    seal: str | None = None
    collected: tuple[str, ...] = ()
    checks: tuple[CheckResult, ...] = ()


class Equipment(_Frozen):
    """What the inventory lists at a site: each one must be checked."""

    terminals: int = 1
    printers: int = 1
    scanners: int = 1


class Series(_Frozen):
    """One metric over the window: its mean, how many samples it has of how many expected.

    `expected_samples` is the window over the scrape interval; `invalid` says why the
    samples cannot be used at all (a non-finite or out-of-range value).
    """

    ratio: float | None
    samples: int = 0
    expected_samples: int = 0
    interval_seconds: float | None = None
    last_sample: datetime | None = None
    invalid: str | None = None

    @property
    def coverage(self) -> float:
        """Samples found over samples expected (0 when nothing is expected), at most 1."""
        if self.expected_samples <= 0:
            return 0.0
        return min(1.0, self.samples / self.expected_samples)


class Window(_Frozen):
    """The evidence window, kept both as Prometheus text and as seconds."""

    text: str
    seconds: int

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)


class EstateRef(_Frozen):
    """The estate a sign-off judges: only its own evidence counts."""

    stack: str
    kind: EstateKind

    @property
    def name(self) -> str:
        return self.stack if self.stack == self.kind else f"{self.stack} ({self.kind})"


class Scope(_Frozen):
    """How much of the phase was judged: a sample is never a city-wide verdict."""

    sites_in_phase: int
    selection: str = "phase"  # phase | lab | staging | district | unit

    def is_sample(self, judged: int) -> bool:
        return self.selection != "phase" or judged < self.sites_in_phase


class ServiceName(_Frozen):
    vi: str
    en: str


class SiteEvidence(_Frozen):
    """Everything known about one one-stop desk."""

    code: str
    name: str
    district_code: str
    district_name: str
    equipment: Equipment = Equipment()
    # One entry per terminal the inventory lists that a run of this estate checked.
    terminals: dict[str, DeviceRun] = {}
    # service code -> its series at this site's unit; a missing key means no series at all.
    availability: dict[str, Series] = {}
    services: tuple[str, ...] = ()
    accounts: int = 0
    training_sessions: int = 0
    helpdesk_staff: int | None = None
    helpdesk_volunteers: int | None = None

    @property
    def terminal_hosts(self) -> tuple[str, ...]:
        """Host names of the terminals the inventory lists: term-<code>-<n>."""
        return tuple(f"term-{self.code}-{n}" for n in range(1, self.equipment.terminals + 1))


class Maintenance(_Frozen):
    """A planned outage (an Alertmanager silence) in force during the evidence window.

    Shown to the board, never a reason for GO: availability is judged on the probes,
    which kept recording while the window silenced the alerts.
    """

    id: str
    district_code: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    author: str
    comment: str


class Evidence(_Frozen):
    """All evidence for one phase of one estate at one as-of time."""

    plan: str
    phase: int
    phase_name_vi: str = ""
    phase_name_en: str = ""
    go_live: date
    as_of: datetime
    window: Window
    estate: EstateRef
    scope: Scope
    sites: tuple[SiteEvidence, ...]
    # The check ids every terminal must pass (checks/checkset.py).
    expected_checks: tuple[str, ...] = ()
    service_names: dict[str, ServiceName] = {}
    sms: Series | None = None
    citizen_db: Series | None = None
    # The results store's chain head when it was verified for this sign-off.
    store_head: str | None = None
    # source name ("prometheus", "readiness") -> why it could not answer.
    unavailable: dict[str, str] = {}
    # source name -> where it was read from (URL, file), for the reader of the report.
    sources: dict[str, str] = {}
    # Maintenance windows of the selected districts (or city-wide) overlapping the window.
    maintenance: tuple[Maintenance, ...] = ()

    def canonical_json(self) -> str:
        """One fixed text for the same evidence: sorted keys, NFC, no spaces."""
        text = json.dumps(
            self.model_dump(mode="json"),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        return unicodedata.normalize("NFC", text)

    def sha256(self) -> str:
        """The digest reports carry so anyone can tell which evidence a verdict used."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def service(self, code: str) -> str:
        """A service as people know it: `Đăng ký kết hôn (c-marriage)`."""
        name = self.service_names.get(code)
        return f"{name.vi} ({code})" if name else code


class EvidenceUnavailable(DvcRolloutError):
    """A source could not answer; `gather` records it and the decision fails closed."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class ReadinessSource(Protocol):
    """Where readiness results come from (the checks' results store)."""

    name: str
    where: str

    def devices(
        self, estate: EstateRef, hosts: Sequence[str], as_of: datetime
    ) -> Mapping[str, DeviceRun]:
        """Per host, the estate's newest run that targeted it, started at or before as-of.

        Hosts no run of the estate targeted are absent. Raises EvidenceUnavailable when
        the store is missing or its seal chain is broken.
        """
        ...

    def head(self) -> str | None:
        """The seal at the head of the store's chain (after `devices` verified it)."""
        ...


class MaintenanceSource(Protocol):
    """Where maintenance windows are kept (Alertmanager's silences)."""

    name: str
    where: str

    def windows(self, start: datetime, end: datetime) -> list[Maintenance]:
        """Windows in force at any moment of [start, end]; EvidenceUnavailable if unknown."""
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
    *,
    estate: EstateRef,
    expected_checks: Sequence[str],
    districts: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
    selection: str = "phase",
    maintenance: MaintenanceSource | None = None,
) -> Evidence:
    """Collect the evidence for every site of `phase`, optionally only some districts/sites."""
    info = inv.phase(phase)
    every = inv.sites_in(phase)
    sites = sorted(
        (s for s in inv.sites_in(phase, districts) if only is None or s.code in set(only)),
        key=lambda s: (s.place.district_code, s.code),
    )
    services = tuple(s.code for s in inv.phase_services(phase))
    unavailable: dict[str, str] = {}
    runs: Mapping[str, DeviceRun] = {}
    head = None
    try:
        runs = readiness.devices(estate, [h for s in sites for h in s.terminal_hosts], as_of)
        head = readiness.head()
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
    windows: tuple[Maintenance, ...] = ()
    sources = {readiness.name: readiness.where, metrics.name: metrics.where}
    if maintenance is not None:
        sources[maintenance.name] = maintenance.where
        judged = {s.place.district_code for s in sites}
        try:
            found = maintenance.windows(as_of - window.delta, as_of)
            windows = tuple(w for w in found if not w.district_code or w.district_code in judged)
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
        estate=estate,
        scope=Scope(sites_in_phase=len(every), selection=selection),
        expected_checks=tuple(sorted(expected_checks)),
        service_names={
            s.code: ServiceName(vi=s.name_vi, en=s.name_en) for s in inv.phase_services(phase)
        },
        store_head=head,
        sites=tuple(
            SiteEvidence(
                code=s.code,
                name=s.name,
                district_code=s.place.district_code,
                district_name=s.place.district_name,
                equipment=Equipment(
                    terminals=s.equipment.terminals,
                    printers=s.equipment.printers,
                    scanners=s.equipment.scanners,
                ),
                terminals={h: runs[h] for h in s.terminal_hosts if h in runs},
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
        sources=sources,
        maintenance=windows,
    )
