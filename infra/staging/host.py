"""Where one staging host lives on this machine, read from its stack's file.

Everything the host is made of is named after the stack, so two hosts (the full staging
and CI's small one) never share a socket, a port, a bridge, a subnet or a folder:

- runtime (tmpfs, gone at reboot like any daemon's): `/run/dvc-<stack>/` holds the engine's
  socket, exec root and pid file, and sshd's config, host key, pid file and the deploy
  account's authorized keys;
- the engine's data root: `/var/lib/dvc-<stack>/docker`;
- its bridge: the interface `dvc-<stack>` with the address the stack file gives;
- the ssh client's settings for the host: `/etc/ssh/ssh_config.d/dvc-<stack>.conf` (how
  `DOCKER_HOST=ssh://…` finds the deploy key and the host key, for the Docker SDK, the
  docker CLI and Ansible alike);
- the deploy key and the pinned host key: `<state>/<stack>/ssh/deploy_ed25519`,
  `<state>/<stack>/ssh/deploy_known_hosts`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dvc_rollout import statedir
from dvc_rollout.errors import UsageError
from infra.lab import stackfile

NAMESPACE = "dvc-rollout"
MAX_INTERFACE = 15  # Linux interface names are at most 15 characters
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")


@dataclass(frozen=True)
class StagingHost:
    """One staging data-center host: its addresses, its account, its files."""

    stack: str
    user: str  # the deploy account the engine is reached as
    ssh_port: int  # the dedicated sshd's port on 127.0.0.1
    registry_port: int  # the registry's port on 127.0.0.1
    bridge_address: str  # the engine's default bridge, e.g. 10.212.0.1/24
    address_pool: str  # where the engine takes its networks' subnets, e.g. 10.213.0.0/16
    district_subnets: str = ""  # the stack's address plan for district networks, if any

    @property
    def name(self) -> str:
        return f"dvc-{self.stack}"

    @property
    def docker_host(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.ssh_port}"

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    @property
    def run_dir(self) -> Path:
        return Path("/run") / self.name

    @property
    def data_root(self) -> Path:
        return Path("/var/lib") / self.name / "docker"

    @property
    def socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def bridge(self) -> str:
        return self.name

    @property
    def client_config(self) -> Path:
        return Path("/etc/ssh/ssh_config.d") / f"{self.name}.conf"

    @property
    def key(self) -> Path:
        """The deploy account's private key (the controller's side)."""
        return statedir.stack_dir(self.stack) / "ssh" / "deploy_ed25519"

    @property
    def known_hosts(self) -> Path:
        """The staging sshd's host key, pinned for the controller."""
        return statedir.stack_dir(self.stack) / "ssh" / "deploy_known_hosts"

    @property
    def forced_command(self) -> str:
        """All the deploy account may run: a pipe to the staging engine's API."""
        return f"docker --host unix://{self.socket} system dial-stdio"


def _port(value: str | None, what: str, path: Path) -> int:
    try:
        port = int(value or "")
    except ValueError:
        port = 0
    if not 1024 <= port <= 65535:
        raise UsageError(f"{path}: {what} needs a port from 1024 to 65535, not {value!r}")
    return port


def from_stack(stack: str) -> StagingHost:
    """The staging host the stack's file describes; anything missing or wrong is named."""
    path = stackfile.stack_file(stack)
    config: dict[str, Any] = stackfile.load(stack)
    if config.get(f"{NAMESPACE}:kind") != "staging":
        raise UsageError(
            f"stack {stack!r} is not a staging stack ({path} declares dvc-rollout:kind "
            f"{config.get(f'{NAMESPACE}:kind')!r}): `staging up` makes hosts for staging stacks"
        )
    if len(f"dvc-{stack}") > MAX_INTERFACE:
        raise UsageError(
            f"stack name {stack!r} is too long for a staging host: its bridge dvc-{stack} "
            f"must fit in {MAX_INTERFACE} characters"
        )
    url = urlsplit(str(config.get(f"{NAMESPACE}:dockerHost") or ""))
    if url.scheme != "ssh" or url.hostname != "127.0.0.1" or not url.username:
        raise UsageError(
            f"{path}: dvc-rollout:dockerHost must be ssh://<account>@127.0.0.1:<port> for a "
            "staging host on this machine"
        )
    if not _USER.match(url.username):
        raise UsageError(f"{path}: {url.username!r} is not an account name")
    registry = str(config.get(f"{NAMESPACE}:registry") or "")
    reg_host, _, reg_port = registry.partition(":")
    if reg_host != "127.0.0.1":
        raise UsageError(f"{path}: dvc-rollout:registry must be 127.0.0.1:<port>")
    host = config.get(f"{NAMESPACE}:stagingHost") or {}
    try:
        bridge = ipaddress.IPv4Interface(str(host.get("bridge")))
        pool = ipaddress.IPv4Network(str(host.get("addressPool")))
    except ValueError as exc:
        raise UsageError(
            f"{path}: dvc-rollout:stagingHost needs bridge (e.g. 10.212.0.1/24) and "
            f"addressPool (e.g. 10.213.0.0/16): {exc}"
        ) from None
    if bridge.network.overlaps(pool):
        raise UsageError(f"{path}: the staging bridge {bridge} lies inside its pool {pool}")
    plan = str(config.get(f"{NAMESPACE}:districtSubnets") or "")
    if plan and ipaddress.IPv4Network(plan).overlaps(pool):
        raise UsageError(f"{path}: dvc-rollout:districtSubnets {plan} overlaps the pool {pool}")
    return StagingHost(
        stack=stack,
        user=url.username,
        ssh_port=_port(str(url.port or ""), "dockerHost", path),
        registry_port=_port(reg_port, "registry", path),
        bridge_address=str(bridge),
        address_pool=str(pool),
        district_subnets=plan,
    )
