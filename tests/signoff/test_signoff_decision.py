"""The decision logic on evidence fixtures: GO only when everything is proven."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from signoff import waivers
from signoff.criteria import ThresholdError, Thresholds
from signoff.decision import decide
from signoff.evidence import CheckResult, Equipment, Evidence, Series

TH = Thresholds()


def _on(ev: Evidence) -> date:
    """The as-of day, as the CLI passes it to `waivers.load`."""
    return ev.as_of.date()


def test_all_criteria_pass_is_go(evidence):
    ev = evidence("go")
    d = decide(ev, TH)
    assert d.verdict == "GO"
    assert [s.verdict for s in d.sites] == ["GO", "GO", "GO"]
    assert [(x.code, x.verdict) for x in d.districts] == [("016", "GO"), ("017", "GO")]
    assert d.problems() == []
    assert {f.criterion: f.outcome for f in d.datacenter} == {"sms": "pass", "citizen_db": "pass"}


def test_one_stale_readiness_result_is_no_go_for_that_site_and_district(evidence):
    d = decide(evidence("stale-readiness"), TH)
    assert d.verdict == "NO-GO"
    verdicts = {s.code: s.verdict for s in d.sites}
    assert verdicts == {"00376": "GO", "00379": "NO-GO", "00454": "GO"}
    assert {x.code: x.verdict for x in d.districts} == {"016": "NO-GO", "017": "GO"}
    [(site, finding)] = d.problems()
    assert (site, finding.criterion, finding.outcome) == ("00379", "terminal", "missing")
    assert (
        "3.0 d old, older than 1.0 d" in finding.reason
        and "dvc-rollout check --phase 2" in finding.reason
    )


def test_prometheus_missing_is_no_go_with_that_reason(evidence):
    d = decide(evidence("prometheus-missing"), TH)
    assert d.verdict == "NO-GO"
    assert all(s.verdict == "NO-GO" for s in d.sites)
    for s in d.sites:
        f = s.finding("availability")
        assert f.outcome == "missing"
        assert f.reason.startswith("Prometheus unavailable: cannot query http://127.0.0.1:9090")
    assert [(f.criterion, f.outcome) for f in d.datacenter] == [
        ("sms", "missing"),
        ("citizen_db", "missing"),
    ]
    assert all("Prometheus unavailable" in f.reason for f in d.datacenter)


def test_valid_waiver_turns_the_failed_criterion_into_waived_and_go(evidence, fixtures):
    ev = evidence("helpdesk-unrecorded")
    assert decide(ev, TH).verdict == "NO-GO"
    found = waivers.load(fixtures / "waivers-valid.yaml", [s.code for s in ev.sites], _on(ev))
    d = decide(ev, TH, found)
    assert d.verdict == "GO"
    f = next(s for s in d.sites if s.code == "00454").finding("helpdesk")
    assert f.outcome == "waived"
    assert f.reason == "helpdesk staffing not recorded (to be filled)"
    assert f.waiver is not None and f.waiver.approver.startswith("Trưởng ban")
    assert d.used_waivers == {("00454", "helpdesk", "")}


def test_waiver_never_stands_in_for_missing_evidence(evidence, fixtures):
    ev = evidence("stale-readiness")
    found = waivers.load(
        fixtures / "waivers-missing-evidence.yaml", [s.code for s in ev.sites], _on(ev)
    )
    d = decide(ev, TH, found)
    f = next(s for s in d.sites if s.code == "00379").finding("terminal")
    assert d.verdict == "NO-GO"
    assert f.outcome == "missing"
    assert "not applied" in f.reason


def _with_checks(ev: Evidence, index: int, *changed: CheckResult) -> Evidence:
    """`ev` with site `index`'s one terminal reporting `changed` instead of those checks."""
    site = ev.sites[index]
    [(host, run)] = site.terminals.items()
    replaced = {c.check: c for c in changed}
    checks = tuple(replaced.pop(c.check, c) for c in run.checks) + tuple(replaced.values())
    run = run.model_copy(update={"checks": checks})
    site = site.model_copy(update={"terminals": {host: run}})
    return ev.model_copy(update={"sites": (*ev.sites[:index], site, *ev.sites[index + 1 :])})


