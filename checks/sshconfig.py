"""An ssh_config that reaches a lab stack's desks the way production desks are reached.

Production checks run over ssh (`--backend ssh`). Pointing that same backend at the lab
exercises it for real: every lab desk runs sshd, and Ansible authorises the stack's own
key for the unprivileged check account (playbooks/stack.py `check_key`). This file names
each desk's address, that account and that key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from checks import expected
from dvc_rollout.errors import EnvironmentProblem

CONFIG_FILE = "ssh/config"
SSH_PORT = 22


def render(addresses: Mapping[str, tuple[str, int]], key: Path, user: str) -> str:
    """ssh_config text: one `Host` block per desk (inventory host name -> address, port).

    Lab desks make new host keys whenever they are re-created, so their keys are not
    pinned (the lab's networks are local to this machine); production's ssh_config is
    the estate's own, with its known_hosts.
    """
    blocks = [
        "# Written by dvc-rollout for a lab stack; re-written on every `check --backend ssh`.",
    ]
    for host, (address, port) in sorted(addresses.items()):
        blocks.append(f"Host {host}\n  HostName {address}\n  Port {port}")
    blocks.append(
        "Host *\n"
        f"  User {user}\n"
        f"  IdentityFile {key}\n"
        "  IdentitiesOnly yes\n"
        "  BatchMode yes\n"
        "  StrictHostKeyChecking no\n"
        "  UserKnownHostsFile /dev/null\n"
        "  LogLevel ERROR"
    )
    return "\n\n".join(blocks) + "\n"


def desk_addresses(containers: Mapping[str, str]) -> dict[str, tuple[str, int]]:
    """Each desk's address on its district network (inventory host -> container name)."""
    try:
        import docker

        client = docker.from_env()
        found: dict[str, tuple[str, int]] = {}
        for host, name in containers.items():
            networks = client.containers.get(name).attrs["NetworkSettings"]["Networks"]
            address = next((n["IPAddress"] for n in networks.values() if n.get("IPAddress")), "")
            if address:
                found[host] = (address, SSH_PORT)
    except Exception as exc:  # the engine or a container is gone
        raise EnvironmentProblem(
            f"cannot read the lab desks' addresses from Docker ({exc}): is the lab up "
            "(`dvc-rollout lab status`)?"
        ) from None
    return found


def write_lab_config(
    stack: str, addresses: Mapping[str, tuple[str, int]], path: Path | None = None
) -> Path:
    """Write the stack's ssh_config (to `path`, by default state/<stack>/ssh/config) and
    return where."""
    from playbooks.stack import check_key, stack_dir

    path = path or stack_dir(stack) / CONFIG_FILE
    text = render(addresses, check_key(stack), expected.CHECK_USER)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
