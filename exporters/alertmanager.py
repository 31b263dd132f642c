"""Renders alertmanager.yml from the inventory's on-call contacts.

Each district's alerts go to its own receiver (`oncall-<code>` in oncall.yaml); alerts
without a district (SMS gateway, citizen database, exporters) go to `default`. A
contact whose webhook is still "to be filled" (null) gets the webhook URL given on
the command line, which in the lab is the recorder the fault drills read. A district
with no contact yet (oncall.yaml says `contacts: []`) still gets its own route and
receiver `oncall-<code>` on that webhook: no district's alerts are ever dropped, and
every district still to be filled is said on stderr and in the file's header.

    python -m exporters.alertmanager --webhook-url URL [--maintenance FILE] > alertmanager.yml

The maintenance file lists named windows in Alertmanager's time_interval syntax,
optionally limited to some districts:

    windows:
      - name: portal-upgrade
        districts: ["016"]          # omit: every district and the city-wide alerts
        time_intervals:
          - weekdays: [saturday]
            times: [{start_time: "22:00", end_time: "24:00"}]
            location: Asia/Ho_Chi_Minh
"""

from __future__ import annotations

import argparse
import re
import sys
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from dvc_rollout import argtypes
from dvc_rollout.errors import DvcRolloutError, UsageError

