"""`dvc-rollout maintenance add|list|end`: planned outages as Alertmanager silences.

Times are typed and shown in Hanoi time (a time without a zone is Hanoi's) with the zone
written out; the silence carries its author and reason, and which district, unit or
service it covers as its matchers.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from dvc_rollout import argtypes
from dvc_rollout.errors import UsageError
from maintenance import silences
from signoff.times import hanoi

ALERTMANAGER_ENV = "DVC_ALERTMANAGER_URL"
DEFAULT_ALERTMANAGER = "http://127.0.0.1:9093"
LONGEST = 31 * 86400  # a month: a longer planned outage is a decision, not a window


def _alertmanager(args: argparse.Namespace) -> str:
    """--alertmanager, else a lab's live endpoint (--lab), else the environment."""
    if args.alertmanager:
        return str(args.alertmanager)
    if args.lab:
        from signoff.cli import _lab

        url = (_lab(args.lab).get("endpoints") or {}).get("alertmanager")
        if not url:
            raise UsageError(f"lab {args.lab!r} has no Alertmanager endpoint")
        return str(url)
    return os.environ.get(ALERTMANAGER_ENV) or DEFAULT_ALERTMANAGER


def matchers(district: str, unit: str | None, service: str | None) -> tuple[dict[str, str], str]:
    """Alert labels the silence matches, and a description in names, from the inventory."""
    import inventory

    inv = inventory.load()
    d = inv.find(district, kind="district")
    found = {"district_code": d.code}
    said = d.name
    if unit:
        u = inv.find(unit, kind="unit") if unit not in inv.districts else None
        code = u.code if u else unit
        place = inv.places.get(code)
        if place is None or place.district_code != d.code:
            raise UsageError(f"--unit {unit!r} is not a unit of {d.name} ({d.code})")
        found["unit_code"] = code
        said += f", {place.name}"
    if service:
        s = inv.find(service, kind="service")
        found["service"] = s.code
        said += f", {s.name}"
    return found, said


def _add(args: argparse.Namespace) -> int:
    wanted, said = matchers(args.district, args.unit, args.service)
    starts = args.from_ or datetime.now(UTC)
    ends = args.to
    if ends <= datetime.now(UTC):
        raise UsageError(f"--to {hanoi(ends)} has already passed")
    if ends <= starts:
        raise UsageError(f"--to {hanoi(ends)} is not after --from {hanoi(starts)}")
    if (ends - starts).total_seconds() > LONGEST:
        raise UsageError(
            "--from … --to spans more than 31 days: split it or plan it in oncall.yaml"
        )
    comment = f"{args.reason} — bảo trì / maintenance: {said}"
    url = _alertmanager(args)
    silence_id = silences.create(url, wanted, starts, ends, args.author, comment)
    if args.json:
        print(json.dumps({"id": silence_id, "matchers": wanted}, ensure_ascii=False))
    else:
        print(
            f"bảo trì / maintenance {silence_id}: {said}, "
            f"từ / from {hanoi(starts)} đến / to {hanoi(ends)} — {args.reason} ({args.author})"
        )
    return 0


def _row(s: silences.Silence) -> dict[str, Any]:
    return {
        "id": s.id,
        "state": s.state,
        "matchers": s.matchers,
        "from": hanoi(s.starts_at),
        "to": hanoi(s.ends_at),
        "author": s.created_by,
        "comment": s.comment,
    }


def _list(args: argparse.Namespace) -> int:
    found = silences.list_silences(_alertmanager(args))
    if not args.all:
        found = [s for s in found if s.state in ("active", "pending")]
    if args.json:
        print(json.dumps([_row(s) for s in found], ensure_ascii=False, indent=1))
        return 0
    if not found:
        print("không có đợt bảo trì nào / no maintenance window")
    for s in found:
        where = " ".join(f"{k}={v}" for k, v in s.matchers.items())
        print(f"{s.id}  {s.state:8}  {hanoi(s.starts_at)} → {hanoi(s.ends_at)}  {where}")
        print(f"    {s.comment} ({s.created_by})")
    return 0


def _end(args: argparse.Namespace) -> int:
    silences.expire(_alertmanager(args), args.id)
    print(f"đã kết thúc / ended maintenance {args.id}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--alertmanager",
        type=argtypes.url,
        help=f"Alertmanager URL (default ${ALERTMANAGER_ENV} or {DEFAULT_ALERTMANAGER})",
    )
    parser.add_argument("--lab", type=argtypes.stack_name, help="use this lab's Alertmanager")
    parser.add_argument("--json", action="store_true")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "maintenance", help="planned outages: Alertmanager silences for a district"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="silence a district (or one unit or service of it)")
    add.add_argument("--district", required=True, type=argtypes.text(), help="code or name")
    add.add_argument("--unit", type=argtypes.text(), help="one unit of the district (code or name)")
    add.add_argument("--service", type=argtypes.text(), help="one service (code or name)")
    add.add_argument(
        "--from", dest="from_", type=argtypes.instant, help="start, Hanoi time (default now)"
    )
    add.add_argument("--to", required=True, type=argtypes.instant, help="end, Hanoi time")
    add.add_argument("--reason", required=True, type=argtypes.text(), help="why (shown to on-call)")
    add.add_argument(
        "--author",
        type=argtypes.text(100),
        default=os.environ.get("DVC_OPERATOR") or getpass.getuser(),
        help="who plans it (default $DVC_OPERATOR or your login)",
    )
    _common(add)
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", help="maintenance windows now and to come")
    listing.add_argument("--all", action="store_true", help="also the ended ones")
    _common(listing)
    listing.set_defaults(handler=_list)
    end = actions.add_parser("end", help="end a maintenance window now")
    end.add_argument("id", type=argtypes.text(64), help="the id `maintenance add` printed")
    _common(end)
    end.set_defaults(handler=_end)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as `dvc-rollout maintenance`")
