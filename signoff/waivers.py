"""Approved exceptions to the criteria, read from a YAML file and checked strictly.

A waiver lets a site go live with a known gap, but only with a named approver, a reason
and an expiry; the report shows it as "waived", never as passed. A waiver that is expired
or malformed is an error, not ignored: silently dropping one would flip a verdict.

File format::

    waivers:
      - site: "00376"            # site code, or "datacenter" for sms / citizen_db
        criterion: helpdesk      # one of signoff.criteria.ALL_CRITERIA
        reason: Nhân sự hỗ trợ đang được bố trí / helpdesk staff being assigned
        approver: Văn phòng UBND thành phố
        expires: 2017-08-31      # last day the waiver counts (inclusive)
      - site: "00379"
        criterion: terminal
        check: printer.test_page_prints   # optional: one terminal check (checks/checkset.py)
        reason: Máy in chưa có giấy / no paper at the desk yet: printed by hand on 14/8
        approver: Văn phòng UBND thành phố
        expires: 2017-08-20

A waiver naming a `check` covers that check failing, being skipped or not run on any
terminal of the site; without one, a waiver covers a failed criterion only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from dvc_rollout.errors import UsageError
from signoff.criteria import ALL_CRITERIA, DATACENTER, DATACENTER_CRITERIA, Criterion

FIELDS = ("site", "criterion", "check", "reason", "approver", "expires")


class WaiverError(UsageError):
    """The waivers file cannot be used; the message names the file, entry and field."""


@dataclass(frozen=True)
class Waiver:
    site: str
    criterion: Criterion
    reason: str
    approver: str
    expires: date
    check: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """(site, criterion, check or "") — unique in a waivers file."""
        return (self.site, self.criterion, self.check or "")

    def as_dict(self) -> dict[str, str | None]:
        return {
            "site": self.site,
            "criterion": self.criterion,
            "check": self.check,
            "reason": self.reason,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Waiver:
        """A waiver as a JSON report holds it (see `as_dict`)."""
        return cls(
            site=str(data["site"]),
            criterion=data["criterion"],
            reason=str(data["reason"]),
            approver=str(data["approver"]),
            expires=date.fromisoformat(str(data["expires"])),
            check=data.get("check"),
        )


def _fail(path: Path, where: str, message: str) -> WaiverError:
    return WaiverError(f"{path}: {where}: {message}; fix the waivers file or drop --waivers")


def _text(path: Path, where: str, entry: dict[str, Any], name: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, f"field {name!r} must be a non-empty text, not {value!r}")
    return value.strip()


def _entry(
    path: Path,
    index: int,
    entry: Any,
    sites: Collection[str],
    on: date,
    checks: Collection[str],
) -> Waiver:
    where = f"entry {index + 1}"
    if not isinstance(entry, dict):
        raise _fail(path, where, f"must be a mapping with {', '.join(FIELDS)}")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise _fail(path, where, f"unknown field(s) {unknown}: use {', '.join(FIELDS)}")
    site = entry.get("site")
    if isinstance(site, int):
        raise _fail(path, where, f"field 'site' must be quoted (\"{site}\"): codes keep leading 0")
    site = _text(path, where, entry, "site")
    where = f"entry {index + 1} (site {site})"
    criterion = _text(path, where, entry, "criterion")
    if criterion not in ALL_CRITERIA:
        raise _fail(
            path, where, f"field 'criterion' is {criterion!r}: use one of {', '.join(ALL_CRITERIA)}"
        )
    if (criterion in DATACENTER_CRITERIA) != (site == DATACENTER):
        raise _fail(
            path,
            where,
            f"field 'site': criteria {', '.join(DATACENTER_CRITERIA)} are waived with "
            f"site {DATACENTER!r}, the others with a site code",
        )
    if site != DATACENTER and site not in sites:
        raise _fail(path, where, f"field 'site': {site!r} is not a site in this sign-off's scope")
    check = None
    if "check" in entry:
        check = _text(path, where, entry, "check")
        if criterion != "terminal":
            raise _fail(path, where, "field 'check' names a terminal check: use criterion terminal")
        if check not in checks:
            raise _fail(
                path,
                where,
                f"field 'check': {check!r} is not a terminal check; use one of "
                + ", ".join(sorted(checks)),
            )
    reason = _text(path, where, entry, "reason")
    approver = _text(path, where, entry, "approver")
    expires = entry.get("expires")
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            expires = None
    if not isinstance(expires, date):
        raise _fail(path, where, f"field 'expires' must be a date YYYY-MM-DD, not {expires!r}")
    if expires < on:
        raise _fail(
            path,
            where,
            f"field 'expires': the waiver expired on {expires.isoformat()} (as-of {on.isoformat()})"
            "; renew it with its approver or remove it",
        )
    return Waiver(site, criterion, reason, approver, expires, check)


def load(
    path: Path | str, sites: Collection[str], on: date, checks: Collection[str] = ()
) -> tuple[Waiver, ...]:
    """Read and check every waiver in `path`, valid on day `on`, for the given sites.

    `checks` are the terminal checks a waiver's `check` may name (checks/checkset.py).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WaiverError(f"{path}: no such waivers file; check the --waivers path") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise WaiverError(f"{path}: cannot be read as YAML ({exc}); fix the file") from None
    if raw is None:
        return ()
    if not isinstance(raw, dict) or set(raw) != {"waivers"} or not isinstance(raw["waivers"], list):
        raise WaiverError(f"{path}: the file must hold one key, `waivers:`, with a list of entries")
    found = [_entry(path, i, e, sites, on, checks) for i, e in enumerate(raw["waivers"])]
    seen: dict[tuple[str, str, str], int] = {}
    for i, w in enumerate(found):
        key = w.key
        if key in seen:
            raise _fail(
                path,
                f"entry {i + 1} (site {w.site})",
                f"repeats entry {seen[key] + 1} for criterion {w.criterion!r}"
                + (f" and check {w.check!r}" if w.check else "")
                + "; keep one",
            )
        seen[key] = i
    return tuple(found)
