"""A Markdown summary of a sign-off, for tickets and the go-live board's minutes."""

from __future__ import annotations

from datetime import datetime

from signoff.criteria import LABELS, SITE_CRITERIA
from signoff.decision import Decision, Finding

MARK = {"pass": "✅ pass", "fail": "❌ fail", "missing": "⛔ missing", "waived": "⚠️ waived"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _finding_line(where: str, f: Finding) -> str:
    label = LABELS[f.criterion]
    line = f"- **{where}** — {label.en} / {label.vi}: {MARK[f.outcome]} — {_cell(f.reason)}"
    if f.waiver is not None and f.outcome == "waived":
        w = f.waiver
        line += f" _(waiver: {_cell(w.reason)}; approved by {w.approver}; expires {w.expires})_"
    return line


def render(decision: Decision, generated_at: datetime) -> str:
    """The summary: verdict, provenance, districts, data center, problems, waivers."""
    ev = decision.evidence
    go = sum(1 for s in decision.sites if s.verdict == "GO")
    lines = [
        f"# Go-live sign-off — {ev.plan}, phase {ev.phase}: **{decision.verdict}**",
        "",
        f"Nghiệm thu sẵn sàng vận hành — {ev.phase_name_vi}  ",
        f"{ev.phase_name_en}",
        "",
        "| | |",
        "|---|---|",
        f"| Kết luận / Verdict | **{decision.verdict}** |",
        f"| Kế hoạch / Plan | {ev.plan} |",
        f"| Giai đoạn / Phase | {ev.phase} (go-live {ev.go_live.isoformat()}) |",
        f"| Thời điểm / As of | {ev.as_of.isoformat(timespec='seconds')} |",
        f"| Cửa sổ bằng chứng / Evidence window | {ev.window.text} |",
        f"| SHA-256 bằng chứng / Evidence SHA-256 | `{ev.sha256()}` |",
        f"| Điểm / Sites GO | {go} / {len(decision.sites)} |",
        f"| Lập lúc / Generated | {generated_at.isoformat()} |",
        "",
        "## Districts / Quận, huyện",
        "",
        "| Code | District | Verdict | Sites GO | "
        + " | ".join(LABELS[c].en for c in SITE_CRITERIA)
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
            f"| {d.code} | {d.name} | **{d.verdict}** | {site_go}/{len(d.sites)} | "
            + " | ".join(counts)
            + " |"
        )
    lines += ["", "## Data center / Trung tâm dữ liệu (once per phase)", ""]
    lines += [_finding_line("datacenter", f) for f in decision.datacenter]
    problems = decision.problems()
    lines += ["", f"## Problems / Tồn tại ({len(problems)})", ""]
    lines += [_finding_line(site, f) for site, f in problems] or ["None. / Không có."]
    waived = [(s.code, f) for s in decision.sites for f in s.findings if f.outcome == "waived"]
    waived += [("datacenter", f) for f in decision.datacenter if f.outcome == "waived"]
    lines += ["", f"## Waived / Được miễn trừ ({len(waived)})", ""]
    lines += [_finding_line(site, f) for site, f in waived] or ["None. / Không có."]
    if ev.unavailable:
        lines += ["", "## Unavailable sources / Nguồn không truy cập được", ""]
        lines += [f"- {name}: {_cell(why)}" for name, why in sorted(ev.unavailable.items())]
    lines.append("")
    return "\n".join(lines)
