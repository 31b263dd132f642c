"""`pulumi.runtime.Mocks` that realise `docker:` resources on the stack's Docker engine.

Neither the Pulumi CLI nor its docker plugin can be downloaded on air-gapped machines
(nor in CI here), so the same program runs in-process under Pulumi's mock runtime and
these classes stand in for the provider. `DockerMocks` creates (or finds) each real
network, volume, image or container and hands back its real id and state; `PlanMocks`
only looks, for `lab preview`. Both keep every resource's inputs, which the deployer
records (infra/lab/deployment.py). The engine is the stack's `dvc-rollout:dockerHost`
("" is this machine's); a program whose docker provider names another host is refused.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pulumi
from docker.errors import DockerException

from infra.lab import engine
from infra.lab.deployment import CONTAINER, NETWORK, RECORDED, REMOTE_IMAGE, VOLUME
from infra.lab.errors import UnsupportedByLab
from infra.lab.recording import RecordingMocks
from infra.lab.specs import container_spec, image_name, network_spec, unwrap, volume_spec

PROVIDER = "pulumi:providers:docker"
SUPPORTED = (*RECORDED, PROVIDER)


@dataclass
class Realised:
    """One resource the mocks realised, for the caller's summary."""

    type: str
    name: str
    id: str
    reused: bool = False


def _keep_inputs(
    inputs: dict[tuple[str, str], dict[str, Any]],
    lock: threading.Lock,
    args: pulumi.runtime.MockResourceArgs,
) -> None:
    """Keep a resource's inputs as the program gave them, for the deployer's record."""
    with lock:
        inputs[(args.typ, args.name)] = dict(args.inputs)


def _check_provider(inputs: dict[str, Any], host: str) -> None:
    wanted = str(unwrap(inputs).get("host") or "")
    if wanted != host:
        raise UnsupportedByLab(
            f"the program's docker provider targets {wanted or 'this machine'}, but the "
            f"deployer was started for {host or 'this machine'}: set dvc-rollout:dockerHost "
            "in the stack file and deploy through it"
        )


@dataclass
class DockerMocks(pulumi.runtime.Mocks):
    """Create each `docker:` resource on the stack's engine and return its real state."""

    stack: str
    host: str = ""
    realised: list[Realised] = field(default_factory=list)
    # (type, logical name) -> the inputs as the program gave them (secrets still marked).
    inputs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        if not args.custom:
            return "", {}  # component resources exist only in the program
        _keep_inputs(self.inputs, self._lock, args)
        inputs = unwrap(dict(args.inputs))
        if args.typ == PROVIDER:
            _check_provider(inputs, self.host)
            return f"provider-{args.name}", inputs
        if args.typ == NETWORK:
            spec = network_spec(inputs, self.stack)
            found = engine.ensure_network(spec, self.host)
            self._record(args.typ, spec.name, found["Id"])
            return found["Id"], {**inputs, "name": spec.name, "scope": found.get("Scope", "")}
        if args.typ == VOLUME:
            vspec = volume_spec(inputs, self.stack)
            vol = engine.ensure_volume(vspec, self.host)
            self._record(args.typ, vspec.name, vspec.name)
            return vspec.name, {**inputs, "mountpoint": vol.get("Mountpoint", "")}
        if args.typ == REMOTE_IMAGE:
            name = image_name(inputs)
            image_id = engine.find_image(name, self.host)
            self._record(args.typ, name, image_id)
            return f"{image_id}{name}", {**inputs, "imageId": image_id, "repoDigest": image_id}
        if args.typ == CONTAINER:
            cspec = container_spec(inputs, self.stack)
            state = engine.ensure_container(cspec, self.host)
            self._record(args.typ, cspec.name, state.id, state.reused)
            return state.id, {
                **inputs,
                "ports": state.ports,
                "networkDatas": state.network_data,
                "hostname": cspec.hostname or state.id[:12],
            }
        raise UnsupportedByLab(
            f"resource type {args.typ} ({args.name!r}) is not supported by the in-process lab "
            f"(supported: {', '.join(SUPPORTED)}); run it with the Pulumi CLI instead"
        )

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise UnsupportedByLab(
            f"function {args.token} is not supported by the in-process lab: "
            "the lab program must not call provider functions"
        )

    def _record(self, typ: str, name: str, rid: str, reused: bool = False) -> None:
        with self._lock:
            self.realised.append(Realised(typ, name, rid, reused))


@dataclass
class PlanMocks(RecordingMocks):
    """Change nothing: echo inputs, with the ids the stack's engine has now.

    An image's id is the one the host holds for its tag (or a placeholder saying it is
    not there yet), so a container whose image tag changed shows as replaced and one
    whose tag did not shows as it is.
    """

    stack: str = ""
    host: str = ""
    inputs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        if not args.custom:
            return "", {}
        _keep_inputs(self.inputs, self._lock, args)
        if args.typ == PROVIDER:
            _check_provider(dict(args.inputs), self.host)
        rid, state = super().new_resource(args)
        if args.typ == REMOTE_IMAGE:
            name = image_name(unwrap(dict(args.inputs)))
            try:
                state["imageId"] = str(engine.client(self.host).images.get(name).id)
            except DockerException:
                state["imageId"] = f"(not on the host yet: {name})"
        return rid, state
