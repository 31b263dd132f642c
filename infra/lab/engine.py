"""The local Docker engine seen as the lab needs it: find or create, read back, remove.

Every create compares what is wanted with what is there (by name, stack label and a
config-hash label) so a second `lab up` reuses what exists and only recreates a
container whose configuration changed. Removal only ever touches resources carrying
the stack's label.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from infra.lab.errors import LabEngineProblem, UnsupportedByLab
from infra.lab.specs import (
    HASH_LABEL,
    STACK_LABEL,
    ContainerSpec,
    NetworkSpec,
    UploadSpec,
    VolumeSpec,
)

_local = threading.local()


def client() -> Any:
    """One Docker client per thread: the Pulumi runtime registers resources from a pool."""
    found = getattr(_local, "client", None)
    if found is None:
        try:
            found = docker.from_env(timeout=120)
            found.ping()
        except DockerException as exc:
            raise LabEngineProblem(
                f"the Docker engine does not answer ({exc}): run `make engine` "
                "(or `bash infra/engine.sh ensure`) and try again"
            ) from exc
        _local.client = found
    return found


def _stack_filter(stack: str) -> dict[str, Any]:
    return {"label": f"{STACK_LABEL}={stack}"}


def _network_named(name: str) -> dict[str, Any] | None:
    # `names=` matches substrings; keep only the exact name.
    for n in client().api.networks(names=[name]):
        if n["Name"] == name:
            return dict(n)
    return None


def ensure_network(spec: NetworkSpec) -> dict[str, Any]:
    """Find the stack's network by name or create it; refuse one that is not ours."""
    found = _network_named(spec.name)
    if found is not None:
        labels = found.get("Labels") or {}
        if labels.get(STACK_LABEL) != spec.labels[STACK_LABEL]:
            raise LabEngineProblem(
                f"network {spec.name!r} exists but is not part of stack "
                f"{spec.labels[STACK_LABEL]!r}: remove it (docker network rm {spec.name}) "
                "or choose another stack name"
            )
        if bool(found.get("Internal")) != spec.internal:
            raise LabEngineProblem(
                f"network {spec.name!r} exists with internal={found.get('Internal')}, "
                f"the program wants internal={spec.internal}: run `dvc-rollout lab down` first"
            )
        return found
    created = client().api.create_network(
        spec.name,
        driver=spec.driver,
        internal=spec.internal,
        attachable=spec.attachable,
        labels=spec.labels,
        check_duplicate=True,
    )
    return dict(client().api.inspect_network(created["Id"]))


def ensure_volume(spec: VolumeSpec) -> dict[str, Any]:
    """Find the stack's volume or create it; data in an existing volume is kept."""
    try:
        found = dict(client().api.inspect_volume(spec.name))
    except NotFound:
        return dict(client().api.create_volume(spec.name, driver=spec.driver, labels=spec.labels))
    if (found.get("Labels") or {}).get(STACK_LABEL) != spec.labels[STACK_LABEL]:
        raise LabEngineProblem(
            f"volume {spec.name!r} exists but is not part of stack "
            f"{spec.labels[STACK_LABEL]!r}: remove it or choose another stack name"
        )
    return found


def find_image(name: str) -> str:
    """The local image id of a tag; the lab never pulls (no registry is reachable)."""
    try:
        return str(client().images.get(name).id)
    except ImageNotFound:
        raise LabEngineProblem(
            f"image {name} is not built: run `dvc-rollout lab build` (or `make lab`)"
        ) from None


def _tar_of(upload: UploadSpec) -> bytes:
    buffer = io.BytesIO()
    path = PurePosixPath(upload.file)
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name=path.name)
        info.size = len(upload.content)
        info.mode = upload.mode
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(upload.content))
    return buffer.getvalue()


def _put_uploads(container_id: str, spec: ContainerSpec) -> None:
    api = client().api
    for upload in spec.uploads:
        parent = str(PurePosixPath(upload.file).parent)
        try:
            ok = api.put_archive(container_id, parent, _tar_of(upload))
        except NotFound:
            ok = False
        if not ok:
            raise LabEngineProblem(
                f"container {spec.name}: cannot upload {upload.file} — its folder {parent} "
                "does not exist in the image; create it in the Dockerfile"
            )


