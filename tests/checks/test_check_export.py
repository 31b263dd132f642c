"""Exports: JSON and JUnit XML under reports/, timestamped, never overwriting."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from checks import export
from checks.results import Result, Store


def _fill(store: Store) -> int:
    run = store.start_run({"phase": 1})
    for check, outcome, message in [
        ("printer.queue_enabled", "failed", "printer queue dvc-printer is disabled on term-016-1"),
        ("scanner.scanner_listed", "passed", ""),
        ("pc.answers", "error", "RuntimeError: no such container"),
        ("printer.test_page_prints", "skipped", "dvc-printer is disabled"),
    ]:
        store.add(
            Result(
                run,
                "2017-07-10T08:00:00+00:00",
                "016",
                "Huyện Sóc Sơn",
                "term-016-1",
                check,
                outcome,
                message,
                0.5,
            )
        )
    store.finish_run(run)
    return run


def test_json_export_holds_the_run_and_every_result(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite")
    run = _fill(store)
    path = export.export(store.results(run), store.run(run), "json", tmp_path / "reports")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["run"]["status"] == "complete"
    assert [r["outcome"] for r in document["results"]] == ["failed", "passed", "error", "skipped"]
    assert document["results"][0]["unit"] == "Huyện Sóc Sơn"


def test_junit_export_has_one_suite_per_site_with_failures_and_errors(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite")
    run = _fill(store)
    path = export.export(store.results(run), store.run(run), "junit", tmp_path / "reports")
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == ("4", "1", "1", "1")
    failure = suite.find("testcase[@name='printer.queue_enabled']/failure")
    assert failure is not None and "dvc-printer is disabled" in (failure.get("message") or "")


def test_exports_never_overwrite(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite")
    run = _fill(store)
    paths = {export.export(store.results(run), store.run(run), "json", tmp_path) for _ in range(3)}
    assert len(paths) == 3
    assert all(p.name.startswith(f"readiness-run-{run}-") for p in paths)
