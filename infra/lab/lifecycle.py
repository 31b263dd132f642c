"""`lab up | preview | status | down`: one program, two ways to run it, one labelled set.

With the Pulumi CLI on PATH the Automation API runs the stack against a `file://` backend
under the state directory: Pulumi's engine plans, diffs and keeps the state. Without it
(air-gapped machines, CI here) the same program runs in-process under `DockerMocks`,
which realise every `docker:` resource on the stack's Docker host, and the deployer's
own record (infra/lab/deployment.py) takes the place of Pulumi's state: `preview` says
what `up` would create, replace and delete, and `up` deletes what the program stopped
declaring. Either way the containers carry `dvc-rollout.stack=<stack>`, `up` waits until
they are all healthy and records the outputs (dvc_rollout/stack_outputs.py), and `down`
removes exactly what carries the label.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dvc_rollout import stack_outputs, statedir
from dvc_rollout.stack_outputs import StackOutputs
from infra import images
from infra.lab import credentials, deployment, engine, health, oncall, records, stackfile, tls
from infra.lab.docker_mocks import DockerMocks, PlanMocks
from infra.lab.errors import LabEngineProblem
from infra.lab.inprocess import PROJECT, ProgramRun, run_program
from infra.lab.recording import RecordingMocks
from infra.stackconfig import SECRET_KEYS

Progress = Callable[[str], None]
ENGINE_ENV = "DVC_LAB_ENGINE"  # "inprocess" or "cli"; default: cli when `pulumi` is on PATH
DOCKER_HOST_KEY = f"{PROJECT}:dockerHost"
ADMIN_KEY_KEY = f"{PROJECT}:deskAdminKey"

# endpoint -> (key in the `containers` output, container port, scheme)
ENDPOINTS: dict[str, tuple[str, int, str]] = {
    "nginx": ("nginx", 80, "http"),
    "nginx_https": ("nginx", 443, "https"),
    "portal": ("portal", 8080, "http"),
    "kannel_admin": ("kannel", 13000, "http"),
    "kannel_sendsms": ("kannel", 13013, "http"),
    "prometheus": ("prometheus", 9090, "http"),
    "alertmanager": ("alertmanager", 9093, "http"),
    "webhook": ("webhook", 9095, "http"),
    "smtp": ("smtp", 9025, "http"),
    "deadman": ("deadman", 9095, "http"),
    "ntp": ("ntp", 123, "udp"),
}


@dataclass(frozen=True)
class Sample:
    """A sample chosen on the command line, overriding the stack file's."""

    districts: Sequence[str] | None = None
    units_per_district: int | None = None

    def apply(self, config: dict[str, Any]) -> None:
        key = f"{PROJECT}:sample"
        current = dict(config.get(key) or {})
        if self.districts:
            current["districts"] = list(self.districts)
            current.pop("units", None)
        if self.units_per_district is not None:
            current["unitsPerDistrict"] = self.units_per_district
        config[key] = current


def stack_config(stack: str, sample: Sample | None = None) -> tuple[dict[str, Any], list[str]]:
    """Plain config from the stack file plus the stack's generated secrets.

    A stack whose desks are stand-ins reached over ssh (staging) also gets its own admin
    key for them, made on first use like the check account's.
    """
    config = stackfile.load(stack)
    if sample is not None:
        sample.apply(config)
    creds = credentials.load_or_create(stack)
    keys = (*SECRET_KEYS, *credentials.LAB_SECRET_KEYS)
    secret_keys = [f"{PROJECT}:{k}" for k in keys]
    for key in keys:
        config[f"{PROJECT}:{key}"] = creds[key]
    if config.get(f"{PROJECT}:kind") == "staging" and not config.get(ADMIN_KEY_KEY):
        from playbooks import stack as stackkeys

        config[ADMIN_KEY_KEY] = stackkeys.public_key(stackkeys.admin_key(stack))
    if config.get(f"{PROJECT}:labParts") in (True, "true"):
        # HTTPS as in production, from the stack's own CA (keys under state/, 0600).
        material = tls.ensure(stack, tls_names(stack))
        config[f"{PROJECT}:tlsCert"] = material.server.cert
        config[f"{PROJECT}:tlsKey"] = material.server.key
        config[f"{PROJECT}:tlsCaCert"] = material.ca_cert
        secret_keys.append(f"{PROJECT}:tlsKey")
    return config, secret_keys


def tls_names(stack: str) -> list[str]:
    """The names the portal front answers to: its container name, and from the host."""
    return [f"dvc-{stack}-nginx", "localhost", "127.0.0.1"]


def docker_host(config: dict[str, Any]) -> str:
    """The Docker host the stack's containers run on ("" = this machine's engine)."""
    return str(config.get(DOCKER_HOST_KEY) or "")


