"""`dvc-rollout inventory …`: validate, count, look up and export the inventory."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from dvc_rollout import argtypes
from inventory import ansible
from inventory.errors import InventoryError
from inventory.loader import default_dir, load
from inventory.store import Inventory, Match


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "inventory",
        help="validate, count, look up and export the rollout inventory",
        description="The inventory is the single source of truth: units, services, plan, sites.",
    )
    commands = parser.add_subparsers(dest="inventory_command", metavar="SUBCOMMAND", required=True)

    validate = commands.add_parser(
        "validate", help="check every inventory file; list every problem at once"
    )
    validate.add_argument(
        "directory", nargs="?", type=argtypes.existing_dir, help="inventory folder"
    )
    validate.add_argument(
        "--records", type=argtypes.existing_file, help="a records.yaml to use instead"
    )
    _json_flag(validate)
    validate.set_defaults(handler=_validate)

    stats = commands.add_parser("stats", help="count districts, units, services, phases, pairs")
    _common(stats)
    stats.set_defaults(handler=_stats)

    show = commands.add_parser(
        "show",
        help="a table for one district, unit or service",
        description="QUERY is a code or a name; names may omit diacritics ('ung hoa') "
        "and either tone-mark placement works ('Ứng Hòa', 'Ứng Hoà').",
    )
    show.add_argument("kind", choices=["district", "unit", "service"])
    show.add_argument("query", type=argtypes.text(), help="official code or name")
    _common(show)
    show.set_defaults(handler=_show)

    export = commands.add_parser("export", help="export the inventory for other tools")
    export.add_argument("format", choices=["ansible"], help="ansible: a dynamic-inventory JSON")
    export.add_argument("--phase", type=argtypes.phase, help="only sites in this phase")
    export.add_argument("--list", action="store_true", help="accepted for Ansible compatibility")
    _common(export, json_flag=False)
    export.set_defaults(handler=_export)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _common(parser: argparse.ArgumentParser, json_flag: bool = True) -> None:
    parser.add_argument(
        "--inventory",
        type=argtypes.existing_dir,
        metavar="DIR",
        help="inventory folder (default: $DVC_INVENTORY or the shipped data)",
    )
    if json_flag:
        _json_flag(parser)


def _emit(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def _validate(args: argparse.Namespace) -> int:
    directory = args.directory or default_dir()
    try:
        inv = load(directory, records=args.records)
    except InventoryError as exc:
        if not args.json:
            raise
        _emit(
            {
                "ok": False,
                "directory": str(directory),
                "problems": [p.as_dict() for p in exc.problems],
            }
        )
        return exc.exit_code
    if args.json:
        _emit({"ok": True, "directory": str(directory), "stats": inv.stats()})
    else:
        s = inv.stats()
        print(
            f"inventory OK: {directory}\n"
            f"  {s['districts']} districts, {s['units']} units, {s['services']} services, "
            f"{s['phases']} phases, {s['pairs']} unit-service pairs, {s['sites']} sites"
        )
    return 0


def _stats(args: argparse.Namespace) -> int:
    inv = load(args.inventory)
    s = inv.stats()
    if args.json:
        _emit(s)
        return 0
    print(f"plan {s['plan']}")
    rows = [
        ["districts", s["districts"]],
        ["units", s["units"]],
        ["services", s["services"]],
        ["phases", s["phases"]],
        ["sites", s["sites"]],
        ["accounts", s["accounts"]],
        ["training sessions", s["training_sessions"]],
    ]
    print(table(["what", "count"], rows))
    phase_rows = []
    per_phase: dict[str, dict[str, Any]] = s["per_phase"]  # type: ignore[assignment]
    for number, p in per_phase.items():
        phase_rows.append([number, p["level"], p["go_live"], p["services"], p["units"], p["pairs"]])
    print()
    print(table(["phase", "level", "go-live", "services", "units", "pairs"], phase_rows))
    pairs = " + ".join(f"{p['pairs']:,}" for p in per_phase.values())
    print(f"\nunit-service pairs: {pairs} = {s['pairs']:,}")
    return 0


def _show(args: argparse.Namespace) -> int:
    inv = load(args.inventory)
    match = inv.find(args.query, kind=args.kind)
    data = describe(inv, match)
    if args.json:
        _emit(data)
        return 0
    header = {k: v for k, v in data.items() if not isinstance(v, list)}
    print(table(["field", "value"], [[k, v] for k, v in header.items()]))
    for key, rows in data.items():
        if isinstance(rows, list) and rows:
            print(f"\n{key} ({len(rows)})")
            print(table(list(rows[0]), [list(r.values()) for r in rows]))
    return 0


def _export(args: argparse.Namespace) -> int:
    inv = load(args.inventory)
    if args.phase is not None:
        inv.phase(args.phase)  # a phase the plan does not have is an error, not 0 sites
    sites = inv.sites_in(args.phase) if args.phase is not None else None
    _emit(ansible.export(inv, sites))
    return 0


def describe(inv: Inventory, match: Match) -> dict[str, Any]:
    """What `inventory show` prints: the thing itself and what hangs off it."""
    if match.kind == "service":
        s = inv.services[match.code]
        group = inv.groups[s.group]
        phases = [n for n in sorted(inv.phases) if s in inv.phase_services(n)]
        return {
            "code": s.code,
            "name_vi": s.name_vi,
            "name_en": s.name_en,
            "level": s.level,
            "group": f"{group.code} ({group.name_vi})",
            "variant": s.variant or "",
            "name_to_be_filled": s.name_to_be_filled,
            "phases": ", ".join(str(n) for n in phases),
            "units_in_scope": sum(len(inv.phase_places(n)) for n in phases),
        }
    place = inv.places[match.code]
    site = inv.sites.get(place.code)
    data: dict[str, Any] = {
        "code": place.code,
        "name": place.name,
        "type": place.type,
        "level": place.level,
        "district": f"{place.district_code} {place.district_name}",
        "phases": ", ".join(str(n) for n in site.phases) if site else "",
        "site": site.name if site else "(none)",
        "terminals": site.equipment.terminals if site else 0,
        "printers": site.equipment.printers if site else 0,
        "scanners": site.equipment.scanners if site else 0,
        "helpdesk_staff": _to_be_filled(site.helpdesk.staff if site else None),
        "accounts": len(site.accounts) if site else 0,
        "training_sessions": len(site.training) if site else 0,
    }
    if match.kind == "district":
        data["units"] = [
            {"code": u.code, "name": u.name, "type": u.type} for u in inv.units_of(place.code)
        ]
    services = [s for n in (site.phases if site else ()) for s in inv.phase_services(n)]
    data["services"] = [{"code": s.code, "name": s.name_vi} for s in services]
    return data


def _to_be_filled(value: int | None) -> str:
    return "to be filled" if value is None else str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (no dependency; Vietnamese names are single-width)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