def test_failed_check_gives_its_message_as_the_reason(evidence):
    ev = _with_checks(
        evidence("go"),
        0,
        CheckResult(
            check="printer.queue_enabled",
            outcome="failed",
            message="queue dvc-printer is disabled: run cupsenable dvc-printer",
        ),
    )
    d = decide(ev, TH)
    f = d.sites[0].finding("terminal")
    assert (f.outcome, d.sites[0].verdict, d.districts[0].verdict) == ("fail", "NO-GO", "NO-GO")
    assert "term-00376-1: printer.queue_enabled failed: queue dvc-printer is disabled" in f.reason
    assert "printer.queue_enabled không đạt" in f.reason_vi


def test_a_failure_is_not_hidden_by_the_check_it_made_skip(evidence):
    # A disabled queue fails printer.queue_enabled and skips the test page: the finding is
    # the failure (what to fix), with the skipped page still listed, not a mere gap.
    ev = _with_checks(
        evidence("go"),
        0,
        CheckResult(check="printer.queue_enabled", outcome="failed", message="disabled"),
        CheckResult(check="printer.test_page_prints", outcome="skipped", message="disabled"),
    )
    d = decide(ev, TH)
    f = d.sites[0].finding("terminal")
    assert (f.outcome, d.sites[0].verdict) == ("fail", "NO-GO")
    assert f.reason.startswith("1 check(s) not passed — term-00376-1: printer.queue_enabled")
    assert "also 1 gap(s)" in f.reason and "printer.test_page_prints skipped" in f.reason
    assert "ngoài ra thiếu bằng chứng (1)" in f.reason_vi


def test_a_run_that_only_skipped_is_missing_not_passed(evidence):
    # Wrong before: a complete run whose only result was `skipped` gave "1 checks passed".
    ev = evidence("go")
    site = ev.sites[0]
    [(host, run)] = site.terminals.items()
    only = run.model_copy(
        update={"checks": (CheckResult(check="pc.answers", outcome="skipped", message="no"),)}
    )
    ev = ev.model_copy(
        update={"sites": (site.model_copy(update={"terminals": {host: only}}), *ev.sites[1:])}
    )
    f = decide(ev, TH).sites[0].finding("terminal")
    assert f.outcome == "missing"
    assert "term-00376-1: pc.answers skipped (no)" in f.reason
    assert "term-00376-1: browser.browser_installed not run" in f.reason
    assert "18 gap(s)" in f.reason


def test_a_skipped_check_is_missing_unless_a_waiver_names_it(evidence, fixtures, tmp_path):
    skipped = CheckResult(
        check="printer.test_page_prints",
        outcome="skipped",
        message="test pages are printed in the lab only",
    )
    ev = _with_checks(evidence("go"), 0, skipped)
    f = decide(ev, TH).sites[0].finding("terminal")
    assert f.outcome == "missing" and "printer.test_page_prints skipped" in f.reason
    waiver = tmp_path / "waivers.yaml"
    waiver.write_text(
        "waivers:\n"
        '  - {site: "00376", criterion: terminal, check: printer.test_page_prints,\n'
        "     reason: Trang in thử đã in tay / test page printed by hand,\n"
        "     approver: Văn phòng UBND, expires: 2017-08-20}\n",
        "utf-8",
    )
    found = waivers.load(waiver, [s.code for s in ev.sites], _on(ev), ev.expected_checks)
    d = decide(ev, TH, found)
    f = d.sites[0].finding("terminal")
    assert (f.outcome, d.sites[0].verdict) == ("waived", "GO")
    assert f.waiver is not None and f.waiver.check == "printer.test_page_prints"
    assert d.used_waivers == {("00376", "terminal", "printer.test_page_prints")}


def test_every_terminal_printer_and_scanner_the_inventory_lists_must_be_checked(evidence):
    # Wrong before: a site listing 3 terminals passed on the one that was checked.
    ev = evidence("go")
    site = ev.sites[0].model_copy(
        update={"equipment": Equipment(terminals=3, printers=4, scanners=3)}
    )
    d = decide(ev.model_copy(update={"sites": (site, *ev.sites[1:])}), TH)
    f = d.sites[0].finding("terminal")
    assert (f.outcome, d.sites[0].verdict) == ("missing", "NO-GO")
    assert "term-00376-2: never checked on estate production" in f.reason
    assert "term-00376-3: never checked on estate production" in f.reason
    assert "printer 4: checked through terminal term-00376-4, which the inventory" in f.reason
    assert "máy in 4" in f.reason_vi and "term-00376-1" not in f.reason


