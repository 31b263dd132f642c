"""What a Docker-backed stack tells the checks: which desks exist, which portal, which nets.

Read from the outputs `dvc-rollout lab up` records (playbooks/stack.py names the file);
a stack without outputs (e.g. terminals started by hand) falls back to the naming rule
`dvc-<stack>-<role>` and lets the command line supply the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dvc_rollout.errors import DvcRolloutError

# Networks each data-center role is attached to (keys of the stack's `networks` output).
ROLE_NETWORKS: dict[str, tuple[str, ...]] = {"postgres": ("data",)}


@dataclass(frozen=True)
class LabEnvironment:
    portal_url: str = ""
    ntp_server: str = ""
    terminals: frozenset[str] | None = None
    datacenter_facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Inventory host -> container name of each desk the stack runs.
    containers: Mapping[str, str] = field(default_factory=dict)


def recorded(stack: str) -> bool:
    """`lab up` recorded this stack as a lab (its outputs list containers)."""
    try:
        from playbooks.inventory import is_lab
        from playbooks.stack import read_outputs

        return is_lab(read_outputs(stack))
    except (ImportError, DvcRolloutError):
        return False


def environment(stack: str) -> LabEnvironment:
    """The stack's portal URL, time server, terminal hosts and network plan, if recorded."""
    try:
        from playbooks.inventory import stack_vars
        from playbooks.stack import read_outputs

        outputs = read_outputs(stack)
    except (ImportError, DvcRolloutError):
        return LabEnvironment(
            portal_url=f"http://dvc-{stack}-nginx/",
            ntp_server=f"dvc-{stack}-ntp",
            terminals=_running_terminals(stack),
        )
    # The same stack facts the Ansible inventory hands the `terminal` role.
    facts = stack_vars(stack, outputs)
    terminals = outputs.get("containers", {}).get("terminals") or {}
    return LabEnvironment(
        portal_url=str(facts.get("dvc_portal_url") or f"http://dvc-{stack}-nginx/"),
        ntp_server=str((facts.get("dvc_ntp_servers") or [f"dvc-{stack}-ntp"])[0]),
        terminals=frozenset(terminals),
        datacenter_facts=_network_facts(outputs.get("networks", {})),
        containers={str(h): str(c) for h, c in terminals.items()},
    )


def _running_terminals(stack: str) -> frozenset[str] | None:
    """Terminals started without `lab up` outputs: containers named `dvc-<stack>-term-*`."""
    prefix = f"dvc-{stack}-"
    try:
        import docker

        names = [c.name for c in docker.from_env().containers.list(all=True)]
    except Exception:  # no engine: check every selected site and report what is missing
        return None
    return frozenset(n.removeprefix(prefix) for n in names if n.startswith(prefix + "term-"))


def _network_facts(networks: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Subnets of the networks each role may sit on, read from the Docker engine."""
    try:
        import docker

        client = docker.from_env()
    except Exception:  # no engine: the checks then skip the network comparison
        return {}
    facts: dict[str, dict[str, Any]] = {}
    for role, names in ROLE_NETWORKS.items():
        subnets = []
        for name in names:
            if not isinstance(networks.get(name), str):
                continue
            ipam = client.networks.get(networks[name]).attrs.get("IPAM", {}).get("Config") or []
            subnets += [c["Subnet"] for c in ipam if "Subnet" in c]
        if subnets:
            facts[role] = {"subnets": subnets}
    return facts
