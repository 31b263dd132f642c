"""Reports: three formats, never overwritten, schema-valid JSON, a stable evidence digest."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from signoff import files, report_json, waivers
from signoff.criteria import Thresholds
from signoff.decision import decide

GENERATED = datetime(2017, 8, 14, 10, 5, 0, tzinfo=UTC)


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
    paths = files.write(decide(ev, Thresholds()), GENERATED, tmp_path)
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
        assert "2017-08-14T10:00:00+00:00" in text
    assert "**NO-GO**" in md and "00379" in md


def test_reports_never_overwrite_each_other(tmp_path, evidence):
    d = decide(evidence("go"), Thresholds())
    first = files.write(d, GENERATED, tmp_path)
    before = {p: p.read_bytes() for p in first.values()}
    second = files.write(d, GENERATED, tmp_path)
    assert second["json"].name == "signoff-phase2-20170814T100500Z-2.json"
    assert {p: p.read_bytes() for p in first.values()} == before
    # A stray file taking one of the names pushes the whole set to the next suffix.
    (tmp_path / "signoff-phase2-20170814T100500Z-3.md").write_text("someone else's")
    third = files.write(d, GENERATED, tmp_path)
    assert {p.name for p in third.values()} == {
        f"signoff-phase2-20170814T100500Z-4.{fmt}" for fmt in ("html", "json", "md")
    }
    assert (tmp_path / "signoff-phase2-20170814T100500Z-3.md").read_text() == "someone else's"


def test_evidence_digest_is_stable_and_recomputable(tmp_path, evidence):
    ev = evidence("go")
    again = evidence("go")
    assert ev.sha256() == again.sha256()
    assert re.fullmatch(r"[0-9a-f]{64}", ev.sha256())
    report = report_json.build(decide(ev, Thresholds()), GENERATED)
    canonical = json.dumps(
        report["evidence"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == report["evidence_sha256"]
    # The digest is of the evidence, not of the verdict or the moment of writing.
    later = report_json.build(decide(again, Thresholds()), datetime.now(UTC))
    assert later["evidence_sha256"] == report["evidence_sha256"]
    assert evidence("stale-readiness").sha256() != ev.sha256()


def test_waived_criteria_are_shown_as_waived(tmp_path, evidence, fixtures, schema):
    ev = evidence("helpdesk-unrecorded")
    found = waivers.load(
        fixtures / "waivers-valid.yaml", [s.code for s in ev.sites], ev.as_of.date()
    )
    paths = files.write(decide(ev, Thresholds(), found), GENERATED, tmp_path)
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
    paths = files.write(decide(evidence("prometheus-missing"), Thresholds()), GENERATED, tmp_path)
    html = paths["html"].read_text("utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "@import" not in html
    for label in ("Thiết bị đầu cuối", "Terminal equipment", "Tổng đài SMS", "SMS switchboard"):
        assert label in html
    assert 'id="heatmap"' in html and 'id="sites"' in html
    assert "Prometheus unavailable: cannot query http://127.0.0.1:9090" in html
