"""Results as JSON and JUnit XML, written under reports/ and never overwritten.

JSON is for the go-live board's tools; JUnit XML is what CI systems and test dashboards
already read, one test suite per site.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from checks.results import Result, Run

Format = Literal["json", "junit"]
FORMATS: tuple[Format, ...] = ("json", "junit")
REPORTS_DIR = Path(__file__).resolve().parent.parent / "reports"


def as_json(results: Sequence[Result], run: Run | None) -> str:
    document: dict[str, Any] = {
        "run": asdict(run) if run is not None else None,
        "scope": "run" if run is not None else "latest per site and check",
        "results": [asdict(r) for r in results],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def as_junit(results: Sequence[Result], run: Run | None) -> str:
    """One <testsuite> per site, one <testcase> per (host, check)."""
    suites = ET.Element(
        "testsuites",
        name=f"dvc-rollout readiness run {run.run_id}"
        if run
        else "dvc-rollout readiness (latest per site)",
    )
    by_site: dict[str, list[Result]] = {}
    for r in results:
        by_site.setdefault(r.site_code, []).append(r)
    for site, rows in sorted(by_site.items()):
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"{site} {rows[0].unit}",
            tests=str(len(rows)),
            failures=str(sum(r.outcome == "failed" for r in rows)),
            errors=str(sum(r.outcome == "error" for r in rows)),
            skipped=str(sum(r.outcome == "skipped" for r in rows)),
            time=f"{sum(r.duration for r in rows):.3f}",
            timestamp=min(r.time for r in rows),
        )
        for r in rows:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{site}.{r.host}",
                name=r.check_id,
                time=f"{r.duration:.3f}",
            )
            if r.outcome in ("failed", "error", "skipped"):
                tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[r.outcome]
                ET.SubElement(case, tag, message=r.message).text = r.message
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write(text: str, stem: str, suffix: str, directory: Path = REPORTS_DIR) -> Path:
    """Write to `<stem>-<UTC timestamp>.<suffix>`; an existing file is never replaced."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1000):
        extra = f"-{attempt}" if attempt else ""
        path = directory / f"{stem}-{stamp}{extra}.{suffix}"
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"too many reports named {stem}-{stamp}* in {directory}")


def export(
    results: Sequence[Result], run: Run | None, fmt: Format, directory: Path = REPORTS_DIR
) -> Path:
    stem = f"readiness-run-{run.run_id}" if run is not None else "readiness-latest"
    if fmt == "json":
        return write(as_json(results, run), stem, "json", directory)
    return write(as_junit(results, run), stem, "xml", directory)
