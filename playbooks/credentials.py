"""The credentials a configure run needs, gathered from the stack's state and the environment.

They reach Ansible only through a 0600 vars file outside the artifacts folder (never on
the command line, never in the runner's recorded environment), and the tasks that use
them run under `no_log`, so no artifact or log ever holds one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.ansible import unsafe

# Ansible variable <- (key in state/<stack>/secrets.json, environment variable).
# The environment wins, so production can feed them from its own secret store.
SECRET_VARS: dict[str, tuple[str, str]] = {
    "sms_switchboard_admin_password": ("kannelAdminPassword", "KANNEL_ADMIN_PASSWORD"),
    "sms_switchboard_status_password": ("kannelStatusPassword", "KANNEL_STATUS_PASSWORD"),
    "dvc_sendsms_password": ("sendsmsPassword", "SENDSMS_PASSWORD"),
    # The alert e-mails' login at the smarthost: Alertmanager reads it from a file.
    "monitoring_alertmanager_smtp_password": ("smtpPassword", "SMTP_PASSWORD"),
}
# Per-telco SMSC credentials: SMSC_<ID>_USERNAME / SMSC_<ID>_PASSWORD (ID upper-case,
# `-` as `_`), or `smscCredentials: {id: {username, password}}` in secrets.json.
SMSC_ENV = re.compile(r"^SMSC_([A-Z0-9_]+)_(USERNAME|PASSWORD)$")
SMSC_KEY = "smscCredentials"
SMSC_VAR = "sms_switchboard_smsc_credentials"
MASK = "********"


@dataclass(frozen=True)
class Credentials:
    """The run's secret variables, and how to keep them out of everything recorded."""

    variables: dict[str, Any]

    def values(self) -> list[str]:
        """Every secret string, longest first (so redaction never leaves a tail)."""
        found: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, Mapping):
                for v in value.values():
                    walk(v)
            elif isinstance(value, str) and value:
                found.add(value)

        walk({k: v for k, v in self.variables.items()})
        # Usernames are not secret; only passwords matter for leak checks.
        usernames = {c.get("username") for c in self.variables.get(SMSC_VAR, {}).values()}
        return sorted(found - usernames, key=len, reverse=True)

    def write(self, path: Path) -> Path:
        """Write the vars file Ansible reads with `-e @file`, readable by us only.

        Every value is marked unsafe: a password holding `{{` is a password, and Ansible
        must never render it as a template (it would run what it holds on the controller).
        """
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(unsafe(self.variables), handle)
        return path


def env_names(environ: Mapping[str, str]) -> list[str]:
    """Environment variables holding secrets, to blank out of the runner's environment."""
    names = [env for _key, env in SECRET_VARS.values()]
    names.extend(name for name in environ if SMSC_ENV.match(name))
    return names


def _smsc_id(env_id: str) -> str:
    return env_id.lower().replace("_", "-")


def collect(stored: Mapping[str, Any], environ: Mapping[str, str]) -> Credentials:
    """The run's credentials: the stack's stored secrets, overridden by the environment."""
    variables: dict[str, Any] = {}
    for var, (key, env) in SECRET_VARS.items():
        value = environ.get(env) or stored.get(key)
        if value:
            variables[var] = str(value)
    smsc: dict[str, dict[str, str]] = {}
    for telco, creds in (stored.get(SMSC_KEY) or {}).items():
        smsc[str(telco)] = {k: str(v) for k, v in creds.items() if k in ("username", "password")}
    for name, value in environ.items():
        match = SMSC_ENV.match(name)
        if match and value:
            smsc.setdefault(_smsc_id(match.group(1)), {})[match.group(2).lower()] = value
    if smsc:
        variables[SMSC_VAR] = smsc
    return Credentials(variables)


def redact(paths: Iterable[Path], secrets: list[str]) -> int:
    """Mask any secret found in these files; return how many files needed it.

    A safety net only: the roles already keep secrets out of the events, and the tests
    check that this finds nothing to do.
    """
    touched = 0
    if not secrets:
        return 0
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            continue
        cleaned = text
        for secret in secrets:
            cleaned = cleaned.replace(secret, MASK)
            cleaned = cleaned.replace(json.dumps(secret)[1:-1], MASK)
        if cleaned != text:
            path.write_text(cleaned, encoding="utf-8", errors="surrogateescape")
            touched += 1
    return touched
