"""Reports: three formats, never overwritten, schema-valid JSON, a stable evidence digest."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from signoff import files, history, report_json, waivers
from signoff.criteria import Thresholds
from signoff.decision import decide
from signoff.evidence import EstateRef, Series
from signoff.report_meta import ReportMeta

GENERATED = datetime(2017, 8, 14, 10, 5, 0, tzinfo=UTC)
META = ReportMeta(GENERATED)


@pytest.fixture
def schema():
    return json.loads(report_json.SCHEMA_PATH.read_text("utf-8"))


def _validate(schema: dict[str, Any], report: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(report)


def test_the_schema_is_itself_valid(schema):
    jsonschema.Draft202012Validator.check_schema(schema)


def test_reports_are_written_in_three_formats_with_provenance(tmp_path, evidence, schema):
    ev = evidence("stale-readiness")
    paths = files.write(decide(ev, Thresholds()), META, tmp_path, pdf=False)
    assert {k: p.name for k, p in paths.items()} == {
        "html": "signoff-phase2-20170814T100500Z.html",
        "json": "signoff-phase2-20170814T100500Z.json",
        "md": "signoff-phase2-20170814T100500Z.md",
    }
    report = json.loads(paths["json"].read_text("utf-8"))
    _validate(schema, report)
    assert report["plan"] == "169/KH-UBND" and report["phase"]["number"] == 2
    assert report["as_of"] == "2017-08-14T10:00:00+00:00"
    assert report["window"] == {"text": "24h", "seconds": 86400}
    assert report["verdict"] == "NO-GO"
    assert report["problems"][0]["site"] == "00379"
    md = paths["md"].read_text("utf-8")
    html = paths["html"].read_text("utf-8")
    for text in (md, html):
        assert ev.sha256() in text and "169/KH-UBND" in text and "24h" in text
        assert "2017-08-14 17:00:00 (UTC+7)" in text  # as-of in Hanoi time, zone written
        assert "2017-08-14T10:00:00" not in text
    assert "**NO-GO**" in md and "00379" in md
    assert report["as_of_hanoi"] == "2017-08-14 17:00:00 (UTC+7)"


def test_reports_never_overwrite_each_other(tmp_path, evidence):
    d = decide(evidence("go"), Thresholds())
    first = files.write(d, META, tmp_path, pdf=False)
    before = {p: p.read_bytes() for p in first.values()}
    second = files.write(d, META, tmp_path, pdf=False)
    assert second["json"].name == "signoff-phase2-20170814T100500Z-2.json"
    assert {p: p.read_bytes() for p in first.values()} == before
    # A stray file taking one of the names pushes the whole set to the next suffix.
    (tmp_path / "signoff-phase2-20170814T100500Z-3.md").write_text("someone else's")
    third = files.write(d, META, tmp_path, pdf=False)
    assert {p.name for p in third.values()} == {
        f"signoff-phase2-20170814T100500Z-4.{fmt}" for fmt in ("html", "json", "md")
    }
    assert (tmp_path / "signoff-phase2-20170814T100500Z-3.md").read_text() == "someone else's"


def test_evidence_digest_is_stable_and_recomputable(tmp_path, evidence):
    ev = evidence("go")
    again = evidence("go")
    assert ev.sha256() == again.sha256()
    assert re.fullmatch(r"[0-9a-f]{64}", ev.sha256())
    report = report_json.build(decide(ev, Thresholds()), META)
    canonical = json.dumps(
        report["evidence"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == report["evidence_sha256"]
    # The digest is of the evidence, not of the verdict or the moment of writing.
    later = report_json.build(decide(again, Thresholds()), ReportMeta(datetime.now(UTC)))
    assert later["evidence_sha256"] == report["evidence_sha256"]
    assert evidence("stale-readiness").sha256() != ev.sha256()


def test_waived_criteria_are_shown_as_waived(tmp_path, evidence, fixtures, schema):
    ev = evidence("helpdesk-unrecorded")
    found = waivers.load(
        fixtures / "waivers-valid.yaml", [s.code for s in ev.sites], ev.as_of.date()
    )
    paths = files.write(decide(ev, Thresholds(), found), META, tmp_path, pdf=False)
    report = json.loads(paths["json"].read_text("utf-8"))
    _validate(schema, report)
    assert report["verdict"] == "GO"
    [site] = [s for s in report["sites"] if s["code"] == "00454"]
    [helpdesk] = [f for f in site["findings"] if f["criterion"] == "helpdesk"]
    assert helpdesk["outcome"] == "waived"
    assert helpdesk["waiver"]["approver"].startswith("Trưởng ban")
    assert report["waivers"][0]["applied"] is True
    assert "waived" in paths["md"].read_text("utf-8")
    assert "Miễn trừ / waived" in paths["html"].read_text("utf-8")


def test_html_report_is_self_contained_and_bilingual(tmp_path, evidence):
    paths = files.write(
        decide(evidence("prometheus-missing"), Thresholds()), META, tmp_path, pdf=False
    )
    html = paths["html"].read_text("utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "@import" not in html
    for label in ("Thiết bị đầu cuối", "Terminal equipment", "Tổng đài SMS", "SMS switchboard"):
        assert label in html
    assert 'id="heatmap"' in html and 'id="sites"' in html
    assert "Prometheus unavailable: cannot query http://127.0.0.1:9090" in html


def test_a_sample_says_so_in_words_and_never_looks_city_wide(tmp_path, evidence):
    ev = evidence("go")  # 3 sites of district selections, out of the phase's 416
    paths = files.write(decide(ev, Thresholds()), META, tmp_path, pdf=False)
    report = json.loads(paths["json"].read_text("utf-8"))
    assert report["scope"]["words_en"] == "GO for the sample: 3 of 416 sites"
    assert report["scope"]["words_vi"] == "ĐẠT cho mẫu thử: 3 trên 416 điểm"
    assert report["scope"]["sample"] is True
    for fmt in ("md", "html"):
        text = paths[fmt].read_text("utf-8")
        assert "GO for the sample: 3 of 416 sites" in text
        assert "ĐẠT cho mẫu thử: 3 trên 416 điểm" in text
        assert text.index("ĐẠT cho mẫu thử") < text.index("GO for the sample")
        assert "whole phase" not in text
    assert 'id="sample-note"' in paths["html"].read_text("utf-8")
    whole = ev.model_copy(
        update={"scope": ev.scope.model_copy(update={"sites_in_phase": 3, "selection": "phase"})}
    )
    assert decide(whole, Thresholds()).scope_en() == "GO for the whole phase: 3 of 3 sites"


def test_markdown_escapes_names_like_the_html(tmp_path, evidence):
    # Wrong before: the Markdown report wrote unit names raw (`|` shifted the columns).
    ev = evidence("go")
    hostile = "Huyện | Sóc <script>alert(1)</script> *x* [a](b)"
    sites = tuple(s.model_copy(update={"district_name": hostile}) for s in ev.sites)
    d = decide(ev.model_copy(update={"sites": sites}), Thresholds())
    paths = files.write(d, META, tmp_path, pdf=False)
    md = paths["md"].read_text("utf-8")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "Huyện \\| Sóc" in md and "\\*x\\*" in md and "\\[a\\](b)" in md
    [row] = [line for line in md.splitlines() if line.startswith("| 016 |")]
    assert len(re.findall(r"(?<!\\)\|", row)) == 10  # the 9 columns of the districts table
    assert "<script>" not in paths["html"].read_text("utf-8")


def test_non_finite_evidence_never_writes_a_bare_nan(tmp_path, evidence):
    # Wrong before: a +Inf sample passed and the JSON report held a bare NaN.
    ev = evidence("go")
    bad = ev.model_copy(update={"sms": Series(ratio=None, invalid="evidence unreadable: nan")})
    report = paths_json(files.write(decide(bad, Thresholds()), META, tmp_path, pdf=False))
    assert report["verdict"] == "NO-GO"
    nan = ev.model_copy(update={"sms": Series(ratio=float("nan"))})
    with pytest.raises(ValueError, match="Out of range float"):
        nan.canonical_json()


def paths_json(paths: dict[str, Any]) -> dict[str, Any]:
    text = paths["json"].read_text("utf-8")
    assert "NaN" not in text and "Infinity" not in text
    report: dict[str, Any] = json.loads(text)
    return report


def test_changes_since_the_previous_sign_off_of_the_same_phase(tmp_path, evidence):
    ev = evidence("go")
    files.write(decide(ev, Thresholds()), META, tmp_path, pdf=False)
    worse = decide(evidence("stale-readiness"), Thresholds())
    previous = history.previous(tmp_path, worse)
    assert previous is not None and previous.verdict == "GO"
    assert [(c.site, c.before, c.after) for c in previous.changes] == [("00379", "GO", "NO-GO")]
    later = ReportMeta(datetime(2017, 8, 14, 11, 0, tzinfo=UTC), previous=previous)
    paths = files.write(worse, later, tmp_path, pdf=False)
    report = json.loads(paths["json"].read_text("utf-8"))
    assert report["changes"]["previous"] == "signoff-phase2-20170814T100500Z.json"
    assert report["changes"]["sites"][0]["after"] == "NO-GO"
    assert "00379" in paths["md"].read_text("utf-8").split("Changes since")[1]
    assert 'id="changed-sites"' in paths["html"].read_text("utf-8")
    # Another estate's reports are not "the previous sign-off".
    lab = ev.model_copy(update={"estate": EstateRef(stack="lab", kind="lab")})
    assert history.previous(tmp_path, decide(lab, Thresholds())) is None


def test_the_html_report_is_printed_to_pdf(tmp_path, evidence):
    paths = files.write(decide(evidence("go"), Thresholds()), META, tmp_path)
    assert paths["pdf"].name == "signoff-phase2-20170814T100500Z.pdf"
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-" and paths["pdf"].stat().st_size > 10_000
