"""Readiness evidence read from the real, sealed results store of `dvc-rollout check`."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.results import Estate, Result, Store
from signoff.adapters import ResultsStoreReadiness, StoreCorrupt
from signoff.cli import parse_as_of
from signoff.evidence import EstateRef, EvidenceUnavailable

T0 = datetime(2017, 8, 14, 8, 0, tzinfo=UTC)
PRODUCTION = EstateRef(stack="production", kind="production")
LAB = EstateRef(stack="lab", kind="lab")


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat(timespec="microseconds")


def _estate(ref: EstateRef, *hosts: str) -> Estate:
    return Estate(
        ref.stack, ref.kind, {"backend": "ssh", "hosts": {h: f"ssh://{h}" for h in hosts}}
    )


def _run(
    db: Store,
    ref: EstateRef | None,
    rows: list[tuple[str, str, str, str]],
    finish: bool = True,
) -> int:
    """One run on `ref` with (site, host, check, outcome) rows; finished unless told."""
    hosts = sorted({host for _, host, _, _ in rows})
    run = db.start_run({"phase": 2}, _estate(ref, *hosts) if ref else None)
    db.add_many(
        Result(
            run, _at(0), site, site, host, check, outcome, "disabled" if outcome != "passed" else ""
        )
        for site, host, check, outcome in rows
    )
    if finish:
        db.finish_run(run, {h: [c for _, hh, c, _ in rows if hh == h] for h in hosts})
    return run


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = Store(tmp_path / "results.sqlite")
    _run(
        db,
        PRODUCTION,
        [
            ("00376", "term-00376-1", "printer.queue_enabled", "passed"),
            ("00379", "term-00379-1", "printer.queue_enabled", "passed"),
        ],
    )
    # A later run that broke off: 00379's newest evidence is incomplete.
    _run(db, PRODUCTION, [("00379", "term-00379-1", "printer.queue_enabled", "failed")], False)
    return db.path


def test_newest_run_per_device_of_the_estate(store):
    runs = ResultsStoreReadiness(store).devices(
        PRODUCTION, ["term-00376-1", "term-00379-1", "term-00454-1"], parse_as_of(None)
    )
    assert set(runs) == {"term-00376-1", "term-00379-1"}
    assert runs["term-00376-1"].complete and runs["term-00376-1"].checks[0].outcome == "passed"
    assert runs["term-00376-1"].collected == ("printer.queue_enabled",)
    assert runs["term-00376-1"].seal is not None
    assert not runs["term-00379-1"].complete
    assert [(c.check, c.outcome) for c in runs["term-00379-1"].checks] == [
        ("printer.queue_enabled", "failed")
    ]


def test_a_run_finished_after_the_as_of_time_had_not_finished_then(store):
    before = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(EvidenceUnavailable, match="no check run of estate production"):
        ResultsStoreReadiness(store).devices(PRODUCTION, ["term-00376-1"], before)


def test_lab_runs_never_stand_for_the_real_estate(tmp_path):
    # Wrong before: runs against the lab were used by a sign-off of the real estate.
    db = Store(tmp_path / "results.sqlite")
    _run(db, LAB, [("00376", "term-00376-1", "printer.queue_enabled", "passed")])
    _run(db, None, [("00376", "term-00376-1", "printer.queue_enabled", "passed")])
    source = ResultsStoreReadiness(db.path)
    with pytest.raises(EvidenceUnavailable) as raised:
        source.devices(PRODUCTION, ["term-00376-1"], parse_as_of(None))
    assert raised.value.reason.startswith("no check run of estate production in ")
    assert "(it holds lab: 1 run(s), unrecorded: 1 run(s))" in raised.value.reason
    assert set(source.devices(LAB, ["term-00376-1"], parse_as_of(None))) == {"term-00376-1"}


def test_a_staging_run_does_not_count_for_production(tmp_path):
    db = Store(tmp_path / "results.sqlite")
    staging = EstateRef(stack="staging", kind="staging")
    _run(db, staging, [("00376", "term-00376-1", "printer.queue_enabled", "failed")])
    _run(db, PRODUCTION, [("00376", "term-00376-1", "printer.queue_enabled", "passed")])
    _run(db, staging, [("00376", "term-00376-1", "printer.queue_enabled", "failed")])
    [run] = (
        ResultsStoreReadiness(db.path)
        .devices(PRODUCTION, ["term-00376-1"], parse_as_of(None))
        .values()
    )
    assert (run.run_id, run.checks[0].outcome) == ("2", "passed")


def test_a_broken_chain_is_refused_with_the_run_named(store):
    done = subprocess.run(
        [
            "sqlite3",
            str(store),
            "DROP TRIGGER results_no_update; UPDATE results SET outcome = 'failed' WHERE id = 2;",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with pytest.raises(EvidenceUnavailable, match=r"seal chain is broken at run 1: its results"):
        ResultsStoreReadiness(store).devices(PRODUCTION, ["term-00376-1"], parse_as_of(None))


def test_a_missing_store_is_unavailable_evidence(tmp_path):
    with pytest.raises(EvidenceUnavailable, match=r"no results store at .*run `dvc-rollout check`"):
        ResultsStoreReadiness(tmp_path / "none.sqlite").devices(PRODUCTION, ["term-00376-1"], T0)
    assert not (tmp_path / "none.sqlite").exists()


def test_a_corrupt_store_is_bad_input_not_a_verdict(tmp_path):
    corrupt = tmp_path / "results.sqlite"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreCorrupt, match=r"--results: .* cannot be read") as raised:
        ResultsStoreReadiness(corrupt).devices(PRODUCTION, ["term-00376-1"], T0)
    assert raised.value.exit_code == 2
