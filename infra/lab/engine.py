"""A stack's Docker engine seen as the deployer needs it: find or create, read back, remove.

Every create compares what is wanted with what is there (by name, stack label and a
config-hash label) so a second `lab up` reuses what exists and only recreates a
container whose configuration changed. Removal only ever touches resources carrying
the stack's label. `host` names the engine: "" is this machine's (`$DOCKER_HOST` or the
default socket), `ssh://user@host[:port]` a data-center host reached over ssh, as
`dvc-rollout:dockerHost` names it.
"""

from __future__ import annotations

import atexit
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


def connect(host: str = "", timeout: int = 120) -> Any:
    """A new Docker client for `host` ("" = this machine's engine); it must answer."""
    try:
        if not host:
            found = docker.from_env(timeout=timeout)
        else:
            # The ssh client (not paramiko) reads the user's and the system's ssh_config,
            # where the host's key, known host key and port are set (`staging up` writes one).
            found = docker.DockerClient(base_url=host, use_ssh_client=True, timeout=timeout)
            atexit.register(_close_quietly, found)
        found.ping()
    except DockerException as exc:
        where = host or "this machine"
        hint = (
            "run `make engine` (or `bash infra/engine.sh ensure`)"
            if not host
            else "check that ssh reaches it with its key (`dvc-rollout staging up` for the "
            "staging host), and that its engine runs"
        )
        raise LabEngineProblem(
            f"the Docker engine of {where} does not answer ({exc}): {hint}, and try again"
        ) from exc
    return found


def _close_quietly(found: Any) -> None:
    """Close an ssh client's connections before the interpreter's exit does.

    Each connection is an `ssh … docker system dial-stdio` process; one that has already
    ended makes docker-py's close raise BrokenPipeError. Left to urllib3's finalizers at
    exit, that prints "Exception ignored … BrokenPipeError" tracebacks after a command's
    real output (seen at the end of `make staging`); closed here, it is let pass.
    """
    with contextlib.suppress(OSError):
        found.close()


def client(host: str = "") -> Any:
    """One Docker client per thread and host: the Pulumi runtime registers from a pool."""
    clients: dict[str, Any] | None = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    if host not in clients:
        clients[host] = connect(host)
    return clients[host]


def _stack_filter(stack: str) -> dict[str, Any]:
    return {"label": f"{STACK_LABEL}={stack}"}


def _network_named(name: str, host: str = "") -> dict[str, Any] | None:
    # `names=` matches substrings; keep only the exact name.
    for n in client(host).api.networks(names=[name]):
        if n["Name"] == name:
            return dict(n)
    return None


def _same_network(found: dict[str, Any], spec: NetworkSpec) -> bool:
    """Whether an existing network is what the spec asks for (else it is replaced).

    Its config-hash label says so; a network made before networks carried one is
    compared by what matters to its containers: internal or not, and its subnets.
    """
    made_as = (found.get("Labels") or {}).get(HASH_LABEL)
    if made_as:
        return bool(made_as == spec.config_hash())
    if bool(found.get("Internal")) != spec.internal:
        return False
    if not spec.ipam:  # the engine chose the subnet: any it chose will do
        return True
    configs = (found.get("IPAM") or {}).get("Config") or []
    have = {c.get("Subnet", ""): (c.get("IPRange", ""), c.get("Gateway", "")) for c in configs}
    for wanted in spec.ipam:
        ip_range, gateway = have.get(wanted.subnet, (None, None))
        if ip_range is None:
            return False
        if (wanted.ip_range and wanted.ip_range != ip_range) or (
            wanted.gateway and wanted.gateway != gateway
        ):
            return False
    return len(have) == len(spec.ipam)


def _replace_network(found: dict[str, Any], spec: NetworkSpec, host: str) -> None:
    """Remove a network the program changed, and the stack's containers on it.

    The containers are made again as the program registers them (their network is gone,
    so their config no longer matches): what the real provider's replacement does.
    """
    api = client(host).api
    details = api.inspect_network(found["Id"])
    stack = spec.labels[STACK_LABEL]
    for cid in details.get("Containers") or {}:
        info = api.inspect_container(cid)
        if (info["Config"].get("Labels") or {}).get(STACK_LABEL) != stack:
            raise LabEngineProblem(
                f"network {spec.name!r} must be replaced but container {info['Name']} of "
                "another stack is attached to it: detach it and run `lab up` again"
            )
        _remove_container(cid, host)
    api.remove_network(found["Id"])


