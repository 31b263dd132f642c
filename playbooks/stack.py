"""A stack's credentials and ssh keys as Ansible and the checks use them.

`dvc-rollout lab up` keeps the generated credentials in `<state>/<stack>/secrets.json`
(its outputs are read through dvc_rollout/stack_outputs.py). A simulated stack's ssh keys
are made here: the go-live checks' account key (`ssh/id_ed25519`) and, for desks reached
over ssh (staging), the admin key Ansible logs in with (`ssh/admin_ed25519`). Each opens
only that stack's own stand-in desks.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from dvc_rollout import statedir
from dvc_rollout.errors import EnvironmentProblem, UsageError

SECRETS_FILE = "secrets.json"
CHECK_KEY_FILE = "ssh/id_ed25519"
ADMIN_KEY_FILE = "ssh/admin_ed25519"
KNOWN_HOSTS_FILE = "ssh/known_hosts"
# The desks' admin account (Ansible's ssh login; the stand-in desks make it from their key).
ADMIN_USER = "dvc-admin"
# Production: a file of public keys the check account accepts (the private half stays
# with whoever runs `dvc-rollout check --backend ssh`, e.g. in their ssh agent).
CHECK_PUBKEY_ENV = "DVC_CHECK_SSH_PUBKEY"
DEFAULT_STACK = "lab"


def read_secrets(stack: str) -> dict[str, Any]:
    """The stack's credentials file, or nothing if the stack keeps none on disk."""
    path = statedir.stack_dir(stack) / SECRETS_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is unreadable ({exc}): re-run `dvc-rollout lab up`") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object: re-run `dvc-rollout lab up`")
    return data


def _stack_key(stack: str, file: str, purpose: str) -> Path:
    """One of the stack's private keys, made on first use.

    ed25519 without a passphrase: it opens only this stack's stand-in desks, and the
    tools must log in unattended. Made under a temporary name and moved into place, so
    concurrent callers (test workers, the Ansible inventory) never see half a key pair.
    """
    path = statedir.stack_dir(stack) / file
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        made = Path(tmp) / path.name
        try:
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-f",
                    str(made),
                    "-C",
                    f"dvc-rollout {purpose} ({stack})",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            raise EnvironmentProblem(
                "ssh-keygen is missing: install openssh-client (`apt-get install "
                f"openssh-client`) to make the stack's {purpose} key"
            ) from None
        except subprocess.CalledProcessError as exc:
            raise EnvironmentProblem(
                f"ssh-keygen could not make {path}: {exc.stderr.strip()}"
            ) from None
        os.replace(made.with_suffix(".pub"), path.with_suffix(".pub"))
        os.replace(made, path)
    return path


def check_key(stack: str) -> Path:
    """The stack's private key for the desks' check account (`dvc-check`)."""
    return _stack_key(stack, CHECK_KEY_FILE, "check")


def admin_key(stack: str) -> Path:
    """The stack's private key for the stand-in desks' admin account (Ansible over ssh)."""
    return _stack_key(stack, ADMIN_KEY_FILE, "desk admin")


def public_key(private: Path) -> str:
    """The public half of one of the stack's keys, as one authorized_keys line."""
    return private.with_suffix(".pub").read_text(encoding="utf-8").strip()


def known_hosts(stack: str) -> Path:
    """The pinned host keys of a stack's stand-in desks (written by `lab up`)."""
    return statedir.stack_dir(stack) / KNOWN_HOSTS_FILE


def check_public_keys(stack: str, own: bool) -> list[str]:
    """The public keys the stack's check account accepts.

    A simulated stack's own key (`own`); elsewhere the keys in the file
    `$DVC_CHECK_SSH_PUBKEY` names, or none (the account then has no ssh access).
    """
    if own:
        return [public_key(check_key(stack))]
    named = os.environ.get(CHECK_PUBKEY_ENV)
    if not named:
        return []
    try:
        text = Path(named).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"{CHECK_PUBKEY_ENV}={named}: cannot read it ({exc.strerror}); name a file of "
            "ssh public keys (one per line, e.g. ~/.ssh/id_ed25519.pub) or unset it"
        ) from None
    keys = [line.strip() for line in text.splitlines()]
    keys = [k for k in keys if k and not k.startswith("#")]
    bad = [k for k in keys if not k.startswith(("ssh-", "ecdsa-", "sk-"))]
    if bad or not keys:
        raise UsageError(
            f"{CHECK_PUBKEY_ENV}={named}: expected ssh public keys, one per line "
            f"(`ssh-ed25519 AAAA… comment`); found {len(bad)} line(s) that are not"
            if bad
            else f"{CHECK_PUBKEY_ENV}={named} holds no public key: add one or unset it"
        )
    return keys
