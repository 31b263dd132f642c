"""Fuzz: any arguments to any `dvc-rollout` subcommand give a result or argparse's error.

The subcommands and their flags are read from the parser itself (`build_parser`), so a
flag added later is fuzzed without touching this file. Hypothesis builds argument
vectors from each command's own flags and positionals, with values both sensible and
hostile (out-of-range numbers, nan, dates of year 1, ports past 65535, paths that do
not exist or are folders, template and shell syntax, line breaks, 5,000 characters).

Properties: parsing ends in a namespace or in exit 2 with an `error:` line that names
the flag at fault; never another exception. The read-only commands (`inventory ...`,
`check history`, `check verify`) are also run on what parses: exit 0 or 2 (1 only for
`check verify` on a broken store), within a few seconds, never a traceback, and never
a file created where there was none. Commands that start labs, Ansible, checks or
servers are only parsed, as are the exporters' own command lines (availability, Kannel,
citizen database, readiness). Deterministic (derandomized) so CI runs the same cases.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvc_rollout.cli import build_parser, main
from exporters.availability import __main__ as availability_main
from exporters.citizen_db import __main__ as citizen_db_main
from exporters.kannel import __main__ as kannel_main
from exporters.readiness import __main__ as readiness_main

# The same cases every run (CI), no example database, time checked by the tests themselves.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PARSE_EXAMPLES = 400
RUN_EXAMPLES = 80
SECONDS = 10.0
# Run, not only parsed: they read and print, and never start anything.
READ_ONLY = {
    ("inventory", "validate"),
    ("inventory", "stats"),
    ("inventory", "show"),
    ("inventory", "export"),
    ("check", "history"),
    ("check", "verify"),
}
FIXED = Path("/tmp/dvc-cli-fuzz")  # paths in the pool must be the same in every run
POOL = [
    *("0", "1", "2", "-1", "99", "100", "65535", "65536", "99999", "1e309", "10" * 30),
    *("nan", "inf", "-inf", "0.5", "0.99", "1.0000001", "-0.0"),
    *("24h", "0s", "1s", "366d", "367d", "99999999999999999d", "1day", "-5m"),
    *("2017-07-15", "2017-07-15T17:00+07:00", "0001-01-01", "9999-12-31", "15/7/2017"),
    *("127.0.0.1:8090", "127.0.0.1:0", "127.0.0.1:99999", ":80", "[::1]:80", "localhost"),
    *("http://127.0.0.1:9", "http://x:99999/", "ftp://x", "lab", "../../etc", "Hà-Nội"),
    *("auto", "016", "ung hoa", "Ứng Hòa", "00376", "d-pavement-2", "district", "unit"),
    *("{{ lookup('pipe','id') }}", "$(id)", "`id`", "a;b", "'\"", "a|b", "<script>"),
    *("line\nbreak", "tab\there", "\u202e", "x" * 5000, "", " ", "-", "--", "-x"),
    *(str(FIXED / "missing" / "file"), str(FIXED / "dir"), str(FIXED / "text.txt")),
    *(str(FIXED / "store.sqlite"), str(FIXED / "new.sqlite"), "/", "/dev/null", "/etc/hostname"),
]


Build = Callable[[], argparse.ArgumentParser]


@dataclass(frozen=True)
class Command:
    """One command line to fuzz: the words before its flags, its parser and how to make one."""

    words: tuple[str, ...]
    parser: argparse.ArgumentParser
    build: Build = build_parser

    @property
    def options(self) -> list[argparse.Action]:
        return [a for a in self.parser._actions if a.option_strings and a.help != argparse.SUPPRESS]

    @property
    def positionals(self) -> list[argparse.Action]:
        return [
            a
            for a in self.parser._actions
            if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
        ]


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[Command]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if words and (not subs or not subs[0].required):
        yield Command(words, parser)
    for sub in subs:
        for name, child in sub.choices.items():
            yield from _commands(child, (*words, name))


COMMANDS = list(_commands(build_parser()))
# The exporters' own command lines (run in their containers): parsed only.
EXPORTERS = [
    Command((), build(), build)
    for build in (
        availability_main.build_parser,
        citizen_db_main.build_parser,
        kannel_main.build_parser,
        readiness_main.build_parser,
    )
]


def _value(action: argparse.Action) -> st.SearchStrategy[str]:
    pool = st.sampled_from(POOL) | st.text(max_size=20)
    if action.choices:
        return st.sampled_from([str(c) for c in action.choices]) | pool
    return pool


@st.composite
def command_line(draw: st.DrawFn, commands: list[Command]) -> tuple[Command, list[str]]:
    command = draw(st.sampled_from(commands))
    return command, draw(argv(command))


@st.composite
def argv(draw: st.DrawFn, command: Command) -> list[str]:
    words = list(command.words)
    for action in draw(st.lists(st.sampled_from(command.options), max_size=4, unique=True)):
        if isinstance(action, argparse._HelpAction | argparse._VersionAction):
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            words.append(flag)
        else:
            words += [flag, draw(_value(action))]
    for action in command.positionals:
        if action.nargs in ("?", "*") and draw(st.booleans()):
            continue
        words.append(draw(_value(action)))
    if draw(st.integers(0, 9)) == 0:
        words.append(draw(st.sampled_from(["--no-such-flag", "extra", "-q"])))
    return words


def _flags_of(words: list[str]) -> set[str]:
    return {w for w in words if w.startswith("-")}


@pytest.fixture(scope="module", autouse=True)
def paths() -> Iterator[None]:
    """The files and folders the value pool names, as they must be for every case."""
    (FIXED / "dir").mkdir(parents=True, exist_ok=True)
    (FIXED / "text.txt").write_text("not a database\n")
    with sqlite3.connect(FIXED / "store.sqlite") as db:
        db.execute("CREATE TABLE IF NOT EXISTS t (x)")
    yield


@pytest.fixture(autouse=True)
def no_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read-only commands must find no default store (and must not make one)."""
    monkeypatch.setenv("DVC_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DVC_INVENTORY", raising=False)
    monkeypatch.delenv("DVC_INVENTORY_RECORDS", raising=False)


