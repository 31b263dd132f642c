"""`staging up | status | down`: the staging data-center host, its door and its registry.

`up` starts the engine, then the sshd, then proves the door works the way everything
later uses it (a Docker client on `ssh://deploy@127.0.0.1:<port>`), then runs the data
center's registry on that engine: its image carried in over the same ssh connection
(`docker save | docker load`, how the first image reaches an air-gapped host), its
storage on a volume, its port on the host's 127.0.0.1. `down` removes the engine and
everything in it (containers, images, volumes, its data root), the bridge, the sshd, the
deploy key and host key, and the account unless another staging host still uses it.
"""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from dvc_rollout import stack_outputs
from dvc_rollout.errors import EnvironmentProblem
from infra.images import distribution
from infra.lab import deployment, engine
from infra.staging import daemon, sshd
from infra.staging.host import StagingHost

Progress = Callable[[str], None]
HOST_LABEL = "dvc-rollout.staging-host"
REGISTRY_PORT = 5000


def _registry_name(host: StagingHost) -> str:
    return f"{host.name}-registry"


def _wait_registry(host: StagingHost, timeout: float = 60.0) -> None:
    url = f"http://{host.registry}/v2/"
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise EnvironmentProblem(f"the staging registry does not answer at {url} ({last})")


def run_registry(host: StagingHost, client: Any, progress: Progress) -> None:
    """The registry container on the staging engine (made once, kept across `up`s)."""
    name = _registry_name(host)
    labels = {HOST_LABEL: host.stack}
    try:
        found = client.containers.get(name)
        if found.status != "running":
            found.start()
    except Exception:  # docker.errors.NotFound
        tag = distribution.carry("registry", client, progress=progress)
        volume = client.volumes.create(f"{name}-data", labels=labels)
        client.containers.run(
            tag,
            name=name,
            detach=True,
            labels=labels,
            restart_policy={"Name": "unless-stopped"},
            ports={f"{REGISTRY_PORT}/tcp": ("127.0.0.1", host.registry_port)},
            volumes={volume.name: {"bind": "/var/lib/docker-registry", "mode": "rw"}},
        )
    _wait_registry(host)


def up(host: StagingHost, progress: Progress | None = None) -> dict[str, str]:
    """Bring the staging host up (idempotent); return where it answers."""
    say: Progress = progress or (lambda _line: None)
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "a staging host is a second Docker engine and an sshd: run `staging up` as root"
        )
    sshd.ensure_account(host)  # the engine's socket belongs to the account's group
    say(
        f"engine: {host.socket} (data {host.data_root}, bridge {host.bridge} "
        f"{host.bridge_address}, pools {host.address_pool})"
    )
    if daemon.pid(host) is None and daemon.has_data(host):
        # Restarted over its kept networks, the engine would delete this machine's docker0.
        say(
            f"engine: stopped, with the data of an earlier run in {host.data_root}: starting "
            "it anew (its images, containers and registry go; push and `lab up` again)"
        )
        daemon.remove_data(host)
        deployment.forget(host.stack)
        stack_outputs.forget(host.stack)
    daemon.start(host)
    say(f"sshd: 127.0.0.1:{host.ssh_port}, account {host.user} forced to the engine's API")
    sshd.start(host)
    client = engine.connect(host.docker_host)
    version = client.version().get("Version", "?")
    say(f"reached Docker {version} at {host.docker_host}")
    say(f"registry: {host.registry}")
    run_registry(host, client, say)
    return {"docker_host": host.docker_host, "registry": host.registry}


def status(host: StagingHost) -> dict[str, Any]:
    """Whether each part of the host is up, asked the way its users ask."""
    report: dict[str, Any] = {
        "stack": host.stack,
        "docker_host": host.docker_host,
        "registry": host.registry,
        "engine": daemon.pid(host) is not None,
        "sshd": sshd.pid(host) is not None,
        "reachable": False,
        "registry_up": False,
    }
    if report["engine"] and report["sshd"]:
        try:
            engine.connect(host.docker_host, timeout=20).ping()
            report["reachable"] = True
        except Exception as exc:
            report["problem"] = str(exc)
    try:
        _wait_registry(host, timeout=2)
        report["registry_up"] = True
    except EnvironmentProblem:
        pass
    return report


def down(host: StagingHost, others_using_account: bool, progress: Progress | None = None) -> None:
    """Remove the host and everything in it; safe to run again."""
    say: Progress = progress or (lambda _line: None)
    say(f"sshd on 127.0.0.1:{host.ssh_port}: stopping, keys and configs removed")
    sshd.stop(host)
    say(f"engine {host.socket}: stopping; removing {host.data_root.parent}")
    daemon.stop(host)
    daemon.remove_data(host)
    daemon.bridge_down(host)
    daemon.firewall_down(host)
    sshd.remove_account(host, still_used=others_using_account)
    # The stack's containers went with the engine: its record and outputs describe nothing.
    deployment.forget(host.stack)
    stack_outputs.forget(host.stack)
    if host.run_dir.exists():
        try:
            host.run_dir.rmdir()
        except OSError as exc:
            raise EnvironmentProblem(f"{host.run_dir} is not empty after `down`: {exc}") from exc