def ensure_network(spec: NetworkSpec, host: str = "") -> dict[str, Any]:
    """Find the stack's network by name or create it; replace it if the program changed it.

    A network that is not the stack's is refused, never touched.
    """
    found = _network_named(spec.name, host)
    if found is not None:
        labels = found.get("Labels") or {}
        if labels.get(STACK_LABEL) != spec.labels[STACK_LABEL]:
            raise LabEngineProblem(
                f"network {spec.name!r} exists but is not part of stack "
                f"{spec.labels[STACK_LABEL]!r}: remove it (docker network rm {spec.name}) "
                "or choose another stack name"
            )
        if _same_network(found, spec):
            return found
        _replace_network(found, spec, host)
    api = client(host).api
    ipam = None
    if spec.ipam:
        ipam = docker.types.IPAMConfig(
            pool_configs=[
                docker.types.IPAMPool(
                    subnet=i.subnet, iprange=i.ip_range or None, gateway=i.gateway or None
                )
                for i in spec.ipam
            ]
        )
    created = api.create_network(
        spec.name,
        driver=spec.driver,
        internal=spec.internal,
        attachable=spec.attachable,
        labels={**spec.labels, HASH_LABEL: spec.config_hash()},
        ipam=ipam,
        check_duplicate=True,
    )
    return dict(api.inspect_network(created["Id"]))


def remove_network(name: str, stack: str, host: str = "") -> bool:
    """Remove one network of the stack (its stack's containers on it first); False if gone."""
    found = _network_named(name, host)
    if found is None:
        return False
    if (found.get("Labels") or {}).get(STACK_LABEL) != stack:
        raise LabEngineProblem(f"network {name!r} is not part of stack {stack!r}: left alone")
    api = client(host).api
    for cid in api.inspect_network(found["Id"]).get("Containers") or {}:
        info = api.inspect_container(cid)
        if (info["Config"].get("Labels") or {}).get(STACK_LABEL) == stack:
            _remove_container(cid, host)
    api.remove_network(found["Id"])
    return True


def ensure_volume(spec: VolumeSpec, host: str = "") -> dict[str, Any]:
    """Find the stack's volume or create it; data in an existing volume is kept."""
    try:
        found = dict(client(host).api.inspect_volume(spec.name))
    except NotFound:
        return dict(
            client(host).api.create_volume(spec.name, driver=spec.driver, labels=spec.labels)
        )
    if (found.get("Labels") or {}).get(STACK_LABEL) != spec.labels[STACK_LABEL]:
        raise LabEngineProblem(
            f"volume {spec.name!r} exists but is not part of stack "
            f"{spec.labels[STACK_LABEL]!r}: remove it or choose another stack name"
        )
    return found


