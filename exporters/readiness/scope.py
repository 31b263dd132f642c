"""The one-stop desks each phase must have checked before go-live, as the exporter reads them.

A desk that was never checked has no row in the results store, so the results alone
cannot say it is missing: the exporter also needs the list of desks in scope. Production
reads it from the inventory; a lab (which simulates a few desks) or a container without
pydantic gets a scope file written here from the inventory:

    python -m exporters.readiness.scope [--phase N] > scope.json

Each entry carries the labels the checks write for the site (so a desk's never-checked
series and its checked series are the same series) and its phase's go-live date.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dvc_rollout.errors import UsageError

FIELDS = ("site_code", "unit", "district", "district_code", "phase", "go_live")


class ScopeFileError(UsageError):
    """The scope file is missing, not JSON or lacks a field."""


@dataclass(frozen=True)
class ScopedSite:
    """A desk in a phase's scope; labels as `dvc-rollout check` records them."""

    site_code: str
    unit: str
    district: str
    district_code: str
    phase: str
    go_live: str

    @property
    def labels(self) -> tuple[str, str, str, str, str]:
        return (self.site_code, self.unit, self.district, self.district_code, self.phase)


def from_inventory(
    inv: Any, phases: Iterable[int] | None = None, sites: Iterable[str] | None = None
) -> list[ScopedSite]:
    """Every desk of the given phases (default all), or only the given site codes."""
    wanted = set(sites) if sites is not None else None
    found = []
    for number, phase in sorted(inv.phases.items()):
        if phases is not None and number not in set(phases):
            continue
        for site in inv.sites_in(number):
            if wanted is not None and site.code not in wanted:
                continue
            place = site.place
            found.append(
                ScopedSite(
                    site.code,
                    place.name,
                    place.district_name,
                    place.district_code,
                    str(number),
                    phase.go_live.isoformat(),
                )
            )
    return found


def render(entries: Sequence[ScopedSite]) -> str:
    return json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=1) + "\n"


def read(path: Path) -> list[ScopedSite]:
    """Read a scope file, naming the entry at fault."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ScopeFileError(f"cannot read the scope file {path}: {e}") from None
    if not isinstance(data, list):
        raise ScopeFileError(f"{path}: expected a JSON list of sites")
    found = []
    for i, entry in enumerate(data):
        missing = [f for f in FIELDS if not isinstance(entry, dict) or f not in entry]
        if missing:
            raise ScopeFileError(
                f"{path}: entry {i} lacks {', '.join(missing)}: "
                "write it with `python -m exporters.readiness.scope`"
            )
        found.append(ScopedSite(*(str(entry[f]) for f in FIELDS)))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exporters.readiness.scope",
        description="Print the desks in scope of the plan's phases for the readiness exporter.",
    )
    parser.add_argument("--phase", type=int, action="append", help="only this phase (repeat)")
    args = parser.parse_args(argv)
    import inventory

    sys.stdout.write(render(from_inventory(inventory.load(), args.phase)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
