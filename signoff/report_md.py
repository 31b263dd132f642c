"""A Markdown summary of a sign-off, for tickets and the go-live board's minutes.

Every text that comes from data (names, reasons, check messages, approvers) goes through
`signoff.markdown.escape`, as the HTML report escapes it: a `|` never shifts a column and
a `<script>` never stays markup.
"""

from __future__ import annotations

from signoff.criteria import LABELS, SITE_CRITERIA
from signoff.decision import Decision, Finding
from signoff.markdown import escape
from signoff.report_meta import ReportMeta
from signoff.times import hanoi, hanoi_iso

MARK = {
    "pass": "✅ đạt / pass",
    "fail": "❌ không đạt / fail",
    "missing": "⛔ thiếu / missing",
    "waived": "⚠️ miễn trừ / waived",
}


def _finding_line(where: str, f: Finding) -> str:
    label = LABELS[f.criterion]
    line = (
        f"- **{escape(where)}** — {label.vi} / {label.en}: {MARK[f.outcome]} — "
        f"{escape(f.reason_vi)} / {escape(f.reason)}"
    )
    for w in f.waivers if f.outcome == "waived" else ():
        check = f" ({escape(w.check)})" if w.check else ""
        line += (
            f" _(miễn trừ / waiver{check}: {escape(w.reason)}; duyệt / approved by "
            f"{escape(w.approver)}; hết hạn / expires {w.expires})_"
        )
    return line


def render(decision: Decision, meta: ReportMeta) -> str:
    """The summary: scope, provenance, districts, data center, problems, waivers, approvals."""
    ev = decision.evidence
    go = sum(1 for s in decision.sites if s.verdict == "GO")
    title = f"{escape(ev.plan)}, giai đoạn / phase {ev.phase}"
    lines = [
        f"# Nghiệm thu / Go-live sign-off — {title}: **{decision.verdict}**",
        "",
        f"**{escape(decision.scope_vi())}** — **{escape(decision.scope_en())}**",
        "",
        f"{escape(ev.phase_name_vi)}  ",
        f"{escape(ev.phase_name_en)}",
        "",
        "| | |",
        "|---|---|",
        f"| Kết luận / Verdict | **{decision.verdict}** |",
        f"| Hệ thống / Estate | {escape(ev.estate.name)} |",
        f"| Kế hoạch / Plan | {escape(ev.plan)} |",
        f"| Giai đoạn / Phase | {ev.phase} (go-live {ev.go_live.isoformat()}) |",
        f"| Thời điểm / As of | {hanoi(ev.as_of)} |",
        f"| Cửa sổ bằng chứng / Evidence window | {escape(ev.window.text)} |",
        f"| SHA-256 bằng chứng / Evidence SHA-256 | `{ev.sha256()}` |",
        f"| Điểm đạt / Sites GO | {go} / {len(decision.sites)} |",
        f"| Lập lúc / Generated | {hanoi(meta.generated_at)} |",
        "",
        "## Quận, huyện / Districts",
        "",
        "| Mã / Code | Quận, huyện / District | Kết luận / Verdict | Điểm đạt / Sites GO | "
        + " | ".join(f"{LABELS[c].vi} / {LABELS[c].en}" for c in SITE_CRITERIA)
        + " |",
        "|---|---|---|---|" + "---|" * len(SITE_CRITERIA),
    ]
    for d in decision.districts:
        counts = []
        for c in SITE_CRITERIA:
            ok = sum(1 for s in d.sites if s.finding(c).ok)
            counts.append(f"{ok}/{len(d.sites)}")
        site_go = sum(1 for s in d.sites if s.verdict == "GO")
        lines.append(
            f"| {escape(d.code)} | {escape(d.name)} | **{d.verdict}** | {site_go}/{len(d.sites)} | "
            + " | ".join(counts)
            + " |"
        )
    lines += ["", "## Trung tâm dữ liệu / Data center (once per phase)", ""]
    lines += [_finding_line("datacenter", f) for f in decision.datacenter]
    problems = decision.problems()
    lines += ["", f"## Tồn tại / Problems ({len(problems)})", ""]
    lines += [_finding_line(site, f) for site, f in problems] or ["Không có. / None."]
    waived = [(s.code, f) for s in decision.sites for f in s.findings if f.outcome == "waived"]
    waived += [("datacenter", f) for f in decision.datacenter if f.outcome == "waived"]
    lines += ["", f"## Được miễn trừ / Waived ({len(waived)})", ""]
    lines += [_finding_line(site, f) for site, f in waived] or ["Không có. / None."]
    lines += [
        "",
        "## Thay đổi so với lần nghiệm thu trước / Changes since the previous sign-off",
        "",
    ]
    if meta.previous is None:
        lines.append("Chưa có lần nghiệm thu trước. / No previous sign-off of this phase.")
    else:
        lines.append(
            f"Lần trước / Previous: `{escape(meta.previous.name)}` ({meta.previous.verdict}); "
            f"{len(meta.previous.changes)} điểm thay đổi / site(s) changed."
        )
        for change in meta.previous.changes:
            lines.append(
                f"- {escape(change.site)} {escape(change.name)} ({escape(change.district)}): "
                f"{change.before} → **{change.after}**"
            )
    lines += ["", f"## Phê duyệt / Approvals ({len(meta.approvals)})", ""]
    lines += [
        f"- {escape(a.name)} — {escape(a.role)}, {hanoi_iso(a.time)}, SHA-256 `{a.evidence_sha256}`"
        for a in meta.approvals
    ] or ["Chưa có. / None yet: `dvc-rollout signoff approve REPORT --name … --role …`."]
    lines += [
        "",
        f"## Bảo trì trong cửa sổ bằng chứng / Maintenance during the window "
        f"({len(ev.maintenance)})",
        "",
    ]
    lines += [
        f"- {escape(m.district_code or 'city-wide')}: {hanoi(m.starts_at)} → {hanoi(m.ends_at)}, "
        f"{escape(m.comment)} ({escape(m.author)}; "
        f"{escape(', '.join(f'{k}={v}' for k, v in sorted(m.matchers.items())))})"
        for m in ev.maintenance
    ] or [
        "Không đọc được / could not be read: " + escape(ev.unavailable["alertmanager"])
        if "alertmanager" in ev.unavailable
        else "Không có. / None."
    ]
    if ev.unavailable:
        lines += ["", "## Nguồn không truy cập được / Unavailable sources", ""]
        lines += [
            f"- {escape(name)}: {escape(why)}" for name, why in sorted(ev.unavailable.items())
        ]
    lines.append("")
    return "\n".join(lines)
