"""Renders alertmanager.yml from the inventory's on-call contacts.

Each district's alerts go to its own receiver (`oncall-<code>` in oncall.yaml); alerts
without a district (SMS gateway, citizen database, exporters) go to `default`, the
city data centre's contact (`city:` in oncall.yaml). A receiver reaches its people three
ways, each only where its address is filled:

- e-mail (`email_configs`) to the contact's `email`, through the SMTP smarthost given on
  the command line; the password is never in the file: Alertmanager reads it from
  `--smtp-auth-password-file` on its own host (Ansible puts it there from vault or the
  environment, `lab up` from the stack's generated secrets);
- SMS to the contact's `phone` through the city's own Kannel: a webhook to the SMS relay
  (`exporters.sms_relay`, `--sms-relay-url`) with the number and district in its query;
- the contact's own `webhook_url`, else the default webhook (in the lab: the recorder
  the fault drills read).

Monitoring watches itself: the always-firing DvcWatchdog goes to the `heartbeat`
receiver (`--heartbeat-url`, a dead-man's switch outside this Alertmanager), sent again
every `--heartbeat-interval`; when the heartbeats stop (Prometheus or Alertmanager down,
or the path between them broken) the switch raises its own notification.
DvcNotificationsFailing goes there too, besides its own route, since the receivers that
fail cannot carry it. Without a heartbeat URL the watchdog goes to no one, and the
header says the switch is to be filled.

A district with no contact yet (oncall.yaml says `contacts: []`) still gets its own
route and receiver `oncall-<code>` on that webhook: no district's alerts are ever
dropped, and every district or address still to be filled is said on stderr and in the
file's header. Recurring maintenance windows (`maintenance_windows:` in oncall.yaml)
become `time_intervals` muting their districts' routes.

    python -m exporters.alertmanager --webhook-url URL [--smtp-smarthost HOST:PORT
        --smtp-from ADDR [--smtp-auth-username U --smtp-auth-password-file PATH]]
        [--sms-relay-url URL] [--templates DIR] > alertmanager.yml

Inventory text reaches Alertmanager as data only: the dumper writes the YAML, and the
fields Alertmanager expands as Go templates (an e-mail's `to`) are written as literals.
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
from inventory.model import CityContact, MaintenanceWindow

DEFAULT_RECEIVER = "default"
HEARTBEAT_RECEIVER = "heartbeat"
WATCHDOG = "DvcWatchdog"
NOTIFICATIONS_FAILING = "DvcNotificationsFailing"
GROUP_BY = ["alertname", "district_code"]
# Production notification timings; the lab passes shorter ones so drills run in minutes.
TIMINGS = {"group_wait": "30s", "group_interval": "2m", "repeat_interval": "4h"}
_DURATION = re.compile(r"^\d+(ms|s|m|h)$")
# The project's notification templates (Vietnamese first, Hanoi time), installed on the
# Alertmanager host in the folder given to --templates.
TEMPLATES_DIR = Path(__file__).resolve().parent / "alertmanager_templates"
TEMPLATE_FILES = "*.tmpl"


class AlertmanagerConfigError(UsageError):
    """An argument cannot make a valid Alertmanager config."""


@dataclass(frozen=True)
class Delivery:
    """How notifications leave Alertmanager besides webhooks; empty parts are off.

    `smtp_auth_password_file` is a path on the Alertmanager host, never the password.
    `templates` is the folder holding the project's templates there.
    """

    smtp_smarthost: str = ""
    smtp_from: str = ""
    smtp_auth_username: str = ""
    smtp_auth_password_file: str = ""
    smtp_require_tls: bool = True
    sms_relay_url: str = ""
    templates: str = ""

    @property
    def email(self) -> bool:
        return bool(self.smtp_smarthost)


@dataclass(frozen=True)
class Heartbeat:
    """Where the watchdog's heartbeats go and how often (empty url: no dead-man's switch)."""

    url: str = ""
    interval: str = "1m"


def _self_watch(heartbeat: Heartbeat) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The routes that come first (watchdog, failing notifications) and their receiver."""
    if heartbeat.url:
        check_url(heartbeat.url, "--heartbeat-url")
    if not _DURATION.match(heartbeat.interval):
        raise AlertmanagerConfigError(
            f"--heartbeat-interval {heartbeat.interval!r} is not a duration such as 1m"
        )
    receiver: dict[str, Any] = {"name": HEARTBEAT_RECEIVER}
    if heartbeat.url:
        receiver["webhook_configs"] = [{"url": heartbeat.url, "send_resolved": True}]
    routes: list[dict[str, Any]] = [
        {
            # Every interval, whatever else is going on: silence here means trouble.
            "receiver": HEARTBEAT_RECEIVER,
            "matchers": [f'alertname="{WATCHDOG}"'],
            "group_by": ["alertname"],
            "group_wait": "0s",
            "group_interval": heartbeat.interval,
            "repeat_interval": heartbeat.interval,
        },
        {
            "receiver": HEARTBEAT_RECEIVER,
            "matchers": [f'alertname="{NOTIFICATIONS_FAILING}"'],
            "group_wait": "0s",
            "continue": True,
        },
    ]
    return routes, receiver