def _create_container(spec: ContainerSpec) -> str:
    api = client().api
    labels = {**spec.labels, HASH_LABEL: spec.config_hash()}
    host_config = api.create_host_config(
        port_bindings={p.key: (p.ip, p.external or None) for p in spec.ports},
        restart_policy={"Name": spec.restart, "MaximumRetryCount": spec.max_retry_count},
        binds={v: {"bind": path, "mode": "ro" if ro else "rw"} for v, path, ro in spec.volumes},
        init=spec.init or None,
        tmpfs=spec.tmpfs or None,
    )
    networking = None
    if spec.networks:
        first = spec.networks[0]
        networking = api.create_networking_config(
            {first.network: api.create_endpoint_config(aliases=list(first.aliases))}
        )
    created = api.create_container(
        spec.image,
        command=list(spec.command) if spec.command else None,
        name=spec.name,
        hostname=spec.hostname,
        environment=list(spec.env),
        labels=labels,
        ports=[(p.internal, p.protocol) for p in spec.ports],
        host_config=host_config,
        networking_config=networking,
        healthcheck=spec.healthcheck,
        entrypoint=list(spec.entrypoint) if spec.entrypoint else None,
        user=spec.user,
        working_dir=spec.working_dir,
        stop_timeout=spec.stop_timeout,
    )
    container_id = str(created["Id"])
    for extra in spec.networks[1:]:
        api.connect_container_to_network(container_id, extra.network, aliases=list(extra.aliases))
    _put_uploads(container_id, spec)
    api.start(container_id)
    return container_id


def _remove_container(ref: str) -> None:
    try:
        # v=True drops only anonymous volumes; the stack's named volumes stay until `down`.
        client().api.remove_container(ref, force=True, v=True)
    except NotFound:
        return


@dataclass(frozen=True)
class ContainerState:
    """What the engine reports back after realising a container."""

    id: str
    reused: bool
    ports: list[dict[str, Any]]
    network_data: list[dict[str, Any]]


def read_state(container_id: str) -> ContainerState:
    """The published host ports and network addresses as the engine has them now."""
    info = client().api.inspect_container(container_id)
    ports = []
    for key, bindings in (info["NetworkSettings"].get("Ports") or {}).items():
        internal, protocol = key.split("/")
        for b in bindings or []:
            ports.append(
                {
                    "internal": int(internal),
                    "external": int(b["HostPort"]),
                    "ip": b["HostIp"],
                    "protocol": protocol,
                }
            )
    networks = [
        {"networkName": name, "ipAddress": data.get("IPAddress", "")}
        for name, data in (info["NetworkSettings"].get("Networks") or {}).items()
    ]
    return ContainerState(str(info["Id"]), False, sorted(ports, key=str), networks)


def ensure_container(spec: ContainerSpec) -> ContainerState:
    """Reuse the container if its config hash matches, else (re)create it."""
    api = client().api
    wanted = spec.config_hash()
    try:
        info = api.inspect_container(spec.name)
    except NotFound:
        info = None
    if info is not None:
        labels = info["Config"].get("Labels") or {}
        if labels.get(STACK_LABEL) != spec.labels[STACK_LABEL]:
            raise LabEngineProblem(
                f"container {spec.name!r} exists but is not part of stack "
                f"{spec.labels[STACK_LABEL]!r}: remove it or choose another stack name"
            )
        if labels.get(HASH_LABEL) == wanted:
            if not info["State"].get("Running"):
                api.start(info["Id"])
            state = read_state(info["Id"])
            return ContainerState(state.id, True, state.ports, state.network_data)
        _remove_container(info["Id"])
    try:
        container_id = _create_container(spec)
    except ImageNotFound:
        raise LabEngineProblem(
            f"container {spec.name}: image {spec.image} is missing: run `dvc-rollout lab build`"
        ) from None
    except APIError as exc:
        _remove_container(spec.name)
        raise LabEngineProblem(f"container {spec.name}: the engine refused it: {exc}") from exc
    return read_state(container_id)


@dataclass(frozen=True)
class StackResources:
    """Everything on the engine that carries one stack's label."""

    containers: list[dict[str, Any]]
    networks: list[dict[str, Any]]
    volumes: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)


def stack_resources(stack: str) -> StackResources:
    api = client().api
    flt = _stack_filter(stack)
    return StackResources(
        containers=list(api.containers(all=True, filters=flt)),
        networks=list(api.networks(filters=flt)),
        volumes=list((api.volumes(filters=flt) or {}).get("Volumes") or []),
    )


def remove_stack(stack: str) -> StackResources:
    """Remove exactly the stack's containers, then networks, then volumes."""
    if not stack:
        raise UnsupportedByLab("refusing to remove resources without a stack name")
    found = stack_resources(stack)
    api = client().api
    for c in found.containers:
        _remove_container(c["Id"])
    for n in found.networks:
        with contextlib.suppress(NotFound):
            api.remove_network(n["Id"])
    for v in found.volumes:
        with contextlib.suppress(NotFound):
            api.remove_volume(v["Name"], force=True)
    return found
