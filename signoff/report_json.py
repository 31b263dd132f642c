"""The machine-readable sign-off report; its shape is documented in `report.schema.json`.

The report embeds the evidence itself, so anyone can recompute `evidence_sha256` from
`evidence` (canonical JSON: sorted keys, no spaces, UTF-8, NFC) and see the same facts.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from signoff.criteria import ALL_CRITERIA, DATACENTER_CRITERIA, LABELS
from signoff.decision import Decision, Finding

SCHEMA_ID = "dvc-rollout/signoff-report/1"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "criterion": f.criterion,
        "outcome": f.outcome,
        "reason": f.reason,
        "waiver": f.waiver.as_dict() if f.waiver is not None else None,
    }


def build(decision: Decision, generated_at: datetime) -> dict[str, Any]:
    """The report as plain data, ready for `json.dumps`."""
    ev = decision.evidence
    return {
        "schema": SCHEMA_ID,
        "plan": ev.plan,
        "phase": {
            "number": ev.phase,
            "name_vi": ev.phase_name_vi,
            "name_en": ev.phase_name_en,
            "go_live": ev.go_live.isoformat(),
        },
        "as_of": ev.as_of.isoformat(),
        "generated_at": generated_at.isoformat(),
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
            {**w.as_dict(), "applied": (w.site, w.criterion) in decision.used_waivers}
            for w in decision.waivers
        ],
        "problems": [
            {"site": site, "criterion": f.criterion, "outcome": f.outcome, "reason": f.reason}
            for site, f in decision.problems()
        ],
        "evidence": ev.model_dump(mode="json"),
    }


def render(decision: Decision, generated_at: datetime) -> str:
    """The JSON text of the report (UTF-8, indented for people who open it)."""
    return json.dumps(build(decision, generated_at), ensure_ascii=False, indent=2) + "\n"
