"""The results store keeps every result: append-only, sealed, per estate, migrated safely."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from checks.results import (
    GENESIS,
    SCHEMA_VERSION,
    TABLES,
    Estate,
    Result,
    Store,
    StoreUnreadable,
)
from dvc_rollout.cli import main

FIXTURES = Path(__file__).with_name("fixtures")


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


# -- truly append-only ------------------------------------------------------------------
def _sql(store: Store, statement: str, params: tuple[object, ...] = ()) -> None:
    """A statement through a plain connection with foreign keys on, as any tool could."""
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA foreign_keys=ON")
        db.execute(statement, params)


REPLACE_RESULT = (
    "INSERT OR REPLACE INTO results (id, run_id, time, site_code, unit, host, check_id, "
    "outcome) VALUES (1, ?, 't', '016', 'u', 'term-016-1', 'printer.queue_enabled', 'passed')"
)


@pytest.mark.parametrize("finished", [True, False], ids=["complete-run", "open-run"])
def test_a_recorded_result_cannot_be_replaced(store: Store, finished: bool) -> None:
    run = store.start_run({})
    store.add(_result(run, outcome="failed"))
    if finished:
        store.finish_run(run)
    [kept] = store.results(run)
    with pytest.raises(sqlite3.IntegrityError, match=r"never replaced|only into an open run"):
        _sql(store, REPLACE_RESULT, (run,))
    assert store.results(run) == [kept]


def test_a_complete_run_cannot_be_reopened_by_replacing_it(store: Store) -> None:
    run = store.start_run({})
    store.finish_run(run)
    with pytest.raises(sqlite3.IntegrityError, match="never replaced"):
        _sql(store, "INSERT OR REPLACE INTO runs (run_id, started) VALUES (?, 'x')", (run,))
    found = store.run(run)
    assert found is not None and found.status == "complete"


def test_no_result_is_added_to_a_run_that_completed(store: Store) -> None:
    run = store.start_run({})
    store.add(_result(run))
    store.finish_run(run)
    with pytest.raises(sqlite3.IntegrityError, match="only into an open run"):
        store.add(_result(run, outcome="failed"))
    assert [r.outcome for r in store.results(run)] == ["passed"]


def test_no_result_is_added_to_a_run_that_does_not_exist(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="does not exist"):
        store.add(_result(4242))
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA foreign_keys=ON")
        # Even with the trigger gone, the foreign key refuses an orphan result.
        db.execute("DROP TRIGGER results_only_into_open_runs")
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            db.execute(
                "INSERT INTO results (run_id, time, site_code, unit, host, check_id, outcome) "
                "VALUES (4242, 't', '016', 'u', 'h', 'c', 'passed')"
            )


# -- estates ----------------------------------------------------------------------------
LAB = Estate("lab", "lab", {"backend": "docker", "hosts": {"term-016-1": "docker://x"}})
PRODUCTION = Estate("production", "production", {"backend": "ssh"})


def test_every_run_records_its_estate_and_the_checks_it_collected(store: Store) -> None:
    run = store.start_run({"phase": 1}, LAB)
    store.add(_result(run))
    store.finish_run(run, {"term-016-1": ["printer.queue_enabled", "pc.answers"]})
    found = store.run(run)
    assert found is not None and found.estate == LAB
    assert found.expected == {"term-016-1": ("pc.answers", "printer.queue_enabled")}
    assert [r.run_id for r in store.estate_runs(LAB, "9999")] == [run]
    assert store.estate_runs(PRODUCTION, "9999") == []
    assert store.estates() == {"lab": 1}


def test_an_estate_cannot_be_rewritten(store: Store) -> None:
    run = store.start_run({}, LAB)
    with pytest.raises(sqlite3.IntegrityError, match="once"):
        _sql(store, "UPDATE runs SET estate_stack = 'production', estate_kind = 'production'")
    found = store.run(run)
    assert found is not None and found.estate == LAB


def test_an_estate_has_a_known_kind() -> None:
    with pytest.raises(ValueError, match="kind 'prod' is not one of"):
        Estate("production", "prod")


# -- seals ------------------------------------------------------------------------------
def _sealed(store: Store, n: int = 2) -> list[int]:
    runs = []
    for i in range(n):
        run = store.start_run({"n": i}, LAB)
        store.add(_result(run, outcome="failed" if i == 0 else "passed"))
        store.finish_run(run, {"term-016-1": ["printer.queue_enabled"]})
        runs.append(run)
    return runs


def test_each_completed_run_is_sealed_and_chained_to_the_one_before(store: Store) -> None:
    first, second = _sealed(store)
    found = store.verify()
    assert found.intact and (found.seals, found.runs_sealed) == (2, 2)
    with sqlite3.connect(store.path) as db:
        chain = db.execute("SELECT ref, previous, seal FROM chain ORDER BY seq").fetchall()
    assert [ref for ref, *_ in chain] == [first, second]
    assert chain[0][1] == GENESIS and chain[1][1] == chain[0][2]
    assert found.head == chain[1][2] == store.run(second).seal  # type: ignore[union-attr]


def test_a_seal_cannot_be_inserted_out_of_turn(store: Store) -> None:
    _sealed(store)
    with pytest.raises(sqlite3.IntegrityError, match="head of the chain"):
        _sql(
            store,
            "INSERT INTO chain (kind, ref, digest, previous, seal, time) "
            "VALUES ('run', 1, 'x', ?, 'y', 'z')",
            (GENESIS,),
        )


def _tamper(path: Path, *statements: str) -> None:
    """Edit the store as someone with the sqlite3 CLI would: triggers dropped first."""
    script = "".join(
        f"DROP TRIGGER {t};"
        for t in ("results_no_update", "results_no_delete", "results_only_into_open_runs")
    )
    done = subprocess.run(
        ["sqlite3", str(path), script + "".join(statements)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE results SET outcome = 'passed', message = '' WHERE id = 1;",
        "DELETE FROM results WHERE id = 1;",
        "INSERT INTO results (run_id, time, site_code, unit, host, check_id, outcome) "
        "VALUES (1, 't', '016', 'u', 'term-016-1', 'scanner.scanner_listed', 'passed');",
    ],
    ids=["edited", "deleted", "added"],
)
def test_a_hand_edited_result_is_caught_by_check_verify(
    store: Store, edit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _second = _sealed(store)
    assert main(["check", "verify", f"--db={store.path}"]) == 0
    capsys.readouterr()
    _tamper(store.path, edit)
    assert main(["check", "verify", f"--db={store.path}"]) == 1
    out = capsys.readouterr().out
    assert f"chain BROKEN at run {first}: its results or its run record changed" in out
    found = store.verify()
    assert [b.run_id for b in found.breaks] == [first]


def test_a_run_marked_complete_by_hand_has_no_seal_and_is_caught(store: Store) -> None:
    run = store.start_run({}, LAB)
    store.add(_result(run, outcome="failed"))
    _tamper(
        store.path,
        "DROP TRIGGER runs_complete_once;",
        f"UPDATE runs SET status = 'complete', finished = 'x' WHERE run_id = {run};",
    )
    [problem] = store.verify().breaks
    assert (problem.run_id, problem.reason) == (run, "it is complete but has no seal")


def test_check_verify_exits_2_on_a_missing_or_corrupt_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "verify", f"--db={tmp_path / 'none.sqlite'}"]) == 2
    assert "no results store at" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    assert main(["check", "verify", f"--db={corrupt}"]) == 2
    assert "cannot be read" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()


# -- migration --------------------------------------------------------------------------
def _v1_store(path: Path) -> None:
    """A store as version 1 wrote it: one complete and one open run, no estates, no seals."""
    with sqlite3.connect(path) as db:
        db.executescript(TABLES + (FIXTURES / "results-v1.sql").read_text())
        db.execute("INSERT INTO runs (started, selection) VALUES ('2017-07-01', '{}')")
        db.execute(
            "INSERT INTO results (run_id, time, site_code, unit, host, check_id, outcome) "
            "VALUES (1, '2017-07-01', '016', 'u', 'term-016-1', 'pc.answers', 'passed')"
        )
        db.execute("UPDATE runs SET status = 'complete', finished = '2017-07-01'")
        db.execute("INSERT INTO runs (started, selection) VALUES ('2017-07-02', '{}')")


def test_a_version_1_store_is_migrated_in_place_and_its_runs_are_foreign(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    _v1_store(path)
    # A reader sees the old store as it is and changes nothing.
    old = Store(path, read_only=True)
    assert old.version == 1 and old.estates() == {"unrecorded": 2}
    assert old.verify().intact and old.verify().legacy_runs == 2
    store = Store(path)
    assert store.version == SCHEMA_VERSION
    legacy = store.run(1)
    assert legacy is not None and legacy.status == "complete" and legacy.estate is None
    assert [r.check_id for r in store.results(1)] == ["pc.answers"]
    assert store.estate_runs(LAB, "9999") == []
    # The old open run can take no estate and never completes into evidence.
    with pytest.raises(sqlite3.IntegrityError, match="once"):
        _sql(store, "UPDATE runs SET estate_stack = 'lab', estate_kind = 'lab' WHERE run_id = 2")
    new = _sealed(store, 1)[0]
    found = store.verify()
    assert found.intact and found.legacy_runs == 2 and found.runs_sealed == 1
    assert new == 3 and Store(path).version == SCHEMA_VERSION  # opening again is a no-op


def test_a_migration_interrupted_leaves_the_old_store_whole(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    _v1_store(path)
    with sqlite3.connect(path) as db:  # a half-done earlier attempt would clash
        db.execute("CREATE TABLE chain (x)")
    with pytest.raises(StoreUnreadable, match="cannot be read"):
        Store(path)
    with sqlite3.connect(path) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
        assert "estate_stack" not in columns
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 1
