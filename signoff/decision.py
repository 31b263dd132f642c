"""GO/NO-GO from evidence: pure functions, fail-closed, a reason for every finding.

Each criterion yields a finding: "pass", "fail" (the evidence shows a gap), "missing"
(evidence absent, stale, partial, unreadable or from another estate) or "waived" (a
failed criterion covered by a valid waiver). Only pass and waived count towards GO.
Missing evidence is never waivable, with one exception the board asked for: a waiver
that names a terminal check covers that check being skipped or not run at its site.
Every reason is in Vietnamese and in English, with names (services, devices), not codes
alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from signoff.criteria import DATACENTER, Criterion, Thresholds
from signoff.evidence import Evidence, Series, SiteEvidence
from signoff.times import hanoi
from signoff.waivers import Waiver

Outcome = Literal["pass", "fail", "missing", "waived"]
Verdict = Literal["GO", "NO-GO"]
OK_OUTCOMES: frozenset[str] = frozenset({"pass", "waived"})
# How many single problems a reason lists before "and N more".
LISTED = 6


@dataclass(frozen=True)
class Finding:
    """One criterion judged at one site (or at the data center), with why, in both languages."""

    criterion: Criterion
    outcome: Outcome
    reason: str
    reason_vi: str = ""
    waivers: tuple[Waiver, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES

    @property
    def waiver(self) -> Waiver | None:
        return self.waivers[0] if self.waivers else None


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
    used_waivers: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)

    @property
    def verdict(self) -> Verdict:
        return _verdict(
            bool(self.districts)
            and all(d.verdict == "GO" for d in self.districts)
            and all(f.ok for f in self.datacenter)
        )

    @property
    def is_sample(self) -> bool:
        return self.evidence.scope.is_sample(len(self.sites))

    def scope_en(self) -> str:
        """`GO for the sample: 6 of 416 sites` or `GO for the whole phase: 416 of 416 sites`."""
        n, total = len(self.sites), self.evidence.scope.sites_in_phase
        where = "the sample" if self.is_sample else "the whole phase"
        return f"{self.verdict} for {where}: {n} of {total} sites"

    def scope_vi(self) -> str:
        n, total = len(self.sites), self.evidence.scope.sites_in_phase
        verdict = "ĐẠT" if self.verdict == "GO" else "KHÔNG ĐẠT"
        where = "cho mẫu thử" if self.is_sample else "cho toàn bộ giai đoạn"
        return f"{verdict} {where}: {n} trên {total} điểm"

    def problems(self) -> list[tuple[str, Finding]]:
        """(site or "datacenter", finding) for every criterion that is not met."""
        found = [(DATACENTER, f) for f in self.datacenter if not f.ok]
        found += [(s.code, f) for s in self.sites for f in s.findings if not f.ok]
        return found


def age(delta_seconds: float) -> str:
    seconds = int(delta_seconds)
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest and minutes < 10 else f"{minutes} min"
    return f"{seconds} s"


def _listed(items: Sequence[str]) -> str:
    shown = "; ".join(items[:LISTED])
    return shown + (f"; … (+{len(items) - LISTED})" if len(items) > LISTED else "")


@dataclass
class _Gaps:
    """What a site's devices lack, in both languages, and the check waivers that apply."""

    missing: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    waived: list[tuple[str, str]] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)


TerminalWaivers = Mapping[tuple[str, str], Waiver]


def _device_checks(
    site: SiteEvidence,
    host: str,
    ev: Evidence,
    th: Thresholds,
    gaps: _Gaps,
    by_check: TerminalWaivers,
) -> None:
    """Judge one terminal (with the printer and scanner attached to it) on the full check set."""
    run = site.terminals.get(host)
    if run is None:
        gaps.missing.append(
            (
                f"{host}: chưa được kiểm tra trên hệ thống {ev.estate.name}",
                f"{host}: never checked on estate {ev.estate.name}",
            )
        )
        return
    old = (ev.as_of - run.started).total_seconds()
    if old > th.readiness_max_age.total_seconds():
        limit = age(th.readiness_max_age.total_seconds())
        gaps.missing.append(
            (
                f"{host}: lần kiểm tra mới nhất (lần {run.run_id}) đã cũ {age(old)}, quá {limit}",
                f"{host}: newest check run {run.run_id} is {age(old)} old, older than {limit}",
            )
        )
        return
    if not run.complete:
        gaps.missing.append(
            (
                f"{host}: lần kiểm tra {run.run_id} chưa hoàn tất",
                f"{host}: check run {run.run_id} did not finish",
            )
        )
        return
    results = {c.check: c for c in run.checks}
    for check in ev.expected_checks:
        c = results.get(check)
        if c is not None and c.outcome == "passed":
            continue
        if c is None:
            item = (f"{host}: không có kết quả {check}", f"{host}: {check} not run")
            kind = "missing"
        elif c.outcome == "skipped":
            item = (
                f"{host}: bỏ qua {check} ({c.message})",
                f"{host}: {check} skipped ({c.message})",
            )
            kind = "missing"
        else:
            item = (
                f"{host}: {check} không đạt: {c.message}",
                f"{host}: {check} {c.outcome}: {c.message}",
            )
            kind = "failed"
        waiver = by_check.get((site.code, check))
        if waiver is not None:
            gaps.waived.append(item)
            if waiver not in gaps.waivers:
                gaps.waivers.append(waiver)
        else:
            (gaps.missing if kind == "missing" else gaps.failed).append(item)


