"""The Debian packages the project needs, read from its own lists, and installed when missing.

So that `make lab` works on a fresh Debian machine with nothing but python3, make and
root, it starts with `python3 infra/debian_packages.py ensure lab`; CI runs
`ensure lab test`. Each list is a file of `infra/packages/` (`lab.txt`, `test.txt`,
`bench.txt`), one package a line. Standard library only: this runs before the
virtualenv exists.

    python3 infra/debian_packages.py ensure lab [test] [--dry-run]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the project's error classes live at the root
    sys.path.insert(0, str(ROOT))

from dvc_rollout.errors import (  # noqa: E402
    EnvironmentProblem,
    ExitStatus,
    UsageError,
    run_command,
)

LISTS_DIR = Path(__file__).resolve().parent / "packages"
SCRIPT = "python3 infra/debian_packages.py"
# Debian policy 5.6.1: lower case letters, digits, + - and . , at least two characters,
# starting with a letter or digit. Anything else (an apt option such as `-o ...`) is refused.
_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def read_list(name: str, lists_dir: Path = LISTS_DIR) -> list[str]:
    """The packages of one list, in file order; a malformed line names its file and line."""
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise UsageError(f"{name!r} is not a package list name: use one of {list_names(lists_dir)}")
    path = lists_dir / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"there is no package list {name!r} ({path} is missing): "
            f"use one of {list_names(lists_dir)}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"the package list {path} cannot be read ({exc}): fix it") from None
    packages = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if not _NAME.fullmatch(entry):
            raise UsageError(
                f"{path}:{number}: {entry!r} is not a Debian package name: "
                "write one package a line (lower case, digits, + - .), comments after #"
            )
        packages.append(entry)
    return packages


def list_names(lists_dir: Path = LISTS_DIR) -> list[str]:
    """The lists there are, by name."""
    return sorted(path.stem for path in lists_dir.glob("*.txt"))


def wanted(names: Sequence[str], lists_dir: Path = LISTS_DIR) -> list[str]:
    """Every package of the named lists, each once, in the order the lists give them."""
    return list(dict.fromkeys(p for name in names for p in read_list(name, lists_dir)))


def missing(packages: Sequence[str]) -> list[str]:
    """The packages dpkg does not have installed (unknown to it, removed, half-installed)."""
    if not packages:
        return []
    if shutil.which("dpkg-query") is None:
        raise EnvironmentProblem(
            "dpkg-query is missing: this is not a Debian-like system. Install the equivalents "
            f"of these Debian packages by hand: {' '.join(packages)}"
        )
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\\t${db:Status-Abbrev}\\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = set()
    for line in done.stdout.splitlines():
        package, _, status = line.partition("\t")
        if status.startswith("ii"):
            installed.add(package)
    return [p for p in packages if p not in installed]


def apt_commands(packages: Sequence[str]) -> list[list[str]]:
    """What installs the packages: refresh the indexes, then install without recommends."""
    return [
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
    ]


def ensure(
    names: Sequence[str],
    *,
    dry_run: bool = False,
    is_root: bool | None = None,
    lists_dir: Path = LISTS_DIR,
    say: Callable[[str], None] = print,
) -> list[str]:
    """Install what the named lists want and dpkg lacks; return what was (or would be) installed.

    As root, runs apt-get; otherwise raises EnvironmentProblem naming the command to run
    as root, so `make lab` stops with the fix instead of failing later on a missing tool.
    """
    packages = wanted(names, lists_dir)
    absent = missing(packages)
    lists = f"list{'s' if len(names) > 1 else ''} {', '.join(names)}"
    if not absent:
        say(f"packages: the {len(packages)} Debian packages of {lists} are installed")
        return []
    commands = apt_commands(absent)
    if dry_run:
        say(f"packages: would install {' '.join(absent)}:")
        for argv in commands:
            say("  " + " ".join(argv))
        return absent
    if not (os.geteuid() == 0 if is_root is None else is_root):
        raise EnvironmentProblem(
            f"Debian packages of {lists} are not installed: {' '.join(absent)}. "
            f"Install them as root: `sudo {SCRIPT} ensure {' '.join(names)}` "
            f"(or `sudo {' '.join(commands[1])}`), then run the command again"
        )
    if shutil.which("apt-get") is None:
        raise EnvironmentProblem(
            f"apt-get is missing: install these Debian packages by hand: {' '.join(absent)}"
        )
    say(f"packages: installing {' '.join(absent)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in commands:
        if subprocess.run(argv, env=env, check=False).returncode != 0:
            raise EnvironmentProblem(
                f"`{' '.join(argv)}` failed (output above): check the machine's apt sources "
                "and network, then run the command again"
            )
    still = missing(packages)
    if still:
        raise EnvironmentProblem(
            f"apt-get reported success but these are still not installed: {' '.join(still)}"
        )
    return absent


def main(argv: Sequence[str] | None = None) -> int:
    """Check or install the named lists; errors are one line and an exit status, no traceback."""
    parser = argparse.ArgumentParser(
        prog=SCRIPT, description="Install the Debian packages the project's lists name."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("ensure", help="install the missing packages of the lists (as root)")
    cmd.add_argument("lists", nargs="+", metavar="LIST", help=f"one of {list_names()}")
    cmd.add_argument("--dry-run", action="store_true", help="say what would be installed")
    cmd.add_argument("--lists-dir", type=Path, default=LISTS_DIR, help="where the lists are")
    args = parser.parse_args(argv)

    def body() -> int:
        ensure(args.lists, dry_run=args.dry_run, lists_dir=args.lists_dir)
        return ExitStatus.OK

    return run_command("packages", body)


if __name__ == "__main__":
    sys.exit(main())