DEFAULT_RECEIVER = "default"
GROUP_BY = ["alertname", "district_code"]
# Production notification timings; the lab passes shorter ones so drills run in minutes.
TIMINGS = {"group_wait": "30s", "group_interval": "2m", "repeat_interval": "4h"}
_DURATION = re.compile(r"^\d+(ms|s|m|h)$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_INTERVAL_KEYS = {"times", "weekdays", "days_of_month", "months", "years", "location"}


class AlertmanagerConfigError(UsageError):
    """An argument or the maintenance file cannot make a valid Alertmanager config."""


class Contact(Protocol):
    """What the renderer needs of an inventory on-call contact."""

    @property
    def district(self) -> str: ...
    @property
    def receiver(self) -> str: ...
    @property
    def webhook_url(self) -> str | None: ...


@dataclass(frozen=True)
class MaintenanceWindow:
    """A named mute window; `districts` empty means everywhere."""

    name: str
    time_intervals: tuple[dict[str, Any], ...]
    districts: tuple[str, ...] = ()


def check_url(url: str, what: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AlertmanagerConfigError(f"{what} {url!r} is not an http(s) URL")
    return url


def load_maintenance(path: Path, known_districts: Iterable[str]) -> list[MaintenanceWindow]:
    """Read and check the maintenance file, naming the entry at fault."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise AlertmanagerConfigError(f"cannot read maintenance file {path}: {e}") from e
    known = set(known_districts)
    entries = doc.get("windows", []) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise AlertmanagerConfigError(f"{path}: expected a top-level 'windows:' list")
    windows = []
    for i, entry in enumerate(entries):
        where = f"{path}: windows[{i}]"
        if not isinstance(entry, dict):
            raise AlertmanagerConfigError(f"{where} is not a mapping")
        name = str(entry.get("name", ""))
        if not _NAME.match(name):
            raise AlertmanagerConfigError(
                f"{where}.name {name!r} must be lowercase letters, digits and '-'"
            )
        districts = tuple(str(d) for d in entry.get("districts", []) or [])
        unknown = sorted(set(districts) - known)
        if unknown:
            raise AlertmanagerConfigError(
                f"{where}.districts has unknown district codes {unknown}: use codes from "
                "inventory/data/units.yaml, e.g. '016'"
            )
        intervals = entry.get("time_intervals")
        if not isinstance(intervals, list) or not intervals:
            raise AlertmanagerConfigError(f"{where}.time_intervals must be a non-empty list")
        for j, interval in enumerate(intervals):
            extra = set(interval) - _INTERVAL_KEYS if isinstance(interval, dict) else {"?"}
            if extra:
                raise AlertmanagerConfigError(
                    f"{where}.time_intervals[{j}] has keys {sorted(extra)}: "
                    f"allowed are {sorted(_INTERVAL_KEYS)}"
                )
        windows.append(MaintenanceWindow(name, tuple(intervals), districts))
    names = [w.name for w in windows]
    if len(set(names)) != len(names):
        raise AlertmanagerConfigError(f"{path}: window names must be unique, got {names}")
    return windows


def _mutes(windows: Sequence[MaintenanceWindow], district: str | None) -> list[str]:
    """Windows that apply to a district's route (or, for None, to the city-wide route)."""
    return [
        w.name
        for w in windows
        if not w.districts or (district is not None and district in w.districts)
    ]


@dataclass(frozen=True)
class _ToBeFilled:
    """A district with no on-call contact yet: routed like one whose webhook is null."""

    district: str
    receiver: str
    webhook_url: str | None = None


def with_every_district(contacts: Iterable[Contact], districts: Iterable[str]) -> list[Contact]:
    """The contacts, plus a to-be-filled one for each district that has none."""
    found: list[Contact] = list(contacts)
    covered = {c.district for c in found}
    taken = {c.receiver for c in found}
    for code in sorted(set(districts) - covered):
        receiver = f"oncall-{code}"
        if receiver in taken:
            receiver += "-to-be-filled"
        found.append(_ToBeFilled(code, receiver))
    return found


def to_be_filled(contacts: Iterable[Contact], names: Mapping[str, str]) -> list[str]:
    """One line per district whose on-call contact or webhook is still to be filled."""
    lines = []
    for c in sorted(contacts, key=lambda c: c.district):
        where = f"district {c.district} ({names.get(c.district, '?')})"
        if isinstance(c, _ToBeFilled):
            lines.append(
                f"oncall.yaml: {where}: on-call contact to be filled; its alerts go to "
                f"receiver {c.receiver} at the default webhook"
            )
        elif not c.webhook_url:
            lines.append(
                f"oncall.yaml: {where}: webhook_url to be filled; receiver {c.receiver} "
                "posts to the default webhook"
            )
    return lines


def render(
    contacts: Iterable[Contact],
    webhook_url: str,
    maintenance: Sequence[MaintenanceWindow] = (),
    timings: Mapping[str, str] | None = None,
    districts: Iterable[str] = (),
) -> dict[str, Any]:
    """The whole alertmanager.yml as a dict, ready for yaml.safe_dump.

    `districts`: every district of the inventory; one without a contact gets a route
    of its own anyway (see `with_every_district`).
    """
    check_url(webhook_url, "--webhook-url")
    timing = {**TIMINGS, **(timings or {})}
    for key, value in timing.items():
        if key not in TIMINGS or not _DURATION.match(value):
            raise AlertmanagerConfigError(
                f"timing {key}={value!r}: give {', '.join(TIMINGS)} as durations such as 30s"
            )
    contacts = sorted(with_every_district(contacts, districts), key=lambda c: c.district)
    routes: list[dict[str, Any]] = []
    receivers: list[dict[str, Any]] = [_webhook(DEFAULT_RECEIVER, webhook_url)]
    for c in contacts:
        url = check_url(c.webhook_url, f"webhook_url of {c.receiver}") if c.webhook_url else None
        receivers.append(_webhook(c.receiver, url or webhook_url))
        route: dict[str, Any] = {
            "receiver": c.receiver,
            "matchers": [f'district_code="{c.district}"'],
        }
        mutes = _mutes(maintenance, c.district)
        if mutes:
            route["mute_time_intervals"] = mutes
        routes.append(route)
    # Alerts with no district: the gateway, the citizen database, the exporters.
    city: dict[str, Any] = {"receiver": DEFAULT_RECEIVER, "matchers": ['district_code=""']}
    if _mutes(maintenance, None):
        city["mute_time_intervals"] = _mutes(maintenance, None)
    routes.append(city)
    config: dict[str, Any] = {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "group_by": GROUP_BY,
            **timing,
            "routes": routes,
        },
        "inhibit_rules": [
            {
                # A district-wide outage says it all: hold back that district's unit alerts.
                "source_matchers": ['alertname="DvcDistrictOutage"'],
                "target_matchers": ['scope="unit"'],
                "equal": ["district_code"],
            },
            {
                # With the gateway down, its SMSC, queue and round-trip alerts add nothing.
                "source_matchers": ['alertname="DvcSmsGatewayDown"'],
                "target_matchers": [
                    'alertname=~"DvcSmscOffline|DvcSmsQueueBacklog|DvcSmsEndToEndFailing"'
                ],
                "equal": ["instance"],
            },
        ],
        "receivers": receivers,
    }
    if maintenance:
        config["time_intervals"] = [
            {"name": w.name, "time_intervals": list(w.time_intervals)} for w in maintenance
        ]
    return config


def _webhook(name: str, url: str) -> dict[str, Any]:
    return {"name": name, "webhook_configs": [{"url": url, "send_resolved": True}]}


def to_yaml(config: Mapping[str, Any], notes: Sequence[str] = ()) -> str:
    """The config as YAML (a dumper writes it: no text is ever pasted into YAML by hand),
    headed by comment lines; each note is kept to one line so it stays a comment."""
    header = "# GENERATED by `python -m exporters.alertmanager` from inventory/data/oncall.yaml\n"
    header += "".join(f"# {' '.join(note.split())}\n" for note in notes)
    return header + yaml.safe_dump(dict(config), allow_unicode=True, sort_keys=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exporters.alertmanager",
        description="Print alertmanager.yml routed by district to the inventory's on-call.",
    )
    parser.add_argument(
        "--webhook-url",
        type=argtypes.url,
        required=True,
        help="webhook for the default receiver and for contacts whose webhook is to be filled",
    )
    parser.add_argument(
        "--maintenance", type=argtypes.existing_file, help="YAML file of maintenance windows"
    )
    parser.add_argument(
        "--inventory", type=argtypes.existing_dir, help="inventory data dir (default: built-in)"
    )
    for key, value in TIMINGS.items():
        flag = "--" + key.replace("_", "-")
        parser.add_argument(flag, dest=key, default=value, help=f"default {value}")
    args = parser.parse_args(argv)
    try:
        import inventory

        inv = inventory.load(args.inventory) if args.inventory else inventory.load()
        windows = load_maintenance(args.maintenance, inv.districts) if args.maintenance else []
        timings = {key: getattr(args, key) for key in TIMINGS}
        config = render(inv.oncall.values(), args.webhook_url, windows, timings, inv.districts)
        names = {code: d.name for code, d in inv.districts.items()}
        notes = to_be_filled(with_every_district(inv.oncall.values(), inv.districts), names)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        sys.stdout.write(to_yaml(config, notes))
    except DvcRolloutError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
