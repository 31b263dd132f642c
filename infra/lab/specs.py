"""Pulumi `docker:` resource inputs turned into plain specs the local engine can realise.

The in-process lab receives each resource's inputs as Pulumi sends them over the wire
(camelCase names, secrets wrapped). These pure functions check that every argument is
one the lab knows how to honour and fail naming the ones it does not, so a program that
works here never silently loses a setting it would get from the real provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from infra.lab.errors import UnsupportedByLab

# Pulumi's wire marker for a secret value.
SECRET_SIG = "4dabf18193072939515e22adb298388d"

STACK_LABEL = "dvc-rollout.stack"
MANAGED_LABEL = "dvc-rollout.managed"
HASH_LABEL = "dvc-rollout.config-hash"

NETWORK_ARGS = frozenset({"name", "internal", "labels", "driver", "attachable", "ipamConfigs"})
VOLUME_ARGS = frozenset({"name", "labels", "driver"})
IMAGE_ARGS = frozenset({"name", "keepLocally", "forceRemove"})
CONTAINER_ARGS = frozenset(
    {
        "name",
        "image",
        "hostname",
        "envs",
        "labels",
        "ports",
        "uploads",
        "healthcheck",
        "restart",
        "maxRetryCount",
        "networksAdvanced",
        "volumes",
        "command",
        "entrypoints",
        "user",
        "workingDir",
        "init",
        "mustRun",
        "start",
        "stopTimeout",
        "destroyGraceSeconds",
        "tmpfs",
    }
)
_NESTED_ARGS: dict[str, frozenset[str]] = {
    "ports": frozenset({"internal", "external", "ip", "protocol"}),
    "uploads": frozenset({"file", "content", "contentBase64", "executable", "permissions"}),
    "healthcheck": frozenset({"tests", "interval", "timeout", "retries", "startPeriod"}),
    "networksAdvanced": frozenset({"name", "aliases", "ipv4Address"}),
    "volumes": frozenset({"volumeName", "containerPath", "readOnly"}),
    "labels": frozenset({"label", "value"}),
}
_IPAM_ARGS = frozenset({"subnet", "ipRange", "gateway"})
_RESTART_POLICIES = frozenset({"no", "on-failure", "always", "unless-stopped"})


def unwrap(value: Any) -> Any:
    """Remove Pulumi's secret wrappers and internal keys, keeping the plain values."""
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return unwrap(value.get("value"))
        return {k: unwrap(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list | tuple):
        return [unwrap(v) for v in value]
    return value


def _present(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if v is not None and not str(k).startswith("__")}


def check_args(kind: str, name: str, inputs: Mapping[str, Any], allowed: frozenset[str]) -> None:
    """Fail naming every argument the lab cannot honour for this resource."""
    unknown = sorted(set(_present(inputs)) - allowed)
    if unknown:
        raise UnsupportedByLab(
            f"{kind} {name!r}: the in-process lab does not support argument(s) "
            f"{', '.join(unknown)} (supported: {', '.join(sorted(allowed))}); "
            "drop them from the program or run with the Pulumi CLI"
        )


def _check_nested(name: str, key: str, items: list[Mapping[str, Any]]) -> None:
    allowed = _NESTED_ARGS[key]
    for item in items:
        check_args(f"docker:Container {key} entry of", name, item, allowed)


def labels_of(inputs: Mapping[str, Any], stack: str) -> dict[str, str]:
    """The resource's labels, always with the stack and managed labels the lab relies on."""
    found = {str(x["label"]): str(x["value"]) for x in inputs.get("labels") or []}
    if found.get(STACK_LABEL, stack) != stack:
        raise UnsupportedByLab(
            f"resource labelled {STACK_LABEL}={found[STACK_LABEL]!r} in stack {stack!r}: "
            "the label must name the stack being deployed"
        )
    found[STACK_LABEL] = stack
    found[MANAGED_LABEL] = "true"
    return found


def duration_ns(text: str | None) -> int:
    """Docker wants nanoseconds; Pulumi takes `1m30s`, `500ms`, `5s`."""
    if not text:
        return 0
    units = {"ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UnsupportedByLab(f"duration {text!r} is not like 500ms, 5s, 1m or 1h30m")
    return int(sum(float(n) * units[u] for n, u in parts))


@dataclass(frozen=True)
class IpamSpec:
    """One subnet of a network: an address plan's, instead of one the engine picks."""

    subnet: str
    ip_range: str = ""
    gateway: str = ""


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    internal: bool
    driver: str
    attachable: bool
    labels: dict[str, str]
    ipam: tuple[IpamSpec, ...] = ()

    def config_hash(self) -> str:
        """A digest of the spec: a network whose digest changed is replaced."""
        plain = asdict(self)
        plain["labels"] = {k: v for k, v in self.labels.items() if k != HASH_LABEL}
        blob = json.dumps(plain, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class VolumeSpec:
    name: str
    driver: str
    labels: dict[str, str]


@dataclass(frozen=True)
class PortSpec:
    internal: int
    external: int
    ip: str
    protocol: str

    @property
    def key(self) -> str:
        return f"{self.internal}/{self.protocol}"


@dataclass(frozen=True)
class UploadSpec:
    file: str
    content: bytes
    mode: int


@dataclass(frozen=True)
class AttachSpec:
    network: str
    aliases: tuple[str, ...]
    ipv4: str = ""


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to create one container, and nothing the lab would ignore."""

    name: str
    image: str
    hostname: str | None
    env: tuple[str, ...]
    labels: dict[str, str]
    ports: tuple[PortSpec, ...]
    uploads: tuple[UploadSpec, ...]
    healthcheck: dict[str, Any] | None
    restart: str
    max_retry_count: int
    networks: tuple[AttachSpec, ...]
    volumes: tuple[tuple[str, str, bool], ...]
    command: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    user: str | None
    working_dir: str | None
    init: bool
    stop_timeout: int | None
    tmpfs: dict[str, str] = field(default_factory=dict)

    def config_hash(self) -> str:
        """A digest of the spec: equal digests mean the running container needs no change."""
        plain = asdict(self)
        plain["labels"] = {k: v for k, v in self.labels.items() if k != HASH_LABEL}
        plain["uploads"] = [
            {"file": u.file, "mode": u.mode, "sha": hashlib.sha256(u.content).hexdigest()}
            for u in self.uploads
        ]
        blob = json.dumps(plain, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def network_spec(inputs: Mapping[str, Any], stack: str) -> NetworkSpec:
    inputs = unwrap(inputs)
    name = str(inputs.get("name") or "")
    check_args("docker:Network", name, inputs, NETWORK_ARGS)
    if not name:
        raise UnsupportedByLab("docker:Network without a name: give every network a name")
    ipam = []
    for item in inputs.get("ipamConfigs") or []:
        check_args(f"docker:Network {name!r} ipam_configs entry of", name, item, _IPAM_ARGS)
        if not item.get("subnet"):
            raise UnsupportedByLab(f"docker:Network {name!r}: an ipam_configs entry needs a subnet")
        ipam.append(
            IpamSpec(
                subnet=str(item["subnet"]),
                ip_range=str(item.get("ipRange") or ""),
                gateway=str(item.get("gateway") or ""),
            )
        )
    return NetworkSpec(
        name=name,
        internal=bool(inputs.get("internal") or False),
        driver=str(inputs.get("driver") or "bridge"),
        attachable=bool(inputs.get("attachable") or False),
        labels=labels_of(inputs, stack),
        ipam=tuple(ipam),
    )


def volume_spec(inputs: Mapping[str, Any], stack: str) -> VolumeSpec:
    inputs = unwrap(inputs)
    name = str(inputs.get("name") or "")
    check_args("docker:Volume", name, inputs, VOLUME_ARGS)
    if not name:
        raise UnsupportedByLab("docker:Volume without a name: give every volume a name")
    return VolumeSpec(
        name=name, driver=str(inputs.get("driver") or "local"), labels=labels_of(inputs, stack)
    )


def image_name(inputs: Mapping[str, Any]) -> str:
    inputs = unwrap(inputs)
    name = str(inputs.get("name") or "")
    check_args("docker:RemoteImage", name, inputs, IMAGE_ARGS)
    if inputs.get("keepLocally") is not True:
        raise UnsupportedByLab(
            f"docker:RemoteImage {name!r}: the lab only uses locally built images; "
            "set keep_locally=True so `lab down` never deletes them"
        )
    return name


def _upload(name: str, item: Mapping[str, Any]) -> UploadSpec:
    if item.get("content") is not None:
        content = str(item["content"]).encode()
    elif item.get("contentBase64") is not None:
        content = base64.b64decode(str(item["contentBase64"]))
    else:
        raise UnsupportedByLab(
            f"docker:Container {name!r}: upload {item.get('file')!r} has no content"
        )
    if item.get("permissions"):
        mode = int(str(item["permissions"]), 8)
    else:
        mode = 0o755 if item.get("executable") else 0o644
    return UploadSpec(file=str(item["file"]), content=content, mode=mode)


def _healthcheck(name: str, raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    tests = [str(t) for t in raw.get("tests") or []]
    if not tests:
        raise UnsupportedByLab(f"docker:Container {name!r}: healthcheck without tests")
    return {
        "test": tests,
        "interval": duration_ns(raw.get("interval")),
        "timeout": duration_ns(raw.get("timeout")),
        "retries": int(raw.get("retries") or 0),
        "start_period": duration_ns(raw.get("startPeriod")),
    }


def container_spec(inputs: Mapping[str, Any], stack: str) -> ContainerSpec:
    """Check a `docker:Container`'s inputs and turn them into a spec."""
    inputs = unwrap(inputs)
    name = str(inputs.get("name") or "")
    check_args("docker:Container", name, inputs, CONTAINER_ARGS)
    if not name or not inputs.get("image"):
        raise UnsupportedByLab(f"docker:Container {name!r}: give it a name and an image")
    for key in _NESTED_ARGS:
        value = inputs.get(key)
        if value:
            _check_nested(name, key, [value] if isinstance(value, Mapping) else list(value))
    if inputs.get("mustRun") is False or inputs.get("start") is False:
        raise UnsupportedByLab(f"docker:Container {name!r}: the lab always starts its containers")
    restart = str(inputs.get("restart") or "no")
    if restart not in _RESTART_POLICIES:
        raise UnsupportedByLab(f"docker:Container {name!r}: unknown restart policy {restart!r}")
    ports = tuple(
        PortSpec(
            internal=int(p["internal"]),
            external=int(p.get("external") or 0),
            ip=str(p.get("ip") or "0.0.0.0"),
            protocol=str(p.get("protocol") or "tcp"),
        )
        for p in inputs.get("ports") or []
    )
    volumes = []
    for v in inputs.get("volumes") or []:
        if not v.get("volumeName") or not v.get("containerPath"):
            raise UnsupportedByLab(
                f"docker:Container {name!r}: volumes need volume_name and container_path "
                "(host paths are not supported by the lab)"
            )
        volumes.append((str(v["volumeName"]), str(v["containerPath"]), bool(v.get("readOnly"))))
    command = inputs.get("command")
    entry = inputs.get("entrypoints")
    return ContainerSpec(
        name=name,
        image=str(inputs["image"]),
        hostname=inputs.get("hostname"),
        env=tuple(str(e) for e in inputs.get("envs") or []),
        labels=labels_of(inputs, stack),
        ports=ports,
        uploads=tuple(_upload(name, u) for u in inputs.get("uploads") or []),
        healthcheck=_healthcheck(name, inputs.get("healthcheck")),
        restart=restart,
        max_retry_count=int(inputs.get("maxRetryCount") or 0),
        networks=tuple(
            AttachSpec(
                str(n["name"]),
                tuple(str(a) for a in n.get("aliases") or []),
                str(n.get("ipv4Address") or ""),
            )
            for n in inputs.get("networksAdvanced") or []
        ),
        volumes=tuple(volumes),
        command=tuple(str(c) for c in command) if command else None,
        entrypoint=tuple(str(c) for c in entry) if entry else None,
        user=inputs.get("user"),
        working_dir=inputs.get("workingDir"),
        init=bool(inputs.get("init") or False),
        stop_timeout=inputs.get("stopTimeout") or inputs.get("destroyGraceSeconds"),
        tmpfs={str(k): str(v) for k, v in (inputs.get("tmpfs") or {}).items()},
    )
