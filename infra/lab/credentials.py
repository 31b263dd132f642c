"""The lab's credentials: generated once per stack, kept mode 0600, reused ever after.

Reusing them matters: the database volume keeps the password it was initialised with,
so a new password on a second `lab up` would lock the portal out of its own database.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from dvc_rollout import statedir
from dvc_rollout.errors import UsageError
from infra.stackconfig import SECRET_KEYS

# Besides the program's config secrets: the passphrase of the Pulumi CLI's secrets
# provider for the `file://` backend (used only when the CLI is on PATH).
PASSPHRASE_KEY = "pulumiConfigPassphrase"
# Secrets only a lab has: the login of its own mail server (the alert e-mails' smarthost).
LAB_SECRET_KEYS = ("smtpPassword",)
GENERATED = (*SECRET_KEYS, *LAB_SECRET_KEYS, PASSPHRASE_KEY)


def secrets_path(stack: str) -> Path:
    return statedir.stack_dir(stack) / "secrets.json"


def load_or_create(stack: str) -> dict[str, str]:
    """The stack's secrets; missing ones are generated and the file written 0600."""
    path = secrets_path(stack)
    found: dict[str, str] = {}
    if path.exists():
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"{path} is unreadable ({exc}): fix it, or remove it together with the "
                "stack (`dvc-rollout lab down`) so new secrets are generated"
            ) from exc
    missing = [k for k in GENERATED if not found.get(k)]
    if missing or (path.exists() and path.stat().st_mode & 0o077):
        for key in missing:
            found[key] = secrets.token_urlsafe(24)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(found, handle, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return found
