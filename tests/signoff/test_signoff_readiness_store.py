"""Readiness evidence read from the real results store of `dvc-rollout check`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.results import Result, Store
from signoff.adapters import ResultsStoreReadiness
from signoff.cli import parse_as_of
from signoff.evidence import EvidenceUnavailable

T0 = datetime(2017, 8, 14, 8, 0, tzinfo=UTC)


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat(timespec="microseconds")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "results.sqlite"
    db = Store(path)
    first = db.start_run({"phase": 2})
    db.add(Result(first, _at(0), "00376", "00376", "term-00376-1", "printer_queue", "passed"))
    db.add(Result(first, _at(0), "00379", "00379", "term-00379-1", "printer_queue", "passed"))
    db.finish_run(first)
    # A later run that broke off: 00379's newest evidence is incomplete.
    second = db.start_run({"phase": 2})
    db.add(
        Result(
            second, _at(2), "00379", "00379", "term-00379-1", "printer_queue", "failed", "disabled"
        )
    )
    # A run after the as-of time used below must not count.
    third = db.start_run({"phase": 2})
    db.add(Result(third, _at(5), "00376", "00376", "term-00376-1", "printer_queue", "failed"))
    db.finish_run(third)
    return path


def test_newest_run_per_site_at_the_as_of_time(store):
    runs = ResultsStoreReadiness(store).latest(["00376", "00379", "00454"], T0 + timedelta(hours=3))
    assert set(runs) == {"00376", "00379"}
    assert runs["00376"].complete and runs["00376"].checks[0].outcome == "passed"
    assert runs["00376"].time == T0
    assert not runs["00379"].complete
    assert [(c.check, c.outcome, c.message) for c in runs["00379"].checks] == [
        ("printer_queue", "failed", "disabled")
    ]


def test_later_runs_count_once_as_of_moves_on(store):
    runs = ResultsStoreReadiness(store).latest(["00376"], T0 + timedelta(hours=6))
    assert runs["00376"].checks[0].outcome == "failed"


def test_a_run_just_finished_counts_for_a_sign_off_as_of_now(tmp_path):
    # `dvc-rollout check` then `dvc-rollout signoff` at once: the fresh failure must count,
    # not the passing run before it (the sign-off lab test once judged the old run).
    db = Store(tmp_path / "results.sqlite")
    for outcome in ("passed", "failed"):
        run = db.start_run({"phase": 2})
        db.add(
            Result(
                run,
                datetime.now(UTC).isoformat(timespec="microseconds"),
                "00376",
                "00376",
                "term-00376-1",
                "printer_queue",
                outcome,
            )
        )
        db.finish_run(run)
    runs = ResultsStoreReadiness(db.path).latest(["00376"], parse_as_of(None))
    assert runs["00376"].checks[0].outcome == "failed"


def test_a_missing_store_is_unavailable_evidence(tmp_path):
    with pytest.raises(EvidenceUnavailable, match=r"no results store at .*run `dvc-rollout check`"):
        ResultsStoreReadiness(tmp_path / "none.sqlite").latest(["00376"], T0)
    assert not (tmp_path / "none.sqlite").exists()
