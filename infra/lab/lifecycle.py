"""`lab up | status | down`: one program, two ways to run it, one labelled set of resources.

With the Pulumi CLI on PATH the Automation API runs the stack against a `file://` backend
under the state directory. Without it (air-gapped machines, CI here) the same program
runs in-process under `DockerMocks`, which realise every `docker:` resource on the local
engine. Either way the containers carry `dvc-rollout.stack=<stack>`, `up` waits until
they are all healthy, and `down` removes exactly what carries that label.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from infra import images
from infra.lab import credentials, engine, health, oncall, records, stackfile
from infra.lab.docker_mocks import DockerMocks
from infra.lab.inprocess import PROJECT, run_program
from infra.lab.recording import RecordingMocks
from infra.stackconfig import SECRET_KEYS

Progress = Callable[[str], None]
ENGINE_ENV = "DVC_LAB_ENGINE"  # "inprocess" or "cli"; default: cli when `pulumi` is on PATH

# endpoint -> (key in the `containers` output, container port, scheme)
ENDPOINTS: dict[str, tuple[str, int, str]] = {
    "nginx": ("nginx", 80, "http"),
    "portal": ("portal", 8080, "http"),
    "kannel_admin": ("kannel", 13000, "http"),
    "kannel_sendsms": ("kannel", 13013, "http"),
    "prometheus": ("prometheus", 9090, "http"),
    "alertmanager": ("alertmanager", 9093, "http"),
    "webhook": ("webhook", 9095, "http"),
    "smtp": ("smtp", 9025, "http"),
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
    """Plain config from the stack file plus the stack's generated secrets."""
    config = stackfile.load(stack)
    if sample is not None:
        sample.apply(config)
    creds = credentials.load_or_create(stack)
    keys = (*SECRET_KEYS, *credentials.LAB_SECRET_KEYS)
    secret_keys = [f"{PROJECT}:{k}" for k in keys]
    for key in keys:
        config[f"{PROJECT}:{key}"] = creds[key]
    return config, secret_keys


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
        names.add(tag.split("/", 1)[-1].split(":", 1)[0])
    return sorted(n for n in names if n in images.IMAGES)


def _outputs_path(stack: str) -> Any:
    return credentials.state_dir(stack) / "outputs.json"


def _save_outputs(stack: str, outputs: dict[str, Any]) -> None:
    path = _outputs_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(outputs, handle, indent=2, ensure_ascii=False, sort_keys=True)


def saved_outputs(stack: str) -> dict[str, Any]:
    path = _outputs_path(stack)
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _run_inprocess(
    stack: str, config: dict[str, Any], secret_keys: list[str], progress: Progress
) -> dict[str, Any]:
    mocks = DockerMocks(stack)
    run = run_program(mocks, stack=stack, config=config, secret_keys=secret_keys)
    made = [r for r in mocks.realised if r.type.endswith(":Container")]
    reused = sum(1 for r in made if r.reused)
    progress(f"engine: {len(made)} container(s), {reused} reused, {len(made) - reused} (re)created")
    return run.outputs


def _cli_stack(stack: str) -> Any:
    """The Automation API stack on a `file://` backend under the state directory.

    Not exercised here (the Pulumi CLI and its docker plugin cannot be downloaded in
    this environment); it runs the very same `infra/` program through the real engine.
    """
    from pulumi import automation as auto

    backend = credentials.state_dir(stack).parent / "pulumi"
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
) -> dict[str, Any]:
    """Build missing images, realise the stack, wait until healthy; return its outputs."""
    say: Progress = progress or (lambda _line: None)
    config, secret_keys = stack_config(stack, sample)
    wanted = needed_images(stack, config, secret_keys)
    say(f"images: {', '.join(wanted)}")
    images.build(wanted, progress=say)
    run = _run_cli if uses_cli() else _run_inprocess
    outputs = run(stack, config, secret_keys, say)
    health.wait_healthy(stack, timeout=timeout, progress=say)
    _save_outputs(stack, outputs)
    say(f"records: synthetic officials for the sample in {records.write(stack, outputs)}")
    say(f"on-call: synthetic LAB contacts for the sample in {oncall.write(stack, outputs)}")
    return outputs


def live_endpoints(stack: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """Endpoint URLs from the ports published now (they move when a container is recreated)."""
    containers = outputs.get("containers") or {}
    found: dict[str, Any] = {}
    api = engine.client().api

    def url(name: str, port: int, scheme: str) -> str | None:
        try:
            state = engine.read_state(api.inspect_container(name)["Id"])
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
        sim: url(name, 13080, "http") for sim, name in (containers.get("smsc_sim") or {}).items()
    }
    return found


def status(stack: str) -> dict[str, Any]:
    """Containers with their health, and the endpoints as published right now."""
    states = health.stack_health(stack)
    outputs = saved_outputs(stack)
    return {
        "stack": stack,
        "containers": [
            {"name": h.name, "state": h.state, "health": h.health, "last_check": h.last_log}
            for h in states
        ],
        "healthy": bool(states) and all(h.healthy for h in states),
        "endpoints": live_endpoints(stack, outputs) if states else {},
        "networks": outputs.get("networks", {}),
    }


def down(stack: str, progress: Progress | None = None) -> engine.StackResources:
    """Remove the stack's containers, networks and volumes (and its saved outputs)."""
    say: Progress = progress or (lambda _line: None)
    if uses_cli():
        _cli_stack(stack).destroy(on_output=say)
    removed = engine.remove_stack(stack)
    _outputs_path(stack).unlink(missing_ok=True)
    return removed
