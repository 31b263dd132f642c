"""What a stack tells the checks: its kind, which desks exist, which portal, which nets.

Read from the outputs `lab up` records (dvc_rollout/stack_outputs.py). The kind comes
from them, or from the stack file's declaration when nothing is recorded (a production
stack provisioned elsewhere, whose desks and portal the command line names); it is never
guessed from the backend or from some other stack's record. A lab stack with no record
(e.g. terminals started by hand) falls back to the naming rule `dvc-<stack>-<role>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dvc_rollout import stack_outputs
from dvc_rollout.stack_outputs import Kind, StackOutputs

# Networks each data-center role is attached to (keys of the stack's `networks` output).
ROLE_NETWORKS: dict[str, tuple[str, ...]] = {"postgres": ("data",)}


@dataclass(frozen=True)
class StackEnvironment:
    kind: Kind = "production"
    portal_url: str = ""
    ntp_server: str = ""
    terminals: frozenset[str] | None = None
    datacenter_facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Inventory host -> container name of each desk the stack runs.
    containers: Mapping[str, str] = field(default_factory=dict)
    # Inventory host -> the address the desk is reached at over ssh (staging's plan).
    addresses: Mapping[str, str] = field(default_factory=dict)
    docker_host: str = ""
    outputs: StackOutputs | None = None


def environment(stack: str) -> StackEnvironment:
    """The stack's kind, portal URL, time server, desks and network plan."""
    outputs = stack_outputs.recorded(stack)
    if outputs is None:
        kind = stack_outputs.declared_kind(stack)
        if kind != "lab":
            return StackEnvironment(kind=kind)
        return StackEnvironment(
            kind=kind,
            portal_url=f"http://dvc-{stack}-nginx/",
            ntp_server=f"dvc-{stack}-ntp",
            terminals=_running_terminals(stack),
        )
    from playbooks.inventory import stack_vars

    # The same stack facts the Ansible inventory hands the `terminal` role.
    facts = stack_vars(outputs)
    terminals = outputs.containers.terminals
    return StackEnvironment(
        kind=outputs.kind,
        portal_url=str(facts["dvc_portal_url"]),
        ntp_server=str(facts["dvc_ntp_servers"][0]),
        terminals=frozenset(terminals) if outputs.simulated else None,
        datacenter_facts=_network_facts(outputs) if outputs.simulated else {},
        containers=dict(terminals),
        addresses=dict(outputs.hosts),
        docker_host=outputs.docker_host,
        outputs=outputs,
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


def _network_facts(outputs: StackOutputs) -> dict[str, dict[str, Any]]:
    """Subnets of the networks each role may sit on, read from the stack's Docker host."""
    try:
        # Here, not at the top: the Docker SDK costs ~0.2 s to import, and most uses of
        # this module (production stacks, no engine) never reach it.
        from docker.errors import NotFound

        from infra.lab import engine
        from infra.lab.errors import LabEngineProblem

        client = engine.client(outputs.docker_host)
    except Exception:  # no engine: the checks then skip the network comparison
        return {}
    networks = outputs.networks.model_dump()
    facts: dict[str, dict[str, Any]] = {}
    for role, names in ROLE_NETWORKS.items():
        subnets = []
        for name in names:
            if not isinstance(networks.get(name), str):
                continue
            try:
                found = client.networks.get(networks[name])
            except NotFound:
                raise LabEngineProblem(
                    f"network {networks[name]} of stack {outputs.stack} is not on its Docker "
                    f"host {outputs.docker_host or 'this machine'}: the estate is not as "
                    f"declared; run `dvc-rollout lab up --stack {outputs.stack}` and check again"
                ) from None
            ipam = found.attrs.get("IPAM", {}).get("Config") or []
            subnets += [c["Subnet"] for c in ipam if "Subnet" in c]
        if subnets:
            facts[role] = {"subnets": subnets}
    return facts
