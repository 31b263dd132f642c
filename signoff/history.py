"""What changed since the previous sign-off of the same phase: sites whose verdict changed.

The previous sign-off is the newest JSON report in the reports folder of the same plan,
phase and estate (re-issues with approvals do not count: they are the same sign-off).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signoff.decision import Decision
from signoff.report_meta import Change, Previous


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not a report of ours: never a reason to fail a sign-off
    return data if isinstance(data, dict) else None


def previous(folder: Path, decision: Decision) -> Previous | None:
    """The newest earlier report of this plan, phase and estate, with the changes since."""
    ev = decision.evidence
    if not folder.is_dir():
        return None
    estate = {"stack": ev.estate.stack, "kind": ev.estate.kind}
    for path in sorted(folder.glob(f"signoff-phase{ev.phase}-*.json"), reverse=True):
        data = _read(path)
        if (
            data is None
            or data.get("approves")
            or data.get("plan") != ev.plan
            or data.get("estate") != estate
            or not isinstance(data.get("sites"), list)
        ):
            continue
        before = {s["code"]: s for s in data["sites"] if isinstance(s, dict) and "code" in s}
        changes = []
        for site in decision.sites:
            old = before.pop(site.code, None)
            was = str(old.get("verdict")) if old else "—"
            if was != site.verdict:
                changes.append(Change(site.code, site.name, site.district_name, was, site.verdict))
        for code, old in sorted(before.items()):
            changes.append(Change(code, str(old.get("name", "")), "", str(old.get("verdict")), "—"))
        return Previous(
            name=path.name,
            generated_at=str(data.get("generated_at", "")),
            verdict=str(data.get("verdict", "")),
            evidence_sha256=str(data.get("evidence_sha256", "")),
            changes=tuple(changes),
        )
    return None
