"""The machine-readable sign-off report; its shape is documented in `report.schema.json`.

The report embeds the evidence itself, so anyone can recompute `evidence_sha256` from
`evidence` (canonical JSON: sorted keys, no spaces, UTF-8, NFC) and see the same facts;
it also holds the thresholds and waivers, so the decision can be re-derived from it
(`signoff approve` and `signoff verify` do).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from signoff.criteria import ALL_CRITERIA, DATACENTER_CRITERIA, LABELS
from signoff.decision import Decision, Finding
from signoff.report_meta import ReportMeta
from signoff.times import hanoi, hanoi_iso

SCHEMA_ID = "dvc-rollout/signoff-report/2"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "criterion": f.criterion,
        "outcome": f.outcome,
        "reason_vi": f.reason_vi,
        "reason": f.reason,
        "waiver": f.waiver.as_dict() if f.waiver is not None else None,
        "waivers": [w.as_dict() for w in f.waivers],
    }


def build(decision: Decision, meta: ReportMeta) -> dict[str, Any]:
    """The report as plain data, ready for `json.dumps`."""
    ev = decision.evidence
    previous = meta.previous
    return {
        "schema": SCHEMA_ID,
        "plan": ev.plan,
        "phase": {
            "number": ev.phase,
            "name_vi": ev.phase_name_vi,
            "name_en": ev.phase_name_en,
            "go_live": ev.go_live.isoformat(),
        },
        "estate": {"stack": ev.estate.stack, "kind": ev.estate.kind},
        "scope": {
            "sample": decision.is_sample,
            "selection": ev.scope.selection,
            "sites_judged": len(decision.sites),
            "sites_in_phase": ev.scope.sites_in_phase,
            "words_vi": decision.scope_vi(),
            "words_en": decision.scope_en(),
        },
        "as_of": ev.as_of.isoformat(),
        "as_of_hanoi": hanoi(ev.as_of),
        "generated_at": meta.generated_at.isoformat(),
        "generated_at_hanoi": hanoi(meta.generated_at),
        "window": {"text": ev.window.text, "seconds": ev.window.seconds},
        "evidence_sha256": ev.sha256(),
        "verdict": decision.verdict,
        "thresholds": decision.thresholds.as_dict(),
        "sources": dict(ev.sources),
        "unavailable": dict(ev.unavailable),
        "criteria": [
            {
                "key": c,
                "scope": "datacenter" if c in DATACENTER_CRITERIA else "site",
                "label_vi": LABELS[c].vi,
                "label_en": LABELS[c].en,
            }
            for c in ALL_CRITERIA
        ],
        "datacenter": [_finding(f) for f in decision.datacenter],
        "districts": [
            {
                "code": d.code,
                "name": d.name,
                "verdict": d.verdict,
                "sites": [s.code for s in d.sites],
            }
            for d in decision.districts
        ],
        "sites": [
            {
                "code": s.code,
                "name": s.name,
                "district_code": s.district_code,
                "verdict": s.verdict,
                "findings": [_finding(f) for f in s.findings],
            }
            for s in decision.sites
        ],
        "waivers": [
            {**w.as_dict(), "applied": w.key in decision.used_waivers} for w in decision.waivers
        ],
        "problems": [
            {
                "site": site,
                "criterion": f.criterion,
                "outcome": f.outcome,
                "reason_vi": f.reason_vi,
                "reason": f.reason,
            }
            for site, f in decision.problems()
        ],
        "changes": {
            "previous": previous.name if previous else None,
            "previous_verdict": previous.verdict if previous else None,
            "sites": [asdict(c) for c in previous.changes] if previous else [],
        },
        "approves": meta.approves,
        "approvals": [
            {
                "name": a.name,
                "role": a.role,
                "time": a.time,
                "time_hanoi": hanoi_iso(a.time),
                "evidence_sha256": a.evidence_sha256,
                "report": a.report,
                "seal": a.seal,
            }
            for a in meta.approvals
        ],
        "evidence": ev.model_dump(mode="json"),
    }


def render(decision: Decision, meta: ReportMeta) -> str:
    """The JSON text of the report (UTF-8, indented for people who open it; never NaN)."""
    return json.dumps(build(decision, meta), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
