"""The board's approvals of a sign-off report, and re-checking a report years later.

An approval is bound to the report's evidence SHA-256, appended to the results store's
sealed chain (append-only, like the evidence) and listed in a re-issue of the report
(new files; the approved report itself is never changed). `verify` re-derives everything
a report claims from what it embeds and from the store: the digest of its evidence, the
verdict that evidence gives, the seals of the runs it used, and its approvals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks.results import Approval, Store, StoreError
from dvc_rollout.errors import UsageError
from signoff import files, report_json
from signoff.criteria import Thresholds
from signoff.decision import Decision, decide
from signoff.evidence import Evidence
from signoff.report_meta import Change, Previous, ReportMeta
from signoff.times import hanoi_iso
from signoff.waivers import Waiver


def _json_path(report: Path) -> Path:
    """A report's JSON file: the one named, or the .json beside an .html/.md/.pdf."""
    path = report if report.suffix == ".json" else report.with_suffix(".json")
    if not path.is_file():
        raise UsageError(
            f"{report}: no JSON report {path.name} beside it; name a report written by "
            "`dvc-rollout signoff` (its .json, .html, .md or .pdf)"
        )
    return path


def load(report: Path) -> tuple[Path, dict[str, Any]]:
    path = _json_path(report)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot be read as a JSON report ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != report_json.SCHEMA_ID:
        raise UsageError(
            f"{path}: not a sign-off report of schema {report_json.SCHEMA_ID} "
            f"(schema {data.get('schema') if isinstance(data, dict) else None!r})"
        )
    return path, data


def rebuild(data: dict[str, Any]) -> tuple[Decision, list[str]]:
    """The decision a report's embedded evidence gives, and what in the report disagrees."""
    problems = []
    try:
        evidence = Evidence.model_validate(data["evidence"])
        thresholds = Thresholds.from_dict(data["thresholds"])
        waivers = [
            Waiver.from_dict({k: v for k, v in w.items() if k != "applied"})
            for w in data["waivers"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"the report's evidence cannot be read back: {exc}") from None
    if evidence.sha256() != data.get("evidence_sha256"):
        problems.append(
            f"its evidence hashes to {evidence.sha256()}, not the {data.get('evidence_sha256')} "
            "it states: the report was changed after it was written"
        )
    decision = decide(evidence, thresholds, waivers)
    if decision.verdict != data.get("verdict"):
        problems.append(
            f"its evidence gives {decision.verdict}, not the {data.get('verdict')} it states"
        )
    return decision, problems


def _store_path(data: dict[str, Any], results: Path | None) -> Path:
    if results is not None:
        return results
    named = (data.get("sources") or {}).get("readiness")
    if not named:
        raise UsageError("the report names no results store: pass --results")
    return Path(named)


def _previous(data: dict[str, Any]) -> Previous | None:
    changes = data.get("changes") or {}
    if not changes.get("previous"):
        return None
    return Previous(
        name=str(changes["previous"]),
        generated_at="",
        verdict=str(changes.get("previous_verdict") or ""),
        evidence_sha256="",
        changes=tuple(Change(**c) for c in changes.get("sites", [])),
    )


def approve(
    report: Path,
    *,
    name: str,
    role: str,
    results: Path | None = None,
    reports: Path | None = None,
    pdf: bool = True,
) -> dict[str, Path]:
    """Record an approval of `report` and re-issue it listing every approval of its evidence."""
    if not name.strip() or not role.strip():
        raise UsageError("--name and --role must not be empty: the board needs to know who")
    path, data = load(report)
    decision, problems = rebuild(data)
    if problems:
        raise UsageError(f"{path} is not approved: {'; '.join(problems)}")
    try:
        store = Store(_store_path(data, results), read_only=True)
        verified = store.verify()
        if not verified.intact:
            raise UsageError(
                f"{path} is not approved: the results store's chain is broken "
                f"({verified.summary()})"
            )
        store = Store(store.path)
        store.approve(
            {
                "evidence_sha256": data["evidence_sha256"],
                "report": path.name,
                "plan": data["plan"],
                "phase": data["phase"]["number"],
                "verdict": data["verdict"],
                "scope": data["scope"]["words_en"],
                "estate": f"{data['estate']['stack']} ({data['estate']['kind']})",
                "name": name.strip(),
                "role": role.strip(),
            }
        )
        recorded = tuple(store.approvals(data["evidence_sha256"]))
    except StoreError as exc:
        raise UsageError(f"--results: {exc}") from None
    meta = ReportMeta(
        generated_at=datetime.now(UTC).replace(microsecond=0),
        previous=_previous(data),
        approvals=recorded,
        approves=path.name,
    )
    return files.write(decision, meta, reports or path.parent, pdf=pdf)


@dataclass
class Verified:
    """What `verify` found about one report."""

    report: Path
    evidence_sha256: str
    verdict: str
    approvals: list[Approval] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [
            f"{self.report}: {'VERIFIED' if self.ok else 'NOT VERIFIED'} — verdict "
            f"{self.verdict}, evidence SHA-256 {self.evidence_sha256}"
        ]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [
            f"  approved by {a.name} ({a.role}) at {hanoi_iso(a.time)}, seal {a.seal}"
            for a in self.approvals
        ] or ["  no approval recorded for this evidence"]
        return "\n".join(lines)


def verify(report: Path, *, results: Path | None = None) -> Verified:
    """Re-check a report's digest, verdict, the store's seals it used, and its approvals."""
    path, data = load(report)
    decision, problems = rebuild(data)
    found = Verified(path, str(data.get("evidence_sha256")), str(data.get("verdict")))
    found.problems += problems
    try:
        store = Store(_store_path(data, results), read_only=True)
        verified = store.verify()
        if not verified.intact:
            found.problems.append(f"the results store's chain is broken: {verified.summary()}")
        ev = decision.evidence
        for site in ev.sites:
            for host, run in site.terminals.items():
                now = store.run(int(run.run_id))
                if now is None or now.seal != run.seal:
                    found.problems.append(
                        f"{site.code} {host}: run {run.run_id}'s seal in the store is "
                        f"{now.seal if now else 'gone'}, not the {run.seal} the report used"
                    )
        recorded = store.approvals(found.evidence_sha256)
    except StoreError as exc:
        raise UsageError(f"--results: {exc}") from None
    found.approvals = recorded
    keyed = {(a.name, a.role, a.time, a.seal) for a in recorded}
    for listed in data.get("approvals", []):
        key = (listed.get("name"), listed.get("role"), listed.get("time"), listed.get("seal"))
        if key not in keyed:
            found.problems.append(
                f"the approval by {listed.get('name')} ({listed.get('role')}) it lists is not "
                "recorded in the store for this evidence"
            )
    return found
