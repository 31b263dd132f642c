"""The self-contained HTML sign-off report: bilingual labels, heat-map, per-site table.

Inline CSS only, no scripts or external assets, so the file can be mailed, archived
and opened offline years later exactly as it was signed.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from signoff.criteria import LABELS, SITE_CRITERIA, Criterion
from signoff.decision import Decision, DistrictDecision
from signoff.report_meta import ReportMeta
from signoff.times import hanoi, hanoi_iso

OUTCOME_LABEL = {
    "pass": "Đạt / pass",
    "fail": "Không đạt / fail",
    "missing": "Thiếu / missing",
    "waived": "Miễn trừ / waived",
}

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("signoff", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Cell:
    """One district × criterion square: how many sites meet it and the worst outcome."""

    status: str
    ok: int
    total: int
    title: str


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    verdict: str
    cells: tuple[Cell, ...]


def _cell(district: DistrictDecision, criterion: Criterion) -> Cell:
    findings = [s.finding(criterion) for s in district.sites]
    outcomes = {f.outcome for f in findings}
    # Worst first: missing evidence outranks a known failure, which outranks a waiver.
    status = next(o for o in ("missing", "fail", "waived", "pass") if o in outcomes)
    bad = [
        f"{s.code}: {s.finding(criterion).reason_vi} / {s.finding(criterion).reason}"
        for s in district.sites
        if not s.finding(criterion).ok
    ]
    return Cell(status, sum(1 for f in findings if f.ok), len(findings), "\n".join(bad) or "OK")


def heatmap(decision: Decision) -> list[Row]:
    """The district × criterion grid the report draws."""
    return [
        Row(d.code, d.name, d.verdict, tuple(_cell(d, c) for c in SITE_CRITERIA))
        for d in decision.districts
    ]


def render(decision: Decision, meta: ReportMeta) -> str:
    """The HTML text of the report."""
    return _ENV.get_template("report.html.j2").render(
        decision=decision,
        ev=decision.evidence,
        sha=decision.evidence.sha256(),
        meta=meta,
        hanoi=hanoi,
        hanoi_iso=hanoi_iso,
        sites_go=sum(1 for s in decision.sites if s.verdict == "GO"),
        labels=LABELS,
        site_criteria=SITE_CRITERIA,
        heatmap=heatmap(decision),
        outcome_label=OUTCOME_LABEL,
    )