def test_a_check_the_run_did_not_collect_is_missing(evidence):
    ev = evidence("go")
    site = ev.sites[1]
    [(host, run)] = site.terminals.items()
    narrowed = run.model_copy(
        update={"checks": tuple(c for c in run.checks if not c.check.startswith("scanner."))}
    )
    ev = ev.model_copy(
        update={
            "sites": (
                ev.sites[0],
                site.model_copy(update={"terminals": {host: narrowed}}),
                ev.sites[2],
            )
        }
    )
    f = decide(ev, TH).sites[1].finding("terminal")
    assert f.outcome == "missing" and f"{host}: scanner.scanner_listed not run" in f.reason


def test_availability_with_gaps_inside_the_window_is_missing_not_go(evidence):
    # Wrong before: the mean of the samples that exist, and the first and last sample,
    # let an exporter down 20 of 24 hours pass.
    ev = evidence("go")
    gappy = Series(
        ratio=1.0,
        samples=240,
        expected_samples=1440,
        interval_seconds=60,
        last_sample=ev.as_of - timedelta(seconds=10),
    )
    site = ev.sites[0].model_copy(
        update={"availability": {**ev.sites[0].availability, "c-marriage": gappy}}
    )
    d = decide(ev.model_copy(update={"sites": (site, *ev.sites[1:])}), TH)
    f = d.sites[0].finding("availability")
    assert f.outcome == "missing"
    assert "covers only 17% of the 24h window (240 of 1440 samples at one per 60 s" in f.reason
    assert "Đăng ký kết hôn (c-marriage)" in f.reason


def test_a_non_finite_sample_is_unreadable_evidence(evidence):
    ev = evidence("go")
    bad = Series(
        ratio=None,
        samples=1440,
        expected_samples=1440,
        invalid="evidence unreadable: non-finite dvc_sms_e2e_success sample(s) (mean inf)",
    )
    d = decide(ev.model_copy(update={"sms": bad}), TH)
    assert d.verdict == "NO-GO"
    assert d.datacenter[0].outcome == "missing"
    assert "evidence unreadable: non-finite" in d.datacenter[0].reason


@pytest.mark.parametrize(
    "field, value",
    [
        ("availability_min", float("nan")),
        ("availability_min", -1.0),
        ("availability_min", 0.0),
        ("availability_min", 1.5),
        ("min_coverage", float("nan")),
        ("min_coverage", 0.0),
        ("min_coverage", float("inf")),
    ],
)
def test_thresholds_outside_0_1_are_refused(field, value):
    with pytest.raises(ThresholdError, match=r"must be a finite number in \(0, 1\]"):
        Thresholds(**{field: value})


def test_availability_below_threshold_fails_naming_the_service(evidence):
    ev = evidence("go")
    low = ev.sites[2].availability["c-civil-extract"].model_copy(update={"ratio": 0.9})
    site = ev.sites[2].model_copy(
        update={"availability": {**ev.sites[2].availability, "c-civil-extract": low}}
    )
    d = decide(ev.model_copy(update={"sites": (*ev.sites[:2], site)}), TH)
    f = d.sites[2].finding("availability")
    assert f.outcome == "fail"
    assert f.reason == (
        "below 99.00% over 24h — Cấp bản sao trích lục hộ tịch (c-civil-extract): 90.00%"
    )


def test_a_service_without_any_series_is_missing(evidence):
    ev = evidence("go")
    avail = dict(ev.sites[1].availability)
    del avail["c-guardianship"]
    site = ev.sites[1].model_copy(update={"availability": avail})
    d = decide(ev.model_copy(update={"sites": (ev.sites[0], site, ev.sites[2])}), TH)
    assert d.sites[1].finding("availability").outcome == "missing"
    assert "no data: Đăng ký giám hộ (c-guardianship)" in d.sites[1].finding("availability").reason


def test_stale_sms_series_makes_the_phase_no_go_even_with_every_site_go(evidence):
    ev = evidence("go")
    assert ev.sms is not None
    stale = ev.sms.model_copy(update={"last_sample": ev.as_of - timedelta(hours=1)})
    d = decide(ev.model_copy(update={"sms": stale}), TH)
    assert all(s.verdict == "GO" for s in d.sites)
    assert d.verdict == "NO-GO"
    assert d.datacenter[0].outcome == "missing" and "stale" in d.datacenter[0].reason


def test_no_site_in_scope_is_no_go(evidence):
    ev = evidence("go").model_copy(update={"sites": ()})
    assert decide(ev, TH).verdict == "NO-GO"
