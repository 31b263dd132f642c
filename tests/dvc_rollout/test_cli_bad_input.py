"""Flags a tired operator types wrong end in argparse's `error:` line and exit 2.

Each case once ended in a traceback, created a file a read-only command should never
create, or printed a BrokenPipeError. Flags are refused while parsing, so those cases
only parse (a regression must not start a lab or a check run here); the read-only
commands run in this process, and the closed-pipe and default-store cases run the
installed `dvc-rollout` as a person would. No lab, no network.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvc_rollout.cli import build_parser, main

EXE = str(Path(sys.executable).with_name("dvc-rollout"))


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def parse(*args: str) -> Outcome:
    """What argparse says of these arguments (the command itself never runs)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(args)
        except SystemExit as exc:
            return Outcome(int(exc.code or 0), "", err.getvalue())
    return Outcome(0, "", err.getvalue())


def run(*args: str) -> Outcome:
    """A read-only command, run in this process as the console script runs it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Outcome(code, out.getvalue(), err.getvalue())


def refused(result: Outcome, flag: str, said: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"error: argument {flag}: " in result.stderr, result.stderr
    assert said in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("args", "flag", "said"),
    [
        (["signoff", "--phase", "1", "--as-of", "0001-01-01"], "--as-of", "from 2000-01-01"),
        (
            ["signoff", "--phase", "1", "--readiness-max-age", "99999999999999999d"],
            "--readiness-max-age",
            "out of range",
        ),
        (["signoff", "--phase", "1", "--window", "100000w"], "--window", "out of range"),
        (["signoff", "--phase", "1", "--min-availability", "nan"], "--min-availability", "at most"),
        (["signoff", "--phase", "1", "--min-coverage", "-1"], "--min-coverage", "at most 1"),
        (["signoff", "--phase", "1", "--min-coverage", "inf"], "--min-coverage", "at most 1"),
        (["signoff", "--phase", "0"], "--phase", "from 1 to 99"),
        (["status", "serve", "--listen", "127.0.0.1:99999"], "--listen", "out of range"),
        (["status", "serve", "--refresh", "0"], "--refresh", "from 1 to 3600"),
        (["lab", "up", "--units-per-district", "100000"], "--units-per-district", "from 1 to"),
        (["lab", "up", "--timeout", "nan"], "--timeout", "at most 3600"),
        (["lab", "down", "--stack", "../../etc"], "--stack", "is not a stack name"),
        (["check", "--phase", "1", "--workers", "-3"], "-n/--workers", "from 0 to 256"),
        (["inventory", "export", "ansible", "--phase", "x"], "--phase", "is not a phase number"),
    ],
)
def test_out_of_range_flags_are_refused_naming_the_flag(
    args: list[str], flag: str, said: str
) -> None:
    refused(parse(*args), flag, said)


def test_a_phase_the_plan_does_not_have_is_refused_not_exported_empty() -> None:
    result = run("inventory", "export", "ansible", "--phase", "99")
    assert result.returncode == 2 and result.stdout == "", result.stdout[:200]
    assert "no phase 99 in plan 169/KH-UBND: phases are 1, 2" in result.stderr


def test_check_db_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    result = parse("check", "--phase", "1", "--db", str(tmp_path / "no" / "results.sqlite"))
    refused(result, "--db", "does not exist")
    assert not (tmp_path / "no").exists()


def test_check_history_on_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.sqlite"
    notes.write_text("these are my notes\n")
    refused(run("check", "history", "--db", str(notes)), "--db", "not an SQLite database")
    assert notes.read_text() == "these are my notes\n"


@pytest.mark.parametrize("words", [["history"], ["export", "--format", "json"]])
def test_reading_a_store_that_does_not_exist_never_creates_one(
    tmp_path: Path, words: list[str]
) -> None:
    new = tmp_path / "new.sqlite"
    refused(run("check", *words, "--db", str(new)), "--db", "no results store at")
    assert list(tmp_path.iterdir()) == []


def test_the_default_store_is_not_created_by_history_either(tmp_path: Path) -> None:
    env_state = tmp_path / "state"
    result = subprocess.run(
        [EXE, "check", "history"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DVC_STATE_DIR": str(env_state)},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no results store at" in result.stderr
    assert not env_state.exists()


def test_output_cut_off_by_head_ends_quietly() -> None:
    reader = subprocess.Popen(
        [EXE, "inventory", "export", "ansible"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(10)
    reader.stdout.close()  # as `| head -c 10` does
    stderr = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 141
    assert stderr == ""


def test_bad_flags_give_exit_2_through_main_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signoff", "--phase", "1", "--as-of", "0001-01-01"]) == 2
    assert "argument --as-of" in capsys.readouterr().err
    assert main(["--version"]) == 0
