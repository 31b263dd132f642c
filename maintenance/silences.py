"""Alertmanager's silences (API v2): the one place maintenance windows are kept.

Readers (the CLI, the sign-off) go through `list_silences`; only `create` and `expire`
change anything.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dvc_rollout.errors import EnvironmentProblem, UsageError

TIMEOUT = 10.0
MAX_BODY = 4 * 1024 * 1024


class AlertmanagerUnavailable(EnvironmentProblem):
    """Alertmanager did not answer, or answered something that is not its API."""


class SilenceRefused(UsageError):
    """Alertmanager refused the request (a bad matcher, an unknown or expired silence)."""


@dataclass(frozen=True)
class Silence:
    """One silence as Alertmanager keeps it; times are aware UTC."""

    id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str

    @property
    def district_code(self) -> str:
        return self.matchers.get("district_code", "")

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether the silence was in force at any moment of [start, end]."""
        return self.starts_at <= end and self.ends_at >= start


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _call(base: str, method: str, path: str, body: Any = None, timeout: float = TIMEOUT) -> Any:
    url = f"{base.rstrip('/')}/api/v2/{path}"
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read(MAX_BODY)
    except urllib.error.HTTPError as exc:
        said = exc.read(2000).decode("utf-8", "replace").strip()
        if 400 <= exc.code < 500:
            raise SilenceRefused(f"Alertmanager at {base} refused it: {said}") from None
        raise AlertmanagerUnavailable(
            f"Alertmanager at {base} answered HTTP {exc.code}: {said}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertmanagerUnavailable(
            f"cannot reach Alertmanager at {base} ({reason}): check --alertmanager"
        ) from None
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise AlertmanagerUnavailable(
            f"{base} answered no JSON: is it Alertmanager? ({raw[:80]!r})"
        ) from None


def create(
    base: str,
    matchers: Mapping[str, str],
    starts_at: datetime,
    ends_at: datetime,
    author: str,
    comment: str,
) -> str:
    """Make a silence; return its id."""
    body = {
        "matchers": [
            {"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()
        ],
        "startsAt": _iso(starts_at),
        "endsAt": _iso(ends_at),
        "createdBy": author,
        "comment": comment,
    }
    answer = _call(base, "POST", "silences", body)
    if not isinstance(answer, dict) or not answer.get("silenceID"):
        raise AlertmanagerUnavailable(f"{base} did not say which silence it made: {answer!r:.200}")
    return str(answer["silenceID"])


def _silence(raw: Any) -> Silence | None:
    if not isinstance(raw, dict):
        return None
    try:
        matchers = {
            str(m["name"]): str(m["value"])
            for m in raw.get("matchers", [])
            if not m.get("isRegex") and m.get("isEqual", True)
        }
        return Silence(
            id=str(raw["id"]),
            matchers=matchers,
            starts_at=_time(str(raw["startsAt"])),
            ends_at=_time(str(raw["endsAt"])),
            created_by=str(raw.get("createdBy", "")),
            comment=str(raw.get("comment", "")),
            state=str((raw.get("status") or {}).get("state", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def list_silences(base: str, timeout: float = TIMEOUT) -> list[Silence]:
    """Every silence Alertmanager still keeps (expired ones stay for its retention)."""
    answer = _call(base, "GET", "silences", timeout=timeout)
    if not isinstance(answer, list):
        raise AlertmanagerUnavailable(f"{base} answered no list of silences: {answer!r:.200}")
    found = [s for s in map(_silence, answer) if s is not None]
    if len(found) != len(answer):
        raise AlertmanagerUnavailable(f"{base} answered silences this tool cannot read")
    return sorted(found, key=lambda s: (s.starts_at, s.id))


def expire(base: str, silence_id: str) -> None:
    """End a silence now."""
    _call(base, "DELETE", f"silence/{urllib.parse.quote(silence_id, safe='')}")


def overlapping(found: Sequence[Silence], start: datetime, end: datetime) -> list[Silence]:
    return [s for s in found if s.overlaps(start, end)]
