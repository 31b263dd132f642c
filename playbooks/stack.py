"""Where a stack's outputs and secrets live on disk, read in one place.

`dvc-rollout lab up` records the Pulumi stack outputs (container names, internal URLs)
in `state/<stack>/outputs.json` and the generated credentials in
`state/<stack>/secrets.json`; the inventory and the runner read them from here so the
paths are named once. A lab stack's ssh key for the go-live checks' account is made here
too (`state/<stack>/ssh/id_ed25519`): it opens only that stack's own containers.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from dvc_rollout.errors import EnvironmentProblem, UsageError

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUTS_FILE = "outputs.json"
SECRETS_FILE = "secrets.json"
CHECK_KEY_FILE = "ssh/id_ed25519"
# Production: a file of public keys the check account accepts (the private half stays
# with whoever runs `dvc-rollout check --backend ssh`, e.g. in their ssh agent).
CHECK_PUBKEY_ENV = "DVC_CHECK_SSH_PUBKEY"
DEFAULT_STACK = "lab"


def state_root() -> Path:
    """All runtime state: `$DVC_STATE_DIR` or `state/` at the repo root."""
    return Path(os.environ.get("DVC_STATE_DIR") or REPO_ROOT / "state")


def stack_dir(stack: str) -> Path:
    return state_root() / stack


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EnvironmentProblem(
            f"no {what} at {path}: bring the stack up first (`dvc-rollout lab up`, or "
            f"`make lab`), or pass the right --stack"
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is unreadable ({exc}): re-run `dvc-rollout lab up`") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object: re-run `dvc-rollout lab up`")
    return data


def read_outputs(stack: str) -> dict[str, Any]:
    """The stack's Pulumi outputs as `lab up` recorded them."""
    return _read_json(stack_dir(stack) / OUTPUTS_FILE, f"outputs of stack {stack!r}")


def read_secrets(stack: str) -> dict[str, Any]:
    """The stack's credentials file, or nothing if the stack keeps none on disk."""
    path = stack_dir(stack) / SECRETS_FILE
    if not path.exists():
        return {}
    return _read_json(path, f"secrets of stack {stack!r}")


def check_key(stack: str) -> Path:
    """The lab stack's private key for the check account, made on first use.

    ed25519 without a passphrase: it opens only this stack's lab containers, and the
    checks must log in unattended. Made under a temporary name and moved into place, so
    concurrent callers (test workers, the Ansible inventory) never see half a key pair.
    """
    path = stack_dir(stack) / CHECK_KEY_FILE
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
                    f"dvc-rollout check ({stack} lab)",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            raise EnvironmentProblem(
                "ssh-keygen is missing: install openssh-client (`apt-get install "
                "openssh-client`) to make the lab's check key"
            ) from None
        except subprocess.CalledProcessError as exc:
            raise EnvironmentProblem(
                f"ssh-keygen could not make {path}: {exc.stderr.strip()}"
            ) from None
        os.replace(made.with_suffix(".pub"), path.with_suffix(".pub"))
        os.replace(made, path)
    return path


def check_public_keys(stack: str, lab: bool) -> list[str]:
    """The public keys the stack's check account accepts.

    A lab stack's own key; elsewhere the keys in the file `$DVC_CHECK_SSH_PUBKEY` names,
    or none (the account then has no ssh access).
    """
    if lab:
        return [check_key(stack).with_suffix(".pub").read_text(encoding="utf-8").strip()]
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
