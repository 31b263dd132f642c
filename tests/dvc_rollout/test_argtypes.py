"""Each argparse type takes what an operator means and refuses what is out of range."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dvc_rollout import argtypes


def refuses(parse: Callable[[str], object], text: str, said: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=said):
        parse(text)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2017-07-14", datetime(2017, 7, 13, 17, tzinfo=UTC)),  # midnight in Hanoi
        ("2017-07-14T17:00+07:00", datetime(2017, 7, 14, 10, tzinfo=UTC)),
        ("2017-07-14T17:00:00", datetime(2017, 7, 14, 10, tzinfo=UTC)),
        (" 2099-12-31 ", datetime(2099, 12, 30, 17, tzinfo=UTC)),
    ],
)
def test_instant_reads_dates_in_hanoi_time(text: str, moment: datetime) -> None:
    assert argtypes.instant(text) == moment


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("0001-01-01", "out of range: give a date from 2000-01-01 to 2099-12-31"),
        ("9999-12-31T23:59:59+14:00", "out of range"),
        ("1999-12-31", "out of range"),
        ("15/7/2017", "is not a date: write 2017-07-14"),
        ("", "is not a date"),
    ],
)
def test_instant_refuses_dates_out_of_range(text: str, said: str) -> None:
    refuses(argtypes.instant, text, said)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("90m", 5400), ("7d", 604800), ("1s", 1), ("366d", 366 * 86400)],
)
def test_duration_reads_prometheus_durations(text: str, seconds: int) -> None:
    assert argtypes.duration()(text) == argtypes.Duration(text, seconds)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("99999999999999999d", "out of range: give a duration from 1s to 366d"),
        ("9" * 5000 + "w", "out of range"),
        ("367d", "out of range"),
        ("0s", "out of range"),
        ("1day", "write e.g. 24h"),
        ("-5m", "write e.g. 24h"),
        ("1.5h", "write e.g. 24h"),
    ],
)
def test_duration_refuses_what_is_not_a_sane_duration(text: str, said: str) -> None:
    refuses(argtypes.duration(), text, said)


@pytest.mark.parametrize("text", ["nan", "-1", "0", "inf", "-inf", "1.0000001", "x", "", "1e999"])
def test_threshold_is_finite_above_0_at_most_1(text: str) -> None:
    refuses(argtypes.threshold, text, "above 0 and at most 1")


@pytest.mark.parametrize(("text", "value"), [("1", 1.0), ("0.99", 0.99), ("1e-3", 0.001)])
def test_threshold_takes_shares(text: str, value: float) -> None:
    assert argtypes.threshold(text) == value


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("127.0.0.1:99999", "port 99999 is out of range"),
        ("127.0.0.1:http", "write host:port"),
        ("8090", "write host:port"),
        (":8090", "write host:port"),
        ("127.0.0.1:-1", "write host:port"),
        ("a b:80", "not an address or name"),
    ],
)
def test_listen_address_refuses_bad_ports_and_hosts(text: str, said: str) -> None:
    refuses(argtypes.listen_address, text, said)


@pytest.mark.parametrize("text", ["127.0.0.1:8090", "[::1]:0", "localhost:65535", "0.0.0.0:80"])
def test_listen_address_takes_host_and_port(text: str) -> None:
    assert argtypes.listen_address(text) == text


@pytest.mark.parametrize(
    ("parse", "text", "said"),
    [
        (argtypes.port, "0", "from 1 to 65535"),
        (argtypes.port, "65536", "from 1 to 65535"),
        (argtypes.phase, "0", "from 1 to 99"),
        (argtypes.phase, "1" * 40, "is not a phase number"),
        (argtypes.workers, "-1", "from 0 to 256"),
        (argtypes.workers, "many", "is not a worker count"),
        (argtypes.url, "localhost:9090", "is not an http"),
        (argtypes.url, "http://h:99999/", "port is out of range"),
        (argtypes.url, "http://h/\nx", "is not an http"),
        (argtypes.stack_name, "../etc", "is not a stack name"),
        (argtypes.stack_name, "Hà-Nội", "is not a stack name"),
        (argtypes.text(), "a\nb", "control character"),
        (argtypes.text(5), "abcdef", "at most 5"),
        (argtypes.seconds(0, 3600), "nan", "above 0 and at most 3600"),
    ],
)
def test_counts_ports_names_and_urls_are_range_checked(
    parse: Callable[[str], object], text: str, said: str
) -> None:
    refuses(parse, text, said)


def test_files_and_folders_must_exist_as_what_they_are(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    refuses(argtypes.existing_file, str(tmp_path / "none"), "no such file")
    refuses(argtypes.existing_file, str(tmp_path), "is not a file")
    refuses(argtypes.existing_dir, str(tmp_path / "a-file"), "is not a folder")
    refuses(argtypes.existing_dir, str(tmp_path / "none"), "no such folder")
    refuses(argtypes.new_file, str(tmp_path / "none" / "x.sqlite"), "does not exist: create it")
    refuses(argtypes.new_file, str(tmp_path), "is a folder")
    refuses(argtypes.existing_file, "x" * 5000, "cannot be looked at")
    assert argtypes.new_file(str(tmp_path / "x.sqlite")) == tmp_path / "x.sqlite"


def test_a_results_store_must_be_an_sqlite_database_and_is_never_created(tmp_path: Path) -> None:
    refuses(argtypes.sqlite_store, str(tmp_path / "new.sqlite"), "no results store at")
    assert not (tmp_path / "new.sqlite").exists()
    (tmp_path / "text.sqlite").write_text("not a database\n")
    refuses(argtypes.sqlite_store, str(tmp_path / "text.sqlite"), "not an SQLite database")
    (tmp_path / "empty.sqlite").write_bytes(b"")
    refuses(argtypes.sqlite_store, str(tmp_path / "empty.sqlite"), "not an SQLite database")
    with sqlite3.connect(tmp_path / "real.sqlite") as db:
        db.execute("CREATE TABLE t (x)")
    assert argtypes.sqlite_store(str(tmp_path / "real.sqlite")) == tmp_path / "real.sqlite"
