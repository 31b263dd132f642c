"""GO/NO-GO from evidence: pure functions, fail-closed, a reason for every finding.

Each criterion yields a finding: "pass", "fail" (the evidence shows a gap), "missing"
(evidence absent, stale or too short for the window) or "waived" (a failed criterion
covered by a valid waiver). Only pass and waived count towards GO. Missing evidence is
never waivable: a waiver approves a known gap, it cannot stand in for facts nobody has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from signoff.criteria import DATACENTER, Criterion, Thresholds
from signoff.evidence import Evidence, ReadinessRun, Series, SiteEvidence
from signoff.waivers import Waiver

Outcome = Literal["pass", "fail", "missing", "waived"]
Verdict = Literal["GO", "NO-GO"]
OK_OUTCOMES: frozenset[str] = frozenset({"pass", "waived"})


@dataclass(frozen=True)
class Finding:
    """One criterion judged at one site (or at the data center), with why."""

    criterion: Criterion
    outcome: Outcome
    reason: str
    waiver: Waiver | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES


def _verdict(ok: bool) -> Verdict:
    return "GO" if ok else "NO-GO"


@dataclass(frozen=True)
class SiteDecision:
    code: str
    name: str
    district_code: str
    district_name: str
    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> Verdict:
        return _verdict(bool(self.findings) and all(f.ok for f in self.findings))

    def finding(self, criterion: Criterion) -> Finding:
        return next(f for f in self.findings if f.criterion == criterion)


@dataclass(frozen=True)
class DistrictDecision:
    code: str
    name: str
    sites: tuple[SiteDecision, ...]

    @property
    def verdict(self) -> Verdict:
        return _verdict(bool(self.sites) and all(s.verdict == "GO" for s in self.sites))


@dataclass(frozen=True)
class Decision:
    """The whole sign-off: data-center findings, sites, districts and the overall verdict."""

    evidence: Evidence
    thresholds: Thresholds
    datacenter: tuple[Finding, ...]
    sites: tuple[SiteDecision, ...]
    districts: tuple[DistrictDecision, ...]
    waivers: tuple[Waiver, ...] = ()
    used_waivers: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @property
    def verdict(self) -> Verdict:
        return _verdict(
            bool(self.districts)
            and all(d.verdict == "GO" for d in self.districts)
            and all(f.ok for f in self.datacenter)
        )

    def problems(self) -> list[tuple[str, Finding]]:
        """(site or "datacenter", finding) for every criterion that is not met."""
        found = [(DATACENTER, f) for f in self.datacenter if not f.ok]
        found += [(s.code, f) for s in self.sites for f in s.findings if not f.ok]
        return found


def _age(delta_seconds: float) -> str:
    seconds = int(delta_seconds)
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest and minutes < 10 else f"{minutes} min"
    return f"{seconds} s"


def _terminal(run: ReadinessRun | None, ev: Evidence, th: Thresholds) -> Finding:
    redo = f"run `dvc-rollout check --phase {ev.phase}`"
    if "readiness" in ev.unavailable:
        return Finding(
            "terminal", "missing", f"readiness results unavailable: {ev.unavailable['readiness']}"
        )
    if run is None:
        return Finding("terminal", "missing", f"no readiness result for this site: {redo}")
    age = (ev.as_of - run.time).total_seconds()
    if age > th.readiness_max_age.total_seconds():
        return Finding(
            "terminal",
            "missing",
            f"latest readiness result (run {run.run_id}) is {_age(age)} old, older than "
            f"{_age(th.readiness_max_age.total_seconds())}: {redo}",
        )
    if not run.complete:
        return Finding("terminal", "missing", f"readiness run {run.run_id} did not finish: {redo}")
    if not run.checks:
        return Finding("terminal", "missing", f"readiness run {run.run_id} has no checks: {redo}")
    bad = [c for c in run.checks if c.outcome in ("failed", "error")]
    if bad:
        listed = "; ".join(f"{c.check} {c.outcome}: {c.message}".rstrip(": ") for c in bad)
        return Finding(
            "terminal", "fail", f"{len(bad)} of {len(run.checks)} checks not passed — {listed}"
        )
    return Finding(
        "terminal", "pass", f"{len(run.checks)} checks passed (run {run.run_id}, {_age(age)} ago)"
    )


def _series_problem(series: Series | None, ev: Evidence, th: Thresholds) -> str | None:
    """Why a series cannot be trusted as evidence for the window, or None if it can."""
    if series is None or series.ratio is None:
        return "no data"
    if series.last_sample is None or ((ev.as_of - series.last_sample) > th.metric_max_lag):
        last = "never" if series.last_sample is None else series.last_sample.isoformat()
        return f"stale (last sample {last})"
    if series.first_sample is None:
        return "no first sample"
    covered = (ev.as_of - series.first_sample).total_seconds() / ev.window.seconds
    if covered < th.min_coverage:
        return (
            f"covers only {_age((ev.as_of - series.first_sample).total_seconds())} "
            f"of the {ev.window.text} window"
        )
    return None


def _availability(site: SiteEvidence, ev: Evidence, th: Thresholds) -> Finding:
    if "prometheus" in ev.unavailable:
        return Finding(
            "availability", "missing", f"Prometheus unavailable: {ev.unavailable['prometheus']}"
        )
    if not site.services:
        return Finding("availability", "missing", "the phase lists no services for this site")
    missing: dict[str, list[str]] = {}
    low = []
    for svc in site.services:
        series = site.availability.get(svc)
        problem = _series_problem(series, ev, th)
        if problem is not None:
            missing.setdefault(problem, []).append(svc)
        elif series is not None and series.ratio is not None and series.ratio < th.availability_min:
            low.append(f"{svc}: {series.ratio:.2%}")
    if missing:
        return Finding(
            "availability",
            "missing",
            f"no usable dvc_service_up evidence for {sum(map(len, missing.values()))} of "
            f"{len(site.services)} services — "
            + "; ".join(f"{why}: {', '.join(svcs)}" for why, svcs in missing.items()),
        )
    if low:
        return Finding(
            "availability",
            "fail",
            f"below {th.availability_min:.2%} over {ev.window.text} — {'; '.join(low)}",
        )
    lowest = min(s.ratio for s in site.availability.values() if s.ratio is not None)
    return Finding(
        "availability",
        "pass",
        f"{len(site.services)} services ≥ {th.availability_min:.2%} over {ev.window.text} "
        f"(lowest {lowest:.2%})",
    )


def _datacenter(
    criterion: Criterion,
    metric: str,
    series: Series | None,
    minimum: float,
    ev: Evidence,
    th: Thresholds,
) -> Finding:
    if "prometheus" in ev.unavailable:
        return Finding(
            criterion, "missing", f"Prometheus unavailable: {ev.unavailable['prometheus']}"
        )
    problem = _series_problem(series, ev, th)
    if problem is not None or series is None or series.ratio is None:
        return Finding(criterion, "missing", f"no usable {metric} evidence: {problem}")
    if series.ratio < minimum:
        return Finding(
            criterion,
            "fail",
            f"{metric} {series.ratio:.2%} over {ev.window.text}, below {minimum:.2%}",
        )
    return Finding(criterion, "pass", f"{metric} {series.ratio:.2%} over {ev.window.text}")


def _records(site: SiteEvidence, th: Thresholds) -> list[Finding]:
    found = []
    if site.accounts > 0:
        found.append(Finding("accounts", "pass", f"{site.accounts} officials' accounts recorded"))
    else:
        found.append(
            Finding(
                "accounts",
                "fail",
                "no officials' account recorded in the inventory records (to be filled)",
            )
        )
    if site.training_sessions > 0:
        found.append(
            Finding("training", "pass", f"{site.training_sessions} training sessions recorded")
        )
    else:
        found.append(
            Finding(
                "training",
                "fail",
                "no training session recorded in the inventory records (to be filled)",
            )
        )
    if site.helpdesk_staff is None:
        found.append(Finding("helpdesk", "fail", "helpdesk staffing not recorded (to be filled)"))
    elif site.helpdesk_staff < th.min_helpdesk_staff:
        found.append(
            Finding(
                "helpdesk",
                "fail",
                f"{site.helpdesk_staff} helpdesk staff recorded, "
                f"fewer than {th.min_helpdesk_staff}",
            )
        )
    else:
        volunteers = site.helpdesk_volunteers or 0
        found.append(
            Finding(
                "helpdesk", "pass", f"{site.helpdesk_staff} staff, {volunteers} volunteers recorded"
            )
        )
    return found


def _waive(
    site: str, findings: Iterable[Finding], waivers: dict[tuple[str, str], Waiver]
) -> tuple[Finding, ...]:
    judged = []
    for f in findings:
        waiver = waivers.get((site, f.criterion))
        if waiver is None or f.outcome == "pass":
            judged.append(f)
        elif f.outcome == "fail":
            judged.append(Finding(f.criterion, "waived", f.reason, waiver))
        else:
            judged.append(
                Finding(
                    f.criterion,
                    f.outcome,
                    f"{f.reason} (waiver by {waiver.approver} not applied: "
                    "a waiver covers a known gap, not missing or stale evidence)",
                    waiver,
                )
            )
    return tuple(judged)


def decide(evidence: Evidence, thresholds: Thresholds, waivers: Sequence[Waiver] = ()) -> Decision:
    """Judge every site and the data center; the overall verdict is GO only if all are."""
    by_key: dict[tuple[str, str], Waiver] = {(w.site, w.criterion): w for w in waivers}
    datacenter = _waive(
        DATACENTER,
        [
            _datacenter(
                "sms", "dvc_sms_e2e_success", evidence.sms, thresholds.sms_min, evidence, thresholds
            ),
            _datacenter(
                "citizen_db",
                "dvc_citizen_db_up",
                evidence.citizen_db,
                thresholds.citizen_db_min,
                evidence,
                thresholds,
            ),
        ],
        by_key,
    )
    sites = tuple(
        SiteDecision(
            code=s.code,
            name=s.name,
            district_code=s.district_code,
            district_name=s.district_name,
            findings=_waive(
                s.code,
                [
                    _terminal(s.readiness, evidence, thresholds),
                    _availability(s, evidence, thresholds),
                    *_records(s, thresholds),
                ],
                by_key,
            ),
        )
        for s in evidence.sites
    )
    grouped: dict[str, list[SiteDecision]] = {}
    for s in sites:
        grouped.setdefault(s.district_code, []).append(s)
    districts = tuple(
        DistrictDecision(code, members[0].district_name, tuple(members))
        for code, members in sorted(grouped.items())
    )
    used = frozenset(
        (site, f.criterion)
        for site, findings in [(DATACENTER, datacenter), *((s.code, s.findings) for s in sites)]
        for f in findings
        if f.outcome == "waived"
    )
    return Decision(evidence, thresholds, datacenter, sites, districts, tuple(waivers), used)
