"""The checks a desk must pass, named once: what `checks/terminal/` holds.

A sign-off judges a device on the full set, not on whatever a run happened to collect:
a run narrowed with `-k`, or recorded before a check was added, is missing the rest.
The set is read from the check modules' source (their `test_*` functions), so adding a
check there adds it here; ids are `<module>.<function>` without the `test_` prefixes,
as the results store records them (`checks/terminal/test_printer.py::test_queue_enabled`
is `printer.queue_enabled`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

TERMINAL_DIR = Path(__file__).resolve().parent / "terminal"
# The pseudo-site the data center's hosts are recorded under (its checks differ per role).
DATACENTER = "datacenter"
# A check of the full set with no result on a device: as bad as a skipped one.
MISSING = "missing"
# Outcomes from best to worst: only `passed` is ready.
OUTCOME_ORDER = ("passed", "skipped", MISSING, "failed", "error")
# The checks that verify a site's printer and its scanner (through the terminal they
# are attached to): their modules' names.
DEVICE_MODULES = {"printer": "printer", "scanner": "scanner"}


def check_id(nodeid: str) -> str:
    """`checks/terminal/test_printer.py::test_queue_enabled[h]` -> `printer.queue_enabled`."""
    path, _, name = nodeid.partition("::")
    module = Path(path).stem.removeprefix("test_")
    return f"{module}.{name.split('[', 1)[0].removeprefix('test_')}"


def _functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    ]


@cache
def terminal_checks(folder: Path = TERMINAL_DIR) -> frozenset[str]:
    """Every check id a terminal must pass (with its printer and scanner)."""
    return frozenset(
        check_id(f"{path.name}::{name}")
        for path in sorted(folder.glob("test_*.py"))
        for name in _functions(path)
    )


def device_of(check: str) -> str:
    """`terminal`, `printer` or `scanner`: which of a desk's devices a check verifies."""
    return DEVICE_MODULES.get(check.split(".", 1)[0], "terminal")


def on_full_set(found: Mapping[str, str], expected: Iterable[str] | None = None) -> dict[str, str]:
    """A device's outcome of every check it must pass: `found` (check id -> outcome) with
    `missing` for each check of the full set it lacks.

    Only `passed` is ready: a skipped check proves nothing about the desk, and a check
    that never ran (a run narrowed with `-k`, or older than the check) proves less.
    Checks outside the set (a retired one) still show, with their outcome.
    """
    wanted = terminal_checks() if expected is None else frozenset(expected)
    return {**{check: MISSING for check in wanted}, **found}


def worst(outcomes: Iterable[str]) -> str:
    """The worst of several outcomes (of one check on a site's terminals)."""
    rank = {o: n for n, o in enumerate(OUTCOME_ORDER)}
    return max(outcomes, key=lambda o: rank.get(o, len(OUTCOME_ORDER)), default=MISSING)
