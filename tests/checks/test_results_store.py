"""The results store keeps every result: no update, no delete, runs stay incomplete on crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from checks.results import Result, Store


def _result(
    run_id: int, site: str = "016", check: str = "printer.queue_enabled", outcome: str = "passed"
) -> Result:
    return Result(
        run_id=run_id,
        time="2017-07-10T08:00:00.000000+00:00",
        site_code=site,
        unit="Huyện Sóc Sơn",
        host=f"term-{site}-1",
        check_id=check,
        outcome=outcome,
        message="" if outcome == "passed" else "printer queue dvc-printer is disabled",
        duration=0.1,
        district_code="016",
        phase="1",
        go_live="2017-07-15",
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "results.sqlite")


def test_results_are_read_back_as_written(store: Store) -> None:
    run = store.start_run({"phase": 1})
    store.add(_result(run))
    assert store.results(run) == [_result(run)]


def test_results_cannot_be_updated(store: Store) -> None:
    store.add(_result(store.start_run({})))
    with (
        sqlite3.connect(store.path) as db,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        db.execute("UPDATE results SET outcome = 'passed', message = ''")


def test_results_cannot_be_deleted(store: Store) -> None:
    store.add(_result(store.start_run({})))
    with (
        sqlite3.connect(store.path) as db,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        db.execute("DELETE FROM results")


def test_runs_cannot_be_deleted(store: Store) -> None:
    store.start_run({})
    with (
        sqlite3.connect(store.path) as db,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        db.execute("DELETE FROM runs")


def test_a_run_is_incomplete_until_finished(store: Store) -> None:
    run = store.start_run({"phase": 1})
    started = store.run(run)
    assert started is not None and started.status == "incomplete" and started.finished is None
    store.finish_run(run)
    finished = store.run(run)
    assert finished is not None and finished.status == "complete" and finished.finished


def test_a_complete_run_cannot_be_reopened_or_rewritten(store: Store) -> None:
    run = store.start_run({"phase": 1})
    store.finish_run(run)
    with sqlite3.connect(store.path) as db, pytest.raises(sqlite3.IntegrityError, match="once"):
        db.execute("UPDATE runs SET status = 'incomplete'")


def test_a_run_selection_cannot_be_rewritten(store: Store) -> None:
    store.start_run({"phase": 1})
    with sqlite3.connect(store.path) as db, pytest.raises(sqlite3.IntegrityError, match="once"):
        db.execute("UPDATE runs SET selection = '{}'")


def test_unknown_outcomes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="'maybe' is not one of"):
        store.add(_result(store.start_run({}), outcome="maybe"))


def test_latest_takes_the_newest_result_of_each_check(store: Store) -> None:
    first = store.start_run({})
    store.add(_result(first, outcome="failed"))
    store.add(_result(first, check="scanner.scanner_listed"))
    second = store.start_run({})
    store.add(_result(second))
    latest = {(r.check_id, r.run_id, r.outcome) for r in store.latest("016")}
    assert latest == {
        ("printer.queue_enabled", second, "passed"),
        ("scanner.scanner_listed", first, "passed"),
    }


def test_history_of_a_site_lists_only_runs_that_checked_it(store: Store) -> None:
    first = store.start_run({})
    store.add(_result(first, site="016"))
    second = store.start_run({})
    store.add(_result(second, site="017"))
    assert [r.run_id for r in store.runs("017")] == [second]
    assert [r.run_id for r in store.runs()] == [first, second]
