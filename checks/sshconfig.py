"""An ssh_config that reaches a simulated stack's desks the way production desks are reached.

Production checks run over ssh (`--backend ssh`). Pointing that same backend at a lab or
staging exercises it for real: every stand-in desk runs sshd, and Ansible authorises the
stack's own key for the unprivileged check account (playbooks/stack.py `check_key`). This
file names each desk's address, that account and that key: a lab desk's address on its
district network as its engine reports it, staging's fixed address from the stack's
address plan, with the host key `lab up` pinned for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from checks import expected
from checks.lab import StackEnvironment
from dvc_rollout import statedir
from dvc_rollout.errors import EnvironmentProblem

CONFIG_FILE = "ssh/config"
SSH_PORT = 22


def render(
    addresses: Mapping[str, tuple[str, int]], key: Path, user: str, known_hosts: str = ""
) -> str:
    """ssh_config text: one `Host` block per desk (inventory host name -> address, port).

    Lab desks make new host keys whenever they are re-created, so without `known_hosts`
    their keys are not pinned (the lab's networks are local to this machine); with it
    (staging) every desk must show the key pinned there. Production's ssh_config is the
    estate's own, with its known_hosts.
    """
    blocks = [
        "# Written by dvc-rollout for a simulated stack; re-written on every "
        "`check --backend ssh`.",
    ]
    for host, (address, port) in sorted(addresses.items()):
        blocks.append(f"Host {host}\n  HostName {address}\n  Port {port}")
    pinning = (
        f"  StrictHostKeyChecking yes\n  UserKnownHostsFile {known_hosts}\n"
        if known_hosts
        else "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
    )
    blocks.append(
        "Host *\n"
        f"  User {user}\n"
        f"  IdentityFile {key}\n"
        "  IdentitiesOnly yes\n"
        "  BatchMode yes\n"
        f"{pinning}"
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
    stack: str,
    addresses: Mapping[str, tuple[str, int]],
    path: Path | None = None,
    known_hosts: str = "",
) -> Path:
    """Write the stack's ssh_config (to `path`, by default <state>/<stack>/ssh/config) and
    return where."""
    from playbooks.stack import check_key

    path = path or statedir.stack_dir(stack) / CONFIG_FILE
    text = render(addresses, check_key(stack), expected.CHECK_USER, known_hosts)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_stack_config(stack: str, env: StackEnvironment) -> Path:
    """The ssh_config of a simulated stack's desks: staging's fixed addresses with their
    pinned host keys, or a lab's addresses as its engine reports them."""
    if env.kind == "staging":
        from playbooks.stack import known_hosts

        addresses = {h: (a, SSH_PORT) for h, a in env.addresses.items()}
        return write_lab_config(stack, addresses, known_hosts=str(known_hosts(stack)))
    return write_lab_config(stack, desk_addresses(env.containers))
