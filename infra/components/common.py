"""Small builders every component shares, so labels, health and ports follow one rule.

The rules: every resource carries the stack and managed labels (what `lab down` keys
on), every container has a healthcheck and a restart policy, ports are published on
127.0.0.1 only, and a container answers to its own name on every network it joins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_docker as docker

from infra import images

STACK_LABEL = "dvc-rollout.stack"
MANAGED_LABEL = "dvc-rollout.managed"
ROLE_LABEL = "dvc-rollout.role"
LOOPBACK = "127.0.0.1"
RESTART = "unless-stopped"


def _pairs(stack: str, role: str | None) -> dict[str, str]:
    found = {STACK_LABEL: stack, MANAGED_LABEL: "true"}
    if role:
        found[ROLE_LABEL] = role
    return found


def container_labels(stack: str, role: str) -> list[docker.ContainerLabelArgs]:
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in _pairs(stack, role).items()]


def network_labels(stack: str) -> list[docker.NetworkLabelArgs]:
    return [docker.NetworkLabelArgs(label=k, value=v) for k, v in _pairs(stack, None).items()]


def volume_labels(stack: str) -> list[docker.VolumeLabelArgs]:
    return [docker.VolumeLabelArgs(label=k, value=v) for k, v in _pairs(stack, None).items()]


def healthcheck(command: str, start_period: str = "60s") -> docker.ContainerHealthcheckArgs:
    """A shell healthcheck: the first pass marks the container healthy, so keep it cheap.

    Every 30 s (Docker's default): each check is an exec, a process start through runc,
    and at 3 s two dozen lab containers kept a third of a core busy with them. `dvc-rollout
    lab up` does not wait for the first one: it runs the same command itself.
    """
    return docker.ContainerHealthcheckArgs(
        tests=["CMD-SHELL", command],
        interval="30s",
        timeout="5s",
        retries=5,
        start_period=start_period,
    )


def loopback_port(
    internal: int, external: int = 0, protocol: str = "tcp"
) -> docker.ContainerPortArgs:
    """Publish on 127.0.0.1 only; 0 lets the engine pick a free port (read back later)."""
    return docker.ContainerPortArgs(
        internal=internal, external=external or None, ip=LOOPBACK, protocol=protocol
    )


def attach(
    networks: Sequence[pulumi.Input[str]], container_name: str, *extra_aliases: str
) -> list[docker.ContainerNetworksAdvancedArgs]:
    """Join each network under the container's own name (plus any extra aliases)."""
    aliases = [container_name, *extra_aliases]
    return [docker.ContainerNetworksAdvancedArgs(name=n, aliases=aliases) for n in networks]


def image(
    name: str, resource_name: str, opts: pulumi.ResourceOptions, registry: str = ""
) -> docker.RemoteImage:
    """The content-tagged image; kept on destroy so rebuilds and pulls stay cheap.

    Without a registry it is the one built on the Docker host (`lab build`); with one,
    the host pulls `<registry>/dvc-rollout/<name>:<tag>` (`lab build --push` put it there).
    """
    return docker.RemoteImage(
        resource_name, name=images.reference(name, registry), keep_locally=True, opts=opts
    )


def host_port(
    container: docker.Container, internal: int, protocol: str = "tcp"
) -> pulumi.Output[int]:
    """The host port the engine really published for a container port."""

    def field(port: Any, key: str) -> Any:
        return port.get(key) if isinstance(port, dict) else getattr(port, key, None)

    def pick(ports: Any) -> int:
        for p in ports or []:
            same_proto = (field(p, "protocol") or "tcp") == protocol
            if int(field(p, "internal") or 0) == internal and same_proto:
                return int(field(p, "external") or 0)
        return 0

    return container.ports.apply(pick)


def host_url(
    container: docker.Container, internal: int, scheme: str = "http"
) -> pulumi.Output[str]:
    protocol = "udp" if scheme == "udp" else "tcp"
    return host_port(container, internal, protocol).apply(lambda p: f"{scheme}://{LOOPBACK}:{p}")


def child(
    component: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()
) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=component, depends_on=list(depends_on))