def _terminal(
    site: SiteEvidence, ev: Evidence, th: Thresholds, by_check: TerminalWaivers
) -> Finding:
    redo = f"`dvc-rollout check --phase {ev.phase} --stack {ev.estate.stack} --unit {site.code}`"
    if "readiness" in ev.unavailable:
        why = ev.unavailable["readiness"]
        return Finding(
            "terminal",
            "missing",
            f"readiness results unavailable: {why}",
            f"không có kết quả kiểm tra thiết bị: {why}",
        )
    gaps = _Gaps()
    for host in site.terminal_hosts:
        _device_checks(site, host, ev, th, gaps, by_check)
    eq = site.equipment
    for noun_vi, noun_en, count in (
        ("máy in", "printer", eq.printers),
        ("máy quét", "scanner", eq.scanners),
    ):
        for n in range(eq.terminals + 1, count + 1):
            gaps.missing.append(
                (
                    f"{noun_vi} {n}: không có máy tính term-{site.code}-{n} để kiểm tra qua",
                    f"{noun_en} {n}: checked through terminal term-{site.code}-{n}, which the "
                    "inventory does not list",
                )
            )
    devices_vi = f"{eq.terminals} máy tính, {eq.printers} máy in, {eq.scanners} máy quét"
    devices_en = f"{eq.terminals} terminal(s), {eq.printers} printer(s), {eq.scanners} scanner(s)"
    missing_en = (
        f"{len(gaps.missing)} gap(s) in the evidence of {devices_en} — "
        f"{_listed([en for _, en in gaps.missing])}: run {redo}"
    )
    missing_vi = (
        f"thiếu bằng chứng ({len(gaps.missing)}) cho {devices_vi} — "
        f"{_listed([vi for vi, _ in gaps.missing])}: chạy {redo}"
    )
    if gaps.failed:
        # A failed check is the stronger finding: it says what to fix, and a check skipped
        # because of it (a test page on a disabled queue) would otherwise hide it as a gap.
        failed_en = (
            f"{len(gaps.failed)} check(s) not passed — {_listed([en for _, en in gaps.failed])}"
        )
        failed_vi = (
            f"{len(gaps.failed)} mục kiểm tra không đạt — {_listed([vi for vi, _ in gaps.failed])}"
        )
        if gaps.missing:
            failed_en += f"; also {missing_en}"
            failed_vi += f"; ngoài ra {missing_vi}"
        return Finding("terminal", "fail", failed_en, failed_vi)
    if gaps.missing:
        return Finding("terminal", "missing", missing_en, missing_vi)
    runs = sorted({r.run_id for r in site.terminals.values()}, key=int)
    newest = min((ev.as_of - r.started).total_seconds() for r in site.terminals.values())
    checks = len(ev.expected_checks)
    if gaps.waived:
        return Finding(
            "terminal",
            "waived",
            f"{devices_en}: every other check passed; waived — "
            f"{_listed([en for _, en in gaps.waived])}",
            f"{devices_vi}: các mục khác đều đạt; được miễn trừ — "
            f"{_listed([vi for vi, _ in gaps.waived])}",
            tuple(gaps.waivers),
        )
    return Finding(
        "terminal",
        "pass",
        f"{devices_en}: all {checks} checks passed on each terminal "
        f"(run {', '.join(runs)}, {age(newest)} ago)",
        f"{devices_vi}: đạt đủ {checks} mục kiểm tra trên mỗi máy "
        f"(lần {', '.join(runs)}, cách đây {age(newest)})",
    )


