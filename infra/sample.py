"""Which districts and one-stop desks a stack covers, chosen from the inventory.

The lab cannot run 434 simulated desks on a laptop, so a stack names a sample: some
districts (by code or name) and, per district, its district site plus a few commune
sites. Production takes every district and no simulated desks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dvc_rollout.errors import UsageError
from inventory.store import Inventory, Site


@dataclass(frozen=True)
class SampleDistrict:
    """One district in scope and the desks simulated in it."""

    code: str
    name: str
    sites: tuple[Site, ...]


def _district_code(inv: Inventory, wanted: str) -> str:
    if wanted in inv.districts:
        return wanted
    return inv.find(wanted, kind="district").code


def choose(
    inv: Inventory,
    districts: Sequence[str] | str,
    units_per_district: int,
    units: Mapping[str, Sequence[str]] | None = None,
) -> list[SampleDistrict]:
    """Resolve a sample: `districts` is "all" or codes/names; per district its site + N units.

    `units` may name the commune sites of a district explicitly (codes or names) instead
    of taking the first `units_per_district` by code.
    """
    if units_per_district < 0:
        raise UsageError(f"units per district must be 0 or more, not {units_per_district}")
    codes = (
        sorted(inv.districts)
        if districts == "all"
        else [_district_code(inv, str(d)) for d in districts]
    )
    if not codes:
        raise UsageError("the sample names no district: give at least one district code or name")
    explicit = {_district_code(inv, k): v for k, v in (units or {}).items()}
    chosen: list[SampleDistrict] = []
    for code in dict.fromkeys(codes):
        district = inv.districts[code]
        in_district = inv.sites_in(districts=[code])
        own = [s for s in in_district if s.code == code]
        communes = sorted((s for s in in_district if s.code != code), key=lambda s: s.code)
        if code in explicit:
            by_code = {s.code: s for s in communes}
            picked = []
            for name in explicit[code]:
                unit = name if name in by_code else inv.find(str(name), kind="unit").code
                if unit not in by_code:
                    raise UsageError(
                        f"unit {name!r} has no one-stop desk in district {code} "
                        f"({district.name}): pick one of {', '.join(sorted(by_code)[:8])}, ..."
                    )
                picked.append(by_code[unit])
        else:
            picked = communes[:units_per_district]
        chosen.append(SampleDistrict(code, district.name, tuple(own + picked)))
    return chosen