def _parse(build: Build, words: list[str]) -> tuple[argparse.Namespace | None, int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            return build().parse_args(words), 0, ""
        except SystemExit as exc:
            return None, int(exc.code or 0), err.getvalue()


@settings(FUZZ, max_examples=PARSE_EXAMPLES)
@given(command_line(COMMANDS + EXPORTERS))
def test_any_arguments_parse_or_end_in_argparse_error_naming_the_flag(
    case: tuple[Command, list[str]],
) -> None:
    command, words = case
    namespace, code, err = _parse(command.build, words)
    if namespace is not None:
        return
    assert code == 2, (words, err)
    [last] = err.strip().splitlines()[-1:]
    assert ": error: " in last, err
    said = last.split(": error: ", 1)[1]
    named = [f for f in _flags_of(words) if f in said] or [
        w
        for w in (
            "the following arguments are required",
            "unrecognized arguments",
            "invalid choice",
            "argument ",
        )
        if w in said
    ]
    assert named, (words, err)


def _assert_right_result(words: list[str], out: str) -> None:
    """What a successful read-only command must have printed."""
    document = json.loads(out) if out.lstrip().startswith(("{", "[")) else None
    if words[:2] == ["inventory", "export"]:
        assert document is not None and document["_meta"]["hostvars"], out[:200]
        assert document["terminals"]["hosts"], out[:200]
    elif words[:2] == ["inventory", "validate"]:
        assert out.startswith("inventory OK") or (document or {}).get("ok") is True, out[:200]
    elif words[:2] == ["inventory", "stats"]:
        assert "169/KH-UBND" in out, out[:200]
    elif words[:2] == ["inventory", "show"]:
        assert "code" in out, out[:200]


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")} if root.exists() else set()


@settings(FUZZ, max_examples=RUN_EXAMPLES)
@given(case=command_line([c for c in COMMANDS if c.words in READ_ONLY]))
def test_read_only_commands_answer_or_refuse_quickly_and_create_nothing(
    case: tuple[Command, list[str]], tmp_path: Path
) -> None:
    words = case[1]
    before = _snapshot(FIXED)
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(words)
    took = time.monotonic() - started
    assert took < SECONDS, (words, took)
    assert "Traceback" not in err.getvalue()
    allowed = {0, 1, 2} if words[:2] == ["check", "verify"] else {0, 2}
    assert code in allowed, (words, code, err.getvalue())
    if code == 2:
        assert "error: " in err.getvalue(), (words, err.getvalue())
    if code == 0:
        _assert_right_result(words, out.getvalue())
    assert _snapshot(FIXED) == before, words
    assert not Path(os.environ["DVC_STATE_DIR"]).exists(), words


def test_every_subcommand_is_fuzzed() -> None:
    assert {c.words for c in COMMANDS} >= READ_ONLY
    assert len(COMMANDS) >= 15, [c.words for c in COMMANDS]
    assert all(c.options for c in EXPORTERS)