class Contact(Protocol):
    """What the renderer needs of an inventory on-call contact."""

    @property
    def district(self) -> str: ...
    @property
    def receiver(self) -> str: ...
    @property
    def webhook_url(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...


_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def check_email(address: str, what: str) -> str:
    if not _EMAIL.match(address):
        raise AlertmanagerConfigError(f"{what} {address!r} is not an e-mail address (name@host)")
    return address


def check_url(url: str, what: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AlertmanagerConfigError(f"{what} {url!r} is not an http(s) URL")
    return url


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
    email: str | None = None
    phone: str | None = None


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


def to_be_filled(
    contacts: Iterable[Contact],
    names: Mapping[str, str],
    delivery: Delivery | None = None,
    city: CityContact | None = None,
) -> list[str]:
    """One line per district (and the city) whose on-call contact or address is to be filled.

    E-mail and SMS are said only when the config sends them (`delivery`).
    """
    delivery = delivery or Delivery()
    lines = []
    for c in sorted(contacts, key=lambda c: c.district):
        where = f"district {c.district} ({names.get(c.district, '?')})"
        if isinstance(c, _ToBeFilled):
            lines.append(
                f"oncall.yaml: {where}: on-call contact to be filled; its alerts go to "
                f"receiver {c.receiver} at the default webhook"
            )
            continue
        lines.extend(_missing(c, f"oncall.yaml: {where}", c.receiver, delivery))
    lines.extend(_missing(city or CityContact(), "oncall.yaml: city", DEFAULT_RECEIVER, delivery))
    return lines


def _missing(c: Contact | CityContact, where: str, receiver: str, delivery: Delivery) -> list[str]:
    found = []
    if not c.webhook_url:
        found.append(
            f"{where}: webhook_url to be filled; receiver {receiver} posts to the default webhook"
        )
    if delivery.email and not c.email:
        found.append(f"{where}: email to be filled; receiver {receiver} sends no e-mail")
    if delivery.sms_relay_url and not c.phone:
        found.append(f"{where}: phone to be filled; receiver {receiver} sends no SMS")
    return found


def go_literal(text: str) -> str:
    """`text` as a Go template that expands to exactly `text` (Alertmanager templates `to:`).

    Plain text without `{{` is its own template; otherwise it is written as one quoted
    string action, so nothing in it is ever run.
    """
    if "{{" not in text and "}}" not in text:
        return text
    quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '{{ "' + quoted + '" }}'


def _receiver(
    name: str,
    contact: Contact | CityContact | None,
    webhook_url: str,
    delivery: Delivery,
    district: str = "",
) -> dict[str, Any]:
    """One receiver: its webhook (own or default), e-mail and SMS where filled."""
    own = contact.webhook_url if contact is not None else None
    url = check_url(own, f"webhook_url of {name}") if own else webhook_url
    receiver: dict[str, Any] = {
        "name": name,
        "webhook_configs": [{"url": url, "send_resolved": True}],
    }
    if contact is None:
        return receiver
    if delivery.email and contact.email:
        receiver["email_configs"] = [
            {
                "to": go_literal(contact.email),
                "send_resolved": True,
                "headers": {"Subject": '{{ template "dvc.subject" . }}'},
                "html": '{{ template "dvc.html" . }}',
                "text": '{{ template "dvc.text" . }}',
            }
        ]
    if delivery.sms_relay_url and contact.phone:
        query = urllib.parse.urlencode({"to": contact.phone, "district": district})
        receiver["webhook_configs"].append(
            {"url": f"{delivery.sms_relay_url}?{query}", "send_resolved": True}
        )
    return receiver


def _global(delivery: Delivery) -> dict[str, Any]:
    found: dict[str, Any] = {"resolve_timeout": "5m"}
    if delivery.email:
        if not delivery.smtp_from:
            raise AlertmanagerConfigError(
                "--smtp-smarthost needs --smtp-from (the sender address of the alert e-mails)"
            )
        found.update(
            smtp_smarthost=delivery.smtp_smarthost,
            smtp_from=delivery.smtp_from,
            smtp_require_tls=delivery.smtp_require_tls,
        )
        if delivery.smtp_auth_username:
            if not delivery.smtp_auth_password_file:
                raise AlertmanagerConfigError(
                    "--smtp-auth-username needs --smtp-auth-password-file: the path of the "
                    "file holding the SMTP password on the Alertmanager host"
                )
            found["smtp_auth_username"] = delivery.smtp_auth_username
            found["smtp_auth_password_file"] = delivery.smtp_auth_password_file
    return found


def render(
    contacts: Iterable[Contact],
    webhook_url: str,
    windows: Sequence[MaintenanceWindow] = (),
    timings: Mapping[str, str] | None = None,
    districts: Iterable[str] = (),
    city: CityContact | None = None,
    delivery: Delivery | None = None,
    heartbeat: Heartbeat | None = None,
) -> dict[str, Any]:
    """The whole alertmanager.yml as a dict, ready for yaml.safe_dump.

    `districts`: every district of the inventory; one without a contact gets a route
    of its own anyway (see `with_every_district`). `windows`: the inventory's recurring
    maintenance windows.
    """
    delivery = delivery or Delivery()
    check_url(webhook_url, "--webhook-url")
    if delivery.sms_relay_url:
        check_url(delivery.sms_relay_url, "--sms-relay-url")
    timing = {**TIMINGS, **(timings or {})}
    for key, value in timing.items():
        if key not in TIMINGS or not _DURATION.match(value):
            raise AlertmanagerConfigError(
                f"timing {key}={value!r}: give {', '.join(TIMINGS)} as durations such as 30s"
            )
    contacts = sorted(with_every_district(contacts, districts), key=lambda c: c.district)
    routes, watch_receiver = _self_watch(heartbeat or Heartbeat())
    receivers = [_receiver(DEFAULT_RECEIVER, city, webhook_url, delivery), watch_receiver]
    for c in contacts:
        receivers.append(_receiver(c.receiver, c, webhook_url, delivery, c.district))
        route: dict[str, Any] = {
            "receiver": c.receiver,
            "matchers": [f'district_code="{c.district}"'],
        }
        mutes = _mutes(windows, c.district)
        if mutes:
            route["mute_time_intervals"] = mutes
        routes.append(route)
    # Alerts with no district: the gateway, the citizen database, the exporters.
    city_route: dict[str, Any] = {"receiver": DEFAULT_RECEIVER, "matchers": ['district_code=""']}
    if _mutes(windows, None):
        city_route["mute_time_intervals"] = _mutes(windows, None)
    routes.append(city_route)
    config: dict[str, Any] = {
        "global": _global(delivery),
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
            {
                # Nor can the relay's texts go out: the gateway alert already says why.
                # (Not a relay nobody can read: the gateway does not explain that.)
                "source_matchers": ['alertname="DvcSmsGatewayDown"'],
                "target_matchers": [
                    'alertname="DvcSmsRelayGatewayFailing"',
                    'evidence!="missing"',
                ],
            },
        ],
        "receivers": receivers,
    }
    if delivery.templates:
        config["templates"] = [f"{delivery.templates.rstrip('/')}/{TEMPLATE_FILES}"]
    if windows:
        config["time_intervals"] = [
            {
                "name": w.name,
                "time_intervals": [
                    t.model_dump(exclude_defaults=False, exclude_none=True)
                    for t in w.time_intervals
                ],
            }
            for w in windows
        ]
    return config


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
        "--smtp-smarthost",
        type=argtypes.listen_address,
        default=None,
        help="SMTP server HOST:PORT the alert e-mails go through (omit: no e-mail)",
    )
    parser.add_argument("--smtp-from", type=argtypes.text(), default=None, help="sender address")
    parser.add_argument("--smtp-auth-username", type=argtypes.text())
    parser.add_argument(
        "--smtp-auth-password-file",
        type=argtypes.text(),
        default=None,
        help="path ON THE ALERTMANAGER HOST of the file holding the SMTP password",
    )
    parser.add_argument(
        "--smtp-no-tls",
        action="store_true",
        help="do not require STARTTLS (only for a smarthost on a private management network)",
    )
    parser.add_argument(
        "--sms-relay-url",
        type=argtypes.url,
        default=None,
        help="the SMS relay's webhook, e.g. http://sms-relay:9606/sms (omit: no SMS)",
    )
    parser.add_argument(
        "--templates",
        type=argtypes.text(),
        default=None,
        help="folder of the project's notification templates on the Alertmanager host "
        "(needed with --smtp-smarthost)",
    )
    parser.add_argument(
        "--heartbeat-url",
        type=argtypes.url,
        default=None,
        help="the dead-man's switch the watchdog's heartbeats go to (omit: none, said in the "
        "header)",
    )
    parser.add_argument(
        "--heartbeat-interval", default="1m", help="how often a heartbeat is sent (default 1m)"
    )
    parser.add_argument(
        "--oncall",
        type=argtypes.existing_file,
        help="an oncall.yaml replacing the inventory's (a lab's synthetic contacts)",
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

        inv = inventory.load(args.inventory, oncall=args.oncall)
        delivery = Delivery(
            smtp_smarthost=args.smtp_smarthost or "",
            smtp_from=check_email(args.smtp_from, "--smtp-from") if args.smtp_from else "",
            smtp_auth_username=args.smtp_auth_username or "",
            smtp_auth_password_file=args.smtp_auth_password_file or "",
            smtp_require_tls=not args.smtp_no_tls,
            sms_relay_url=args.sms_relay_url or "",
            templates=args.templates or "",
        )
        if delivery.email and not delivery.templates:
            raise AlertmanagerConfigError(
                "--smtp-smarthost needs --templates: the folder on the Alertmanager host "
                f"holding the project's templates ({TEMPLATES_DIR.name}/{TEMPLATE_FILES})"
            )
        timings = {key: getattr(args, key) for key in TIMINGS}
        city = inv.oncall_file.city
        windows = inv.oncall_file.maintenance_windows
        heartbeat = Heartbeat(args.heartbeat_url or "", args.heartbeat_interval)
        config = render(
            inv.oncall.values(),
            args.webhook_url,
            windows,
            timings,
            inv.districts,
            city,
            delivery,
            heartbeat,
        )
        names = {code: d.name for code, d in inv.districts.items()}
        contacts = with_every_district(inv.oncall.values(), inv.districts)
        notes = to_be_filled(contacts, names, delivery, city)
        if not heartbeat.url:
            notes.append(
                "heartbeat: no --heartbeat-url; nothing notices if Prometheus or Alertmanager "
                "stops: point it at a dead-man's switch outside this Alertmanager"
            )
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        sys.stdout.write(to_yaml(config, notes))
    except DvcRolloutError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
