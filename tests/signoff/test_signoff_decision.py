"""The decision logic on evidence fixtures: GO only when everything is proven."""

from __future__ import annotations

from datetime import date, timedelta

from signoff import waivers
from signoff.criteria import Thresholds
from signoff.decision import decide
from signoff.evidence import CheckResult, Evidence, Series

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
    assert d.used_waivers == {("00454", "helpdesk")}


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


def test_failed_check_gives_its_message_as_the_reason(evidence):
    ev = evidence("go")
    site = ev.sites[0]
    assert site.readiness is not None
    broken = site.readiness.model_copy(
        update={
            "checks": (
                *site.readiness.checks[:-1],
                CheckResult(
                    check="printer_queue",
                    outcome="failed",
                    message="queue dvc-printer is disabled: run cupsenable dvc-printer",
                ),
            )
        }
    )
    ev = ev.model_copy(
        update={"sites": (site.model_copy(update={"readiness": broken}), *ev.sites[1:])}
    )
    d = decide(ev, TH)
    f = d.sites[0].finding("terminal")
    assert (f.outcome, d.sites[0].verdict, d.districts[0].verdict) == ("fail", "NO-GO", "NO-GO")
    assert "printer_queue failed: queue dvc-printer is disabled" in f.reason


def test_availability_younger_than_the_window_is_missing_not_go(evidence):
    ev = evidence("go")
    young = Series(
        ratio=1.0,
        first_sample=ev.as_of - timedelta(hours=2),
        last_sample=ev.as_of - timedelta(seconds=10),
    )
    site = ev.sites[0].model_copy(
        update={"availability": {**ev.sites[0].availability, "c-marriage": young}}
    )
    d = decide(ev.model_copy(update={"sites": (site, *ev.sites[1:])}), TH)
    f = d.sites[0].finding("availability")
    assert f.outcome == "missing"
    assert "covers only 2.0 h of the 24h window: c-marriage" in f.reason


def test_availability_below_threshold_fails_naming_the_service(evidence):
    ev = evidence("go")
    low = ev.sites[2].availability["c-civil-extract"].model_copy(update={"ratio": 0.9})
    site = ev.sites[2].model_copy(
        update={"availability": {**ev.sites[2].availability, "c-civil-extract": low}}
    )
    d = decide(ev.model_copy(update={"sites": (*ev.sites[:2], site)}), TH)
    f = d.sites[2].finding("availability")
    assert (f.outcome, f.reason) == ("fail", "below 99.00% over 24h — c-civil-extract: 90.00%")


def test_a_service_without_any_series_is_missing(evidence):
    ev = evidence("go")
    avail = dict(ev.sites[1].availability)
    del avail["c-guardianship"]
    site = ev.sites[1].model_copy(update={"availability": avail})
    d = decide(ev.model_copy(update={"sites": (ev.sites[0], site, ev.sites[2])}), TH)
    assert d.sites[1].finding("availability").outcome == "missing"
    assert "no data: c-guardianship" in d.sites[1].finding("availability").reason


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