def _series_problem(series: Series | None, ev: Evidence, th: Thresholds) -> tuple[str, str] | None:
    """Why a series cannot be trusted as evidence for the window (vi, en), or None."""
    if series is None:
        return ("không có dữ liệu", "no data")
    if series.invalid is not None or series.ratio is None:
        why = series.invalid or "no mean"
        return (f"không đọc được bằng chứng ({why})", why)
    if series.last_sample is None or ((ev.as_of - series.last_sample) > th.metric_max_lag):
        last = "never" if series.last_sample is None else hanoi(series.last_sample)
        return (f"dữ liệu cũ (mẫu cuối {last})", f"stale (last sample {last})")
    if series.coverage < th.min_coverage:
        found = f"{series.samples} of {series.expected_samples} samples"
        interval = f"{series.interval_seconds:g} s" if series.interval_seconds else "?"
        return (
            f"chỉ có {series.coverage:.0%} số mẫu của cửa sổ {ev.window.text} "
            f"({series.samples}/{series.expected_samples}, mỗi {interval}), cần "
            f"{th.min_coverage:.0%}",
            f"covers only {series.coverage:.0%} of the {ev.window.text} window ({found} "
            f"at one per {interval}; {th.min_coverage:.0%} needed)",
        )
    return None


def _coverage(series: Iterable[Series]) -> float:
    return min((s.coverage for s in series), default=0.0)