def uses_cli() -> bool:
    wanted = os.environ.get(ENGINE_ENV, "")
    if wanted == "inprocess":
        return False
    return wanted == "cli" or shutil.which("pulumi") is not None


def needed_images(stack: str, config: dict[str, Any], secret_keys: list[str]) -> list[str]:
    """The image components the program references, found by a dry run without Docker."""
    plan = run_program(RecordingMocks(), stack=stack, config=config, secret_keys=secret_keys)
    names = set()
    for reg in plan.of_type("docker:index/remoteImage:RemoteImage"):
        tag = str(reg.state.get("name", ""))
        names.add(tag.rsplit("/", 1)[-1].split(":", 1)[0])
    return sorted(n for n in names if n in images.IMAGES)


def saved_outputs(stack: str) -> StackOutputs | None:
    """The outputs `up` recorded for the stack, or None (kept for the lab's callers)."""
    return stack_outputs.recorded(stack)


def _made(run: ProgramRun, inputs: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """URN -> the deployer's record of each `docker:` resource the run registered."""
    found = {}
    for urn, reg in run.resources.items():
        typ, name = deployment.urn_parts(urn)
        if typ in deployment.RECORDED and (typ, name) in inputs:
            found[urn] = deployment.resource(urn, reg.id, inputs[(typ, name)])
    return found


def _present(stack: str, host: str) -> dict[str, set[str]]:
    """The stack's labelled containers, networks and volumes on its host, by type."""
    found = engine.stack_resources(stack, host)
    return {
        deployment.CONTAINER: {c["Names"][0].lstrip("/") for c in found.containers},
        deployment.NETWORK: {n["Name"] for n in found.networks},
        deployment.VOLUME: {v["Name"] for v in found.volumes},
    }


def _delete(stack: str, host: str, doomed: list[deployment.Resource], say: Progress) -> None:
    for res in doomed:
        say(f"delete {res.kind} {res.name} ({res.urn})")
        if res.type == deployment.CONTAINER:
            engine.remove_container(res.name, stack, host)
        elif res.type == deployment.NETWORK:
            engine.remove_network(res.name, stack, host)
        elif res.type == deployment.VOLUME:
            engine.remove_volume(res.name, stack, host)


def preview(stack: str, sample: Sample | None = None) -> list[deployment.Change]:
    """What `up` would create, replace and delete, changing nothing.

    The in-process deployer's plan: the program run under read-only mocks, compared with
    the record and with what the stack's host has now. (With the Pulumi CLI, use
    `pulumi preview -s <stack>`: its engine keeps its own state.)
    """
    config, secret_keys = stack_config(stack, sample)
    host = docker_host(config)
    mocks = PlanMocks(stack=stack, host=host)
    run = run_program(mocks, stack=stack, config=config, secret_keys=secret_keys)
    return deployment.plan(_made(run, mocks.inputs), deployment.load(stack), _present(stack, host))


def _run_inprocess(
    stack: str, config: dict[str, Any], secret_keys: list[str], progress: Progress
) -> dict[str, Any]:
    host = docker_host(config)
    recorded = deployment.load(stack)
    mocks = DockerMocks(stack, host)
    run = run_program(mocks, stack=stack, config=config, secret_keys=secret_keys)
    made = _made(run, mocks.inputs)
    changes = deployment.plan(made, recorded, _present(stack, host))
    _delete(stack, host, deployment.deletions(changes), progress)
    deployment.save(stack, host, made.values())
    containers = [r for r in mocks.realised if r.type.endswith(":Container")]
    reused = sum(1 for r in containers if r.reused)
    counts = deployment.summary(changes)
    progress(
        f"engine: {len(containers)} container(s), {reused} reused, "
        f"{len(containers) - reused} (re)created; {counts['delete']} resource(s) deleted"
    )
    return run.outputs


def _cli_stack(stack: str) -> Any:
    """The Automation API stack on a `file://` backend under the state directory.

    Not exercised here (the Pulumi CLI and its docker plugin cannot be downloaded in
    this environment); it runs the very same `infra/` program through the real engine.
    """
    from pulumi import automation as auto

    backend = statedir.root() / "pulumi"
    backend.mkdir(parents=True, exist_ok=True)
    creds = credentials.load_or_create(stack)
    env = {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": creds[credentials.PASSPHRASE_KEY],
    }
    opts = auto.LocalWorkspaceOptions(work_dir=str(stackfile.REPO_ROOT), env_vars=env)
    return auto.create_or_select_stack(
        stack_name=stack, work_dir=str(stackfile.REPO_ROOT), opts=opts
    )


def _run_cli(
    stack: str, config: dict[str, Any], secret_keys: list[str], progress: Progress
) -> dict[str, Any]:
    from pulumi import automation as auto

    st = _cli_stack(stack)
    values = {
        k: auto.ConfigValue(
            value=v if isinstance(v, str) else json.dumps(v, ensure_ascii=False),
            secret=k in secret_keys,
        )
        for k, v in config.items()
    }
    st.set_all_config(values)
    result = st.up(on_output=progress)
    return {k: v.value for k, v in result.outputs.items()}


def up(
    stack: str,
    sample: Sample | None = None,
    *,
    timeout: float = 300.0,
    progress: Progress | None = None,
) -> StackOutputs:
    """Build missing images, realise the stack, wait until healthy; record its outputs.

    A stack pulling from a registry builds nothing here: its images must be pushed first
    (`lab build --push`), as an air-gapped data center receives them.
    """
    say: Progress = progress or (lambda _line: None)
    config, secret_keys = stack_config(stack, sample)
    host = docker_host(config)
    wanted = needed_images(stack, config, secret_keys)
    if not config.get(f"{PROJECT}:registry"):
        say(f"images: {', '.join(wanted)}")
        images.build(wanted, progress=say)
    run = _run_cli if uses_cli() else _run_inprocess
    outputs = run(stack, config, secret_keys, say)
    health.wait_healthy(stack, timeout=timeout, progress=say, host=host)
    saved = stack_outputs.save(stack, outputs)
    if saved.hosts:
        say(f"desks: host keys pinned in {pin_desk_keys(saved)}")
    say(f"records: synthetic officials for the sample in {records.write(stack, saved)}")
    say(f"on-call: synthetic LAB contacts for the sample in {oncall.write(stack, saved)}")
    return saved


def pin_desk_keys(outputs: StackOutputs) -> Any:
    """Pin each stand-in desk's ssh host key at its address, read through the Docker host.

    The desks make their host keys when they first start; the Docker host's channel
    (authenticated by the deploy key) is how the controller learns them, so the first ssh
    to a desk already checks its key.
    """
    from playbooks import stack as stackkeys

    lines = []
    for host, address in sorted(outputs.hosts.items()):
        container = outputs.containers.terminals[host]
        code, text = engine.run_in(
            container, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], outputs.docker_host
        )
        key = text.split()
        if code != 0 or len(key) < 2:
            raise LabEngineProblem(f"desk {container} has no ssh host key yet: {text.strip()}")
        lines.append(f"{address} {key[0]} {key[1]}")
    path = stackkeys.known_hosts(outputs.stack)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def live_endpoints(outputs: StackOutputs) -> dict[str, Any]:
    """Endpoint URLs from the ports published now (they move when a container is recreated)."""
    containers = outputs.containers.model_dump()
    found: dict[str, Any] = {}
    api = engine.client(outputs.docker_host).api

    def url(name: str, port: int, scheme: str) -> str | None:
        try:
            state = engine.read_state(api.inspect_container(name)["Id"], outputs.docker_host)
        except Exception:
            return None
        proto = "udp" if scheme == "udp" else "tcp"
        for p in state.ports:
            if p["internal"] == port and p["protocol"] == proto:
                return f"{scheme}://{p['ip']}:{p['external']}"
        return None

    for key, (role, port, scheme) in ENDPOINTS.items():
        if containers.get(role):
            found[key] = url(containers[role], port, scheme)
    found["smsc_sim"] = {
        sim: url(name, 13080, "http") for sim, name in outputs.containers.smsc_sim.items()
    }
    return found


def status(stack: str) -> dict[str, Any]:
    """Containers with their health, and the endpoints as published right now."""
    outputs = saved_outputs(stack)
    host = outputs.docker_host if outputs else docker_host(stackfile.load(stack))
    states = health.stack_health(stack, host)
    return {
        "stack": stack,
        "kind": outputs.kind if outputs else None,
        "docker_host": host,
        "containers": [
            {"name": h.name, "state": h.state, "health": h.health, "last_check": h.last_log}
            for h in states
        ],
        "healthy": bool(states) and all(h.healthy for h in states),
        "endpoints": live_endpoints(outputs) if states and outputs else {},
        "networks": outputs.networks.model_dump() if outputs else {},
    }


def down(stack: str, progress: Progress | None = None) -> engine.StackResources:
    """Remove the stack's containers, networks and volumes (its record and outputs too)."""
    say: Progress = progress or (lambda _line: None)
    outputs = saved_outputs(stack)
    host = outputs.docker_host if outputs else docker_host(stackfile.load(stack))
    if uses_cli():
        _cli_stack(stack).destroy(on_output=say)
    removed = engine.remove_stack(stack, host)
    deployment.forget(stack)
    stack_outputs.forget(stack)
    return removed
