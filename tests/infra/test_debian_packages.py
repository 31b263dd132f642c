"""The project's Debian package lists, and `make lab` installing them before anything else.

Nothing is installed or removed here: the install path is shown by its dry run, and the
real dpkg database of this machine answers what is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from dvc_rollout.errors import EnvironmentProblem, UsageError
from infra import debian_packages as packages

ROOT = Path(__file__).resolve().parents[2]
ABSENT = "dvc-rollout-no-such-package"


@pytest.fixture
def lists(tmp_path: Path) -> Path:
    (tmp_path / "one.txt").write_text(f"# a comment\n\ndpkg   # installed everywhere\n{ABSENT}\n")
    (tmp_path / "two.txt").write_text(f"{ABSENT}\ncoreutils\n")
    return tmp_path


def test_the_lab_list_holds_what_make_lab_runs_on() -> None:
    lab = packages.read_list("lab")
    assert {"python3-venv", "docker.io", "debootstrap", "openssh-client"} <= set(lab)


def test_test_and_bench_lists_add_only_what_the_lab_list_lacks() -> None:
    lab = set(packages.read_list("lab"))
    for name in ("test", "bench"):
        extra = packages.read_list(name)
        assert extra and not lab & set(extra), name
        assert len(set(extra)) == len(extra), name


def test_lists_are_merged_in_order_each_package_once(lists: Path) -> None:
    assert packages.wanted(["one", "two"], lists) == ["dpkg", ABSENT, "coreutils"]


@pytest.mark.parametrize("line", ["-o APT::Get::Assume-Yes=1", "docker.io; rm -rf /", "Nginx"])
def test_a_line_that_is_not_a_package_name_is_refused_with_file_and_line(
    lists: Path, line: str
) -> None:
    (lists / "bad.txt").write_text(f"dpkg\n{line}\n")
    with pytest.raises(UsageError, match=r"bad\.txt:2: .* is not a Debian package name"):
        packages.read_list("bad", lists)


def test_an_unknown_list_names_the_lists_there_are(lists: Path) -> None:
    with pytest.raises(UsageError, match=r"no package list 'three'.*\['one', 'two'\]"):
        packages.read_list("three", lists)


def test_dpkg_answers_what_is_missing() -> None:
    assert packages.missing(["dpkg", ABSENT, "coreutils"]) == [ABSENT]


def test_nothing_to_do_when_every_package_is_installed() -> None:
    said: list[str] = []
    assert packages.ensure(["lab"], is_root=True, say=said.append) == []
    assert said == [
        f"packages: the {len(packages.read_list('lab'))} Debian packages of list lab are installed"
    ]


def test_the_dry_run_shows_the_apt_commands_and_installs_nothing(lists: Path) -> None:
    said: list[str] = []
    assert packages.ensure(["one", "two"], dry_run=True, lists_dir=lists, say=said.append) == [
        ABSENT
    ]
    assert said == [
        f"packages: would install {ABSENT}:",
        "  apt-get update -q",
        f"  apt-get install -y -q --no-install-recommends {ABSENT}",
    ]
    assert packages.missing([ABSENT]) == [ABSENT]


def test_without_root_it_names_the_command_to_run_as_root(lists: Path) -> None:
    with pytest.raises(
        EnvironmentProblem,
        match=rf"not installed: {ABSENT}\. Install them as root: "
        r"`sudo python3 infra/debian_packages\.py ensure one two`",
    ):
        packages.ensure(["one", "two"], is_root=False, lists_dir=lists)


def test_an_unreadable_list_is_bad_input_naming_the_file(lists: Path) -> None:
    (lists / "one.txt").write_bytes(b"dpkg \xff\n")
    with pytest.raises(UsageError, match=r"package list .*one\.txt cannot be read"):
        packages.read_list("one", lists)


def test_run_by_a_user_without_root_it_exits_3_without_a_traceback() -> None:
    # Files nobody (uid 65534) can read: pytest's own tmp_path is private to root.
    shared = Path(tempfile.mkdtemp(prefix="dvc-packages-test-"))
    try:
        shared.chmod(0o755)
        (shared / "one.txt").write_text(f"dpkg\n{ABSENT}\n")
        (shared / "one.txt").chmod(0o644)
        done = _run_as_nobody("infra/debian_packages.py", "ensure", "one", "--lists-dir", shared)
    finally:
        shutil.rmtree(shared)
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("packages: error: Debian packages of list one are not installed")
    assert "`sudo python3 infra/debian_packages.py ensure one`" in done.stderr
    assert "Traceback" not in done.stderr


def _run_as_nobody(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3"]
    return subprocess.run(
        [*nobody, *map(str, argv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_make_lab_installs_the_packages_before_the_venv_and_the_engine() -> None:
    # -W pyproject.toml: show the venv's recipe as on a fresh clone; -n: run nothing.
    done = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()

    def first(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    assert first("infra/debian_packages.py ensure lab") < first("-m venv") < first("engine.sh")