def _availability(site: SiteEvidence, ev: Evidence, th: Thresholds) -> Finding:
    if "prometheus" in ev.unavailable:
        why = ev.unavailable["prometheus"]
        return Finding(
            "availability",
            "missing",
            f"Prometheus unavailable: {why}",
            f"không lấy được số liệu từ Prometheus: {why}",
        )
    if not site.services:
        return Finding(
            "availability",
            "missing",
            "the phase lists no services for this site",
            "giai đoạn không có dịch vụ nào cho điểm này",
        )
    missing: dict[tuple[str, str], list[str]] = {}
    low: list[tuple[str, float]] = []
    for svc in site.services:
        series = site.availability.get(svc)
        problem = _series_problem(series, ev, th)
        if problem is not None:
            missing.setdefault(problem, []).append(ev.service(svc))
        elif series is not None and series.ratio is not None and series.ratio < th.availability_min:
            low.append((ev.service(svc), series.ratio))
    n = len(site.services)
    if missing:
        count = sum(map(len, missing.values()))
        return Finding(
            "availability",
            "missing",
            f"no usable dvc_service_up evidence for {count} of {n} services — "
            + "; ".join(f"{en}: {', '.join(svcs)}" for (_, en), svcs in missing.items()),
            f"thiếu bằng chứng dvc_service_up cho {count}/{n} dịch vụ — "
            + "; ".join(f"{vi}: {', '.join(svcs)}" for (vi, _), svcs in missing.items()),
        )
    covered = _coverage(site.availability[s] for s in site.services)
    if low:
        listed = "; ".join(f"{name}: {ratio:.2%}" for name, ratio in low)
        return Finding(
            "availability",
            "fail",
            f"below {th.availability_min:.2%} over {ev.window.text} — {listed}",
            f"dưới {th.availability_min:.2%} trong {ev.window.text} — {listed}",
        )
    lowest = min(site.availability[s].ratio or 0.0 for s in site.services)
    return Finding(
        "availability",
        "pass",
        f"{n} services ≥ {th.availability_min:.2%} over {ev.window.text} "
        f"(lowest {lowest:.2%}; samples: at least {covered:.0%} of those expected)",
        f"{n} dịch vụ ≥ {th.availability_min:.2%} trong {ev.window.text} "
        f"(thấp nhất {lowest:.2%}; số mẫu: ít nhất {covered:.0%} số mẫu cần có)",
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
        why = ev.unavailable["prometheus"]
        return Finding(
            criterion,
            "missing",
            f"Prometheus unavailable: {why}",
            f"không lấy được số liệu từ Prometheus: {why}",
        )
    problem = _series_problem(series, ev, th)
    if problem is not None or series is None or series.ratio is None:
        vi, en = problem or ("không có dữ liệu", "no data")
        return Finding(
            criterion,
            "missing",
            f"no usable {metric} evidence: {en}",
            f"thiếu bằng chứng {metric}: {vi}",
        )
    covered = f"{series.coverage:.0%}"
    if series.ratio < minimum:
        return Finding(
            criterion,
            "fail",
            f"{metric} {series.ratio:.2%} over {ev.window.text}, below {minimum:.2%}",
            f"{metric} {series.ratio:.2%} trong {ev.window.text}, dưới {minimum:.2%}",
        )
    return Finding(
        criterion,
        "pass",
        f"{metric} {series.ratio:.2%} over {ev.window.text} ({covered} of the samples expected)",
        f"{metric} {series.ratio:.2%} trong {ev.window.text} (đủ {covered} số mẫu cần có)",
    )


def _records(site: SiteEvidence, th: Thresholds) -> list[Finding]:
    found = []
    if site.accounts > 0:
        found.append(
            Finding(
                "accounts",
                "pass",
                f"{site.accounts} officials' accounts recorded",
                f"đã ghi nhận {site.accounts} tài khoản cán bộ",
            )
        )
    else:
        found.append(
            Finding(
                "accounts",
                "fail",
                "no officials' account recorded in the inventory records (to be filled)",
                "chưa ghi nhận tài khoản cán bộ nào trong hồ sơ (cần bổ sung)",
            )
        )
    if site.training_sessions > 0:
        found.append(
            Finding(
                "training",
                "pass",
                f"{site.training_sessions} training sessions recorded",
                f"đã ghi nhận {site.training_sessions} buổi tập huấn",
            )
        )
    else:
        found.append(
            Finding(
                "training",
                "fail",
                "no training session recorded in the inventory records (to be filled)",
                "chưa ghi nhận buổi tập huấn nào trong hồ sơ (cần bổ sung)",
            )
        )
    if site.helpdesk_staff is None:
        found.append(
            Finding(
                "helpdesk",
                "fail",
                "helpdesk staffing not recorded (to be filled)",
                "chưa ghi nhận nhân sự hỗ trợ (cần bổ sung)",
            )
        )
    elif site.helpdesk_staff < th.min_helpdesk_staff:
        found.append(
            Finding(
                "helpdesk",
                "fail",
                f"{site.helpdesk_staff} helpdesk staff recorded, "
                f"fewer than {th.min_helpdesk_staff}",
                f"ghi nhận {site.helpdesk_staff} nhân sự hỗ trợ, ít hơn {th.min_helpdesk_staff}",
            )
        )
    else:
        volunteers = site.helpdesk_volunteers or 0
        found.append(
            Finding(
                "helpdesk",
                "pass",
                f"{site.helpdesk_staff} staff, {volunteers} volunteers recorded",
                f"ghi nhận {site.helpdesk_staff} nhân sự, {volunteers} tình nguyện viên",
            )
        )
    return found


def _waive(
    site: str, findings: Iterable[Finding], waivers: Mapping[tuple[str, str], Waiver]
) -> tuple[Finding, ...]:
    """Apply the waivers that name a site and criterion (without a check) to its findings."""
    judged = []
    for f in findings:
        waiver = waivers.get((site, f.criterion))
        if waiver is None or f.outcome in ("pass", "waived"):
            judged.append(f)
        elif f.outcome == "fail":
            judged.append(Finding(f.criterion, "waived", f.reason, f.reason_vi, (waiver,)))
        else:
            judged.append(
                Finding(
                    f.criterion,
                    f.outcome,
                    f"{f.reason} (waiver by {waiver.approver} not applied: "
                    "a waiver covers a known gap, not missing or stale evidence)",
                    f"{f.reason_vi} (miễn trừ của {waiver.approver} không được áp dụng: miễn "
                    "trừ chỉ cho một thiếu sót đã biết, không thay cho bằng chứng còn thiếu)",
                    (waiver,),
                )
            )
    return tuple(judged)


def decide(evidence: Evidence, thresholds: Thresholds, waivers: Sequence[Waiver] = ()) -> Decision:
    """Judge every site and the data center; the overall verdict is GO only if all are."""
    by_key: dict[tuple[str, str], Waiver] = {
        (w.site, w.criterion): w for w in waivers if w.check is None
    }
    by_check: dict[tuple[str, str], Waiver] = {
        (w.site, w.check): w for w in waivers if w.check is not None
    }
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
                    _terminal(s, evidence, thresholds, by_check),
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
        w.key
        for findings in [datacenter, *(s.findings for s in sites)]
        for f in findings
        if f.outcome == "waived"
        for w in f.waivers
    )
    return Decision(evidence, thresholds, datacenter, sites, districts, tuple(waivers), used)