def from_registry(name: str) -> bool:
    """Whether an image reference names a registry (`host[:port]/…`), so it can be pulled."""
    first, slash, _ = name.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def find_image(name: str, host: str = "") -> str:
    """The engine's image id of a tag, pulled first when it names a registry.

    Images built here (`dvc-rollout/<name>:<tag>`) are never pulled: no registry has them.
    A stack with `dvc-rollout:registry` names `<registry>/dvc-rollout/<name>:<tag>`, which
    its Docker host pulls once, as the real provider's RemoteImage does.
    """
    images = client(host).images
    try:
        return str(images.get(name).id)
    except ImageNotFound:
        if not from_registry(name):
            raise LabEngineProblem(
                f"image {name} is not built: run `dvc-rollout lab build` (or `make lab`)"
            ) from None
    repository, _, tag = name.rpartition(":")
    try:
        return str(images.pull(repository, tag=tag).id)
    except (APIError, DockerException) as exc:
        registry = name.split("/", 1)[0]
        raise LabEngineProblem(
            f"the Docker host {host or 'of this machine'} cannot pull {name} ({exc}): push "
            f"the images to {registry} first (`dvc-rollout lab build --push --stack <stack>`)"
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


def _put_uploads(container_id: str, spec: ContainerSpec, host: str = "") -> None:
    api = client(host).api
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


def _create_container(spec: ContainerSpec, host: str = "") -> str:
    api = client(host).api
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
            {
                first.network: api.create_endpoint_config(
                    aliases=list(first.aliases), ipv4_address=first.ipv4 or None
                )
            }
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
        api.connect_container_to_network(
            container_id,
            extra.network,
            aliases=list(extra.aliases),
            ipv4_address=extra.ipv4 or None,
        )
    _put_uploads(container_id, spec, host)
    api.start(container_id)
    return container_id


def _remove_container(ref: str, host: str = "") -> None:
    try:
        # v=True drops only anonymous volumes; the stack's named volumes stay until `down`.
        client(host).api.remove_container(ref, force=True, v=True)
    except NotFound:
        return


def remove_container(name: str, stack: str, host: str = "") -> bool:
    """Remove one container of the stack; False if it is gone, refused if it is not ours."""
    try:
        info = client(host).api.inspect_container(name)
    except NotFound:
        return False
    if (info["Config"].get("Labels") or {}).get(STACK_LABEL) != stack:
        raise LabEngineProblem(f"container {name!r} is not part of stack {stack!r}: left alone")
    _remove_container(info["Id"], host)
    return True


def remove_volume(name: str, stack: str, host: str = "") -> bool:
    """Remove one volume of the stack (its data with it); False if it is gone."""
    api = client(host).api
    try:
        found = api.inspect_volume(name)
    except NotFound:
        return False
    if (found.get("Labels") or {}).get(STACK_LABEL) != stack:
        raise LabEngineProblem(f"volume {name!r} is not part of stack {stack!r}: left alone")
    api.remove_volume(name, force=True)
    return True


def run_in(
    container: str,
    argv: list[str],
    host: str = "",
    user: str = "",
    environment: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run a command in a container (no shell unless asked); its exit code and output.

    Over an ssh Docker host the SDK's transport raises BrokenPipeError when it closes an
    exec stream whose `dial-stdio` has already ended (docker-py 7.2), after the output was
    read: the output is streamed here and that close is let pass.
    """
    api = client(host).api
    created = api.exec_create(
        container, argv, user=user, stdout=True, stderr=True, environment=environment
    )
    chunks: list[bytes] = []
    try:
        for chunk in api.exec_start(created["Id"], stream=True):
            chunks.append(chunk)
    except BrokenPipeError:
        if not host.startswith("ssh://"):
            raise
    code = int(api.exec_inspect(created["Id"]).get("ExitCode") or 0)
    return code, b"".join(chunks).decode("utf-8", "replace")


@dataclass(frozen=True)
class ContainerState:
    """What the engine reports back after realising a container."""

    id: str
    reused: bool
    ports: list[dict[str, Any]]
    network_data: list[dict[str, Any]]


def read_state(container_id: str, host: str = "") -> ContainerState:
    """The published host ports and network addresses as the engine has them now."""
    info = client(host).api.inspect_container(container_id)
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


def ensure_container(spec: ContainerSpec, host: str = "") -> ContainerState:
    """Reuse the container if its config hash matches, else (re)create it."""
    api = client(host).api
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
            state = read_state(info["Id"], host)
            return ContainerState(state.id, True, state.ports, state.network_data)
        _remove_container(info["Id"], host)
    for attempt in range(1, EPHEMERAL_PORT_ATTEMPTS + 1):
        try:
            container_id = _create_container(spec, host)
            break
        except ImageNotFound:
            raise LabEngineProblem(
                f"container {spec.name}: image {spec.image} is missing: run `dvc-rollout lab build`"
            ) from None
        except APIError as exc:
            _remove_container(spec.name, host)
            if attempt < EPHEMERAL_PORT_ATTEMPTS and _ephemeral_port_taken(spec, exc):
                continue
            raise LabEngineProblem(f"container {spec.name}: the engine refused it: {exc}") from exc
    return read_state(container_id, host)


#: How often a container whose ports the engine picks is re-created when the ports the
#: engine tried are taken by another engine on the same machine. The engine itself tries
#: 10 ports in a row before it gives up; a few labs on this machine's engine hold a
#: longer run of ports than that, and each attempt here starts past the last one tried.
EPHEMERAL_PORT_ATTEMPTS = 20


def _ephemeral_port_taken(spec: ContainerSpec, exc: APIError) -> bool:
    """The engine picked a host port (none was asked for) that another engine holds.

    Each engine picks ports from the machine's ephemeral range and knows only its own:
    with the staging host's engine beside this machine's (CI runs both), one may pick a
    port the other's container already listens on ("bind: address already in use").
    Its allocator moves on, so creating the container again gets another port. A port
    the stack asked for by number is not retried: that is a conflict to report.
    """
    ephemeral = spec.ports and all(not p.external for p in spec.ports)
    return bool(ephemeral) and "address already in use" in str(exc)


@dataclass(frozen=True)
class StackResources:
    """Everything on the engine that carries one stack's label."""

    containers: list[dict[str, Any]]
    networks: list[dict[str, Any]]
    volumes: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)


def stack_resources(stack: str, host: str = "") -> StackResources:
    api = client(host).api
    flt = _stack_filter(stack)
    return StackResources(
        containers=list(api.containers(all=True, filters=flt)),
        networks=list(api.networks(filters=flt)),
        volumes=list((api.volumes(filters=flt) or {}).get("Volumes") or []),
    )


def remove_stack(stack: str, host: str = "") -> StackResources:
    """Remove exactly the stack's containers, then networks, then volumes."""
    if not stack:
        raise UnsupportedByLab("refusing to remove resources without a stack name")
    found = stack_resources(stack, host)
    api = client(host).api
    for c in found.containers:
        _remove_container(c["Id"], host)
    for n in found.networks:
        with contextlib.suppress(NotFound):
            api.remove_network(n["Id"])
    for v in found.volumes:
        with contextlib.suppress(NotFound):
            api.remove_volume(v["Name"], force=True)
    return found
